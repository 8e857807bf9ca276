#include "daemon/stream_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <system_error>
#include <thread>

#include "daemon/daemon.h"

namespace berth::daemon {

namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);

// An exec'd process or an attachment, as the shim handed it over.
class ShimSession final : public stream::Session {
 public:
  ShimSession(shim::StreamSession s, bool attach, std::string what)
      : s_(std::move(s)), attach_(attach), what_(std::move(what)) {}
  int StdinFd() const override { return s_.Stdin(); }
  int StdoutFd() const override { return s_.Stdout(); }
  int StderrFd() const override { return s_.Stderr(); }
  Result<void> CloseStdin() override {
    if (auto r = s_.CloseStdin(); !r) return std::unexpected(r.error().Wrap(what_));
    return {};
  }
  Result<void> Resize(stream::TermSize size) override {
    if (!s_.Tty()) return FailedPrecondition("resize", what_, "the session has no terminal");
    if (auto r = s_.Resize(size.width, size.height); !r)
      return std::unexpected(r.error().Wrap(what_));
    return {};
  }
  Result<int> Wait() override {
    auto x = s_.Wait(std::chrono::milliseconds(0));
    if (!x) return std::unexpected(x.error().Wrap(what_));
    return attach_ ? 0 : x->exit_code;
  }
  int ExitFd() const override { return s_.Connection(); }
  void Abandon() override { s_.Abandon(); }

 private:
  shim::StreamSession s_;
  bool attach_;
  std::string what_;
};

}  // namespace

// Named in Daemon as a friend: it uses FindContainer, FindPod and Shim.
class StreamBackend final : public stream::Backend {
 public:
  explicit StreamBackend(Daemon& d) : d_(d) {}

  Result<std::unique_ptr<stream::Session>> Exec(const stream::ExecRequest& req) override {
    if (req.cmd.empty()) return InvalidArgument("exec", "cmd", "empty");
    if (!req.stdin && !req.stdout && !req.stderr)
      return InvalidArgument("exec", req.container_id,
                             "one of stdin, stdout and stderr must be asked for");
    auto [c, shim] = BERTH_TRY(RunningContainer(req.ns, req.container_id, "exec"));
    shim::StreamExecRequest r;
    r.id = c;
    r.args = req.cmd;
    r.tty = req.tty;
    r.stdin = req.stdin;
    r.stdout = req.stdout;
    r.stderr = req.stderr && !req.tty;  // a terminal is one stream
    if (req.tty) {  // the terminal's size before the process starts (its consoleSize)
      r.width = req.initial_size.width;
      r.height = req.initial_size.height;
    }
    auto s = shim.ExecStream(r);
    if (!s) return std::unexpected(s.error().Wrap("exec in " + c));
    return std::make_unique<ShimSession>(std::move(*s), false, "exec in " + c);
  }

  Result<std::unique_ptr<stream::Session>> Attach(const stream::AttachRequest& req) override {
    if (!req.stdin && !req.stdout && !req.stderr)
      return InvalidArgument("attach", req.container_id,
                             "one of stdin, stdout and stderr must be asked for");
    auto [c, shim] = BERTH_TRY(RunningContainer(req.ns, req.container_id, "attach"));
    shim::AttachRequest r;
    r.id = c;
    r.stdin = req.stdin;
    r.stdout = req.stdout;
    r.stderr = req.stderr;
    auto s = shim.Attach(r);
    if (!s) return std::unexpected(s.error().Wrap("attach to " + c));
    return std::make_unique<ShimSession>(std::move(*s), true, "attach to " + c);
  }

  Result<UniqueFd> PortForward(const stream::PortForwardRequest& req, int32_t port) override {
    const std::string what = "port forward to port " + std::to_string(port) + " of pod " +
                             req.pod_id;
    if (port <= 0 || port > 65535)
      return InvalidArgument("port forward", std::to_string(port), "not a TCP port (1-65535)");
    auto pod = BERTH_TRY(d_.FindPod(req.ns, req.pod_id));
    std::string netns;
    {
      std::lock_guard lock(pod->mu);
      if (pod->rec.state != "ready")
        return FailedPrecondition("port forward", pod->rec.id, "the pod sandbox is not ready");
      netns = pod->rec.net_ns;  // "" for a host-network pod
    }
    auto fd = ConnectInNetns(netns, port, kConnectTimeout);
    if (!fd) return std::unexpected(fd.error().Wrap(what));
    return fd;
  }

 private:
  // The container's full id and a client of its pod's shim, if it runs.
  Result<std::pair<std::string, shim::ShimClient>> RunningContainer(const std::string& ns,
                                                                    const std::string& id,
                                                                    const char* op) {
    auto c = BERTH_TRY(d_.FindContainer(ns, id));
    std::string full;
    {
      std::lock_guard lock(c->mu);
      if (c->status.status != "running" || c->status.exited_at != 0)
        return FailedPrecondition(op, c->rec.id, "the container is not running");
      full = c->rec.id;
    }
    auto shim = BERTH_TRY(d_.Shim(*c->pod));
    return std::pair{std::move(full), std::move(shim)};
  }

  Daemon& d_;
};

std::unique_ptr<stream::Backend> NewStreamBackend(Daemon& daemon) {
  return std::make_unique<StreamBackend>(daemon);
}

namespace {

// A non-blocking TCP socket of family made in the namespace at netns.
Result<UniqueFd> SocketIn(const std::string& netns, int family) {
  auto make = [family]() -> Result<UniqueFd> {
    UniqueFd s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) return Errno("socket", family == AF_INET ? "tcp4" : "tcp6");
    return s;
  };
  if (netns.empty()) return make();
  Result<UniqueFd> out = Internal("socket", netns, "not made");
  try {
    // The thread ends in the pod's namespace: nothing to switch back.
    std::thread t([&] {
      UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns) {
        out = Errno("open", netns, "the pod's network namespace");
        return;
      }
      if (::setns(ns.Get(), CLONE_NEWNET) < 0) {
        out = Errno("setns", netns, "the pod's network namespace");
        return;
      }
      out = make();
    });
    t.join();
  } catch (const std::system_error& e) {
    return ErrnoCode(e.code().value(), "start a thread", netns, "to join the network namespace");
  }
  return out;
}

Result<UniqueFd> ConnectTo(const std::string& netns, int family, int port,
                           std::chrono::steady_clock::time_point deadline) {
  UniqueFd s = BERTH_TRY(SocketIn(netns, family));
  sockaddr_storage ss{};
  socklen_t len;
  std::string addr;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
    addr = "127.0.0.1:" + std::to_string(port);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
    addr = "[::1]:" + std::to_string(port);
  }
  const std::string where = netns.empty() ? "the host's network namespace" : netns;
  if (::connect(s.Get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    if (errno != EINPROGRESS && errno != EINTR) return Errno("connect " + addr, where);
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
      pollfd p{s.Get(), POLLOUT, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Errno("poll", "connect " + addr);
      if (r == 0) return DeadlineExceeded("connect " + addr, where, "no answer before the timeout");
      break;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (::getsockopt(s.Get(), SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
      return Errno("getsockopt SO_ERROR", "connect " + addr);
    if (err != 0) return ErrnoCode(err, "connect " + addr, where);
  }
  int fl = ::fcntl(s.Get(), F_GETFL);
  if (fl < 0 || ::fcntl(s.Get(), F_SETFL, fl & ~O_NONBLOCK) < 0)
    return Errno("fcntl", "connect " + addr);
  return s;
}

}  // namespace

Result<UniqueFd> ConnectInNetns(const std::string& netns, int port,
                                std::chrono::milliseconds timeout) {
  if (port <= 0 || port > 65535)
    return InvalidArgument("connect", std::to_string(port), "not a TCP port (1-65535)");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto v4 = ConnectTo(netns, AF_INET, port, deadline);
  if (v4 || v4.error().code != ECONNREFUSED) return v4;
  // A server listening on ::1 only (kubectl port-forward reaches it with containerd 1.7 too).
  auto v6 = ConnectTo(netns, AF_INET6, port, deadline);
  if (v6) return v6;
  return v4;  // the IPv4 refusal says it best
}

}  // namespace berth::daemon
