// berth exec: a new process inside a running container's namespaces and cgroup.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "cgroups/manager.h"
#include "runtime/container.h"
#include "runtime/host_probe.h"
#include "runtime/init.h"
#include "runtime/launch_util.h"
#include "runtime/sync.h"
#include "spec/parse.h"
#include "spec/validate.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/unix_socket.h"

namespace berth::runtime {

namespace {

std::string Quote(const std::string& id) { return "\"" + id + "\""; }

// runc exec semantics: without --process, start from the container's own process
// (env, user, capabilities, rlimits, ...) and override what the flags say.
Result<spec::Process> BuildProcess(const ExecOptions& o, const spec::Spec& spec) {
  if (!o.process_file.empty()) {
    auto text = sys::ReadFile(o.process_file);
    if (!text) return std::unexpected(text.error().Wrap("--process"));
    auto p = spec::ParseProcess(*text, o.process_file);
    if (!p) return std::unexpected(p.error());
    if (p->args.empty()) return Fail(o.process_file, "args", "must not be empty");
    return p;
  }
  if (o.args.empty()) return Fail("exec", "", "no command given (args or --process)");
  spec::Process p = spec.process ? *spec.process : spec::Process{};
  p.args = o.args;
  p.terminal = o.tty;
  p.console_size.reset();
  for (const auto& e : o.env) p.env.push_back(e);
  if (!o.cwd.empty()) p.cwd = o.cwd;
  if (!o.user.empty()) {
    char* end = nullptr;
    unsigned long uid = strtoul(o.user.c_str(), &end, 10);
    if (end == o.user.c_str() || (*end && *end != ':'))
      return Fail("--user", o.user, "expected UID[:GID] as numbers");
    p.user.uid = static_cast<uint32_t>(uid);
    if (*end == ':') p.user.gid = static_cast<uint32_t>(strtoul(end + 1, nullptr, 10));
  }
  for (const auto& g : o.additional_gids)
    p.user.additional_gids.push_back(static_cast<uint32_t>(strtoul(g.c_str(), nullptr, 10)));
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities = spec::Capabilities{};
    auto& c = *p.capabilities;
    for (const auto& cap : o.caps) {
      for (auto* set : {&c.bounding, &c.effective, &c.permitted})
        set->push_back(cap);
      // Ambient needs inheritable; runc adds exec caps to both.
      c.inheritable.push_back(cap);
      c.ambient.push_back(cap);
    }
  }
  if (o.no_new_privs) p.no_new_privileges = true;
  return p;
}

// The flags that override a --process file too, then the same checks create applies to
// config.json's process (an LSM label on a host without that LSM fails here instead of
// running the process unconfined).
Result<spec::Process> FinishProcess(const ExecOptions& o, spec::Process p) {
  if (!o.apparmor_profile.empty()) p.apparmor_profile = o.apparmor_profile;
  if (!o.process_label.empty()) p.selinux_label = o.process_label;
  SystemHostProbe host;
  auto valid = spec::ValidateProcess(p, {.host = &host});
  if (!valid) {
    Error e = valid.error();
    if (!o.process_file.empty()) e.Wrap(o.process_file);
    return std::unexpected(std::move(e));
  }
  return p;
}

// True when /proc/<pid>/exe is a sealed memfd: the init of a container created with
// NeedsSealedRuntime, whose binary a process joining it cannot alter.
bool InitRunsSealedCopy(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/exe";
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  int seals = fcntl(fd.Get(), F_GET_SEALS);
  return seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE));
}

// A created container's init waits non-dumpable (init.cc), so a process joining it can
// reach the init's /proc/<pid>/exe only with CAP_SYS_PTRACE in the host's user namespace:
// i.e. without a user namespace and with CAP_SYS_PTRACE in its bounding set (or no
// capability list, which keeps all). Harmless anyway when the init is a sealed copy.
bool CouldReachUnsealedInit(const spec::Spec& spec, const spec::Process& p, pid_t init) {
  if (spec.HasNamespace("user")) return false;
  if (p.capabilities) {
    const auto& b = p.capabilities->bounding;
    if (std::find(b.begin(), b.end(), "CAP_SYS_PTRACE") == b.end()) return false;
  }
  return !InitRunsSealedCopy(init);
}

bool HasNewMountNamespace(const spec::Spec& spec) {
  if (!spec.linux) return false;
  for (const auto& ns : spec.linux->namespaces)
    if (ns.type == "mount" && ns.path.empty()) return true;
  return false;
}

}  // namespace

Result<int> Exec(const ExecOptions& o) {
  StateStore store(o.root);
  auto st = store.Load(o.id);
  if (!st) return std::unexpected(st.error().Wrap("exec"));
  // "container not running": what runc's callers match (see kNotRunning in ops.cc).
  if (st->status == Status::kStopped)
    return FailedPrecondition("exec", Quote(o.id),
                              "cannot exec in a stopped container (container not running)");
  if (st->status == Status::kPaused)
    return FailedPrecondition("exec", Quote(o.id), "cannot exec in a paused container");
  auto spec = LoadContainerSpec(o.root, o.id);
  if (!spec) return std::unexpected(spec.error());
  auto proc = BuildProcess(o, *spec);
  if (proc) proc = FinishProcess(o, std::move(*proc));
  if (!proc) return std::unexpected(proc.error().Wrap("exec " + Quote(o.id)));
  if (st->status == Status::kCreated && CouldReachUnsealedInit(*spec, *proc, st->pid))
    return Fail("exec", Quote(o.id),
                "cannot exec a process with CAP_SYS_PTRACE in a created container: start it "
                "first (its init still runs the runtime's binary: CVE-2019-5736)");
  if (proc->terminal && o.console_socket.empty() && o.detach)
    return Fail("exec", Quote(o.id), "a detached process with a terminal (-t) needs --console-socket");

  InitConfig cfg;
  cfg.spec = &*spec;
  cfg.process = &*proc;
  cfg.is_exec = true;
  cfg.stage1 = true;
  cfg.id = o.id;
  cfg.bundle = st->bundle;
  cfg.preserve_fds = o.preserve_fds;
  auto prepared = PrepareProcess(*proc, spec->linux ? spec->linux->seccomp : std::nullopt,
                                 spec->linux ? spec->linux->personality : std::nullopt);
  if (!prepared) return std::unexpected(prepared.error().Wrap("exec " + Quote(o.id)));
  cfg.prepared = std::move(*prepared);

  // Join every namespace the container's init is in, where it differs from ours.
  std::string base = "/proc/" + std::to_string(st->pid) + "/ns/";
  for (const char* t : {"user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"}) {
    std::string name = NamespaceProcName(t);
    struct stat theirs, ours;
    if (stat((base + name).c_str(), &theirs) < 0) continue;  // kernel without it
    if (stat(("/proc/self/ns/" + name).c_str(), &ours) == 0 && theirs.st_ino == ours.st_ino)
      continue;
    int fd = open((base + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("exec " + Quote(o.id) + ": open", base + name);
    JoinedNamespace j;
    j.flag = NamespaceFlag(t);
    j.type = t;
    j.path = base + name;
    j.fd = UniqueFd(fd);
    cfg.ns.joins.push_back(std::move(j));
  }
  SortJoins(cfg.ns.joins);
  // Without a new mount namespace the init chrooted into root.path: so must we.
  UniqueFd init_root;
  if (!HasNewMountNamespace(*spec)) {
    std::string root = "/proc/" + std::to_string(st->pid) + "/root";
    init_root = UniqueFd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!init_root) return Errno("exec " + Quote(o.id) + ": open", root);
    cfg.exec_root_fd = init_root.Get();
  }
  // Exec must not be left out of the container just because its init exited meanwhile.
  if (!sys::ProcessAlive(st->pid, st->pid_start_time))
    return FailedPrecondition("exec", Quote(o.id), "container not running: it exited meanwhile");

  UniqueFd console, console_ours;
  if (proc->terminal && !o.console_socket.empty()) {
    auto c = sys::ConnectUnix(o.console_socket, "--console-socket");
    if (!c) return std::unexpected(c.error());
    console = std::move(*c);
  } else if (proc->terminal) {
    // Foreground exec -t without a socket: berth receives the pty master and proxies it.
    auto pair = MakeConsolePair();
    if (!pair) return std::unexpected(pair.error().Wrap("exec " + Quote(o.id)));
    console_ours = std::move(pair->ours);
    console = std::move(pair->theirs);
  }
  cfg.console_fd = console.Get();
  auto mgr = cgroups::Open(st->cgroups_path, st->id);
  if (!mgr) return std::unexpected(mgr.error());

  sigset_t all, old;
  sigfillset(&all);
  if (!o.detach) sigprocmask(SIG_BLOCK, &all, &old);
  auto restore = [&] {
    if (!o.detach) sigprocmask(SIG_SETMASK, &old, nullptr);
  };

  auto sp = MakeSyncPair();
  if (!sp) return restore(), std::unexpected(sp.error());
  cfg.sync_fd = sp->child.Get();
  auto child = sys::ForkWithFlags(0);
  if (!child) return restore(), std::unexpected(child.error());
  if (*child == 0) ChildMain(cfg);
  sp->child.Reset();
  int sync = sp->parent.Get();
  pid_t stage1 = *child;
  auto pidmsg = SyncExpect(sync, SyncType::kChildPid, "exec");
  (void)sys::WaitExit(stage1);
  if (!pidmsg) return restore(), std::unexpected(pidmsg.error().Wrap("exec " + Quote(o.id)));
  pid_t pid = pidmsg->value;

  auto fail = [&](Error e) -> Result<int> {
    kill(pid, SIGKILL);
    (void)sys::WaitExit(pid);
    restore();
    return std::unexpected(e.Wrap("exec " + Quote(o.id)));
  };
  if (auto r = (*mgr)->AddProcess(pid); !r) return fail(r.error());
  if (auto r = SyncSend(sync, SyncType::kGo, pid); !r) return fail(r.error());
  // EOF means execve succeeded (the socket is close-on-exec); a message is an error.
  auto m = SyncRecv(sync);
  if (!m && !IsPeerGone(m.error())) return fail(m.error());
  if (!o.pid_file.empty()) {
    if (auto r = WritePidFile(o.pid_file, pid); !r) return fail(r.error());
  }
  if (o.detach) return 0;
  console.Reset();
  UniqueFd master;
  if (console_ours) {
    auto m = sys::RecvFd(console_ours.Get(), "console socket");
    if (!m) return fail(m.error());
    master = std::move(*m);
  }
  int status = master ? ProxyTerminalUntilExit(pid, master.Get()) : ForwardSignalsUntilExit(pid);
  restore();
  return status;
}

}  // namespace berth::runtime
