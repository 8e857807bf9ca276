// create, run, start, kill, delete, pause, resume.
#include <algorithm>
#include <cstdio>

#include "base/log.h"
#include "cgroups/manager.h"
#include "cli/berth/commands.h"
#include "cli/berth/self_protect.h"
#include "cli/berth/flags.h"
#include "runtime/container.h"
#include "sys/process.h"

namespace berth::cli {

Result<Args> ParseWith(FlagSet& f, const Args& a, size_t n, size_t max, const char* usage) {
  auto pos = f.Parse(a);
  if (!pos) return pos;
  if (f.HelpRequested()) {
    printf("Usage: berth %s\n\n%s", usage, f.Usage().c_str());
    exit(0);
  }
  if (pos->size() < n || pos->size() > max)
    return InvalidArgument("usage", "", std::string("berth ") + usage);
  return pos;
}

namespace {

// --systemd-cgroup asks for systemd's driver, which berth does not have (no systemd runs
// as PID 1 on its hosts): say so once, at create, naming the directory berth manages
// through cgroupfs instead. A cgroupsPath that is not slice:prefix:name is refused, as
// the systemd driver refuses it, rather than silently placed as a cgroupfs path.
Result<void> CheckSystemdCgroup(const spec::Spec& spec, const std::string& id) {
  std::string p = spec.linux ? spec.linux->cgroups_path : "";
  if (!p.empty() && (p[0] == '/' || std::count(p.begin(), p.end(), ':') != 2))
    return InvalidArgument("--systemd-cgroup", "linux.cgroupsPath \"" + p + "\"",
                "expected slice:prefix:name, the systemd driver's form");
  std::string dir = BERTH_TRY(cgroups::ResolveCgroupsPath(p, id));
  log::Warn("--systemd-cgroup: berth has no systemd cgroup driver; it manages cgroup " + dir +
            " through cgroupfs itself, so systemd does not track this container");
  return {};
}

// Re-executes from a sealed copy of berth when the container needs it (CVE-2019-5736).
// Needs o.id set.
void ProtectWhenNeeded(const Globals& g, runtime::CreateOptions& o) {
  o.before_launch = [argc = g.argc, argv = g.argv, systemd = g.systemd_cgroup,
                     id = o.id](const spec::Spec& spec) -> Result<void> {
    // ProtectSelf re-execs and this runs again in the copy: check (and warn) only there.
    if (runtime::NeedsSealedRuntime(spec)) BERTH_TRYV(ProtectSelf(argc, argv));
    if (systemd) BERTH_TRYV(CheckSystemdCgroup(spec, id));
    return {};
  };
}

void CreateFlags(FlagSet& f, runtime::CreateOptions& o) {
  f.String("b,bundle", &o.bundle, "path to the bundle directory (default: current directory)");
  f.String("pid-file", &o.pid_file, "file to write the container init's pid to");
  f.String("console-socket", &o.console_socket, "unix socket to send the pty master to");
  f.Bool("no-pivot", &o.no_pivot, "use MS_MOVE + chroot instead of pivot_root");
  f.Bool("no-new-keyring", &o.no_new_keyring, "keep the caller's session keyring");
  f.Int("preserve-fds", &o.preserve_fds, "number of extra fds (from 3) to pass to the container");
}

}  // namespace

int CmdCreate(const Globals& g, const Args& a) {
  runtime::CreateOptions o;
  o.root = g.root;
  FlagSet f("create");
  CreateFlags(f, o);
  auto pos = ParseWith(f, a, 1, 1, "create [options] <container-id>");
  if (!pos) return ReportError(pos.error().Message());
  o.id = (*pos)[0];
  ProtectWhenNeeded(g, o);
  auto r = runtime::Create(o);
  if (!r) return ReportError(r.error().Message());
  return 0;
}

int CmdRun(const Globals& g, const Args& a) {
  runtime::CreateOptions o;
  o.root = g.root;
  bool detach = false;
  FlagSet f("run");
  CreateFlags(f, o);
  f.Bool("d,detach", &detach, "detach from the container's process");
  f.Ignored("keep", false, "accepted for runc compatibility");
  auto pos = ParseWith(f, a, 1, 1, "run [options] <container-id>");
  if (!pos) return ReportError(pos.error().Message());
  o.id = (*pos)[0];
  ProtectWhenNeeded(g, o);
  auto r = runtime::Run(o, detach);
  if (!r) return ReportError(r.error().Message());
  return *r;
}

int CmdStart(const Globals& g, const Args& a) {
  FlagSet f("start");
  auto pos = ParseWith(f, a, 1, 1, "start <container-id>");
  if (!pos) return ReportError(pos.error().Message());
  auto r = runtime::Start(g.root, (*pos)[0]);
  if (!r) return ReportError(r.error().Message());
  return 0;
}

int CmdKill(const Globals& g, const Args& a) {
  bool all = false;
  FlagSet f("kill");
  f.Bool("a,all", &all, "send the signal to every process in the container");
  auto pos = ParseWith(f, a, 1, 2, "kill [--all] <container-id> [signal]");
  if (!pos) return ReportError(pos.error().Message());
  int sig = 15;
  if (pos->size() == 2 && (*pos)[1] == "0") {
    sig = 0;  // as with kill(2) and runc: only checks that the container's process is alive
  } else if (pos->size() == 2) {
    auto s = sys::ParseSignal((*pos)[1]);
    if (!s) return ReportError("kill: " + s.error().Message());
    sig = *s;
  }
  auto r = runtime::Kill(g.root, (*pos)[0], sig, all);
  if (!r) return ReportError(r.error().Message());
  return 0;
}

int CmdDelete(const Globals& g, const Args& a) {
  bool force = false;
  FlagSet f("delete");
  f.Bool("f,force", &force, "kill the container first if it is running");
  auto pos = ParseWith(f, a, 1, 1, "delete [--force] <container-id>");
  if (!pos) return ReportError(pos.error().Message());
  auto r = runtime::Delete(g.root, (*pos)[0], force);
  if (!r) return ReportError(r.error().Message());
  return 0;
}

int CmdPause(const Globals& g, const Args& a) {
  FlagSet f("pause");
  auto pos = ParseWith(f, a, 1, 1, "pause <container-id>");
  if (!pos) return ReportError(pos.error().Message());
  auto r = runtime::Pause(g.root, (*pos)[0]);
  if (!r) return ReportError(r.error().Message());
  return 0;
}

int CmdResume(const Globals& g, const Args& a) {
  FlagSet f("resume");
  auto pos = ParseWith(f, a, 1, 1, "resume <container-id>");
  if (!pos) return ReportError(pos.error().Message());
  auto r = runtime::Resume(g.root, (*pos)[0]);
  if (!r) return ReportError(r.error().Message());
  return 0;
}

}  // namespace berth::cli
