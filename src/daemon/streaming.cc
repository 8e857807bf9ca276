// Exec, Attach, PortForward: the CRI calls answer with a URL of berthd's streaming server
// (src/stream, docs/streaming.md) under a single-use token; the client (kubelet's proxy,
// crictl, berthctl) then speaks SPDY or WebSocket to it, and the server pumps the fds
// berth-shim handed over (stream_backend.cc). The checks here are api.proto's.
#include "cri/v1/api.pb.h"  // before <signal.h>: enum Signal
#include "daemon/daemon.h"
#include "base/log.h"
#include "daemon/stream_backend.h"
#include "stream/server.h"

namespace berth::daemon {

namespace {

Result<void> CheckStreams(const char* call, const std::string& id, bool in, bool out, bool err,
                          bool tty) {
  if (!in && !out && !err)
    return InvalidArgument(call, id, "one of stdin, stdout and stderr must be true");
  if (tty && err)
    return InvalidArgument(call, id,
                           "tty and stderr cannot both be true (a terminal has one output)");
  return {};
}

}  // namespace

Result<void> Daemon::StartStreaming() {
  stream::ServerConfig sc;
  sc.address = config_.stream_address;
  sc.port = static_cast<uint16_t>(config_.stream_port);
  sc.tls_cert_file = config_.stream_tls_cert;
  sc.tls_key_file = config_.stream_tls_key;
  sc.token_ttl = std::chrono::duration_cast<std::chrono::milliseconds>(config_.stream_token_ttl);
  sc.max_sessions = static_cast<size_t>(config_.stream_max_sessions);
  stream_backend_ = NewStreamBackend(*this);
  auto server = std::make_unique<stream::Server>(std::move(sc), stream_backend_.get());
  if (auto r = server->Start(); !r)
    return std::unexpected(r.error().Wrap("streaming server on " + config_.stream_address + ":" +
                                          std::to_string(config_.stream_port)));
  stream_ = std::move(server);
  log::Info("streaming server on " + stream_->BaseUrl());
  return {};
}

std::string Daemon::StreamUrl() const { return stream_ ? stream_->BaseUrl() : std::string(); }

Result<std::shared_ptr<Container>> Daemon::RunningContainer(const char* call,
                                                            const std::string& ns,
                                                            const std::string& id) {
  if (id.empty()) return InvalidArgument(call, "container_id", "is empty");
  auto c = BERTH_TRY(FindContainer(ns, id));
  std::lock_guard lock(c->mu);
  if (c->status.status != "running")
    return FailedPrecondition(call, c->rec.id,
                              "the container is " + (c->status.status.empty()
                                                         ? std::string("not started")
                                                         : c->status.status) +
                                  ", not running");
  return c;
}

Result<v1::ExecResponse> Daemon::Exec(const std::string& ns, const v1::ExecRequest& req) {
  if (!stream_) return Unavailable("Exec", req.container_id(), "the streaming server is not running");
  if (req.cmd().empty()) return InvalidArgument("Exec", req.container_id(), "cmd is empty");
  BERTH_TRYV(CheckStreams("Exec", req.container_id(), req.stdin(), req.stdout(), req.stderr(),
                          req.tty()));
  auto c = BERTH_TRY(RunningContainer("Exec", ns, req.container_id()));
  stream::ExecRequest s;
  s.ns = ns;
  s.container_id = c->rec.id;
  s.cmd.assign(req.cmd().begin(), req.cmd().end());
  s.tty = req.tty();
  s.stdin = req.stdin();
  s.stdout = req.stdout();
  s.stderr = req.stderr();
  v1::ExecResponse resp;
  resp.set_url(BERTH_TRY(stream_->ExecUrl(std::move(s))));
  return resp;
}

Result<v1::AttachResponse> Daemon::Attach(const std::string& ns, const v1::AttachRequest& req) {
  if (!stream_)
    return Unavailable("Attach", req.container_id(), "the streaming server is not running");
  auto c = BERTH_TRY(RunningContainer("Attach", ns, req.container_id()));
  // The terminal is the container's: kubelet passes its config's tty, crictl -t may not.
  bool tty = c->config.tty();
  BERTH_TRYV(CheckStreams("Attach", req.container_id(), req.stdin(), req.stdout(),
                          req.stderr() && !tty, tty));
  if (req.stdin() && !c->config.stdin())
    return FailedPrecondition("Attach", c->rec.id,
                              "stdin was asked for, but the container was created without "
                              "stdin (ContainerConfig.stdin)");
  stream::AttachRequest s;
  s.ns = ns;
  s.container_id = c->rec.id;
  s.tty = tty;
  s.stdin = req.stdin();
  s.stdout = req.stdout();
  s.stderr = req.stderr() && !tty;
  v1::AttachResponse resp;
  resp.set_url(BERTH_TRY(stream_->AttachUrl(std::move(s))));
  return resp;
}

Result<v1::PortForwardResponse> Daemon::PortForward(const std::string& ns,
                                                    const v1::PortForwardRequest& req) {
  if (!stream_)
    return Unavailable("PortForward", req.pod_sandbox_id(), "the streaming server is not running");
  if (req.pod_sandbox_id().empty())
    return InvalidArgument("PortForward", "pod_sandbox_id", "is empty");
  for (int32_t p : req.port())
    if (p <= 0 || p > 65535)
      return InvalidArgument("PortForward", req.pod_sandbox_id(),
                             "port " + std::to_string(p) + " is not in 1-65535");
  auto pod = BERTH_TRY(FindPod(ns, req.pod_sandbox_id()));
  {
    std::lock_guard lock(pod->mu);
    if (pod->rec.state != "ready")
      return FailedPrecondition("PortForward", pod->rec.id,
                                "the pod sandbox is " + pod->rec.state + ", not ready");
  }
  stream::PortForwardRequest s;
  s.ns = ns;
  s.pod_id = pod->rec.id;
  s.ports.assign(req.port().begin(), req.port().end());
  v1::PortForwardResponse resp;
  resp.set_url(BERTH_TRY(stream_->PortForwardUrl(std::move(s))));
  return resp;
}

}  // namespace berth::daemon
