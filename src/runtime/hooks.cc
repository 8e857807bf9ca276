#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "base/log.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace berth::runtime {
namespace {

Result<void> RunHook(const spec::Hook& h, const std::string& name, const std::string& state) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) return Errno("pipe", name);
  UniqueFd rd(in[0]), wr(in[1]);

  // Build argv/envp before fork: the child only calls async-signal-safe functions.
  std::vector<const char*> argv, envp;
  std::string path0 = h.path;
  if (h.args.empty()) argv.push_back(path0.c_str());
  for (const auto& a : h.args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  for (const auto& e : h.env) envp.push_back(e.c_str());
  envp.push_back(nullptr);

  auto forked = sys::Fork();
  if (!forked) return std::unexpected(forked.error().Wrap(name));
  pid_t pid = *forked;
  if (pid == 0) {
    dup2(rd.Get(), 0);
    execve(h.path.c_str(), const_cast<char* const*>(argv.data()),
           const_cast<char* const*>(envp.data()));
    _exit(127);
  }
  rd.Reset();
  // A hook may not read stdin at all: ignore EPIPE rather than failing the hook.
  signal(SIGPIPE, SIG_IGN);
  (void)sys::WriteAll(wr.Get(), state.data(), state.size(), "hook stdin");
  wr.Reset();

  auto pidfd = sys::PidfdOpen(pid);
  if (h.timeout && pidfd) {
    pollfd p{pidfd->Get(), POLLIN, 0};
    int r;
    do {
      r = poll(&p, 1, *h.timeout * 1000);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      kill(pid, SIGKILL);
      (void)sys::WaitExit(pid);
      return Fail(name, h.path, "timed out after " + std::to_string(*h.timeout) + "s");
    }
  }
  auto status = sys::WaitExit(pid);
  if (!status) return std::unexpected(status.error());
  if (*status == 127) return Fail(name, h.path, "could not be executed (exit status 127)");
  if (*status > 128) return Fail(name, h.path, "killed by " + sys::SignalName(*status - 128));
  if (*status != 0) return Fail(name, h.path, "exited with status " + std::to_string(*status));
  return {};
}

}  // namespace

Result<void> RunHooks(const std::vector<spec::Hook>& hooks, const char* kind,
                      const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string name = std::string(kind) + " hook [" + std::to_string(i) + "]";
    log::Debug("running " + name + " " + hooks[i].path);
    BERTH_TRYV(RunHook(hooks[i], name, state_json));
  }
  return {};
}

size_t RunHooksWarnOnFailure(const std::vector<spec::Hook>& hooks, const char* kind,
                             const std::string& state_json) {
  size_t failed = 0;
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string name = std::string(kind) + " hook [" + std::to_string(i) + "]";
    log::Debug("running " + name + " " + hooks[i].path);
    auto r = RunHook(hooks[i], name, state_json);
    if (!r) {
      log::Warn(r.error().Message() + " (ignored: the remaining hooks still run)");
      ++failed;
    }
  }
  return failed;
}

}  // namespace berth::runtime
