// The client side of the streaming protocols, for berthctl (exec -it, attach,
// port-forward) and the tests: connects to a streaming URL over SPDY/3.1 or WebSocket and
// runs a remote command or a port-forward.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "stream/backend.h"
#include "stream/conn.h"

namespace berth::stream {

enum class Transport { kSpdy, kWebSocket };

struct ClientOptions {
  Transport transport = Transport::kWebSocket;
  std::chrono::milliseconds timeout{30'000};  // connect, TLS and the upgrade
  std::string ca_file;                        // https: verify against these CAs
  bool insecure_skip_verify = false;          // https without ca_file: no verification
  // Protocols offered, preferred first; empty: all we speak (SPDY v4..v1, WebSocket v5, v4).
  std::vector<std::string> protocols;
  // kWebSocket: when the server refuses the WebSocket upgrade (an HTTP answer other than 101,
  // 404, 431 and 503: it does not speak WebSocket, or none of our subprotocols), follow a
  // new URL over SPDY with its default protocols, as kubectl >= 1.30 falls back.
  bool fallback_to_spdy = false;
};

// An upgraded connection (tests use it to speak the protocols by hand).
struct Upgraded {
  std::unique_ptr<Conn> conn;
  std::string rest;      // bytes that came after the 101 head
  std::string protocol;  // negotiated (X-Stream-Protocol-Version / Sec-WebSocket-Protocol)
};
// Errors by the server's answer: 404 NOT_FOUND (token unknown, used or expired), 400
// INVALID_ARGUMENT, 403 PERMISSION_DENIED (no common protocol), 503 UNAVAILABLE; the
// server's text is the detail.
Result<Upgraded> Upgrade(const std::string& url, const ClientOptions& opts, bool port_forward);

struct RemoteCommandIo {
  int stdin_fd = -1;  // -1: no stdin stream
  int stdout_fd = -1, stderr_fd = -1;
  bool tty = false;
  std::optional<TermSize> initial_size;
  // Readable (a SIGWINCH self-pipe, a test's pipe): drained, then size() is sent.
  int resize_fd = -1;
  std::function<std::optional<TermSize>()> size;
  // Readable: end now (the user detaches or interrupts); the result is then kCancelled.
  int stop_fd = -1;
};

// Runs the remote command the URL names; its exit code. A Failure status without an exit
// code (the command could not start) is an error with the server's message.
Result<int> RunRemoteCommand(const std::string& url, const ClientOptions& opts,
                             const RemoteCommandIo& io);
// The same with a source of URLs (a CRI Exec or Attach call): called once, and again for
// the SPDY fallback (fallback_to_spdy) since the refused URL's token is spent.
Result<int> RunRemoteCommand(const std::function<Result<std::string>()>& next_url,
                             const ClientOptions& opts, const RemoteCommandIo& io);

struct PortForwardIo {
  int listen_fd = -1;  // a listening socket: each connection accepted is forwarded
  int32_t remote_port = 0;
  int stop_fd = -1;  // readable: stop forwarding
  // SPDY: called once (one connection carries all). WebSocket: once per local connection
  // (kubelet's WebSocket port-forward carries one connection per port and URL); with
  // fallback_to_spdy a refusal of the first connection's upgrade switches to SPDY for it and
  // all that follow.
  std::function<Result<std::string>()> next_url;
  size_t max_connections = 64;
};
// Forwards until stop_fd is readable; UNAVAILABLE when the SPDY connection is lost.
Result<void> RunPortForward(const ClientOptions& opts, const PortForwardIo& io);

}  // namespace berth::stream
