#include "sys/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstdio>
#include <cstring>

#include "sys/fs.h"

namespace berth::sys {

Result<int> ThreadCount() {
  // A stack buffer and no allocation: cheap enough to run before every fork.
  UniqueFd fd(::open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
  if (!fd) return Errno("open", "/proc/self/stat");
  char buf[4096];
  size_t len = 0;
  for (;;) {
    ssize_t n = ::read(fd.Get(), buf + len, sizeof buf - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read", "/proc/self/stat");
    if (n == 0) break;
    len += static_cast<size_t>(n);
    if (len == sizeof buf - 1) break;
  }
  buf[len] = '\0';
  // comm may contain spaces and parentheses: fields are counted after the last ')'.
  const char* p = strrchr(buf, ')');
  if (!p) return Fail(ErrorKind::kInternal, "parse", "/proc/self/stat", "no ')' after comm");
  int field = 2;
  for (++p; *p; ++p) {
    if (*p != ' ') continue;
    if (++field == 20) return static_cast<int>(strtol(p + 1, nullptr, 10));
  }
  return Fail(ErrorKind::kInternal, "parse", "/proc/self/stat", "fewer than 20 fields");
}

Result<void> CheckSingleThreaded(const char* op) {
  auto n = ThreadCount();
  if (!n || *n <= 1) return {};
#ifndef NDEBUG
  char m[160];
  snprintf(m, sizeof m, "berth: %s: refused: the process has %d threads; a threaded process "
           "must posix_spawn\n", op, *n);
  (void)!::write(2, m, strlen(m));
  abort();
#endif
  return FailedPrecondition(op, "", "refused: the process has " + std::to_string(*n) +
                                        " threads; a threaded process must posix_spawn");
}

Result<pid_t> Fork() {
  BERTH_TRYV(CheckSingleThreaded("fork"));
  pid_t pid = ::fork();
  if (pid < 0) return Errno("fork");
  return pid;
}

Result<pid_t> ForkWithFlags(unsigned long flags) {
  BERTH_TRYV(CheckSingleThreaded("fork"));
  // Raw clone without CLONE_VM behaves like fork but accepts namespace flags; glibc's
  // clone() wrapper insists on a new stack, and fork() cannot take flags.
  long r = syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (r < 0) return Errno("clone", "", "flags 0x" + [&] {
                   char b[32];
                   snprintf(b, sizeof b, "%lx", flags);
                   return std::string(b);
                 }());
  return static_cast<pid_t>(r);
}

Result<UniqueFd> PidfdOpen(pid_t pid) {
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return Errno("pidfd_open", std::to_string(pid));
  return UniqueFd(static_cast<int>(fd));
}

Result<void> PidfdSendSignal(const UniqueFd& pidfd, int sig) {
  if (syscall(SYS_pidfd_send_signal, pidfd.Get(), sig, nullptr, 0) < 0)
    return Errno("kill", "signal " + std::to_string(sig));
  return {};
}

Result<ProcStat> ReadProcStat(pid_t pid) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::unexpected(text.error());
  // comm may contain spaces and parentheses: parse after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size())
    return Fail("parse", "/proc/" + std::to_string(pid) + "/stat", "unexpected format");
  ProcStat st;
  const char* p = text->c_str() + close + 2;
  st.state = *p;
  // Fields after comm start at field 3 (state); start_time is field 22.
  int field = 3;
  while (*p && field < 22) {
    if (*p == ' ') {
      ++field;
      if (field == 4) st.ppid = static_cast<pid_t>(strtol(p + 1, nullptr, 10));
    }
    ++p;
  }
  st.start_time = strtoull(p, nullptr, 10);
  return st;
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = ReadProcStat(pid);
  if (!st) return false;
  if (st->state == 'Z' || st->state == 'X') return false;
  return start_time == 0 || st->start_time == start_time;
}

int ShellStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Result<int> WaitExit(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, 0);
    if (r == pid) break;
    if (r < 0 && errno == EINTR) continue;
    return Errno("waitpid", std::to_string(pid));
  }
  return ShellStatus(status);
}

Result<void> CloexecFrom(int first) {
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return {};
  // Fallback for kernels before 5.11.
  DIR* d = opendir("/proc/self/fd");
  if (!d) return Errno("opendir", "/proc/self/fd");
  int dfd = dirfd(d);
  while (auto* e = readdir(d)) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd < first || fd == dfd) continue;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(d);
  return {};
}

namespace {
struct SigName {
  const char* name;
  int num;
};
constexpr SigName kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};
}  // namespace

Result<int> ParseSignal(const std::string& in) {
  if (in.empty()) return Fail("parse signal", "\"\"", "empty signal");
  char* end = nullptr;
  long n = strtol(in.c_str(), &end, 10);
  if (*end == '\0') {
    if (n <= 0 || n > SIGRTMAX) return Fail("parse signal", in, "not a valid signal number");
    return static_cast<int>(n);
  }
  std::string s = in;
  for (auto& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  for (const auto& e : kSignals)
    if (s == e.name) return e.num;
  if (s.rfind("RTMIN", 0) == 0 || s.rfind("RTMAX", 0) == 0) {
    bool min = s[3] == 'I';  // RTMIN vs RTMAX
    int off = 0;
    if (s.size() > 5) {
      if (s[5] != '+' && s[5] != '-') return Fail("parse signal", in, "unknown signal");
      off = atoi(s.c_str() + 5);
    }
    int sig = (min ? SIGRTMIN : SIGRTMAX) + off;
    if (sig < SIGRTMIN || sig > SIGRTMAX) return Fail("parse signal", in, "out of range");
    return sig;
  }
  return Fail("parse signal", in, "unknown signal");
}

std::string SignalName(int sig) {
  for (const auto& e : kSignals)
    if (e.num == sig) return std::string("SIG") + e.name;
  return std::to_string(sig);
}

}  // namespace berth::sys
