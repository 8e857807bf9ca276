// PrepareRootfs: propagation of "/", the rootfs bind, and spec.mounts in order.
// Every destination is resolved inside the rootfs (sys/path.h) and mounted through
// /proc/self/fd/N of the resolved O_PATH fd, so a symlink planted in the rootfs or in a shared
// volume cannot redirect a mount onto the host (CVE-2021-30465).
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "runtime/rootfs.h"
#include "runtime/rootfs_internal.h"
#include "sys/mounts.h"
#include "sys/path.h"

namespace berth::runtime {
namespace {

using rootfs_internal::Context;
using rootfs_internal::MountOptions;

std::string Describe(const spec::Mount& m, size_t i) {
  std::string src = m.source.empty() ? m.type : m.source;
  if (src.empty()) src = "none";
  return src + " on " + m.destination + " (mounts[" + std::to_string(i) + "])";
}

bool HasNewNamespace(const spec::Spec& spec, const char* type) {
  if (!spec.linux) return false;
  for (const auto& ns : spec.linux->namespaces)
    if (ns.type == type && ns.path.empty()) return true;
  return false;
}

// proc and sysfs must land on a plain directory: no symlink anywhere in the destination
// (CVE-2019-19921, where /proc was a symlink into a volume shared with another container).
Result<void> CheckPlainDirectory(const Context& ctx, int fd, const std::string& dest) {
  struct stat st;
  if (fstat(fd, &st) < 0) return Errno("fstat", dest);
  if (!S_ISDIR(st.st_mode)) return ErrnoCode(ENOTDIR, "check destination", dest);
  std::string real = BERTH_TRY(sys::FdRealPath(fd));
  std::string want = ctx.root_real == "/" ? dest : ctx.root_real + dest;
  if (real != want) return Fail("check destination", dest, "resolves through a symlink to " + real);
  return {};
}

// Mounting over something inside /proc could hide what maskedPaths/readonlyPaths protect, or
// fake what they check (CVE-2019-16884 class). Only procfs itself may go there, or a bind onto
// the few files that lxcfs-style tools legitimately replace.
Result<void> CheckProcDestination(const spec::Mount& m, const std::string& dest,
                                  const std::string& what) {
  if (dest != "/proc" && dest.rfind("/proc/", 0) != 0) return {};
  if (m.type == "proc") return {};
  static const char* kAllowed[] = {"/proc/cpuinfo", "/proc/diskstats",
                                   "/proc/meminfo", "/proc/stat",
                                   "/proc/swaps",   "/proc/uptime",
                                   "/proc/loadavg", "/proc/slabinfo",
                                   "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"};
  for (const char* a : kAllowed)
    if (dest == a) return {};
  return Fail("mount", what,
              "only procfs, or a bind onto an lxcfs-style file, may be mounted in /proc");
}

Result<void> ApplyPropagationAndAttrs(Context& ctx, const MountOptions& mo, const std::string& dest,
                                      const std::string& what) {
  if (mo.propagation.empty() && mo.rec_attr_set == 0 && mo.rec_attr_clr == 0) return {};
  UniqueFd fd = BERTH_TRY(rootfs_internal::ReopenTarget(ctx, dest, what));
  // Propagation is its own mount(2) call: the kernel ignores other flags when one is given.
  for (unsigned long p : mo.propagation)
    BERTH_TRYV(sys::Mount("", sys::FdPath(fd.Get()), "", p, "", what));
  if (mo.rec_attr_set || mo.rec_attr_clr)
    BERTH_TRYV(sys::MountSetattr(fd.Get(), true, mo.rec_attr_set, mo.rec_attr_clr, what));
  return {};
}

// Copies the entries of directory `from` into directory `to`, recursively, keeping modes,
// owners, symlinks and device nodes. Every call is *at() with O_NOFOLLOW: the tree is the
// container's, so a symlink in it must be copied, never followed onto the host.
Result<void> CopyTree(int from, int to, const std::string& what) {
  int dup_fd = fcntl(from, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Errno("tmpcopyup: dup", what);
  DIR* dir = fdopendir(dup_fd);
  if (!dir) {
    close(dup_fd);
    return Errno("tmpcopyup: opendir", what);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, closedir);
  while (struct dirent* e = readdir(dir)) {
    const char* name = e->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    const std::string sub = what + "/" + name;
    struct stat st;
    if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return Errno("tmpcopyup: stat", sub);
    const mode_t perm = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(to, name, 0700) < 0) return Errno("tmpcopyup: mkdir", sub);
      UniqueFd src(openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd dst(openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (src.Get() < 0 || dst.Get() < 0) return Errno("tmpcopyup: open", sub);
      BERTH_TRYV(CopyTree(src.Get(), dst.Get(), sub));
      // Owner before mode: chown clears the set-id bits.
      if (fchown(dst.Get(), st.st_uid, st.st_gid) < 0 || fchmod(dst.Get(), perm) < 0)
        return Errno("tmpcopyup: chown/chmod", sub);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd src(openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (src.Get() < 0) return Errno("tmpcopyup: open", sub);
      UniqueFd dst(openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (dst.Get() < 0) return Errno("tmpcopyup: create", sub);
      char buf[65536];
      ssize_t n;
      while ((n = read(src.Get(), buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Errno("tmpcopyup: read", sub);
        for (ssize_t off = 0; off < n;) {
          ssize_t w = write(dst.Get(), buf + off, n - off);
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) return Errno("tmpcopyup: write", sub);
          off += w;
        }
      }
      if (fchown(dst.Get(), st.st_uid, st.st_gid) < 0 || fchmod(dst.Get(), perm) < 0)
        return Errno("tmpcopyup: chown/chmod", sub);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t len = readlinkat(from, name, target, sizeof target - 1);
      if (len < 0) return Errno("tmpcopyup: readlink", sub);
      target[len] = '\0';
      if (symlinkat(target, to, name) < 0) return Errno("tmpcopyup: symlink", sub);
      if (fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return Errno("tmpcopyup: chown", sub);
    } else {  // fifo, socket, device node
      if (mknodat(to, name, st.st_mode, st.st_rdev) < 0) return Errno("tmpcopyup: mknod", sub);
      if (fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
          fchmodat(to, name, perm, 0) < 0)
        return Errno("tmpcopyup: chown/chmod", sub);
    }
  }
  return {};
}

// "tmpcopyup" (a runc/crun extension; podman --read-only puts it on /tmp, /var/tmp, /run):
// the new tmpfs starts as a copy of the directory it covers, with that directory's owner
// and mode. `lower` was opened before the mount, so it still reaches the covered directory.
Result<void> TmpfsCopyUp(Context& ctx, const UniqueFd& lower, const std::string& dest,
                         const std::string& what) {
  UniqueFd path_fd = BERTH_TRY(rootfs_internal::ReopenTarget(ctx, dest, what));
  UniqueFd upper(open(sys::FdPath(path_fd.Get()).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (upper.Get() < 0) return Errno("tmpcopyup: open", what);
  BERTH_TRYV(CopyTree(lower.Get(), upper.Get(), dest));
  struct stat st;
  if (fstat(lower.Get(), &st) < 0) return Errno("tmpcopyup: stat", dest);
  if (fchown(upper.Get(), st.st_uid, st.st_gid) < 0 || fchmod(upper.Get(), st.st_mode & 07777) < 0)
    return Errno("tmpcopyup: chown/chmod", dest);
  return {};
}

// The innermost mount point at or above `path` (canonical), made private: mount(2) says
// EINVAL for a directory that is not a mount point, so walk up until one accepts.
Result<void> MakeHoldingMountPrivate(const std::string& path) {
  std::string p = path;
  for (;;) {
    if (mount("", p.c_str(), nullptr, MS_PRIVATE, nullptr) == 0) return {};
    if (errno != EINVAL || p == "/")
      return Errno("mount", p, "making the mount that holds the rootfs private");
    size_t slash = p.rfind('/');
    p = slash == 0 ? "/" : p.substr(0, slash);
  }
}

Result<void> MountOne(Context& ctx, const spec::Mount& m, size_t index) {
  const std::string what = Describe(m, index);
  const std::string dest = sys::CleanPath(m.destination);
  MountOptions mo = rootfs_internal::ParseMountOptions(m.options);
  if (mo.idmap || !m.uid_mappings.empty() || !m.gid_mappings.empty())
    return Fail("mount", what, "idmapped mounts (idmap, ridmap, uidMappings) are not supported");
  if (mo.tmpcopyup && m.type != "tmpfs")
    return Fail("mount", what, "option tmpcopyup needs a mount of type tmpfs");
  if (dest == "/") return Fail("mount", what, "a mount cannot replace the container's root");
  if (m.type == "bind") mo.flags |= MS_BIND;
  BERTH_TRYV(CheckProcDestination(m, dest, what));

  if (mo.flags & MS_BIND) {
    struct stat st;
    if (stat(m.source.c_str(), &st) < 0) return Errno("mount", what, "source " + m.source);
    auto target = S_ISDIR(st.st_mode) ? sys::MkdirAllInRoot(ctx.root_fd.Get(), dest, 0755)
                                      : sys::CreateFileInRoot(ctx.root_fd.Get(), dest, 0644);
    if (!target) return std::unexpected(std::move(target.error().Wrap("mount " + what)));
    BERTH_TRYV(sys::CheckInside(target->Get(), ctx.root_real, what));
    BERTH_TRYV(rootfs_internal::BindMount(ctx, m.source, *target, dest, mo.flags, what));
    return ApplyPropagationAndAttrs(ctx, mo, dest, what);
  }

  auto target = sys::MkdirAllInRoot(ctx.root_fd.Get(), dest, 0755);
  if (!target) return std::unexpected(std::move(target.error().Wrap("mount " + what)));
  BERTH_TRYV(sys::CheckInside(target->Get(), ctx.root_real, what));

  if (m.type == "cgroup" || m.type == "cgroup2") {
    BERTH_TRYV(rootfs_internal::MountCgroup(ctx, m, mo, dest, what));
    return ApplyPropagationAndAttrs(ctx, mo, dest, what);
  }
  if (m.type == "proc" || m.type == "sysfs") {
    auto ok = CheckPlainDirectory(ctx, target->Get(), dest);
    if (!ok) return std::unexpected(std::move(ok.error().Wrap("mount " + what)));
  }
  // sysfs shows the network devices of the mounter's net namespace, so the kernel only lets
  // an owner of that namespace mount it: in a user namespace that shares the host's network
  // it fails with EPERM. Fall back to a recursive bind of the host's /sys, as runc does.
  const bool sysfs_bind =
      m.type == "sysfs" && ctx.opts.user_namespace && !HasNewNamespace(ctx.spec, "network");
  UniqueFd lower;
  if (mo.tmpcopyup) {
    lower = UniqueFd(open(sys::FdPath(target->Get()).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (lower.Get() < 0) return Errno("tmpcopyup: open", what);
  }
  if (!sysfs_bind) {
    std::string source = m.source.empty() ? m.type : m.source;
    auto r = sys::Mount(source, sys::FdPath(target->Get()), m.type, mo.flags, mo.data, what);
    if (!r && r.error().code == ENODEV)
      r.error().detail = "unknown filesystem type \"" + m.type + "\"";
    if (!r && !(m.type == "sysfs" && r.error().code == EPERM)) return r;
    if (r && mo.tmpcopyup) BERTH_TRYV(TmpfsCopyUp(ctx, lower, dest, what));
    if (r) return ApplyPropagationAndAttrs(ctx, mo, dest, what);
  }
  UniqueFd sys_top = BERTH_TRY(
      rootfs_internal::BindMount(ctx, "/sys", *target, dest, mo.flags | MS_BIND | MS_REC, what));
  // Under rootfsPropagation "shared" this copy would be a peer of the host's /sys: what is
  // mounted below it (cgroup tmpfs, masks) must not reach the host.
  BERTH_TRYV(sys::Mount("", sys::FdPath(sys_top.Get()), "", MS_SLAVE | MS_REC, "", what));
  return ApplyPropagationAndAttrs(ctx, mo, dest, what);
}

}  // namespace

namespace rootfs_internal {

Result<UniqueFd> ReopenTarget(Context& ctx, const std::string& dest, const std::string& what) {
  auto fd = sys::OpenInRoot(ctx.root_fd.Get(), dest);
  if (!fd) return std::unexpected(std::move(fd.error().Wrap("mount " + what)));
  BERTH_TRYV(sys::CheckInside(fd->Get(), ctx.root_real, what));
  return std::move(*fd);
}

Result<UniqueFd> BindMount(Context& ctx, const std::string& source, const UniqueFd& target_fd,
                           const std::string& dest, unsigned long flags, const std::string& what) {
  BERTH_TRYV(
      sys::Mount(source, sys::FdPath(target_fd.Get()), "", MS_BIND | (flags & MS_REC), "", what));
  UniqueFd fd = BERTH_TRY(ReopenTarget(ctx, dest, what));
  // A bind ignores every flag but MS_REC; the rest needs a remount of the new mount.
  unsigned long extra = flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (extra == 0) return fd;
  auto r = sys::Mount("", sys::FdPath(fd.Get()), "", MS_BIND | MS_REMOUNT | extra, "", what);
  if (!r && r.error().code == EPERM) {
    // In a user namespace the kernel locks nosuid/nodev/noexec/ro and the atime mode that the
    // source mount already had; a remount that drops them is refused. Keep them and retry.
    auto st = sys::Statfs(source);
    if (!st) return std::unexpected(std::move(st.error().Wrap("mount " + what)));
    unsigned long locked = sys::LockedMountFlags(*st);
    constexpr unsigned long kAtime = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;
    unsigned long retry = extra | (locked & ~kAtime);
    if (locked & kAtime) retry = (retry & ~kAtime) | (locked & kAtime);
    r = sys::Mount("", sys::FdPath(fd.Get()), "", MS_BIND | MS_REMOUNT | retry, "", what);
  }
  if (!r) return std::unexpected(std::move(r.error()));
  return fd;
}

}  // namespace rootfs_internal

Result<void> PrepareRootfs(const spec::Spec& spec, const RootfsOptions& opts) {
  // The parent made opts.rootfs canonical (create.cc) before the clone.
  const char* real = opts.rootfs.c_str();
  if (opts.rootfs.empty() || real[0] != '/')
    return Fail("resolve rootfs", opts.rootfs, "not an absolute path");

  // Nothing we mount may reach the host: make every mount a slave (or private, when asked)
  // before the first mount. The final rootfsPropagation is applied in FinalizeRootfs.
  // "shared" keeps the copies of the host's shared mounts peers of theirs: that is what a
  // bind mount with "rshared" needs to send mounts made inside it back to the host
  // (Kubernetes' Bidirectional); a slave could only receive. Then the mount holding the
  // rootfs is made private, so that the rootfs bind and all below it stay ours.
  std::string prop = spec.linux ? spec.linux->rootfs_propagation : std::string();
  const bool shared = prop == "shared" || prop == "rshared";
  unsigned long first = MS_SLAVE | MS_REC;
  if (prop == "private" || prop == "rprivate") first = MS_PRIVATE | MS_REC;
  if (shared) first = MS_SHARED | MS_REC;
  if (!prop.empty() && rootfs_internal::PropagationFlag(prop) == 0)
    return Fail("set rootfs propagation", "linux.rootfsPropagation",
                "unknown value \"" + prop + "\"");
  BERTH_TRYV(sys::Mount("", "/", "", first, "", "/ (propagation before container mounts)"));
  if (shared) BERTH_TRYV(MakeHoldingMountPrivate(opts.rootfs));

  // pivot_root needs the new root to be a mount point.
  BERTH_TRYV(sys::Mount(real, real, "", MS_BIND | MS_REC, "", std::string("rootfs ") + real));
  int fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open rootfs", real);
  Context ctx{spec, opts, real, UniqueFd(fd)};

  for (size_t i = 0; i < spec.mounts.size(); ++i) BERTH_TRYV(MountOne(ctx, spec.mounts[i], i));
  return rootfs_internal::SetupDevices(ctx);
}

}  // namespace berth::runtime
