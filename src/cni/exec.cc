#include "cni/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "sys/process.h"
#include "sys/spawn.h"

extern char** environ;

namespace berth::cni::internal {

namespace {

constexpr size_t kMaxOut = 16 << 20;
constexpr size_t kMaxErr = 64 << 10;

using Clock = std::chrono::steady_clock;

// Reads what fd has now (non-blocking); false at EOF or on an error.
bool Drain(int fd, std::string& into, size_t max, bool keep_tail) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      if (into.size() > max) {
        if (keep_tail)
          into.erase(0, into.size() - max);
        else
          into.resize(max);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

Result<int> Reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Errno("waitpid", std::to_string(pid));
  }
  return status;
}

}  // namespace

std::vector<std::string> PluginEnv(const std::vector<std::string>& vars) {
  std::vector<std::string> env;
  bool have_path = false;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("CNI_")) continue;  // ours replace them; a stale one must not leak
    if (kv.starts_with("PATH=")) have_path = true;
    env.emplace_back(kv);
  }
  if (!have_path)
    env.emplace_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env.insert(env.end(), vars.begin(), vars.end());
  return env;
}

Result<PluginOutput> RunPlugin(const PluginRun& run) {
  // stdin is a socket so that writing to a plugin that exited unread is EPIPE from send()
  // with MSG_NOSIGNAL, not a SIGPIPE for the whole daemon. All fds are O_CLOEXEC: a plugin
  // spawned on another thread must not hold our pipes (its EOF would never come).
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return Errno("socketpair", run.path);
  UniqueFd in_parent(sv[0]), in_child(sv[1]);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return Errno("pipe2", run.path);
  UniqueFd out_r(p[0]), out_w(p[1]);
  if (pipe2(p, O_CLOEXEC) < 0) return Errno("pipe2", run.path);
  UniqueFd err_r(p[0]), err_w(p[1]);

  sys::SpawnOptions so;
  so.in = in_child.Get();
  so.out = out_w.Get();
  so.err = err_w.Get();
  so.setsid = true;  // its own process group: a timeout kills the IPAM plugin it runs too
  so.env = &run.env;
  pid_t pid = BERTH_TRY(sys::SpawnProcess(run.path, {run.path}, so));
  in_child.Reset();
  out_w.Reset();
  err_w.Reset();
  shutdown(in_parent.Get(), SHUT_RD);
  for (int fd : {in_parent.Get(), out_r.Get(), err_r.Get()})
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  // Without a pidfd (old kernels) exit is polled for every 10 ms.
  auto pidfd = sys::PidfdOpen(pid);

  PluginOutput res;
  size_t written = 0;
  bool out_open = true, err_open = true, exited = false;
  int status = 0;
  const auto deadline = Clock::now() + run.timeout;
  if (run.input.empty()) in_parent.Reset();

  while (!exited || out_open || err_open) {
    if (exited) {
      // What the plugin wrote before it exited is in the pipes; a grandchild that kept them
      // open must not hold us.
      if (out_open) Drain(out_r.Get(), res.out, kMaxOut, false);
      if (err_open) Drain(err_r.Get(), res.err, kMaxErr, true);
      break;
    }
    pollfd fds[4];
    int n = 0, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
    if (in_parent) fds[i_in = n++] = {in_parent.Get(), POLLOUT, 0};
    if (out_open) fds[i_out = n++] = {out_r.Get(), POLLIN, 0};
    if (err_open) fds[i_err = n++] = {err_r.Get(), POLLIN, 0};
    if (pidfd) fds[i_pid = n++] = {pidfd->Get(), POLLIN, 0};
    int ms = -1;
    if (run.timeout.count() > 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        // The plugin and everything it started: its process group (pgid == pid, and the
        // pid cannot be reused before we reap it).
        kill(-pid, SIGKILL);
        (void)Reap(pid);
        double secs = static_cast<double>(run.timeout.count()) / 1000.0;
        char buf[64];
        snprintf(buf, sizeof buf, "%g", secs);
        return DeadlineExceeded(
            run.what, run.subject,
            std::string("no answer within ") + buf + " s: the plugin " + run.path + " was killed");
      }
      ms = static_cast<int>(left.count());
    }
    if (!pidfd && (ms < 0 || ms > 10)) ms = 10;
    int r = poll(fds, static_cast<nfds_t>(n), ms);
    if (r < 0 && errno != EINTR) {
      auto e = Errno("poll", run.path);
      kill(-pid, SIGKILL);
      (void)Reap(pid);
      return e;
    }
    if (r <= 0 && pidfd) continue;
    if (i_in >= 0 && fds[i_in].revents) {
      ssize_t w = send(in_parent.Get(), run.input.data() + written, run.input.size() - written,
                       MSG_NOSIGNAL);
      if (w > 0) written += static_cast<size_t>(w);
      // EPIPE: the plugin closed stdin without reading all; its exit status tells why.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == run.input.size())
        in_parent.Reset();
    }
    if (i_out >= 0 && fds[i_out].revents) out_open = Drain(out_r.Get(), res.out, kMaxOut, false);
    if (i_err >= 0 && fds[i_err].revents) err_open = Drain(err_r.Get(), res.err, kMaxErr, true);
    if (i_pid >= 0 ? fds[i_pid].revents != 0 : true) {
      pid_t w = waitpid(pid, &status, pidfd ? 0 : WNOHANG);
      if (w == pid)
        exited = true;
      else if (w < 0 && errno != EINTR)
        return Errno("waitpid", run.path);
    }
  }
  res.wait_status = status;
  return res;
}

}  // namespace berth::cni::internal
