// berth create / run: the parent side of starting a container.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "base/log.h"
#include "cgroups/manager.h"
#include "runtime/container.h"
#include "runtime/create_internal.h"
#include "runtime/hooks.h"
#include "runtime/host_probe.h"
#include "runtime/init.h"
#include "runtime/launch_util.h"
#include "runtime/lifecycle.h"
#include "runtime/sync.h"
#include "spec/parse.h"
#include "spec/validate.h"
#include "sys/mounts.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/unix_socket.h"

namespace berth::runtime {

namespace {

// Undoes a half-finished create: whatever exists is removed, in reverse order, so a
// failed create leaves no process, cgroup or state dir behind.
class CreateRollback {
 public:
  CreateRollback(StateStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  ~CreateRollback() {
    if (committed_) return;
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      (void)sys::WaitExit(pid_);
    }
    if (cgroup_) (void)cgroup_->Destroy();
    if (dir_created_) (void)store_.Remove(id_);
  }
  void SetDir() { dir_created_ = true; }
  void SetCgroup(cgroups::Manager* m) { cgroup_ = m; }
  void SetPid(pid_t p) { pid_ = p; }
  void Commit() { committed_ = true; }

 private:
  StateStore& store_;
  std::string id_;
  bool dir_created_ = false, committed_ = false;
  cgroups::Manager* cgroup_ = nullptr;
  pid_t pid_ = 0;
};

// Canonical form of a path that exists; as given otherwise (the validator names it then).
std::string AbsPath(const std::string& p) {
  auto real = sys::CanonicalPath(p);
  return real ? *real : p;
}

}  // namespace

namespace create_internal {

// The device cgroup must let the container use the devices berth itself creates (the
// default devices and linux.devices), whatever the spec's rules say; they are appended
// so that they win (rules are evaluated in order, the last match decides).
spec::LinuxResources WithDeviceDefaults(spec::LinuxResources res,
                                        const std::vector<spec::LinuxDevice>& devices) {
  const size_t n_spec_rules = res.devices.size();
  auto allow = [&res](const char* type, std::optional<int64_t> major,
                      std::optional<int64_t> minor, const char* access) {
    spec::LinuxDeviceCgroup r;
    r.allow = true;
    r.type = type;
    r.major = major;
    r.minor = minor;
    r.access = access;
    res.devices.push_back(std::move(r));
  };
  allow("c", std::nullopt, std::nullopt, "m");  // mknod of any device node is harmless
  allow("b", std::nullopt, std::nullopt, "m");
  allow("c", 1, 3, "rwm");    // /dev/null
  allow("c", 1, 5, "rwm");    // /dev/zero
  allow("c", 1, 7, "rwm");    // /dev/full
  allow("c", 1, 8, "rwm");    // /dev/random
  allow("c", 1, 9, "rwm");    // /dev/urandom
  allow("c", 5, 0, "rwm");    // /dev/tty
  allow("c", 5, 2, "rwm");    // /dev/ptmx
  allow("c", 136, std::nullopt, "rwm");  // /dev/pts/*
  for (const auto& d : devices) {
    if (d.type == "p") continue;
    allow(d.type == "b" ? "b" : "c", d.major, d.minor, "rwm");
  }
  // ...except that a deny of read/write naming one exact device (type, major and minor)
  // still wins: it is repeated after the allows, so a spec can keep e.g. /dev/full as a
  // node in the container (a default device, or in linux.devices) but unusable. Its "m"
  // is dropped: the init creates the node while already in the cgroup.
  for (size_t i = 0; i < n_spec_rules; ++i) {
    spec::LinuxDeviceCgroup r = res.devices[i];
    if (r.allow || (r.type != "c" && r.type != "b") || !r.major || !r.minor) continue;
    std::string rw;
    for (char c : std::string(r.access.empty() ? "rw" : r.access))
      if (c == 'r' || c == 'w') rw += c;
    if (rw.empty()) continue;
    r.access = rw;
    res.devices.push_back(std::move(r));
  }
  return res;
}

}  // namespace create_internal

namespace {

using create_internal::WithDeviceDefaults;

// The init died while we waited for it: say why, as far as the kernel tells (an OOM kill
// under a tiny memory limit is the common case and otherwise looks like a mystery).
Error ExplainInitDeath(pid_t pid, cgroups::Manager& cg, const spec::Spec& spec, Error e) {
  if (!IsPeerGone(e)) return e;
  e.WithKind(ErrorKind::kInternal);  // kAborted only means "gone" on the sync socket
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return e;
  if (WIFSIGNALED(status)) {
    e.detail = "container init was killed by " + sys::SignalName(WTERMSIG(status));
    auto stats = cg.GetStats();
    bool limited = spec.linux && spec.linux->resources && spec.linux->resources->memory &&
                   spec.linux->resources->memory->limit.value_or(-1) > 0;
    if (WTERMSIG(status) == SIGKILL && ((stats && stats->memory.oom_events > 0) || limited))
      e.WithKind(ErrorKind::kResourceExhausted).detail += " (out of memory: linux.resources.memory.limit " +
                  std::to_string(spec.linux->resources->memory->limit.value_or(0)) +
                  " is too low for the container to start)";
  } else if (WIFEXITED(status)) {
    e.detail = "container init exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return e;
}

}  // namespace

// What create leaves for `run` to go on with.
struct Created {
  pid_t pid = 0;
  State state;
  spec::Spec spec;
  std::unique_ptr<cgroups::Manager> cgroup;
};

// console_override: for a foreground `run` with a terminal and no --console-socket, one end
// of a socketpair on which the runtime itself receives the pty master.
Result<Created> CreateInternal(const CreateOptions& opts, int console_override) {
  BERTH_TRYV(ValidateId(opts.id));
  StateStore store(opts.root);
  std::string bundle = AbsPath(opts.bundle);
  std::string config_path = bundle + "/config.json";
  auto text = sys::ReadFile(config_path);
  if (!text) return std::unexpected(text.error());
  auto parsed = spec::ParseSpec(*text, "config.json");
  if (!parsed) return std::unexpected(parsed.error());
  spec::Spec spec = std::move(*parsed);
  SystemHostProbe host;
  BERTH_TRYV(spec::Validate(spec, {.host = &host, .bundle_dir = bundle}));
  if (!spec.process) return Fail("config.json", "process", "is required to create a container");
  if (!spec.root) return Fail("config.json", "root", "is required to create a container");
  if (opts.before_launch) BERTH_TRYV(opts.before_launch(spec));

  InitConfig cfg;
  cfg.spec = &spec;
  cfg.process = &*spec.process;
  cfg.id = opts.id;
  cfg.bundle = bundle;
  cfg.preserve_fds = opts.preserve_fds;
  cfg.no_new_keyring = opts.no_new_keyring;
  struct stat self;
  if (stat("/proc/self/exe", &self) == 0) {
    cfg.self_dev = self.st_dev;
    cfg.self_ino = self.st_ino;
  }
  cfg.rootfs.no_pivot = opts.no_pivot;

  auto prepared = PrepareProcess(*spec.process, spec.linux ? spec.linux->seccomp : std::nullopt,
                                 spec.linux ? spec.linux->personality : std::nullopt);
  if (!prepared) return std::unexpected(prepared.error());
  cfg.prepared = std::move(*prepared);

  auto plan = PlanNamespaces(spec);
  if (!plan) return std::unexpected(plan.error());
  cfg.ns = std::move(*plan);
  BERTH_TRYV(CheckWithoutPrivateMounts(spec, cfg.ns));
  std::string root_path = spec.root->path;
  if (root_path.empty() || root_path[0] != '/') root_path = bundle + "/" + root_path;
  // A joined mount namespace resolves root.path itself: the host's symlinks say nothing there.
  cfg.rootfs.rootfs =
      MountNamespaceOf(cfg.ns) == MountNamespace::kJoined ? root_path : AbsPath(root_path);
  cfg.rootfs.user_namespace = spec.HasNamespace("user");
  cfg.rootfs.new_cgroup_namespace = cfg.ns.new_flags & CLONE_NEWCGROUP;
  cfg.stage1 = !cfg.ns.joins.empty() || (cfg.ns.new_flags & CLONE_NEWTIME);

  // Connections to host sockets are made here: after pivot_root the child cannot reach
  // their paths.
  UniqueFd console, listener;
  if (spec.process->terminal) {
    if (opts.console_socket.empty() && console_override < 0)
      return Fail("process.terminal", "true",
                  "a detached container with a terminal needs --console-socket");
    if (opts.console_socket.empty()) {
      console.Reset(dup(console_override));
    } else {
      auto c = sys::ConnectUnix(opts.console_socket, "--console-socket");
      if (!c) return std::unexpected(c.error());
      console = std::move(*c);
    }
  }
  if (cfg.prepared.seccomp.wants_listener) {
    auto c = sys::ConnectUnix(cfg.prepared.seccomp.listener_path, "linux.seccomp.listenerPath");
    if (!c) return std::unexpected(c.error());
    listener = std::move(*c);
  }

  // Declared before the rollback so that it outlives it.
  std::unique_ptr<cgroups::Manager> cgroup;
  BERTH_TRYV(store.CreateDir(opts.id));
  CreateRollback rollback(store, opts.id);
  rollback.SetDir();
  BERTH_TRYV(sys::WriteFileAtomic(store.ConfigPath(opts.id), *text));

  std::string fifo = store.FifoPath(opts.id);
  if (mkfifo(fifo.c_str(), 0600) < 0) return Errno("mkfifo", fifo);
  int ffd = open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  if (ffd < 0) return Errno("open", fifo);
  UniqueFd fifo_fd(ffd);
  cfg.fifo_fd = ffd;

  auto mgr = cgroups::Open(spec.linux ? spec.linux->cgroups_path : "", opts.id);
  if (!mgr) return std::unexpected(mgr.error());
  cgroup = std::move(*mgr);
  BERTH_TRYV(cgroup->Create());
  rollback.SetCgroup(cgroup.get());
  if (spec.linux) {
    BERTH_TRYV(cgroup->Set(WithDeviceDefaults(spec.linux->resources.value_or(spec::LinuxResources{}),
                                              spec.linux->devices)));
  }

  auto sp = MakeSyncPair();
  if (!sp) return std::unexpected(sp.error());
  cfg.sync_fd = sp->child.Get();
  cfg.console_fd = console.Get();
  cfg.listener_fd = listener.Get();

  unsigned long clone_flags = cfg.stage1 ? 0 : (cfg.ns.new_flags & ~CLONE_NEWCGROUP);
  auto child = sys::ForkWithFlags(clone_flags);
  if (!child) return std::unexpected(child.error());
  if (*child == 0) ChildMain(cfg);  // never returns
  sp->child.Reset();
  int sync = sp->parent.Get();

  pid_t init_pid = *child;
  if (cfg.stage1) {
    pid_t stage1 = *child;
    rollback.SetPid(stage1);
    for (;;) {
      auto m = SyncRecv(sync);
      if (!m && IsPeerGone(m.error()))
        return Internal("create", opts.id, "namespace setup process exited unexpectedly");
      if (!m) return std::unexpected(m.error());
      if (m->type == SyncType::kMapIds) {
        BERTH_TRYV(WriteIdMaps(m->value, spec));
        BERTH_TRYV(SyncSend(sync, SyncType::kGo));
      } else if (m->type == SyncType::kChildPid) {
        init_pid = m->value;
        break;
      }
    }
    (void)sys::WaitExit(stage1);
  } else if (cfg.ns.new_flags & CLONE_NEWUSER) {
    rollback.SetPid(init_pid);
    BERTH_TRYV(WriteIdMaps(init_pid, spec));
  }
  rollback.SetPid(init_pid);

  BERTH_TRYV(cgroup->AddProcess(init_pid));
  BERTH_TRYV(SyncSend(sync, SyncType::kGo, init_pid));
  if (auto r = SyncExpect(sync, SyncType::kCreateRuntime, "create"); !r) {
    rollback.SetPid(0);  // reaped by ExplainInitDeath
    return std::unexpected(ExplainInitDeath(init_pid, *cgroup, spec, r.error()));
  }

  State st;
  st.id = opts.id;
  st.pid = init_pid;
  st.bundle = bundle;
  st.rootfs = cfg.rootfs.rootfs;
  st.annotations = spec.annotations;
  st.cgroups_path = spec.linux ? spec.linux->cgroups_path : "";
  st.cgroup_parents_created = cgroup->CreatedParents();
  st.owner_uid = getuid();
  st.new_user_ns = cfg.ns.new_flags & CLONE_NEWUSER;
  // runtime-spec lifecycle: prestart and createRuntime hooks (steps 3 and 4) run after the
  // environment was created (step 2), when the status is "created".
  std::string hook_state = OciStateJson(st, Status::kCreated);
  auto hooks = RunHooks(spec.hooks.prestart, "prestart", hook_state);
  if (hooks) hooks = RunHooks(spec.hooks.create_runtime, "createRuntime", hook_state);
  if (!hooks) {
    SyncSendError(sync, hooks.error());
    return std::unexpected(hooks.error());
  }
  BERTH_TRYV(SyncSend(sync, SyncType::kGo));
  if (auto r = SyncExpect(sync, SyncType::kCreated, "create"); !r) {
    if (!IsPeerGone(r.error())) return std::unexpected(r.error());
    rollback.SetPid(0);
    return std::unexpected(ExplainInitDeath(init_pid, *cgroup, spec, r.error()));
  }

  auto pst = sys::ReadProcStat(init_pid);
  if (!pst) return std::unexpected(pst.error());
  st.pid_start_time = pst->start_time;
  st.created = log::NowRfc3339();
  BERTH_TRYV(store.Save(st));
  if (!opts.pid_file.empty()) BERTH_TRYV(WritePidFile(opts.pid_file, init_pid));
  rollback.Commit();
  st.status = Status::kCreated;
  return Created{init_pid, std::move(st), std::move(spec), std::move(cgroup)};
}

bool NeedsSealedRuntime(const spec::Spec& spec) {
  if (!spec.hooks.create_container.empty() || !spec.hooks.start_container.empty()) return true;
  if (!spec.linux) return true;
  bool new_pid = false;
  for (const auto& ns : spec.linux->namespaces) {
    if (!ns.path.empty()) return true;
    if (ns.type == "pid") new_pid = true;
  }
  return !new_pid;
}

Result<void> Create(const CreateOptions& opts) {
  auto r = CreateInternal(opts, -1);
  if (!r) return std::unexpected(r.error().Wrap("create \"" + opts.id + "\""));
  return {};
}

Result<int> Run(const CreateOptions& opts, bool detach) {
  // Signals that arrive between create and wait are queued, then forwarded.
  sigset_t all, old;
  sigfillset(&all);
  if (!detach) sigprocmask(SIG_BLOCK, &all, &old);
  // A foreground run with a terminal and no --console-socket: berth holds the pty itself.
  UniqueFd console_ours, console_theirs;
  if (!detach && opts.console_socket.empty()) {
    auto pair = MakeConsolePair();
    if (!pair) {
      sigprocmask(SIG_SETMASK, &old, nullptr);
      return std::unexpected(pair.error().Wrap("run \"" + opts.id + "\""));
    }
    console_ours = std::move(pair->ours);
    console_theirs = std::move(pair->theirs);
  }
  auto created = CreateInternal(opts, console_theirs.Get());
  console_theirs.Reset();
  if (!created) {
    if (!detach) sigprocmask(SIG_SETMASK, &old, nullptr);
    return std::unexpected(created.error().Wrap("run \"" + opts.id + "\""));
  }
  const pid_t pid = created->pid;
  StateStore store(opts.root);
  auto started = StartLoaded(store, created->state, created->spec);
  if (!started) {
    (void)Delete(opts.root, opts.id, true);
    if (!detach) sigprocmask(SIG_SETMASK, &old, nullptr);
    return std::unexpected(started.error().Wrap("run \"" + opts.id + "\""));
  }
  if (detach) return 0;
  UniqueFd master;
  if (console_ours) {
    // Only present if the init sent one (process.terminal was true).
    pollfd p{console_ours.Get(), POLLIN, 0};
    if (poll(&p, 1, 0) > 0) {
      auto m = sys::RecvFd(console_ours.Get(), "console socket");
      if (m) master = std::move(*m);
    }
  }
  int status = master ? ProxyTerminalUntilExit(pid, master.Get()) : ForwardSignalsUntilExit(pid);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  // The init was our child and is reaped: the container is stopped (as `delete --force`
  // would find it), and the state, spec and cgroup manager from create are still good.
  created->state.status = Status::kStopped;
  (void)DeleteStopped(store, created->state, &created->spec, created->cgroup.get());
  return status;
}

}  // namespace berth::runtime
