// linux.seccomp: compile errors (no privileges needed), and the installed filter's effect in
// a forked child (tests named *Root need root; they skip otherwise).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <string>

#include "runtime/process_setup.h"
#include "sys/unix_socket.h"
#include "test_util.h"

namespace berth::runtime {
namespace {

struct ChildResult {
  int status = 0;
  std::string out;
};

// fn runs in a forked child and never returns into gtest.
ChildResult RunChild(const std::function<int(int out_fd)>& fn) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return {-1, "pipe failed"};
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    int rc = 98;
    try {
      rc = fn(p[1]);
    } catch (...) {
      rc = 99;
    }
    _exit(rc);
  }
  close(p[1]);
  ChildResult r;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0) r.out.append(buf, n);
  close(p[0]);
  waitpid(pid, &r.status, 0);
  return r;
}

void Say(int fd, const std::string& s) { (void)!write(fd, s.data(), s.size()); }
int ExitCode(const ChildResult& r) { return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1; }

spec::SeccompSyscall Rule(std::vector<std::string> names, std::string action,
                          std::optional<uint32_t> errno_ret = std::nullopt,
                          std::vector<spec::SeccompArg> args = {}) {
  spec::SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  s.errno_ret = errno_ret;
  s.args = std::move(args);
  return s;
}

std::string CompileError(const spec::Seccomp& sc) {
  auto r = PrepareProcess(spec::Process{}, sc, std::nullopt);
  return r ? std::string("ok") : r.error().Message();
}

// Applies the whole process setup (with `sc`) in a child, then runs `body` there.
ChildResult RunFiltered(const spec::Process& proc, const spec::Seccomp& sc,
                        const std::function<int(int out, int listener)>& body) {
  auto p = PrepareProcess(proc, sc, std::nullopt);
  if (!p) return {-1, "prepare: " + p.error().Message()};
  return RunChild([&](int out) {
    auto fd = ApplyFinal(*p);
    if (!fd) {
      Say(out, "final: " + fd.error().Message());
      return 90;
    }
    return body(out, *fd);
  });
}

// ---------------------------------------------------------------- compile errors

TEST(SeccompCompileTest, UnknownNamesAreFieldErrors) {
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.syscalls = {Rule({"getcwd"}, "SCMP_ACT_ERRNO"), Rule({"mkdir"}, "SCMP_ACT_EXPLODE")};
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.syscalls[1].action: unknown seccomp action \"SCMP_ACT_EXPLODE\"");

  sc.syscalls = {Rule({"mkdir"}, "SCMP_ACT_ERRNO", std::nullopt, {{0, 1, 0, "SCMP_CMP_ABOUT"}})};
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_ABOUT\"");
  sc.syscalls = {Rule({"mkdir"}, "SCMP_ACT_ERRNO", std::nullopt, {{6, 1, 0, "SCMP_CMP_EQ"}})};
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.syscalls[0].args[0].index: a syscall has only 6 arguments (0-5)");

  sc.syscalls = {};
  sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"};
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.architectures[1]: unknown seccomp architecture \"SCMP_ARCH_Z80\"");

  sc.architectures = {};
  sc.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FAST"};
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.flags[1]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_FAST\"");

  sc.flags = {};
  sc.default_action = "SCMP_ACT_MAYBE";
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_MAYBE\"");
}

TEST(SeccompCompileTest, ErrnoOnlyWhereTheActionTakesOne) {
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.default_errno_ret = 1;
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an "
            "errno, not SCMP_ACT_ALLOW");
  sc.default_errno_ret.reset();
  sc.syscalls = {Rule({"getcwd"}, "SCMP_ACT_KILL", 5)};
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an "
            "errno, not SCMP_ACT_KILL");
  sc.syscalls = {Rule({"getcwd"}, "SCMP_ACT_TRACE", 5), Rule({"mkdir"}, "SCMP_ACT_ERRNO", 7)};
  EXPECT_EQ(CompileError(sc), "ok");
}

TEST(SeccompCompileTest, ListenerRules) {
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.syscalls = {Rule({"mkdir"}, "SCMP_ACT_NOTIFY")};
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY (the agent's "
            "unix socket)");
  sc.listener_path = "/run/agent.sock";
  auto p = PrepareProcess(spec::Process{}, sc, std::nullopt);
  ASSERT_TRUE(p) << p.error().Message();
  EXPECT_TRUE(p->seccomp.wants_listener);
  EXPECT_TRUE(p->seccomp.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);

  sc.default_action = "SCMP_ACT_NOTIFY";
  EXPECT_NE(CompileError(sc).find("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be"),
            std::string::npos);

  sc = {};
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.listener_metadata = "x";
  EXPECT_EQ(CompileError(sc),
            "linux.seccomp.listenerMetadata: must not be set without listenerPath");
}

TEST(SeccompCompileTest, UnknownSyscallsSkippedAndFlagsMapped) {
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ERRNO";
  sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  sc.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
              "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  // A syscall no kernel has, and a rule equal to the default: neither is an error.
  sc.syscalls = {Rule({"read", "no_such_syscall_2099", "write"}, "SCMP_ACT_ALLOW"),
                 Rule({"mkdir"}, "SCMP_ACT_ERRNO")};
  auto p = PrepareProcess(spec::Process{}, sc, std::nullopt);
  ASSERT_TRUE(p) << p.error().Message();
  EXPECT_TRUE(p->seccomp.present);
  EXPECT_FALSE(p->seccomp.wants_listener);
  EXPECT_GT(p->seccomp.program.size(), 3u);
  EXPECT_EQ(p->seccomp.flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
                                  SECCOMP_FILTER_FLAG_TSYNC |
                                  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
}

TEST(SeccompCompileTest, FeatureLists) {
  auto has = [](const std::vector<std::string>& v, const char* s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  EXPECT_TRUE(has(SeccompActions(), "SCMP_ACT_KILL_PROCESS"));
  EXPECT_TRUE(has(SeccompActions(), "SCMP_ACT_ERRNO"));
  EXPECT_TRUE(has(SeccompActions(), "SCMP_ACT_NOTIFY"));
  EXPECT_EQ(SeccompActions().size(), 9u);
  EXPECT_TRUE(has(SeccompArchs(), "SCMP_ARCH_X86_64"));
  EXPECT_TRUE(has(SeccompArchs(), "SCMP_ARCH_RISCV64"));
  EXPECT_EQ(SeccompFlags().size(), 4u);
  EXPECT_EQ(SeccompOperators().size(), 7u);
  EXPECT_TRUE(has(SeccompOperators(), "SCMP_CMP_MASKED_EQ"));
}

TEST(SeccompCompileTest, ProcessStateJson) {
  std::string s = SeccompProcessStateJson(R"({"id":"c1"})", 42, "a\"b");
  EXPECT_EQ(
      s,
      R"({"ociVersion":"1.2.0","fds":["seccompFd"],"pid":42,"metadata":"a\"b","state":{"id":"c1"}})");
  EXPECT_EQ(SeccompProcessStateJson("{}", 1, ""),
            R"({"ociVersion":"1.2.0","fds":["seccompFd"],"pid":1,"state":{}})");
}

// ---------------------------------------------------------------- installed filters (root)

TEST(SeccompApplyTest, ErrnoRetRoot) {
  REQUIRE_ROOT();
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.syscalls = {Rule({"getcwd", "mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", 42),
                 Rule({"rmdir"}, "SCMP_ACT_ERRNO")};
  for (bool nnp : {true, false}) {
    SCOPED_TRACE(nnp ? "with no_new_privs" : "without no_new_privs");
    spec::Process proc;
    proc.no_new_privileges = nnp;
    auto r = RunFiltered(proc, sc, [](int out, int) {
      char buf[PATH_MAX];
      errno = 0;
      char* cwd = getcwd(buf, sizeof buf);
      int e1 = errno;
      errno = 0;
      int rc = mkdir("/nonexistent-dir/x", 0700);
      int e2 = errno;
      errno = 0;
      int rc2 = rmdir("/nonexistent-dir/x");
      int e3 = errno;
      Say(out, std::string(cwd ? "cwd" : "null") + " " + std::to_string(e1) + " " +
                   std::to_string(rc) + " " + std::to_string(e2) + " " + std::to_string(rc2) + " " +
                   std::to_string(e3));
      return 0;
    });
    ASSERT_EQ(ExitCode(r), 0) << r.out;
    EXPECT_EQ(r.out, "null 42 -1 42 -1 " + std::to_string(EPERM));
  }
}

TEST(SeccompApplyTest, DefaultErrnoWithAllowlistRoot) {
  REQUIRE_ROOT();
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ERRNO";
  sc.default_errno_ret = 38;  // ENOSYS, what unknown syscalls should see
  // Memory and exit-path calls stay allowed for the child (and for ASan in sanitizer builds).
  sc.syscalls = {Rule({"write", "exit", "exit_group", "getppid", "brk", "mmap", "munmap",
                       "mprotect", "madvise", "futex", "rt_sigprocmask", "sigaltstack", "gettid"},
                      "SCMP_ACT_ALLOW")};
  spec::Process proc;
  proc.no_new_privileges = true;
  auto r = RunFiltered(proc, sc, [](int out, int) {
    errno = 0;
    long pid = syscall(SYS_getpid);
    int e = errno;
    long ppid = syscall(SYS_getppid);
    Say(out, std::to_string(pid) + " " + std::to_string(e) + " " + (ppid > 0 ? "ppid" : "none"));
    return 0;
  });
  ASSERT_EQ(ExitCode(r), 0) << r.out;
  EXPECT_EQ(r.out, "-1 38 ppid");
}

TEST(SeccompApplyTest, ArgumentFiltersRoot) {
  REQUIRE_ROOT();
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.syscalls = {
      // personality(0xffffffff) (a query) allowed, any other value denied.
      Rule({"personality"}, "SCMP_ACT_ERRNO", 13, {{0, 0xffffffff, 0, "SCMP_CMP_NE"}}),
      // write to fd 1000 denied.
      Rule({"write"}, "SCMP_ACT_ERRNO", 77, {{0, 1000, 0, "SCMP_CMP_EQ"}}),
      // dup3(oldfd == 0, newfd == 500): both must match (AND on distinct arguments).
      Rule({"dup3"}, "SCMP_ACT_ERRNO", 55, {{0, 0, 0, "SCMP_CMP_EQ"}, {1, 500, 0, "SCMP_CMP_EQ"}}),
      // umask with all of 0007 set denied (MASKED_EQ: value is the mask, valueTwo the result).
      Rule({"umask"}, "SCMP_ACT_ERRNO", 66, {{0, 07, 07, "SCMP_CMP_MASKED_EQ"}}),
  };
  spec::Process proc;
  proc.no_new_privileges = true;
  auto r = RunFiltered(proc, sc, [](int out, int) {
    std::string s;
    auto res = [&](long rc) {
      s += rc == -1 ? "E" + std::to_string(errno) : "ok";
      s += " ";
    };
    errno = 0;
    res(personality(0xffffffff) == -1 ? -1 : 0);
    res(personality(PER_LINUX));
    res(dup2(1, 1000) == 1000 ? 0 : -1);  // dup2 is not filtered
    res(write(1000, "x", 1));
    res(syscall(SYS_dup3, 0, 500, 0));
    res(syscall(SYS_dup3, 0, 501, 0) == 501 ? 0 : -1);
    res(syscall(SYS_dup3, 1, 500, 0) == 500 ? 0 : -1);
    res(syscall(SYS_umask, 0777));
    res(syscall(SYS_umask, 022) >= 0 ? 0 : -1);
    Say(out, s);
    return 0;
  });
  ASSERT_EQ(ExitCode(r), 0) << r.out;
  EXPECT_EQ(r.out, "ok E13 ok E77 E55 ok ok E66 ok ");
}

TEST(SeccompApplyTest, KillProcessRoot) {
  REQUIRE_ROOT();
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.syscalls = {Rule({"getcwd"}, "SCMP_ACT_KILL_PROCESS")};
  spec::Process proc;
  proc.no_new_privileges = true;
  auto r = RunFiltered(proc, sc, [](int out, int) {
    char buf[256];
    (void)!getcwd(buf, sizeof buf);
    Say(out, "survived");
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(r.status)) << "status " << r.status << " " << r.out;
  EXPECT_EQ(WTERMSIG(r.status), SIGSYS);
  EXPECT_EQ(r.out, "");
}

// Without no_new_privs the filter must go in while CAP_SYS_ADMIN is still effective, then
// the capabilities drop to what was asked: check both happened.
TEST(SeccompApplyTest, WithoutNoNewPrivsCapabilitiesStillDropRoot) {
  REQUIRE_ROOT();
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.syscalls = {Rule({"getcwd"}, "SCMP_ACT_ERRNO", 42)};
  spec::Process proc;
  proc.user.uid = proc.user.gid = 1000;
  proc.capabilities = spec::Capabilities{};
  proc.capabilities->bounding = {"CAP_KILL"};
  proc.capabilities->permitted = {"CAP_KILL"};
  proc.capabilities->effective = {"CAP_KILL"};
  auto r = RunFiltered(proc, sc, [](int out, int) {
    char buf[256];
    errno = 0;
    bool failed = getcwd(buf, sizeof buf) == nullptr;
    int e = errno;
    FILE* f = std::fopen("/proc/self/status", "re");
    char line[256];
    std::string caps;
    while (f && std::fgets(line, sizeof line, f))
      if (!std::strncmp(line, "CapEff:", 7) || !std::strncmp(line, "Seccomp:", 8)) caps += line;
    if (f) std::fclose(f);
    Say(out, std::string(failed ? "denied " : "allowed ") + std::to_string(e) + "\n" + caps);
    return 0;
  });
  ASSERT_EQ(ExitCode(r), 0) << r.out;
  EXPECT_EQ(r.out, "denied 42\nCapEff:\t0000000000000020\nSeccomp:\t2\n");
}

// ...and when such a profile denies capset, the runtime fails rather than start the
// container with the extra capabilities it kept for the install.
TEST(SeccompApplyTest, WithoutNoNewPrivsProfileMustAllowCapsetRoot) {
  REQUIRE_ROOT();
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.syscalls = {Rule({"capset"}, "SCMP_ACT_ERRNO")};
  spec::Process proc;
  proc.user.uid = proc.user.gid = 1000;
  proc.capabilities = spec::Capabilities{};
  proc.capabilities->permitted = {"CAP_KILL"};
  auto r = RunFiltered(proc, sc, [](int, int) { return 0; });
  EXPECT_EQ(ExitCode(r), 90);
  EXPECT_NE(r.out.find("final: capset process.capabilities: dropping capabilities after "
                       "installing seccomp"),
            std::string::npos)
      << r.out;
}

TEST(SeccompApplyTest, NotifyListenerRoundTripRoot) {
  REQUIRE_ROOT();
  testutil::TempDir dir("berth-seccomp-test");
  std::string sock_path = dir.Sub("agent.sock");

  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(srv, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(srv, 1), 0);

  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.listener_path = sock_path;
  sc.listener_metadata = "meta";
  sc.syscalls = {Rule({"mkdirat", "mkdir"}, "SCMP_ACT_NOTIFY")};
  spec::Process proc;
  proc.no_new_privileges = true;
  auto p = PrepareProcess(proc, sc, std::nullopt);
  ASSERT_TRUE(p) << p.error().Message();

  // The child installs the filter, hands the listener to the "agent" (this test), then
  // calls mkdir, which waits for the agent's verdict.
  int sync[2];
  ASSERT_EQ(pipe2(sync, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(sync[0]);
    auto fd = ApplyFinal(*p);
    if (!fd || *fd < 0) _exit(90);
    std::string state =
        SeccompProcessStateJson(R"({"id":"t"})", getpid(), p->seccomp.listener_metadata);
    // As FinishAndExec does (create connects before the fork, the child sends).
    auto sock = sys::ConnectUnix(p->seccomp.listener_path, "linux.seccomp.listenerPath");
    int listener_fd = *fd;
    if (!sock || !sys::SendFds(sock->Get(), {&listener_fd, 1}, state, "listener")) _exit(91);
    sock->Reset();  // one state per connection, then closed (config-linux.md)
    close(*fd);
    errno = 0;
    int rc = mkdir("/nonexistent-berth/x", 0700);
    int result = rc == -1 ? errno : 0;
    (void)!write(sync[1], &result, sizeof result);
    _exit(0);
  }
  close(sync[1]);
  // Whatever fails below, the child must not outlive the test (it may wait in mkdir).
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};
  timeval tv{10, 0};
  setsockopt(srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  int conn = accept4(srv, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0) << strerror(errno);
  setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[1024];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  iovec iov{buf, sizeof(buf)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  ASSERT_GT(n, 0);
  std::string payload(buf, n);
  // The rest of the message (if split) up to EOF.
  while ((n = read(conn, buf, sizeof buf)) > 0) payload.append(buf, n);
  close(conn);
  close(srv);
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  ASSERT_NE(cm, nullptr);
  ASSERT_EQ(cm->cmsg_type, SCM_RIGHTS);
  int listener;
  std::memcpy(&listener, CMSG_DATA(cm), sizeof(int));
  EXPECT_EQ(payload, R"({"ociVersion":"1.2.0","fds":["seccompFd"],"pid":)" + std::to_string(pid) +
                         R"(,"metadata":"meta","state":{"id":"t"}})");

  // Answer the child's mkdir with errno 99.
  seccomp_notif req{};
  ASSERT_EQ(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req), 0) << strerror(errno);
  EXPECT_EQ(static_cast<pid_t>(req.pid), pid);
  seccomp_notif_resp resp{};
  resp.id = req.id;
  resp.error = -99;
  ASSERT_EQ(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0) << strerror(errno);
  int result = 0;
  pollfd pfd{sync[0], POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 10000), 1);
  ASSERT_EQ(read(sync[0], &result, sizeof result), static_cast<ssize_t>(sizeof result));
  close(sync[0]);
  close(listener);
  int status = 0;
  waitpid(pid, &status, 0);
  reaper.pid = 0;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(result, 99);
}

}  // namespace
}  // namespace berth::runtime
