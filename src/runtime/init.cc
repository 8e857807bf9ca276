#include "runtime/init.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/keyctl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "runtime/hooks.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/unix_socket.h"

namespace berth::runtime {

std::string HookState(const InitConfig& cfg, Status status, pid_t pid) {
  State st;
  st.id = cfg.id;
  st.pid = pid;
  st.bundle = cfg.bundle;
  st.annotations = cfg.spec->annotations;
  return OciStateJson(st, status);
}

Result<void> WriteIdMaps(pid_t pid, const spec::Spec& spec) {
  auto fmt = [](const std::vector<spec::LinuxIdMapping>& maps) {
    std::string s;
    for (const auto& m : maps)
      s += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
    return s;
  };
  std::string base = "/proc/" + std::to_string(pid);
  if (!spec.linux) return {};
  if (!spec.linux->uid_mappings.empty()) {
    auto r = sys::WriteFile(base + "/uid_map", fmt(spec.linux->uid_mappings));
    if (!r) return std::unexpected(r.error().Wrap("linux.uidMappings"));
  }
  if (!spec.linux->gid_mappings.empty()) {
    auto r = sys::WriteFile(base + "/gid_map", fmt(spec.linux->gid_mappings));
    if (!r) return std::unexpected(r.error().Wrap("linux.gidMappings"));
  }
  return {};
}

namespace {

[[noreturn]] void Die(const InitConfig& cfg, const Error& e) {
  if (cfg.sync_fd >= 0) {
    SyncSendError(cfg.sync_fd, e);
  } else if (cfg.fifo_fd >= 0) {
    // After create returned, `berth start` is the one waiting: it reads the reason from
    // exec.fifo once our end closes (see Start in ops.cc). One write of at most PIPE_BUF
    // bytes is atomic.
    std::string m = "berth: " + e.Message();
    if (m.size() > PIPE_BUF) m.resize(PIPE_BUF);
    (void)!write(cfg.fifo_fd, m.data(), m.size());
    m += "\n";
    (void)!write(2, m.data(), m.size());  // and to the container's stderr, as before
  }
  _exit(1);
}

// Becomes root of a new user namespace once the parent wrote the maps: without this
// the process runs as the overflow uid, although it holds every capability there.
Result<void> BecomeNamespaceRoot() {
  if (setresgid(0, 0, 0) < 0) return Errno("setresgid", "0", "in the new user namespace");
  if (setresuid(0, 0, 0) < 0) return Errno("setresuid", "0", "in the new user namespace");
  // Changing credentials cleared "dumpable", which makes /proc/self owned by the host's
  // root and unwritable for us (oom_score_adj, timens_offsets). Nothing is lost by setting
  // it back: the only processes that could now ptrace us are the container's own root
  // ones, which do not exist before our execve unless berth runs from a sealed memfd
  // (NeedsSealedRuntime in container.h), and execve resets the flag.
  prctl(PR_SET_DUMPABLE, 1);
  return {};
}

Result<void> WriteTimeOffsets(const spec::Spec& spec) {
  if (!spec.linux || spec.linux->time_offsets.empty()) return {};
  std::string s;
  for (const auto& [clock, off] : spec.linux->time_offsets)
    s += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
  auto r = sys::WriteFile("/proc/self/timens_offsets", s);
  if (!r) return std::unexpected(r.error().Wrap("linux.timeOffsets"));
  return {};
}

Result<void> ApplySysctl(const spec::Spec& spec) {
  if (!spec.linux) return {};
  for (const auto& [key, value] : spec.linux->sysctl) {
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
    auto r = sys::WriteFile(path, value);
    if (!r) return std::unexpected(r.error().Wrap("linux.sysctl[\"" + key + "\"]"));
  }
  return {};
}

// Allocates the pty inside the container's own devpts (so its path is /dev/pts/N there),
// sends the master to the console socket and makes the slave the controlling terminal.
Result<void> SetupConsole(const InitConfig& cfg) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return Errno("open", "/dev/ptmx", "allocating the console");
  UniqueFd m(master);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) return Errno("unlockpt", "/dev/ptmx");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return Errno("open", "pty peer");
  UniqueFd s(slave);
  int n = 0;
  ioctl(master, TIOCGPTN, &n);
  if (cfg.process->console_size) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(cfg.process->console_size->height);
    ws.ws_col = static_cast<unsigned short>(cfg.process->console_size->width);
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  BERTH_TRYV(sys::SendFds(cfg.console_fd, {&master, 1}, "/dev/pts/" + std::to_string(n),
                          "--console-socket"));
  m.Reset();
  close(cfg.console_fd);
  for (int i = 0; i < 3; ++i)
    if (dup2(slave, i) < 0) return Errno("dup2", "console to fd " + std::to_string(i));
  if (ioctl(0, TIOCSCTTY, 0) < 0) return Errno("ioctl", "TIOCSCTTY", "setting the controlling terminal");
  return {};
}

std::string EnvValue(const std::vector<std::string>& env, const char* key) {
  size_t n = strlen(key);
  for (const auto& e : env)
    if (e.size() > n && e.compare(0, n, key) == 0 && e[n] == '=') return e.substr(n + 1);
  return {};
}

// Resolves args[0] in the container's filesystem as execvp would, so that a missing
// binary fails create (not start) with a clear message.
Result<std::string> ResolveExecutable(const spec::Process& p) {
  const std::string& name = p.args.at(0);
  auto check = [](const std::string& path) -> bool {
    struct stat sb;
    return stat(path.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && access(path.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (!check(name)) return Errno("exec", "\"" + name + "\"");
    return name;
  }
  std::string path = EnvValue(p.env, "PATH");
  if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    if (check(cand)) return cand;
    start = end + 1;
  }
  return Fail("exec", "\"" + name + "\"", "executable file not found in $PATH");
}

Result<void> ChangeDir(const spec::Process& p) {
  if (chdir(p.cwd.c_str()) < 0) return Errno("process.cwd: chdir", p.cwd);
  // CVE-2024-21626: a cwd reached through a leaked host fd reads "(unreachable)/...".
  char buf[4096];
  if (!getcwd(buf, sizeof buf) || buf[0] != '/')
    return Fail("process.cwd", p.cwd, "resolves outside the container's root");
  return {};
}

[[noreturn]] void ExecProcess(const InitConfig& cfg, const std::string& exe) {
  std::vector<char*> argv, envp;
  for (const auto& a : cfg.process->args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : cfg.process->env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  execve(exe.c_str(), argv.data(), envp.data());
  Error e{errno, "exec", "\"" + exe + "\"", {}, {}};
  // The sync socket still works for exec (parent waits); for init the caller has gone.
  SyncSendError(cfg.sync_fd, e);
  std::string m = "berth: " + e.Message() + "\n";
  (void)!write(2, m.data(), m.size());
  _exit(127);
}

// The last steps shared by init and exec: identity, capabilities, seccomp, exec.
[[noreturn]] void FinishAndExec(const InitConfig& cfg, const std::string& exe) {
  auto listener = ApplyFinal(cfg.prepared);
  if (!listener) Die(cfg, listener.error());
  if (*listener >= 0 && cfg.listener_fd >= 0) {
    std::string msg = SeccompProcessStateJson(HookState(cfg, Status::kRunning, cfg.host_pid),
                                              cfg.host_pid, cfg.prepared.seccomp.listener_metadata);
    int fd = *listener;
    auto r = sys::SendFds(cfg.listener_fd, {&fd, 1}, msg, "linux.seccomp.listenerPath");
    if (!r) Die(cfg, r.error());
    close(*listener);
    close(cfg.listener_fd);
  }
  auto r = sys::CloexecFrom(3 + cfg.preserve_fds);
  if (!r) Die(cfg, r.error());
  // Preserved fds must survive exec even if the caller gave them CLOEXEC.
  for (int fd = 3; fd < 3 + cfg.preserve_fds; ++fd) fcntl(fd, F_SETFD, 0);
  ExecProcess(cfg, exe);
}

Result<std::string> InitSteps(InitConfig& cfg) {
  const spec::Spec& spec = *cfg.spec;
  // Until create finishes, the init must not outlive a killed runtime.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto go = SyncExpect(cfg.sync_fd, SyncType::kGo, "init");
  if (!go) return std::unexpected(go.error());
  pid_t host_pid = go->value;
  cfg.host_pid = host_pid;

  if ((cfg.ns.new_flags & CLONE_NEWUSER) && !cfg.stage1) BERTH_TRYV(BecomeNamespaceRoot());
  // After the parent moved us into the container's cgroup, so that it becomes the root.
  if (cfg.ns.new_flags & CLONE_NEWCGROUP) {
    if (unshare(CLONE_NEWCGROUP) < 0) return Errno("unshare", "cgroup namespace");
  }
  if (setsid() < 0) return Errno("setsid", "");
  if (!cfg.no_new_keyring) {
    // A session keyring of its own, so the container cannot reach the keys of the session
    // berth was started from.
    std::string name = "_ses." + cfg.id;
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS)
      return Errno("keyctl", "join session keyring " + name);
  }

  const MountNamespace mnt = MountNamespaceOf(cfg.ns);
  if (mnt == MountNamespace::kNew) BERTH_TRYV(PrepareRootfs(spec, cfg.rootfs));

  BERTH_TRYV(SyncSend(cfg.sync_fd, SyncType::kCreateRuntime));
  BERTH_TRYV(SyncExpect(cfg.sync_fd, SyncType::kGo, "createRuntime hooks"));
  // runtime-spec lifecycle: the hooks of steps 3-5 run once the environment exists ("created").
  BERTH_TRYV(RunHooks(spec.hooks.create_container, "createContainer",
                      HookState(cfg, Status::kCreated, host_pid)));

  bool console = cfg.process->terminal && cfg.console_fd >= 0;
  if (mnt == MountNamespace::kNew) {
    BERTH_TRYV(EnterRootfs(cfg.rootfs));
    // Before FinalizeRootfs: readonlyPaths hold /proc/sys in nearly every config.
    BERTH_TRYV(ApplySysctl(spec));
    BERTH_TRYV(FinalizeRootfs(spec, cfg.rootfs));
  } else {
    // No /proc and no devpts of the container's own exist in its root: write the sysctls
    // and take the pty from the namespace we are in, then chroot.
    BERTH_TRYV(ApplySysctl(spec));
    if (console) BERTH_TRYV(SetupConsole(cfg));
    console = false;
    std::string joined;
    for (const auto& j : cfg.ns.joins)
      if (j.flag == CLONE_NEWNS) joined = j.path;
    BERTH_TRYV(ChrootRootfs(cfg.rootfs, joined));
  }
  if (cfg.ns.new_flags & CLONE_NEWUTS) {
    if (!spec.hostname.empty() && sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
      return Errno("hostname: sethostname", spec.hostname);
    if (!spec.domainname.empty() &&
        setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
      return Errno("domainname: setdomainname", spec.domainname);
  }
  BERTH_TRYV(ApplyEarly(cfg.prepared));
  if (console) BERTH_TRYV(SetupConsole(cfg));
  BERTH_TRYV(ChangeDir(*cfg.process));
  auto exe = BERTH_TRY(ResolveExecutable(*cfg.process));
  // CVE-2019-5736: the container's command must not be berth itself (a "/proc/self/exe"
  // entrypoint, or a symlink to it): a container process running the host's binary could
  // reopen it for writing once berth is gone. stat follows the magic link.
  struct stat st;
  if (cfg.self_ino != 0 && stat(exe.c_str(), &st) == 0 && st.st_dev == cfg.self_dev &&
      st.st_ino == cfg.self_ino)
    return Fail("exec", "\"" + exe + "\"",
                "refusing to run the runtime's own binary in the container (CVE-2019-5736)");
  return exe;
}

[[noreturn]] void InitMain(InitConfig& cfg) {
  auto exe = InitSteps(cfg);
  if (!exe) Die(cfg, exe.error());
  prctl(PR_SET_PDEATHSIG, 0);
  if (!SyncSend(cfg.sync_fd, SyncType::kCreated)) _exit(1);
  close(cfg.sync_fd);
  cfg.sync_fd = -1;

  // Until the exec, /proc/<pid>/exe is the runtime's binary: non-dumpable, no process that
  // joins the container (berth exec) can open it without CAP_SYS_PTRACE on the host
  // (CVE-2019-5736, see NeedsSealedRuntime). execve sets the flag anew.
  prctl(PR_SET_DUMPABLE, 0);
  // Block until `berth start` writes to exec.fifo. We hold both ends, so the read blocks
  // rather than returning EOF. The fd stays open (O_CLOEXEC) until the exec: start waits for it to close, so that
  // startContainer hooks have run and the process is exec'd before poststart hooks run
  // and before start returns, as the runtime-spec orders them.
  char b = 0;
  ssize_t n;
  do {
    n = read(cfg.fifo_fd, &b, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) _exit(1);
  // A caller that passed --preserve-fds N without those fds open may have left our fifo
  // among them: FinishAndExec clears CLOEXEC there, so let it go now rather than leak it.
  if (cfg.fifo_fd < 3 + cfg.preserve_fds) {
    close(cfg.fifo_fd);
    cfg.fifo_fd = -1;
  }

  auto r = RunHooks(cfg.spec->hooks.start_container, "startContainer",
                    HookState(cfg, Status::kCreated, cfg.host_pid));
  if (!r) Die(cfg, r.error());
  FinishAndExec(cfg, *exe);
}

[[noreturn]] void ExecChildMain(InitConfig& cfg) {
  auto go = SyncExpect(cfg.sync_fd, SyncType::kGo, "exec");
  if (!go) Die(cfg, go.error());
  cfg.host_pid = go->value;
  if (cfg.process->terminal) {
    if (setsid() < 0) Die(cfg, Error{errno, "setsid", "", {}, {}});
  }
  auto r = ApplyEarly(cfg.prepared);
  if (!r) Die(cfg, r.error());
  if (cfg.process->terminal && cfg.console_fd >= 0) {
    r = SetupConsole(cfg);
    if (!r) Die(cfg, r.error());
  }
  r = ChangeDir(*cfg.process);
  if (!r) Die(cfg, r.error());
  auto exe = ResolveExecutable(*cfg.process);
  if (!exe) Die(cfg, exe.error());
  FinishAndExec(cfg, *exe);
}

[[noreturn]] void Stage1Main(InitConfig& cfg) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (const auto& j : cfg.ns.joins) {
    if (setns(j.fd.Get(), j.flag) < 0)
      Die(cfg, Error{errno, "setns", j.type + " namespace " + j.path, {}, {}});
  }
  int flags = cfg.ns.new_flags & ~CLONE_NEWCGROUP;
  if (flags & CLONE_NEWUSER) {
    if (unshare(CLONE_NEWUSER) < 0) Die(cfg, Error{errno, "unshare", "user namespace", {}, {}});
    if (!SyncSend(cfg.sync_fd, SyncType::kMapIds, getpid())) _exit(1);
    auto ok = SyncExpect(cfg.sync_fd, SyncType::kGo, "user namespace maps");
    if (!ok) _exit(1);
    auto r = BecomeNamespaceRoot();
    if (!r) Die(cfg, r.error());
    flags &= ~CLONE_NEWUSER;
  }
  if (cfg.exec_root_fd >= 0) {
    // The container chrooted (ChrootRootfs): joining its mount namespace, if any, gave us
    // that namespace's root, not the container's.
    if (fchdir(cfg.exec_root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
      Die(cfg, Error{errno, "chroot", "the container's root", {}, {}});
    close(cfg.exec_root_fd);
    cfg.exec_root_fd = -1;
  }
  if (flags && unshare(flags) < 0) Die(cfg, Error{errno, "unshare", "namespaces", {}, {}});
  if (flags & CLONE_NEWTIME) {
    auto r = WriteTimeOffsets(*cfg.spec);
    if (!r) Die(cfg, r.error());
  }
  // CLONE_PARENT: the init becomes a child of the runtime process, which can wait for it.
  auto pid = sys::ForkWithFlags(CLONE_PARENT);
  if (!pid) Die(cfg, pid.error());
  if (*pid == 0) {
    if (cfg.is_exec) ExecChildMain(cfg);
    InitMain(cfg);
  }
  (void)SyncSend(cfg.sync_fd, SyncType::kChildPid, *pid);
  _exit(0);
}

}  // namespace

[[noreturn]] void ChildMain(InitConfig& cfg) {
  // Default signal dispositions: the runtime may have changed some (run forwards them).
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (cfg.stage1) Stage1Main(cfg);
  if (cfg.is_exec) ExecChildMain(cfg);
  InitMain(cfg);
}

}  // namespace berth::runtime
