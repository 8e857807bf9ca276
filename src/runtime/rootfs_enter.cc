// EnterRootfs (pivot_root or MS_MOVE + chroot), ChrootRootfs (no mount namespace of the
// container's own) and FinalizeRootfs (maskedPaths, readonlyPaths, readonly root, final
// rootfsPropagation), all run in the container's init.
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/rootfs.h"
#include "runtime/rootfs_internal.h"
#include "sys/mounts.h"
#include "sys/path.h"

namespace berth::runtime {
namespace {

// After pivot_root the only /proc is the container's. When it is mounted, mounts go through
// /proc/self/fd/N of the resolved fd as in PrepareRootfs. When it is not, no magic link exists
// that could lead out of the new root, so the cleaned path (resolved inside "/") is as safe.
std::string MountTarget(int fd, const std::string& clean_path) {
  static int proc_usable = -1;
  if (proc_usable < 0) {
    auto st = sys::Statfs("/proc/self/fd");
    proc_usable = st && static_cast<long>(st->f_type) == sys::kProcSuperMagic;
  }
  return proc_usable ? sys::FdPath(fd) : clean_path;
}

// maskedPaths/readonlyPaths under /proc and /sys must be on the real procfs/sysfs: a path
// that a bind mount or a volume replaced could otherwise turn the mask into a no-op, or aim
// it elsewhere (CVE-2019-16884 class). A target that is itself a mount point inside the real
// filesystem (already masked, binfmt_misc ...) passes through its parent.
Result<void> CheckKernelFs(int root_fd, int fd, const std::string& path) {
  long magic = 0;
  const char* name = nullptr;
  if (path == "/proc" || path.rfind("/proc/", 0) == 0) {
    magic = sys::kProcSuperMagic;
    name = "procfs";
  } else if (path == "/sys" || path.rfind("/sys/", 0) == 0) {
    magic = sys::kSysfsMagic;
    name = "sysfs";
  } else {
    return {};
  }
  auto own = sys::CheckFsMagic(fd, magic, path, name);
  if (own || path == "/proc" || path == "/sys") return own;
  UniqueFd parent = BERTH_TRY(sys::OpenInRoot(root_fd, sys::SplitPath(path).first));
  if (sys::CheckFsMagic(parent.Get(), magic, path, name)) return {};
  return own;
}

// nullopt-like: an empty fd with no error means "missing, skip it" (the spec ignores
// masked/readonly paths that do not exist).
Result<UniqueFd> OpenOptional(int root_fd, const std::string& path) {
  auto fd = sys::OpenInRoot(root_fd, path);
  if (!fd && fd.error().code == ENOENT) return UniqueFd();
  return fd;
}

Result<void> MaskPath(int root_fd, const std::string& raw) {
  const std::string path = sys::CleanPath(raw);
  const std::string what = "masked path " + path;
  UniqueFd fd = BERTH_TRY(OpenOptional(root_fd, path));
  if (!fd) return {};
  BERTH_TRYV(CheckKernelFs(root_fd, fd.Get(), path));
  struct stat st;
  if (fstat(fd.Get(), &st) < 0) return Errno("fstat", path);
  if (S_ISDIR(st.st_mode)) {
    return sys::Mount("tmpfs", MountTarget(fd.Get(), path), "tmpfs",
                      MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "", what);
  }
  // Only the real null device may cover a file, or the "mask" could show content.
  UniqueFd null = BERTH_TRY(sys::OpenInRoot(root_fd, "/dev/null"));
  struct stat ns;
  if (fstat(null.Get(), &ns) < 0) return Errno("fstat", "/dev/null");
  if (!S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
    return Fail("mount", what, "/dev/null in the container is not the null device");
  return sys::Mount(MountTarget(null.Get(), "/dev/null"), MountTarget(fd.Get(), path), "", MS_BIND,
                    "", what);
}

Result<void> ReadonlyPath(int root_fd, const std::string& raw) {
  const std::string path = sys::CleanPath(raw);
  const std::string what = "readonly path " + path;
  UniqueFd fd = BERTH_TRY(OpenOptional(root_fd, path));
  if (!fd) return {};
  BERTH_TRYV(CheckKernelFs(root_fd, fd.Get(), path));
  std::string target = MountTarget(fd.Get(), path);
  BERTH_TRYV(sys::Mount(target, target, "", MS_BIND | MS_REC, "", what));
  UniqueFd top = BERTH_TRY(sys::OpenInRoot(root_fd, path));  // the new mount's root
  struct statfs st = BERTH_TRY(sys::Fstatfs(top.Get(), path));
  return sys::Mount("", MountTarget(top.Get(), path), "",
                    MS_BIND | MS_REMOUNT | MS_RDONLY | sys::LockedMountFlags(st), "",
                    what + " (remount read-only)");
}

}  // namespace

Result<void> EnterRootfs(const RootfsOptions& opts) {
  // The parent made opts.rootfs canonical (create.cc) before the clone.
  const char* real = opts.rootfs.c_str();
  if (opts.rootfs.empty() || real[0] != '/')
    return Fail("resolve rootfs", opts.rootfs, "not an absolute path");

  if (opts.no_pivot) {
    // Weaker than pivot_root: the host's root stays mounted underneath, and a process that
    // can chroot (CAP_SYS_CHROOT) or holds a directory fd from before can climb back to it.
    if (chdir(real) < 0) return Errno("chdir", real);
    BERTH_TRYV(sys::Mount(real, "/", "", MS_MOVE, "", std::string("rootfs ") + real + " onto /"));
    if (chroot(".") < 0) return Errno("chroot", real);
    if (chdir("/") < 0) return Errno("chdir", "/");
    return {};
  }

  // pivot_root(".", ".") stacks the old root on top of the new one at "/", so no directory
  // for it is needed inside the rootfs; it is then detached from under our feet.
  UniqueFd old_root(open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root) return Errno("open", "/");
  UniqueFd new_root(open(real, O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!new_root) return Errno("open", real);
  if (fchdir(new_root.Get()) < 0) return Errno("chdir", real);
  BERTH_TRYV(sys::PivotRoot(".", "."));
  if (fchdir(old_root.Get()) < 0) return Errno("chdir", "old root");
  // Make the old root a slave first so that detaching it does not propagate to the host.
  BERTH_TRYV(sys::Mount("", ".", "", MS_SLAVE | MS_REC, "", "old root (make rslave)"));
  BERTH_TRYV(sys::Umount2(".", MNT_DETACH));
  if (chdir("/") < 0) return Errno("chdir", "/");
  return {};
}

Result<void> ChrootRootfs(const RootfsOptions& opts, const std::string& joined) {
  const char* path = opts.rootfs.c_str();
  if (chdir(path) < 0) {
    if (joined.empty()) return Errno("root.path: chdir", opts.rootfs);
    return Errno("root.path: chdir", opts.rootfs,
                 "resolved in the joined mount namespace " + joined + " (\"/\" is its root)");
  }
  if (chroot(".") < 0) return Errno("root.path: chroot", opts.rootfs);
  if (chdir("/") < 0) return Errno("chdir", "/");
  return {};
}

Result<void> FinalizeRootfs(const spec::Spec& spec, const RootfsOptions& opts) {
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Errno("open", "/");
  if (spec.linux) {
    for (const auto& p : spec.linux->masked_paths) BERTH_TRYV(MaskPath(root.Get(), p));
    for (const auto& p : spec.linux->readonly_paths) BERTH_TRYV(ReadonlyPath(root.Get(), p));
  }
  if (spec.root && spec.root->readonly) {
    // Keep the flags the kernel locks in a user namespace (nosuid, nodev ...), or EPERM.
    struct statfs st = BERTH_TRY(sys::Statfs("/"));
    BERTH_TRYV(sys::Mount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY | sys::LockedMountFlags(st),
                          "", "/ (readonly root)"));
  }
  if (spec.linux && !spec.linux->rootfs_propagation.empty()) {
    const std::string& prop = spec.linux->rootfs_propagation;
    unsigned long flag = rootfs_internal::PropagationFlag(prop);
    if (flag == 0)
      return Fail("set rootfs propagation", "linux.rootfsPropagation",
                  "unknown value \"" + prop + "\"");
    BERTH_TRYV(sys::Mount("", "/", "", flag, "", "/ (rootfsPropagation " + prop + ")"));
  }
  return {};
}

}  // namespace berth::runtime
