// run --local: image -> snapshot -> bundle -> the OCI runtime in the foreground (like
// `ctr run`), without a daemon; rm --local removes what it left. (run through berthd:
// cmd_docker_run.cc.)
// The assembly (image/assembly.h) and the runtime client (oci/runtime_client.h) are the
// libraries berthd uses too; this file is the CLI around them: names, signals, --rm.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "cli/berthctl/commands.h"
#include "image/assembly.h"
#include "image/pull.h"
#include "oci/runtime_client.h"

namespace berth::cli {

using namespace berth::image;

namespace {

std::string RandomId() {
  std::random_device rd;
  char buf[13];
  snprintf(buf, sizeof buf, "%06x%06x", rd() & 0xffffff, rd() & 0xffffff);
  return std::string("berthctl-") + buf;
}

std::string BundlesDir(const Globals& g) { return g.root + "/bundles"; }

// The runtime pid while `run` waits for it: SIGTERM/SIGHUP to berthctl are passed on, so
// the container stops and berthctl still cleans up after it.
volatile sig_atomic_t g_child = 0;
void ForwardSignal(int sig) {
  if (g_child > 0) kill(g_child, sig);
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
// which forwards them; we ignore them and wait. The child gets default dispositions.
Result<int> RunRuntime(const oci::RuntimeClient& runtime, const std::string& bundle,
                       const std::string& id) {
  struct sigaction ign{}, old_int{}, old_quit{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  auto restore = [&] {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
  };
  oci::CreateOptions o;
  o.bundle = bundle;
  o.stdio = oci::Stdio::Inherit();
  auto proc = runtime.SpawnRun(id, o);
  if (!proc) {
    restore();
    return std::unexpected(proc.error());
  }
  g_child = proc->Pid();
  struct sigaction fwd{}, old_term{}, old_hup{};
  fwd.sa_handler = ForwardSignal;
  sigaction(SIGTERM, &fwd, &old_term);
  sigaction(SIGHUP, &fwd, &old_hup);
  auto status = proc->Wait();
  g_child = 0;
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  restore();
  if (!status) return std::unexpected(status.error());
  if (WIFEXITED(*status)) return WEXITSTATUS(*status);
  return 128 + WTERMSIG(*status);
}

}  // namespace

int CmdRun(const Globals& g, const RunArgs& a) {
  // What only berthd's pods have; stdin is always the container's here (-i is a no-op).
  const char* daemon_only = a.detach                ? "-d"
                            : !a.volumes.empty()    ? "-v"
                            : !a.ports.empty()      ? "-p"
                            : a.network != "cni"    ? "--network"
                            : !a.cgroup_parent.empty() ? "--cgroup-parent"
                                                       : nullptr;
  if (daemon_only)
    return Fail(InvalidArgument("run --local", daemon_only,
                                "only through berthd (run without --local)")
                    .error());
  auto platform = PlatformOrHost(a.platform);
  if (!platform) return Fail(platform.error());
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  auto img = ResolveOrPull(g, *store, a, *platform);
  if (!img) return Fail(img.error());
  std::string id = a.name.empty() ? RandomId() : a.name;
  if (auto r = ValidateContainerName(id); !r) return Fail(r.error());
  auto runtime = oci::RuntimeClient::Find(a.runtime);
  if (!runtime) return Fail(runtime.error().Wrap("run"));

  AssembleOptions o;
  o.bundles_dir = BundlesDir(g);
  o.limits = g.limits;
  o.bundle.args = a.args;
  if (!a.entrypoint.empty()) o.bundle.entrypoint = {a.entrypoint};
  o.bundle.env = a.env;
  o.bundle.working_dir = a.workdir;
  o.bundle.user = a.user;
  o.bundle.hostname = a.hostname;
  o.bundle.terminal = a.tty;
  o.bundle.readonly_rootfs = a.read_only;
  auto made = AssembleContainer(*store, *img, id, o);
  if (!made) {
    Error e = std::move(made.error());
    if (e.IsAlreadyExists()) e.detail += " (berthctl rm --local it)";
    return Fail(e.Wrap("run " + a.image));
  }
  auto rc = RunRuntime(*runtime, made->bundle, id);
  // The runtime's `run` deleted its container; the rootfs is ours to unmount.
  auto un = UnmountAssembled(o.bundles_dir, id);
  if (a.rm) {
    if (auto r = RemoveAssembled(*store, o.bundles_dir, id); !r) Fail(r.error());
  } else if (!un) {
    Fail(un.error());
  }
  if (!rc) return Fail(rc.error());
  return *rc;
}

int CmdRm(const Globals& g, const RmArgs& a) {
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  auto runtime = oci::RuntimeClient::Find(a.runtime);
  if (!runtime) return Fail(runtime.error().Wrap("rm"));
  int rc = 0;
  for (auto& id : a.ids) {
    if (auto r = ValidateContainerName(id); !r) {
      rc = Fail(r.error().Wrap("rm"));
      continue;
    }
    // A container the runtime still knows (`run` in another terminal) uses its writable
    // layer; only "does not exist" lets it go (when the runtime cannot tell, keep it).
    auto state = runtime->State(id);
    if (state) {
      rc = Fail(FailedPrecondition("rm", "\"" + id + "\"",
                                   "the container still exists in the runtime (" +
                                       state->status + ")")
                    .error());
      continue;
    }
    if (!state.error().IsNotFound()) {
      rc = Fail(state.error().Wrap("rm \"" + id + "\": cannot tell whether the runtime still has it"));
      continue;
    }
    if (access((BundlesDir(g) + "/" + id).c_str(), F_OK) < 0) {
      rc = Fail(NotFound("rm", "\"" + id + "\"", "no such container").error());
      continue;
    }
    if (auto r = RemoveAssembled(*store, BundlesDir(g), id); !r) rc = Fail(r.error());
  }
  return rc;
}

}  // namespace berth::cli
