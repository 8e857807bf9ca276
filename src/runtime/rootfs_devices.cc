// linux.devices, the default devices and the /dev symlinks (config-linux.md "Devices",
// "Default Devices"; runtime-linux.md "/dev symbolic links").
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <set>

#include "runtime/rootfs_internal.h"
#include "sys/mounts.h"
#include "sys/path.h"

namespace berth::runtime::rootfs_internal {
namespace {

constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

// Restores the umask when device creation ends, however it ends.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t m) : old_(umask(m)) {}
  ~UmaskGuard() { umask(old_); }
  UmaskGuard(const UmaskGuard&) = delete;
  UmaskGuard& operator=(const UmaskGuard&) = delete;

 private:
  mode_t old_;
};

}  // namespace

std::span<const DefaultDevice> DefaultDevices() { return kDefaultDevices; }

// A /dev bind-mounted from the host already has the host's nodes; creating ours on it would
// write into the host's /dev.
bool DevIsHostBind(const spec::Spec& spec) {
  for (const auto& m : spec.mounts) {
    if (sys::CleanPath(m.destination) != "/dev") continue;
    if (m.type == "bind") return true;
    for (const auto& o : m.options)
      if (o == "bind" || o == "rbind") return true;
  }
  return false;
}

namespace {

Result<void> CreateDevice(Context& ctx, const spec::LinuxDevice& d) {
  const std::string path = sys::CleanPath(d.path);
  const std::string what = "device " + path;
  auto wrap = [&](Error e) { return std::unexpected(std::move(e.Wrap("create " + what))); };
  mode_t type;
  if (d.type == "c" || d.type == "u")
    type = S_IFCHR;
  else if (d.type == "b")
    type = S_IFBLK;
  else if (d.type == "p")
    type = S_IFIFO;
  else
    return Fail("create", what, "unknown device type \"" + d.type + "\"");
  const mode_t perm = d.file_mode.value_or(0666) & 07777;
  auto [parent, base] = sys::SplitPath(path);
  if (base.empty()) return Fail("create", what, "not a file path");

  if (ctx.opts.user_namespace && type != S_IFIFO) {
    // mknod of devices is never allowed in a user namespace: bind the host's node onto an
    // empty file instead. Its owner and mode stay the host's.
    auto target = sys::CreateFileInRoot(ctx.root_fd.Get(), path, 0000);
    if (!target) return wrap(std::move(target.error()));
    BERTH_TRYV(sys::CheckInside(target->Get(), ctx.root_real, what));
    auto r = sys::Mount(d.path, sys::FdPath(target->Get()), "", MS_BIND, "", what);
    if (!r) return wrap(std::move(r.error()));
    return {};
  }

  auto dir = sys::MkdirAllInRoot(ctx.root_fd.Get(), parent, 0755);
  if (!dir) return wrap(std::move(dir.error()));
  BERTH_TRYV(sys::CheckInside(dir->Get(), ctx.root_real, what));
  const dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
  if (mknodat(dir->Get(), base.c_str(), type | perm, dev) < 0) {
    if (errno != EEXIST) return wrap(Errno("mknod", path).error());
    // The image (or an earlier entry) has something there: keep a node that already matches,
    // replace anything else that is not a directory.
    struct stat st;
    if (fstatat(dir->Get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return wrap(Errno("stat", path).error());
    if ((st.st_mode & S_IFMT) != type || (type != S_IFIFO && st.st_rdev != dev)) {
      if (unlinkat(dir->Get(), base.c_str(), 0) < 0) return wrap(Errno("unlink", path).error());
      if (mknodat(dir->Get(), base.c_str(), type | perm, dev) < 0)
        return wrap(Errno("mknod", path).error());
    }
  }
  // Through an O_PATH fd of the node itself, never a path that could have become a symlink.
  int fd = openat(dir->Get(), base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return wrap(Errno("open", path).error());
  UniqueFd node(fd);
  if (fchownat(node.Get(), "", d.uid.value_or(0), d.gid.value_or(0), AT_EMPTY_PATH) < 0)
    return wrap(Errno("chown", path).error());
  // chmod after chown: chown clears set-id bits, and an existing node kept its old mode.
  if (chmod(sys::FdPath(node.Get()).c_str(), perm) < 0) return wrap(Errno("chmod", path).error());
  return {};
}

// Creates `link` -> `target` unless something is already at `link` (or `replace` says so).
Result<void> Symlink(Context& ctx, const std::string& target, const std::string& link,
                     bool replace) {
  auto [parent, base] = sys::SplitPath(link);
  auto dir = sys::MkdirAllInRoot(ctx.root_fd.Get(), parent, 0755);
  if (!dir) return std::unexpected(std::move(dir.error().Wrap("symlink " + link)));
  BERTH_TRYV(sys::CheckInside(dir->Get(), ctx.root_real, link));
  if (replace && unlinkat(dir->Get(), base.c_str(), 0) < 0 && errno != ENOENT)
    return Errno("unlink", link);
  if (symlinkat(target.c_str(), dir->Get(), base.c_str()) < 0 && errno != EEXIST)
    return Errno("symlink", link, "to " + target);
  return {};
}

}  // namespace

Result<void> SetupDevices(Context& ctx) {
  if (DevIsHostBind(ctx.spec)) return {};
  UmaskGuard umask0(0);  // device modes are exact, as the spec asks

  std::set<std::string> given;
  if (ctx.spec.linux) {
    for (const auto& d : ctx.spec.linux->devices) {
      BERTH_TRYV(CreateDevice(ctx, d));
      given.insert(sys::CleanPath(d.path));
    }
  }
  for (const auto& dd : kDefaultDevices) {
    if (given.count(dd.path)) continue;  // the config's entry wins
    spec::LinuxDevice d;
    d.path = dd.path;
    d.type = "c";
    d.major = dd.major;
    d.minor = dd.minor;
    d.file_mode = 0666;
    BERTH_TRYV(CreateDevice(ctx, d));
  }

  // /dev/ptmx must be the devpts instance's own ptmx, so it is replaced by a symlink unless
  // the config asked for a device node there.
  if (!given.count("/dev/ptmx")) BERTH_TRYV(Symlink(ctx, "pts/ptmx", "/dev/ptmx", true));
  BERTH_TRYV(Symlink(ctx, "/proc/self/fd", "/dev/fd", false));
  BERTH_TRYV(Symlink(ctx, "/proc/self/fd/0", "/dev/stdin", false));
  BERTH_TRYV(Symlink(ctx, "/proc/self/fd/1", "/dev/stdout", false));
  BERTH_TRYV(Symlink(ctx, "/proc/self/fd/2", "/dev/stderr", false));
  if (access("/proc/kcore", F_OK) == 0) BERTH_TRYV(Symlink(ctx, "/proc/kcore", "/dev/core", false));
  return {};
}

}  // namespace berth::runtime::rootfs_internal
