// Resolving paths inside a container rootfs without ever leaving it (CVE-2021-30465 class):
// symlinks are followed as if the rootfs were "/", ".." never climbs above it, and magic
// links (/proc/<pid>/root, /proc/self/fd/N) are not followed. openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS) does this in the kernel; without it (ENOSYS, or
// BERTH_DISABLE_OPENAT2=1 so tests cover it) a component-by-component walk with
// O_PATH|O_NOFOLLOW and a userspace ".." stack does the same. Missing components are created
// by that walk, so a dangling symlink "/evil -> /etc/x" creates <root>/etc/x, never /etc/x.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::sys {

// Lexical clean of a path taken relative to a root: "a/./b/../c//" -> "/a/c"; ".." at "/"
// stays at "/". Always absolute.
std::string CleanPath(std::string_view path);

// Splits a clean absolute path into its parent and last component ("/a/b" -> "/a", "b";
// "/" -> "/", "").
std::pair<std::string, std::string> SplitPath(const std::string& clean);

// The non-empty components of a path, in order, without interpretation ("/a//b/../c" ->
// "a", "b", "..", "c").
std::vector<std::string> PathComponents(std::string_view path);

// True when openat2 is used: the kernel has it and BERTH_DISABLE_OPENAT2 is not "1".
bool Openat2Enabled();

// O_PATH fd of `path` resolved inside root_fd (trailing symlinks followed, inside the root).
Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path);

// As OpenInRoot, creating every missing directory with `mode` (umask applies). The result
// must be a directory.
Result<UniqueFd> MkdirAllInRoot(int root_fd, std::string_view path, mode_t mode);

// As OpenInRoot, creating missing parent directories (0755) and, if the last component is
// missing, an empty regular file with `mode`. An existing non-directory is accepted.
Result<UniqueFd> CreateFileInRoot(int root_fd, std::string_view path, mode_t mode);

// Fails unless fd (via /proc/self/fd) resolves to root_real or below it. root_real is a
// canonical absolute path. Re-checks a resolution right before mounting on it.
Result<void> CheckInside(int fd, const std::string& root_real, const std::string& what);

}  // namespace berth::sys
