#include "runtime/launch_util.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/fs.h"
#include "sys/process.h"

namespace berth::runtime {

Result<void> WritePidFile(const std::string& path, pid_t pid) {
  auto r = sys::WriteFileAtomic(path, std::to_string(pid), 0644);
  if (!r) return std::unexpected(r.error().Wrap("--pid-file"));
  return {};
}

int ForwardSignalsUntilExit(pid_t pid) {
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info{};
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      int status = 0;
      pid_t r;
      while ((r = waitpid(-1, &status, WNOHANG)) > 0)
        if (r == pid) return sys::ShellStatus(status);
      continue;
    }
    kill(pid, sig);
  }
}

Result<ConsolePair> MakeConsolePair() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return Errno("socketpair", "console");
  return ConsolePair{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

namespace {
void CopyWinsize(int from, int to) {
  winsize ws{};
  if (ioctl(from, TIOCGWINSZ, &ws) == 0) ioctl(to, TIOCSWINSZ, &ws);
}
}  // namespace

int ProxyTerminalUntilExit(pid_t pid, int master) {
  sigset_t all;
  sigfillset(&all);
  int sfd = signalfd(-1, &all, SFD_CLOEXEC);
  termios saved{};
  bool raw = isatty(0) && tcgetattr(0, &saved) == 0;
  if (raw) {
    termios t = saved;
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
    CopyWinsize(0, master);
  }
  int status = -1;
  bool stdin_open = true;
  char buf[16384];
  while (status < 0) {
    pollfd p[3] = {{sfd, POLLIN, 0}, {master, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) continue;
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) (void)sys::WriteAll(1, buf, static_cast<size_t>(n), "stdout");
    }
    if (p[2].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n > 0)
        (void)sys::WriteAll(master, buf, static_cast<size_t>(n), "pty");
      else
        stdin_open = false;
    }
    if (p[0].revents & POLLIN) {
      signalfd_siginfo si{};
      if (read(sfd, &si, sizeof si) != sizeof si) continue;
      if (si.ssi_signo == SIGWINCH) {
        CopyWinsize(0, master);
      } else if (si.ssi_signo == SIGCHLD) {
        int st = 0;
        pid_t r;
        while ((r = waitpid(-1, &st, WNOHANG)) > 0)
          if (r == pid) status = sys::ShellStatus(st);
      } else {
        kill(pid, static_cast<int>(si.ssi_signo));
      }
    }
  }
  // Drain what the container wrote just before it exited.
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;
    (void)sys::WriteAll(1, buf, static_cast<size_t>(n), "stdout");
  }
  if (raw) tcsetattr(0, TCSANOW, &saved);
  close(sfd);
  return status;
}

}  // namespace berth::runtime
