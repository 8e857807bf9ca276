// Filesystem steps of the layer unpacker (internal to src/image). Each acts on one name
// inside a directory fd, never on a path string, so a symlink in the last component is
// never followed and nothing can reach outside the directory the fd names.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "base/error.h"

namespace berth::image::unpack_fs {

// Removes dirfd/name, emptying a directory first (depth-first, without following
// symlinks). A missing name is not an error. `shown` names it in errors.
Result<void> RemoveAllAt(int dirfd, const std::string& name, const std::string& shown);

// What to do with one child of a directory being emptied.
enum class Keep { kRemove, kKeep, kDescend };

// Removes the children of directory `dirfd` (opened O_RDONLY|O_DIRECTORY) the callback
// marks kRemove; kDescend applies the same to that child's children (only if it is a
// real directory; otherwise it is kept). The callback sees the child's path relative to
// the directory the walk started at ("a", "a/b").
Result<void> EmptyDirAt(int dirfd, const std::string& shown,
                        const std::function<Keep(const std::string& rel)>& keep);

// Sets one extended attribute on an open fd, or (fd < 0) on dirfd/name without following
// a symlink there. A filesystem that does not support it (EOPNOTSUPP) is ignored, as
// tar does; *skipped is set then.
Result<void> SetXattr(int fd, int dirfd, const std::string& name, const std::string& attr,
                      const void* value, size_t size, const std::string& shown,
                      bool* skipped = nullptr);

}  // namespace berth::image::unpack_fs
