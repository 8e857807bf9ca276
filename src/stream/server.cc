#include "stream/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/log.h"
#include "stream/conn.h"
#include "stream/handlers.h"
#include "stream/http.h"
#include "stream/loop.h"
#include "stream/mux.h"
#include "stream/protocol.h"

namespace berth::stream {
namespace {

using SteadyClock = std::chrono::steady_clock;

const std::vector<std::string_view> kSpdyRemoteCommand = {kRemoteCommandV4, kRemoteCommandV3,
                                                          kRemoteCommandV2, kRemoteCommandV1};
const std::vector<std::string_view> kSpdyPortForward = {kPortForwardV1};
const std::vector<std::string_view> kWsRemoteCommand = {kWsV5, kWsV4, kWsV4Base64, kWsV1,
                                                        kWsV1Base64};
const std::vector<std::string_view> kWsPortForward = {kPortForwardV1, kWsV4, kWsV4Base64};
constexpr size_t kMaxWsPorts = 32;

std::string Join(const std::vector<std::string_view>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ", ") + std::string(x);
  return s;
}

std::string JoinS(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Sends a plain response before any upgrade and ends the connection.
void Reply(Conn* conn, int status, const std::string& body, const HttpHeaders& extra = {}) {
  auto deadline = SteadyClock::now() + std::chrono::seconds(2);
  (void)conn->WriteAll(HttpResponse(status, body + "\n", extra), deadline);
  conn->ShutdownWrite();
  std::string sink;
  while (sink.size() < (64 << 10)) {
    auto n = conn->ReadSome(&sink, 4096, deadline);
    if (!n || *n == 0) break;
  }
}

int VersionOf(std::string_view proto) {
  if (proto == kWsV5) return 5;
  if (proto == kRemoteCommandV4 || proto == kWsV4Base64) return 4;
  if (proto == kRemoteCommandV3) return 3;
  if (proto == kRemoteCommandV2) return 2;
  return 1;
}

}  // namespace

Server::Server(ServerConfig config, Backend* backend)
    : config_(std::move(config)),
      backend_(backend),
      tokens_(config_.token_ttl, config_.max_tokens, config_.clock) {}

Server::~Server() {
  Stop();
  if (tls_) SSL_CTX_free(tls_);
}

std::string Server::BaseUrl() const {
  std::string host = config_.address.find(':') != std::string::npos ? "[" + config_.address + "]"
                                                                    : config_.address;
  return std::string(tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_);
}

Result<void> Server::Start() {
  if (started_) return FailedPrecondition("start streaming server", BaseUrl(), "already started");
  if (config_.tls_cert_file.empty() != config_.tls_key_file.empty()) {
    return InvalidArgument("start streaming server", "tls", "a certificate needs its key and back");
  }
  if (!config_.tls_cert_file.empty()) {
    tls_ = BERTH_TRY(NewServerTlsContext(config_.tls_cert_file, config_.tls_key_file));
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, config_.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(config_.port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, config_.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(config_.port);
    len = sizeof *v6;
  } else {
    return InvalidArgument("start streaming server", config_.address, "not an IP address");
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Errno("socket", "streaming server");
  int one = 1;
  setsockopt(fd.Get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    return Errno("bind", config_.address + ":" + std::to_string(config_.port));
  }
  if (::listen(fd.Get(), 128) < 0) return Errno("listen", "streaming server");
  len = sizeof ss;
  if (getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    return Errno("getsockname", "streaming server");
  }
  port_ = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  stop_fd_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd_) return Errno("eventfd", "streaming server");
  listen_fd_ = std::move(fd);
  started_ = true;
  acceptor_ = std::thread([this] { AcceptLoop(); });
  log::Info("streaming server listening on " + BaseUrl());
  return {};
}

void Server::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  uint64_t one = 1;
  (void)!::write(stop_fd_.Get(), &one, sizeof one);
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& c : conns_) {
      if (c->wake) (void)!::write(c->wake.Get(), &one, sizeof one);
    }
  }
  ReapFinished(true);
  listen_fd_.Reset();
}

void Server::ReapFinished(bool all) {
  std::list<std::unique_ptr<Connection>> done;
  {
    std::lock_guard lock(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->finished.load()) {
        done.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : done) {
    if (c->thread.joinable()) c->thread.join();
  }
}

Result<std::string> Server::Store(StreamRequest req) {
  if (!started_ || stopped_) {
    return Unavailable("streaming URL", RequestKindName(req),
                       "the streaming server is not running");
  }
  std::string kind = RequestKindName(req);
  std::string token = BERTH_TRY(tokens_.Insert(std::move(req)));
  return BaseUrl() + "/" + kind + "/" + token;
}

Result<std::string> Server::ExecUrl(ExecRequest req) {
  if (req.cmd.empty()) return InvalidArgument("exec", req.container_id, "empty command");
  if (!req.stdin && !req.stdout && !req.stderr) {
    return InvalidArgument("exec", req.container_id, "one of stdin, stdout or stderr is required");
  }
  return Store(std::move(req));
}

Result<std::string> Server::AttachUrl(AttachRequest req) {
  if (!req.stdin && !req.stdout && !req.stderr) {
    return InvalidArgument("attach", req.container_id,
                           "one of stdin, stdout or stderr is required");
  }
  return Store(std::move(req));
}

Result<std::string> Server::PortForwardUrl(PortForwardRequest req) {
  for (int32_t p : req.ports) {
    if (p < 1 || p > 65535) {
      return InvalidArgument("port-forward", req.pod_id,
                             "port " + std::to_string(p) + " out of range");
    }
  }
  return Store(std::move(req));
}

void Server::AcceptLoop() {
  for (;;) {
    pollfd p[2] = {{listen_fd_.Get(), POLLIN, 0}, {stop_fd_.Get(), POLLIN, 0}};
    int n = ::poll(p, 2, 1000);
    if (n < 0 && errno != EINTR) {
      log::Error("streaming server: poll: " + std::string(strerror(errno)));
      return;
    }
    if (p[1].revents & POLLIN) return;
    ReapFinished(false);
    if (!(p[0].revents & POLLIN)) continue;
    UniqueFd fd(accept4(listen_fd_.Get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) {
      if (errno == EMFILE || errno == ENFILE) {
        log::Warn("streaming server: accept: out of fds");
        ::poll(nullptr, 0, 100);
      }
      continue;
    }
    if (active_.load() >= config_.max_sessions) {
      // Not read: a short answer fits the socket buffer; then closed.
      std::string r = HttpResponse(503, "too many streaming sessions (limit " +
                                            std::to_string(config_.max_sessions) + ")\n");
      (void)!::send(fd.Get(), r.data(), r.size(), MSG_NOSIGNAL);
      ::shutdown(fd.Get(), SHUT_WR);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->wake.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!c->wake) continue;
    Connection* raw = c.get();
    active_++;
    {
      std::lock_guard lock(mu_);
      conns_.push_back(std::move(c));
      raw->thread = std::thread([this, raw, f = fd.Release()]() mutable {
        Serve(UniqueFd(f), raw);
        {
          std::lock_guard lock(mu_);  // Stop() writes it under the lock
          raw->wake.Reset();
        }
        active_--;
        raw->finished.store(true);
      });
    }
  }
}

void Server::Serve(UniqueFd fd, Connection* self) {
  int one = 1;
  setsockopt(fd.Get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd.Get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  auto deadline = SteadyClock::now() + config_.handshake_timeout;
  std::unique_ptr<Conn> conn;
  if (tls_) {
    auto c = Conn::TlsAccept(std::move(fd), tls_, deadline);
    if (!c) {
      log::Debug("streaming: " + c.error().Message());
      return;
    }
    conn = std::move(*c);
  } else {
    conn = Conn::Plain(std::move(fd));
  }

  // The request head, bounded in size and time; the stop signal cuts it short.
  std::string buf;
  std::optional<size_t> end;
  while (!(end = FindHeadEnd(buf))) {
    if (buf.size() > config_.max_header_bytes) {
      Reply(conn.get(), 431,
            "request head over " + std::to_string(config_.max_header_bytes) + " bytes");
      return;
    }
    pollfd p[2] = {{conn->Fd(), POLLIN, 0}, {self->wake.Get(), POLLIN, 0}};
    if (!conn->Pending()) {
      int n = ::poll(p, 2, PollTimeout(deadline));
      if (n == 0) {
        Reply(conn.get(), 408, "timed out reading the request head");
        return;
      }
      if (p[1].revents & POLLIN) return;
    }
    char chunk[4096];
    ssize_t n = conn->Read(chunk, sizeof chunk);
    if (n == 0 || (n < 0 && errno != EAGAIN)) return;
    if (n > 0) buf.append(chunk, static_cast<size_t>(n));
  }
  if (*end > config_.max_header_bytes) {
    Reply(conn.get(), 431,
          "request head over " + std::to_string(config_.max_header_bytes) + " bytes");
    return;
  }
  auto head = ParseRequestHead(std::string_view(buf).substr(0, *end));
  if (!head) {
    Reply(conn.get(), 400, "malformed request: " + head.error().Message());
    return;
  }
  std::string rest = buf.substr(*end);

  // Route: /exec/<token>, /attach/<token>, /portforward/<token>.
  std::string_view path = head->path;
  std::string kind, token;
  if (path.size() > 1 && path[0] == '/') {
    size_t slash = path.find('/', 1);
    if (slash != std::string_view::npos) {
      kind = path.substr(1, slash - 1);
      token = path.substr(slash + 1);
    }
  }
  if ((kind != "exec" && kind != "attach" && kind != "portforward") || token.empty() ||
      token.find('/') != std::string::npos) {
    Reply(conn.get(), 404, "not found: " + std::string(path.substr(0, 200)));
    return;
  }
  if (head->method != "GET" && head->method != "POST") {
    Reply(conn.get(), 405, "method " + head->method + " not allowed", {{"Allow", "GET, POST"}});
    return;
  }
  auto req = tokens_.Consume(token);
  if (!req) {
    Reply(conn.get(), 404,
          "streaming token " + token.substr(0, 64) + " is unknown, already used or expired");
    return;
  }
  if (RequestKindName(*req) != kind) {
    Reply(conn.get(), 400,
          "streaming token is for " + std::string(RequestKindName(*req)) + ", not " + kind);
    return;
  }
  bool port_forward = kind == "portforward";

  // Upgrade: WebSocket or SPDY/3.1, and the protocol on top.
  const HttpHeaders& h = head->headers;
  bool conn_upgrade = HeaderHasToken(h, "connection", "upgrade");
  bool ws = conn_upgrade && HeaderHasToken(h, "upgrade", "websocket");
  bool spdy = conn_upgrade && HeaderHasToken(h, "upgrade", "SPDY/3.1");
  if (!ws && !spdy) {
    Reply(conn.get(), 400,
          "unable to upgrade: missing upgrade headers in request "
          "(want Connection: Upgrade and Upgrade: SPDY/3.1 or websocket)");
    return;
  }
  ProtocolChoice choice;
  choice.websocket = ws;
  std::string chosen;
  std::string response = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n";
  std::vector<int32_t> ws_ports;
  if (ws) {
    std::string_view key = HeaderGet(h, "sec-websocket-key");
    if (HeaderGet(h, "sec-websocket-version") != "13") {
      Reply(conn.get(), 426, "unsupported WebSocket version (want 13)",
            {{"Sec-WebSocket-Version", "13"}});
      return;
    }
    if (key.empty() || key.size() > 64) {
      Reply(conn.get(), 400, "missing or bad Sec-WebSocket-Key");
      return;
    }
    auto offers = HeaderAll(h, "sec-websocket-protocol");
    const auto& supported = port_forward ? kWsPortForward : kWsRemoteCommand;
    if (!offers.empty()) {
      auto n = Negotiate(offers, supported);
      if (!n) {
        Reply(conn.get(), 403,
              "requested WebSocket protocol(s) not supported: " + JoinS(offers) +
                  "; supported: " + Join(supported));
        return;
      }
      chosen = *n;
    }
    choice.base64 = chosen.find("base64") != std::string::npos;
    choice.version = port_forward ? 4 : VersionOf(chosen);
    if (port_forward) {
      auto* pf = std::get_if<PortForwardRequest>(&*req);
      if (!pf->ports.empty()) {
        ws_ports = pf->ports;
      } else {
        for (const std::string& v : QueryValues(head->query, "ports")) {
          size_t start = 0;
          while (start <= v.size()) {
            size_t comma = v.find(',', start);
            if (comma == std::string::npos) comma = v.size();
            std::string_view s(v.data() + start, comma - start);
            uint32_t port = 0;
            auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
            if (ec != std::errc() || ptr != s.data() + s.size() || port < 1 || port > 65535) {
              Reply(conn.get(), 400,
                    "unable to parse \"" + std::string(s.substr(0, 32)) + "\" as a port");
              return;
            }
            ws_ports.push_back(static_cast<int32_t>(port));
            start = comma + 1;
          }
        }
      }
      if (ws_ports.empty()) {
        Reply(conn.get(), 400, "query parameter \"ports\" is required");
        return;
      }
      if (ws_ports.size() > kMaxWsPorts) {
        Reply(conn.get(), 400, "more than " + std::to_string(kMaxWsPorts) + " ports");
        return;
      }
    }
    response += "Upgrade: websocket\r\nSec-WebSocket-Accept: " + WebSocketAccept(key) + "\r\n";
    if (!chosen.empty()) response += "Sec-WebSocket-Protocol: " + chosen + "\r\n";
  } else {
    auto offers = HeaderAll(h, "x-stream-protocol-version");
    const auto& supported = port_forward ? kSpdyPortForward : kSpdyRemoteCommand;
    if (!offers.empty()) {
      auto n = Negotiate(offers, supported);
      if (!n) {
        HttpHeaders extra;
        for (auto s : supported)
          extra.emplace_back("X-Accepted-Stream-Protocol-Versions", std::string(s));
        Reply(conn.get(), 403,
              "unable to upgrade: unable to negotiate protocol: client supports " + JoinS(offers) +
                  ", server accepts " + Join(supported),
              extra);
        return;
      }
      chosen = *n;
    }
    choice.version = VersionOf(chosen);
    response += "Upgrade: SPDY/3.1\r\n";
    if (!chosen.empty()) response += "X-Stream-Protocol-Version: " + chosen + "\r\n";
  }
  response += "\r\n";
  if (!conn->WriteAll(response, deadline)) return;

  std::unique_ptr<MuxHandler> handler;
  if (port_forward) {
    handler = NewPortForwardHandler(backend_, std::get<PortForwardRequest>(std::move(*req)), choice,
                                    std::move(ws_ports), config_.stream_creation_timeout);
  } else {
    handler =
        NewRemoteCommandHandler(backend_, std::move(*req), choice, config_.stream_creation_timeout);
  }
  MuxLimits limits{config_.max_streams_per_connection, config_.max_frame_bytes,
                   config_.max_header_bytes << 2};
  std::unique_ptr<Mux> mux;
  if (ws) {
    auto m = NewWsMux(conn.get(), handler.get(), true,
                      WsProtocol{choice.base64, choice.version == 5}, limits, std::move(rest));
    if (!m) return;
    mux = std::move(*m);
  } else {
    mux = NewSpdyMux(conn.get(), handler.get(), true, limits, std::move(rest));
  }
  handler->SetMux(mux.get());
  if (ws && port_forward) StartPortForwardWebSocket(handler.get());
  if (ws && !port_forward) handler->OnStreamReady(0);  // channels are there: start now
  RunLoop(conn.get(), mux.get(), handler.get(), self->wake.Get());
}

}  // namespace berth::stream
