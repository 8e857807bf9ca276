#include "image/unpack_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace berth::image::unpack_fs {
namespace {

std::string Join(const std::string& a, const std::string& b) {
  return a.empty() || a == "." ? b : a + "/" + b;
}

Result<std::vector<std::string>> ListDir(int dirfd, const std::string& shown) {
  // fdopendir takes ownership of (and moves the offset of) its fd: give it its own.
  int dup = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return Errno("unpack: open", shown);
  DIR* d = fdopendir(dup);
  if (!d) {
    int e = errno;
    close(dup);
    return ErrnoCode(e, "unpack: opendir", shown);
  }
  // Names are collected before anything is removed: readdir over a changing directory may
  // skip entries.
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
    errno = 0;
  }
  int e = errno;
  closedir(d);
  if (e != 0) return ErrnoCode(e, "unpack: readdir", shown);
  return names;
}

Result<void> EmptyDirRel(int dirfd, const std::string& shown, const std::string& rel,
                         const std::function<Keep(const std::string&)>& keep) {
  auto names = BERTH_TRY(ListDir(dirfd, shown));
  for (const auto& n : names) {
    std::string child_rel = Join(rel, n);
    Keep k = keep ? keep(child_rel) : Keep::kRemove;
    if (k == Keep::kKeep) continue;
    if (k == Keep::kRemove) {
      BERTH_TRYV(RemoveAllAt(dirfd, n, Join(shown, n)));
      continue;
    }
    int fd = openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT) continue;
      return Errno("unpack: open", Join(shown, n));
    }
    UniqueFd child(fd);
    BERTH_TRYV(EmptyDirRel(child.Get(), Join(shown, n), child_rel, keep));
  }
  return {};
}

}  // namespace

Result<void> RemoveAllAt(int dirfd, const std::string& name, const std::string& shown) {
  if (unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR && errno != EPERM) return Errno("unpack: remove", shown);
  // A directory (EISDIR on Linux; POSIX allows EPERM).
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Errno("unpack: remove", shown);
  {
    UniqueFd dir(fd);
    BERTH_TRYV(EmptyDirRel(dir.Get(), shown, "", nullptr));
  }
  if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
    return Errno("unpack: remove", shown);
  return {};
}

Result<void> EmptyDirAt(int dirfd, const std::string& shown,
                        const std::function<Keep(const std::string& rel)>& keep) {
  return EmptyDirRel(dirfd, shown, "", keep);
}

Result<void> SetXattr(int fd, int dirfd, const std::string& name, const std::string& attr,
                      const void* value, size_t size, const std::string& shown, bool* skipped) {
  int r;
  if (fd >= 0) {
    r = fsetxattr(fd, attr.c_str(), value, size, 0);
  } else {
    // Symlinks and device nodes cannot be opened for fsetxattr (O_PATH fds are refused):
    // go through the directory fd's /proc link, which the kernel resolves to that very
    // directory, and lsetxattr does not follow the last component.
    std::string p = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
    r = lsetxattr(p.c_str(), attr.c_str(), value, size, 0);
  }
  if (skipped) *skipped = false;
  if (r == 0) return {};
  if (errno == EOPNOTSUPP) {
    if (skipped) *skipped = true;
    return {};
  }
  return Errno("unpack: setxattr " + attr, shown);
}

}  // namespace berth::image::unpack_fs
