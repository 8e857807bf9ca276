// Thin wrappers for the mount-related syscalls: each checked once, EINTR retried where the
// kernel can return it, errors naming the operation and the path. Resolution of paths inside
// a container rootfs lives in sys/path.h.
// Named mounts.h, not mount.h: src/ is an -I directory, so a src/sys/mount.h would shadow
// the system <sys/mount.h> for every file in the project.
#pragma once

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::sys {

// Filesystem magic numbers (linux/magic.h) checked before masking paths.
inline constexpr long kProcSuperMagic = 0x9fa0;
inline constexpr long kSysfsMagic = 0x62656572;
inline constexpr long kTmpfsMagic = 0x01021994;
inline constexpr long kCgroupSuperMagic = 0x27e0eb;
inline constexpr long kCgroup2SuperMagic = 0x63677270;
inline constexpr long kDevptsSuperMagic = 0x1cd1;

// mount(2). `what` names the mount in errors ("proc on /proc (mounts[1])"); empty: the target.
Result<void> Mount(const std::string& source, const std::string& target, const std::string& fstype,
                   unsigned long flags, const std::string& data, const std::string& what = {});

// umount2(2).
Result<void> Umount2(const std::string& target, int flags);

// pivot_root(2) (glibc has no wrapper).
Result<void> PivotRoot(const std::string& new_root, const std::string& put_old);

// mount_setattr(2) on the mount at fd (AT_EMPTY_PATH), optionally recursive.
// attr_set / attr_clr are MOUNT_ATTR_* bits.
Result<void> MountSetattr(int fd, bool recursive, uint64_t attr_set, uint64_t attr_clr,
                          const std::string& what);

// fstatfs(2) / statfs(2).
Result<struct statfs> Fstatfs(int fd, const std::string& what);
Result<struct statfs> Statfs(const std::string& path);

// Fails unless the filesystem holding fd has magic `magic` (e.g. kProcSuperMagic).
Result<void> CheckFsMagic(int fd, long magic, const std::string& what, const char* fs_name);

// The statfs f_flags (ST_*) that the kernel locks on mounts inherited into a less privileged
// user namespace, as MS_* flags: nosuid, nodev, noexec, rdonly and the atime mode. A bind
// remount must keep them or it fails with EPERM.
unsigned long LockedMountFlags(const struct statfs& st);

// "/proc/self/fd/N": the magic link through which mount(2) reaches an fd resolved safely.
std::string FdPath(int fd);

// readlink of /proc/self/fd/N: the path the fd resolves to (relative to our root).
Result<std::string> FdRealPath(int fd);

// realpath(3) in three syscalls (open O_PATH, readlink of its /proc/self/fd link, close)
// instead of one readlink per component; falls back to realpath(3) without /proc.
Result<std::string> CanonicalPath(const std::string& path);

}  // namespace berth::sys
