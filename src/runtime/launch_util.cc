#include "runtime/launch_util.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "sys/process.h"

namespace berth::runtime {

Result<UniqueFd> ConnectUnix(const std::string& path, const char* field) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Fail(field, path, "socket path too long");
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket", field);
  UniqueFd sock(fd);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return Errno(std::string(field) + ": connect", path);
  return sock;
}

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
      while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
        if (r != pid) continue;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      }
      continue;
    }
    kill(pid, sig);
  }
}

}  // namespace berth::runtime
