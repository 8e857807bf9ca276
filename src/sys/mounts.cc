#include "sys/mounts.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace berth::sys {

Result<void> Mount(const std::string& source, const std::string& target, const std::string& fstype,
                   unsigned long flags, const std::string& data, const std::string& what) {
  const char* src = source.empty() ? nullptr : source.c_str();
  const char* type = fstype.empty() ? nullptr : fstype.c_str();
  const void* d = data.empty() ? nullptr : data.c_str();
  if (::mount(src, target.c_str(), type, flags, d) == 0) return {};
  return Errno("mount", what.empty() ? target : what);
}

Result<void> Umount2(const std::string& target, int flags) {
  if (::umount2(target.c_str(), flags) == 0) return {};
  return Errno("umount2", target);
}

Result<void> PivotRoot(const std::string& new_root, const std::string& put_old) {
  if (syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str()) == 0) return {};
  return Errno("pivot_root", new_root);
}

Result<void> MountSetattr(int fd, bool recursive, uint64_t attr_set, uint64_t attr_clr,
                          const std::string& what) {
  struct mount_attr attr {};
  attr.attr_set = attr_set;
  attr.attr_clr = attr_clr;
  unsigned int flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof(attr)) == 0) return {};
  return Errno("mount_setattr", what);
}

Result<struct statfs> Fstatfs(int fd, const std::string& what) {
  struct statfs st;
  for (;;) {
    if (::fstatfs(fd, &st) == 0) return st;
    if (errno != EINTR) return Errno("statfs", what);
  }
}

Result<struct statfs> Statfs(const std::string& path) {
  struct statfs st;
  for (;;) {
    if (::statfs(path.c_str(), &st) == 0) return st;
    if (errno != EINTR) return Errno("statfs", path);
  }
}

Result<void> CheckFsMagic(int fd, long magic, const std::string& what, const char* fs_name) {
  struct statfs st = BERTH_TRY(Fstatfs(fd, what));
  if (static_cast<long>(st.f_type) == magic) return {};
  char buf[32];
  snprintf(buf, sizeof(buf), "0x%lx", static_cast<unsigned long>(st.f_type));
  return Fail("check filesystem", what,
              std::string("expected ") + fs_name + ", found filesystem magic " + buf);
}

unsigned long LockedMountFlags(const struct statfs& st) {
  unsigned long f = 0;
  if (st.f_flags & ST_RDONLY) f |= MS_RDONLY;
  if (st.f_flags & ST_NOSUID) f |= MS_NOSUID;
  if (st.f_flags & ST_NODEV) f |= MS_NODEV;
  if (st.f_flags & ST_NOEXEC) f |= MS_NOEXEC;
  if (st.f_flags & ST_NOATIME) f |= MS_NOATIME;
  if (st.f_flags & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (st.f_flags & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Result<std::string> FdRealPath(int fd) {
  char buf[PATH_MAX];
  std::string link = FdPath(fd);
  ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
  if (n < 0) return Errno("readlink", link);
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> CanonicalPath(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) return Errno("resolve", path);
  auto real = FdRealPath(fd.Get());
  if (real && !real->empty() && (*real)[0] == '/') return real;
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) return Errno("resolve", path);
  return std::string(buf);
}

}  // namespace berth::sys
