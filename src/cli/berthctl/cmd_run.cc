// run: image -> snapshot -> bundle -> the OCI runtime in the foreground (like `ctr run`).
// The writable snapshot is mounted on <root>/bundles/<id>/rootfs by berthctl (snapshotters
// describe mounts, their users perform them); the runtime gets an ordinary bundle.
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "cli/berthctl/commands.h"
#include "image/bundle.h"
#include "image/pull.h"

namespace berth::cli {

using namespace berth::image;

namespace {

std::string RandomId() {
  std::random_device rd;
  char buf[13];
  snprintf(buf, sizeof buf, "%06x%06x", rd() & 0xffffff, rd() & 0xffffff);
  return std::string("berthctl-") + buf;
}

std::string BundleDir(const Globals& g, const std::string& id) { return g.root + "/bundles/" + id; }

// Container ids name a directory under bundles/ and a snapshot: 1-128 of [A-Za-z0-9_.-],
// not starting with '.'.
Result<void> ValidateName(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 128 && id[0] != '.';
  for (char c : id)
    ok = ok && (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  if (!ok)
    return berth::Fail("container name", "\"" + id + "\"",
                       "expected 1-128 of [A-Za-z0-9_.-], not starting with '.'");
  return {};
}

// The runtime pid while `run` waits for it: SIGTERM/SIGHUP to berthctl are passed on, so
// the container stops and berthctl still cleans up after it.
volatile sig_atomic_t g_child = 0;
void ForwardSignal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

// The runtime: --runtime, else `berth` next to this binary, else `berth` from PATH.
std::string FindRuntime(const std::string& flag) {
  if (!flag.empty()) return flag;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, n);
    dir = dir.substr(0, dir.rfind('/'));
    std::string beside = dir + "/berth";
    if (access(beside.c_str(), X_OK) == 0) return beside;
  }
  return "berth";
}

// Unmounts the rootfs, drops the snapshot and the bundle; every step is tried.
Result<void> RemoveContainer(Store& store, const Globals& g, const std::string& id,
                             bool snapshot = true) {
  std::string bundle = BundleDir(g, id);
  Result<void> first;
  auto keep = [&](Result<void> r) {
    if (!r && first) first = std::move(r);
  };
  keep(UnmountAll(bundle + "/rootfs"));
  if (snapshot) keep(store.snapshots.Remove(id));
  std::string config = bundle + "/config.json";
  if (unlink(config.c_str()) < 0 && errno != ENOENT) keep(Errno("unlink", config));
  std::string rootfs = bundle + "/rootfs";
  if (rmdir(rootfs.c_str()) < 0 && errno != ENOENT) keep(Errno("rmdir", rootfs));
  if (rmdir(bundle.c_str()) < 0 && errno != ENOENT) keep(Errno("rmdir", bundle));
  return first;
}

Result<ResolvedImage> ResolveOrPull(const Globals& g, Store& store, const RunArgs& a,
                                    const Platform& platform) {
  auto img = ResolveImage(store, a.image, platform);
  if (img) return img;
  auto ref = ParseReference(a.image);
  if (!ref || !img.error().IsNotFound()) return img;
  // Progress only for a person at a terminal: scripts get the container's output and errors.
  BERTH_TRY(PullWithProgress(g, store, *ref, platform, !isatty(STDERR_FILENO), stderr));
  return ResolveImage(store, a.image, platform);
}

// Runs the runtime in the foreground and returns the container's exit status as a shell
// would report it. SIGINT/SIGQUIT from the terminal reach the runtime (same process group),
// which forwards them; we only wait.
Result<int> RunRuntime(const std::string& runtime, const std::string& bundle,
                       const std::string& id) {
  struct sigaction ign{}, old_int{}, old_quit{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    return ErrnoCode(e, "fork", runtime);
  }
  if (pid == 0) {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    execlp(runtime.c_str(), runtime.c_str(), "run", "--bundle", bundle.c_str(), id.c_str(),
           static_cast<char*>(nullptr));
    fprintf(stderr, "berthctl: exec %s: %s\n", runtime.c_str(), strerror(errno));
    _exit(127);
  }
  g_child = pid;
  struct sigaction fwd{}, old_term{}, old_hup{};
  fwd.sa_handler = ForwardSignal;
  sigaction(SIGTERM, &fwd, &old_term);
  sigaction(SIGHUP, &fwd, &old_hup);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

int CmdRun(const Globals& g, const RunArgs& a) {
  auto platform = PlatformOrHost(a.platform);
  if (!platform) return Fail(platform.error());
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  auto img = ResolveOrPull(g, *store, a, *platform);
  if (!img) return Fail(img.error());
  if (auto r = UnpackImage(*store, *img); !r) return Fail(r.error());

  std::string id = a.name.empty() ? RandomId() : a.name;
  if (auto r = ValidateName(id); !r) return Fail(r.error());
  std::string bundle = BundleDir(g, id);
  std::string bundles = g.root + "/bundles";
  mkdir(bundles.c_str(), 0700);
  if (mkdir(bundle.c_str(), 0700) < 0) {
    if (errno == EEXIST)
      return Fail(Error{0, "run", id, "a container of that name exists (berthctl rm it)", {}});
    return Fail(Error{errno, "mkdir", bundle, "", {}});
  }
  bool prepared = false;
  auto setup = [&]() -> Result<void> {
    std::string rootfs = bundle + "/rootfs";
    if (mkdir(rootfs.c_str(), 0755) < 0) return Errno("mkdir", rootfs);
    auto mounts = BERTH_TRY(store->snapshots.Prepare(
        id, img->chain_ids.empty() ? std::string() : img->chain_ids.back()));
    prepared = true;
    BERTH_TRYV(MountAll(mounts, rootfs));
    BundleOptions o;
    o.args = a.args;
    if (!a.entrypoint.empty()) o.entrypoint = {a.entrypoint};
    o.env = a.env;
    o.working_dir = a.workdir;
    o.user = a.user;
    o.hostname = a.hostname;
    o.terminal = a.tty;
    o.readonly_rootfs = a.read_only;
    return WriteBundleConfig(bundle, img->config, o);
  };
  if (auto r = setup(); !r) {
    // Undo only what this run made (a snapshot of that name may belong to another).
    (void)RemoveContainer(*store, g, id, prepared);
    return Fail(r.error().Wrap("run " + a.image));
  }
  auto rc = RunRuntime(FindRuntime(a.runtime), bundle, id);
  // The runtime's `run` deleted its container; the rootfs is ours to unmount.
  auto un = UnmountAll(bundle + "/rootfs");
  if (a.rm) {
    if (auto r = RemoveContainer(*store, g, id); !r) Fail(r.error());
  } else if (!un) {
    Fail(un.error());
  }
  if (!rc) return Fail(rc.error());
  return *rc;
}

// True when the runtime still knows the container (`run` in another terminal): its
// writable layer is in use.
bool RuntimeHasContainer(const std::string& runtime, const std::string& id) {
  pid_t pid = fork();
  if (pid < 0) return true;  // cannot tell: keep the container
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    execlp(runtime.c_str(), runtime.c_str(), "state", id.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int CmdRm(const Globals& g, const std::vector<std::string>& ids) {
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  int rc = 0;
  for (auto& id : ids) {
    if (auto r = ValidateName(id); !r) {
      rc = Fail(r.error().Wrap("rm"));
      continue;
    }
    if (RuntimeHasContainer(FindRuntime(""), id)) {
      rc = Fail(Error{0, "rm", "\"" + id + "\"", "the container still exists in the runtime (running?)", {}});
      continue;
    }
    if (access(BundleDir(g, id).c_str(), F_OK) < 0) {
      rc = Fail(Error{0, "rm", "\"" + id + "\"", "no such container", {}});
      continue;
    }
    if (auto r = RemoveContainer(*store, g, id); !r) rc = Fail(r.error());
  }
  return rc;
}

}  // namespace berth::cli
