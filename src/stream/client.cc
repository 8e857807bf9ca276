#include "stream/client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <thread>

#include "base/log.h"
#include "stream/http.h"
#include "stream/loop.h"
#include "stream/mux.h"
#include "stream/protocol.h"

namespace berth::stream {
namespace {

using SteadyClock = std::chrono::steady_clock;

Result<UniqueFd> TcpConnect(const std::string& host, uint16_t port,
                            SteadyClock::time_point deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string ps = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), ps.c_str(), &hints, &res);
  if (rc != 0) return Unavailable("resolve", host, gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  int last = ECONNREFUSED;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return Errno("socket", host);
    if (::connect(fd.Get(), ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
      last = errno;
      continue;
    }
    pollfd p{fd.Get(), POLLOUT, 0};
    if (::poll(&p, 1, PollTimeout(deadline)) <= 0) {
      return DeadlineExceeded("connect", host + ":" + ps, "timed out");
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd.Get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last = err;
      continue;
    }
    int one = 1;
    setsockopt(fd.Get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }
  return std::unexpected(Error{last, "connect", host + ":" + ps, "", {}, ErrorKind::kUnavailable});
}

std::string RandomKey() {
  char raw[16];
  if (getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) memset(raw, 7, sizeof raw);
  return Base64(std::string_view(raw, sizeof raw));
}

std::unexpected<Error> StatusError(int status, const std::string& url, std::string body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  std::string detail = "HTTP " + std::to_string(status) + ": " + body;
  ErrorKind k = status == 404   ? ErrorKind::kNotFound
                : status == 400 ? ErrorKind::kInvalidArgument
                : status == 403 ? ErrorKind::kPermissionDenied
                : status == 503 ? ErrorKind::kUnavailable
                : status == 431 ? ErrorKind::kResourceExhausted
                                : ErrorKind::kUnknown;
  // The token is a credential: not in the message.
  std::string subject = url.substr(0, url.rfind('/'));
  return Fail(k, "streaming upgrade", subject, detail);
}

}  // namespace

namespace {

// *refused: the server answered, and not with a switch to WebSocket, for a reason another
// transport may not meet (see ClientOptions::fallback_to_spdy).
Result<Upgraded> UpgradeImpl(const std::string& url, const ClientOptions& opts,
                             bool port_forward, bool* refused) {
  *refused = false;
  Url u = BERTH_TRY(ParseUrl(url));
  auto deadline = SteadyClock::now() + opts.timeout;
  UniqueFd fd = BERTH_TRY(TcpConnect(u.host, u.port, deadline));
  std::unique_ptr<Conn> conn;
  if (u.tls) {
    SSL_CTX* ctx = BERTH_TRY(NewClientTlsContext(opts.ca_file, opts.insecure_skip_verify));
    auto c = Conn::TlsConnect(std::move(fd), ctx, u.host, deadline);
    SSL_CTX_free(ctx);  // the SSL holds its own reference
    if (!c) return std::unexpected(std::move(c.error()));
    conn = std::move(*c);
  } else {
    conn = Conn::Plain(std::move(fd));
  }
  bool ws = opts.transport == Transport::kWebSocket;
  std::vector<std::string> protos = opts.protocols;
  if (protos.empty()) {
    if (port_forward)
      protos = {std::string(ws ? kWsV4 : kPortForwardV1)};
    else if (ws)
      protos = {std::string(kWsV5), std::string(kWsV4)};
    else
      protos = {std::string(kRemoteCommandV4), std::string(kRemoteCommandV3),
                std::string(kRemoteCommandV2), std::string(kRemoteCommandV1)};
  }
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  std::string key = RandomKey();
  std::string req = std::string(ws ? "GET " : "POST ") + u.path_and_query + " HTTP/1.1\r\n" +
                    "Host: " + host + ":" + std::to_string(u.port) + "\r\n" +
                    "User-Agent: berth-stream\r\nConnection: Upgrade\r\n";
  if (ws) {
    req += "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n";
    std::string list;
    for (const auto& p : protos) list += (list.empty() ? "" : ", ") + p;
    req += "Sec-WebSocket-Protocol: " + list + "\r\n\r\n";
  } else {
    req += "Upgrade: SPDY/3.1\r\n";
    for (const auto& p : protos) req += "X-Stream-Protocol-Version: " + p + "\r\n";
    req += "Content-Length: 0\r\n\r\n";
  }
  BERTH_TRYV(conn->WriteAll(req, deadline));

  std::string buf;
  std::optional<size_t> end;
  while (!(end = FindHeadEnd(buf))) {
    if (buf.size() > (64 << 10))
      return InvalidArgument("streaming upgrade", url, "response head too large");
    size_t n = BERTH_TRY(conn->ReadSome(&buf, 16 << 10, deadline));
    if (n == 0) return Unavailable("streaming upgrade", url, "connection closed before a response");
  }
  HttpHead head = BERTH_TRY(ParseResponseHead(std::string_view(buf).substr(0, *end)));
  std::string rest = buf.substr(*end);
  if (head.status != 101) {
    size_t want =
        head.has_content_length ? std::min<uint64_t>(head.content_length, 16 << 10) : 16 << 10;
    while (rest.size() < want) {
      auto n = conn->ReadSome(&rest, want - rest.size(), deadline);
      if (!n || *n == 0) break;
    }
    *refused = head.status != 404 && head.status != 431 && head.status != 503;
    return StatusError(head.status, url, rest.substr(0, want));
  }
  Upgraded up;
  if (ws) {
    if (HeaderGet(head.headers, "sec-websocket-accept") != WebSocketAccept(key)) {
      *refused = true;
      return InvalidArgument("streaming upgrade", url.substr(0, url.rfind('/')),
                             "bad Sec-WebSocket-Accept");
    }
    up.protocol = HeaderGet(head.headers, "sec-websocket-protocol");
  } else {
    if (!HeaderHasToken(head.headers, "upgrade", "SPDY/3.1")) {
      return InvalidArgument("streaming upgrade", url, "server did not switch to SPDY/3.1");
    }
    up.protocol = HeaderGet(head.headers, "x-stream-protocol-version");
  }
  up.conn = std::move(conn);
  up.rest = std::move(rest);
  return up;
}

}  // namespace

Result<Upgraded> Upgrade(const std::string& url, const ClientOptions& opts, bool port_forward) {
  bool refused;
  return UpgradeImpl(url, opts, port_forward, &refused);
}

namespace {

// The options of the SPDY fallback: the protocols offered are SPDY's own.
ClientOptions SpdyOptions(const ClientOptions& opts) {
  ClientOptions o = opts;
  o.transport = Transport::kSpdy;
  o.protocols.clear();
  o.fallback_to_spdy = false;
  return o;
}

bool Readable(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

int ProtoVersion(std::string_view p) {
  if (p == kWsV5) return 5;
  if (p == kWsV4 || p == kRemoteCommandV4 || p == kWsV4Base64) return 4;
  if (p == kRemoteCommandV3) return 3;
  if (p == kRemoteCommandV2) return 2;
  return 1;
}

// Writes everything left in a sink, blocking (the caller's fds may be blocking ones).
void DrainFully(FdSink* s) {
  while (s->Pending() && !s->broken) {
    s->Drain();
    if (!s->Pending()) break;
    pollfd p{s->fd, POLLOUT, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
  }
}

class ClientCommand : public LoopHandler {
 public:
  ClientCommand(const RemoteCommandIo& io, bool ws, int version)
      : io_(io), ws_(ws), version_(version) {
    out_[0].fd = io.stdout_fd;
    out_[1].fd = io.stderr_fd;
    if (io.stdout_fd < 0) out_[0].Break();
    if (io.stderr_fd < 0) out_[1].Break();
  }

  void Begin(Mux* mux) {
    mux_ = mux;
    if (ws_) {
      for (int c = 0; c < kNumChannels; ++c) ids_[c] = static_cast<uint32_t>(c);
      Ready();
      return;
    }
    auto open = [&](Channel c) {
      ids_[c] = mux_->OpenStream({{"streamtype", StreamTypeName(c)}});
      ++pending_replies_;
    };
    open(kError);
    mux_->Fin(ids_[kError]);  // nothing to say on it
    if (io_.stdin_fd >= 0) open(kStdin);
    if (io_.stdout_fd >= 0) open(kStdout);
    if (io_.stderr_fd >= 0 && !io_.tty) open(kStderr);
    if (io_.tty && version_ >= 3) open(kResize);
  }

  void OnStreamReply(uint32_t) override {
    if (--pending_replies_ == 0) Ready();
  }

  void OnStreamData(uint32_t id, std::string_view data) override {
    if (id == ids_[kStdout])
      out_[0].Add(data), out_[0].Drain();
    else if (id == ids_[kStderr])
      out_[1].Add(data), out_[1].Drain();
    else if (id == ids_[kError] && error_.size() < (64 << 10))
      error_.append(data);
  }

  void OnStreamFin(uint32_t id) override {
    if (id == ids_[kError]) error_done_ = true;
    if (id == ids_[kStdout]) out_done_[0] = true;
    if (id == ids_[kStderr]) out_done_[1] = true;
  }

  void OnStreamReset(uint32_t id) override { OnStreamFin(id); }

  void OnPeerClose() override {
    if (ws_) done_ = true;
  }

  void PollFds(std::vector<pollfd>* fds) override {
    bool room = mux_->Queued() < kHighWater;
    fds->push_back({ready_ && !stdin_eof_ && room ? io_.stdin_fd : -1, POLLIN, 0});
    fds->push_back({ready_ ? io_.resize_fd : -1, POLLIN, 0});
    fds->push_back({out_[0].Pending() ? out_[0].fd : -1, POLLOUT, 0});
    fds->push_back({out_[1].Pending() ? out_[1].fd : -1, POLLOUT, 0});
  }

  void OnPoll(const pollfd* fds, size_t n) override {
    if (n < 4) return;
    if (fds[0].fd >= 0 && fds[0].revents) {
      bool eof = false;
      std::string chunk = ReadChunk(io_.stdin_fd, &eof);
      if (!chunk.empty()) mux_->Send(ids_[kStdin], chunk);
      if (eof) {
        stdin_eof_ = true;
        mux_->Fin(ids_[kStdin]);
      }
    }
    if (fds[1].fd >= 0 && fds[1].revents) {
      char junk[256];
      while (::read(io_.resize_fd, junk, sizeof junk) > 0) {
      }
      if (io_.size) {
        if (auto s = io_.size()) SendSize(*s);
      }
    }
    if (fds[2].fd >= 0 && fds[2].revents) out_[0].Drain();
    if (fds[3].fd >= 0 && fds[3].revents) out_[1].Drain();
  }

  bool InputPaused() const override {
    return out_[0].Pending() > kHighWater || out_[1].Pending() > kHighWater;
  }

  bool Done() const override {
    if (done_) return true;
    if (ws_) return false;
    return error_done_ && (ids_[kStdout] == 0 || out_done_[0]) &&
           (ids_[kStderr] == 0 || out_done_[1]);
  }

  void OnPeerGone() override { done_ = true; }

  Result<int> Outcome() {
    DrainFully(&out_[0]);
    DrainFully(&out_[1]);
    if (version_ >= 4) {
      if (error_.empty()) {
        return Unavailable("remote command", "", "connection closed before the command's status");
      }
      return ParseStatusJson(error_);
    }
    if (!error_.empty()) return Fail("remote command", "", error_);
    return 0;
  }

 private:
  void Ready() {
    ready_ = true;
    if (io_.stdin_fd < 0) stdin_eof_ = true;
    if (io_.tty && io_.initial_size) SendSize(*io_.initial_size);
  }

  void SendSize(TermSize s) {
    if (!io_.tty || (!ws_ && ids_[kResize] == 0)) return;
    mux_->Send(ids_[kResize], ResizeJson(s));
  }

  RemoteCommandIo io_;
  bool ws_;
  int version_;
  Mux* mux_ = nullptr;
  uint32_t ids_[kNumChannels] = {};
  int pending_replies_ = 0;
  bool ready_ = false, stdin_eof_ = false, done_ = false;
  FdSink out_[2];
  bool out_done_[2] = {};
  bool error_done_ = false;
  std::string error_;
};

}  // namespace

Result<int> RunRemoteCommand(const std::string& url, const ClientOptions& opts,
                             const RemoteCommandIo& io) {
  bool given = false;
  return RunRemoteCommand(
      [&]() -> Result<std::string> {
        if (given) return FailedPrecondition("remote command", "", "the URL was used already");
        given = true;
        return url;
      },
      opts, io);
}

Result<int> RunRemoteCommand(const std::function<Result<std::string>()>& next_url,
                             const ClientOptions& given_opts, const RemoteCommandIo& io) {
  ClientOptions opts = given_opts;
  std::string url = BERTH_TRY(next_url());
  bool refused = false;
  auto upgraded = UpgradeImpl(url, opts, false, &refused);
  if (!upgraded && refused && opts.transport == Transport::kWebSocket && opts.fallback_to_spdy) {
    log::Debug("remote command: WebSocket refused (" + upgraded.error().Message() +
               "), falling back to SPDY");
    opts = SpdyOptions(opts);
    url = BERTH_TRY(next_url());
    upgraded = UpgradeImpl(url, opts, false, &refused);
  }
  if (!upgraded) return std::unexpected(std::move(upgraded.error()));
  Upgraded up = std::move(*upgraded);
  bool ws = opts.transport == Transport::kWebSocket;
  int version = ProtoVersion(up.protocol);
  ClientCommand handler(io, ws, version);
  MuxLimits limits;
  std::unique_ptr<Mux> mux;
  if (ws) {
    mux = BERTH_TRY(
        NewWsMux(up.conn.get(), &handler, false,
                 WsProtocol{up.protocol.find("base64") != std::string::npos, version == 5}, limits,
                 std::move(up.rest)));
  } else {
    mux = NewSpdyMux(up.conn.get(), &handler, false, limits, std::move(up.rest));
  }
  handler.Begin(mux.get());
  RunLoop(up.conn.get(), mux.get(), &handler, io.stop_fd);
  auto outcome = handler.Outcome();
  if (!outcome && Readable(io.stop_fd))
    return Fail(ErrorKind::kCancelled, "remote command", url.substr(0, url.rfind('/')),
                "ended by the client");
  return outcome;
}

namespace {

// SPDY: every local connection is a (data, error) stream pair on the one connection.
class ClientSpdyForward : public LoopHandler {
 public:
  ClientSpdyForward(const PortForwardIo& io) : io_(io) {}
  void SetMux(Mux* m) { mux_ = m; }

  void OnStreamData(uint32_t id, std::string_view data) override {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    Local* l = it->second;
    if (id == l->data_id) {
      l->sink.Add(data);
      l->sink.Drain();
    } else {
      log::Warn("port-forward: an error occurred forwarding to port " +
                std::to_string(io_.remote_port) + ": " + std::string(data));
      l->failed = true;
    }
  }
  void OnStreamFin(uint32_t id) override {
    auto it = by_id_.find(id);
    if (it != by_id_.end() && id == it->second->data_id) it->second->remote_eof = true;
  }
  void OnStreamReset(uint32_t id) override {
    auto it = by_id_.find(id);
    if (it != by_id_.end()) it->second->failed = true;
  }
  void OnPeerClose() override { lost_ = true; }

  void PollFds(std::vector<pollfd>* fds) override {
    polled_.clear();
    fds->push_back({locals_.size() < io_.max_connections ? io_.listen_fd : -1, POLLIN, 0});
    fds->push_back({io_.stop_fd, POLLIN, 0});
    bool room = mux_->Queued() < kHighWater;
    for (auto& l : locals_) {
      short ev = 0;
      if (!l->local_eof && room) ev |= POLLIN;
      if (l->sink.Pending()) ev |= POLLOUT;
      fds->push_back({ev ? l->fd.Get() : -1, ev, 0});
      polled_.push_back(l.get());
    }
  }

  void OnPoll(const pollfd* fds, size_t n) override {
    if (n < 2) return;
    if (fds[1].fd >= 0 && (fds[1].revents & POLLIN)) stop_ = true;
    for (size_t i = 2; i < n && i - 2 < polled_.size(); ++i) {
      Local* l = polled_[i - 2];
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      if (fds[i].revents & POLLOUT) l->sink.Drain();
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        bool eof = false;
        std::string chunk = ReadChunk(l->fd.Get(), &eof);
        if (!chunk.empty()) mux_->Send(l->data_id, chunk);
        if (eof) {
          l->local_eof = true;
          mux_->Fin(l->data_id);
        }
      }
    }
    if (fds[0].fd >= 0 && (fds[0].revents & POLLIN)) Accept();
  }

  bool InputPaused() const override {
    for (const auto& l : locals_) {
      if (l->sink.Pending() > kHighWater) return true;
    }
    return false;
  }

  void OnTick() override {
    for (auto it = locals_.begin(); it != locals_.end();) {
      Local* l = it->get();
      if (l->remote_eof && !l->shut && l->sink.Pending() == 0) {
        l->shut = true;
        ::shutdown(l->fd.Get(), SHUT_WR);
      }
      bool end =
          l->failed || l->sink.broken || (l->remote_eof && l->local_eof && !l->sink.Pending());
      if (end) {
        mux_->Reset(l->data_id, spdy::kCancel);
        mux_->Reset(l->error_id, spdy::kCancel);
        by_id_.erase(l->data_id);
        by_id_.erase(l->error_id);
        it = locals_.erase(it);
      } else {
        ++it;
      }
    }
  }

  bool Done() const override { return stop_ || lost_; }
  void OnPeerGone() override { lost_ = true; }
  bool Lost() const { return lost_ && !stop_; }

 private:
  struct Local {
    UniqueFd fd;
    uint32_t data_id = 0, error_id = 0;
    FdSink sink;
    bool local_eof = false, remote_eof = false, shut = false, failed = false;
  };

 public:
  // A local connection accepted before the SPDY connection existed (the WebSocket fallback).
  void Adopt(UniqueFd fd) {
    auto l = std::make_unique<Local>();
    std::string rid = std::to_string(next_request_++);
    std::string port = std::to_string(io_.remote_port);
    l->error_id = mux_->OpenStream({{"streamtype", "error"}, {"port", port}, {"requestid", rid}});
    mux_->Fin(l->error_id);  // we never write on it
    l->data_id = mux_->OpenStream({{"streamtype", "data"}, {"port", port}, {"requestid", rid}});
    l->sink.fd = fd.Get();
    l->fd = std::move(fd);
    by_id_[l->error_id] = l.get();
    by_id_[l->data_id] = l.get();
    locals_.push_back(std::move(l));
  }

 private:
  void Accept() {
    UniqueFd fd(accept4(io_.listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (fd) Adopt(std::move(fd));
  }

  PortForwardIo io_;
  Mux* mux_ = nullptr;
  std::list<std::unique_ptr<Local>> locals_;
  std::map<uint32_t, Local*> by_id_;
  std::vector<Local*> polled_;
  uint64_t next_request_ = 0;
  bool stop_ = false, lost_ = false;
};

// WebSocket: one local connection on one WebSocket, channel 0 data and 1 error; the first
// message of each is the port.
class ClientWsForward : public LoopHandler {
 public:
  explicit ClientWsForward(UniqueFd local) : local_(std::move(local)) { sink_.fd = local_.Get(); }
  void SetMux(Mux* m) { mux_ = m; }

  void OnStreamData(uint32_t id, std::string_view data) override {
    size_t& seen = prefix_[id == 0 ? 0 : 1];
    size_t skip = std::min<size_t>(2 - std::min<size_t>(seen, 2), data.size());
    seen += skip;
    data.remove_prefix(skip);
    if (data.empty()) return;
    if (id == 0) {
      sink_.Add(data);
      sink_.Drain();
    } else if (id == 1) {
      log::Warn("port-forward: " + std::string(data));
      done_ = true;
    }
  }
  void OnStreamFin(uint32_t) override {}
  void OnPeerClose() override { done_ = true; }

  void PollFds(std::vector<pollfd>* fds) override {
    short ev = 0;
    if (!local_eof_ && mux_->Queued() < kHighWater) ev |= POLLIN;
    if (sink_.Pending()) ev |= POLLOUT;
    fds->push_back({ev ? local_.Get() : -1, ev, 0});
  }
  void OnPoll(const pollfd* fds, size_t n) override {
    if (n < 1 || fds[0].fd < 0 || !fds[0].revents) return;
    if (fds[0].revents & POLLOUT) sink_.Drain();
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      bool eof = false;
      std::string chunk = ReadChunk(local_.Get(), &eof);
      if (!chunk.empty()) mux_->Send(0, chunk);
      if (eof) local_eof_ = true;  // v4 cannot close one channel: the pod's side ends it
    }
    if (sink_.broken) done_ = true;
  }
  bool InputPaused() const override { return sink_.Pending() > kHighWater; }
  bool Done() const override { return done_; }
  void OnPeerGone() override { done_ = true; }
  void Finish() { DrainFully(&sink_); }

 private:
  UniqueFd local_;
  Mux* mux_ = nullptr;
  FdSink sink_;
  size_t prefix_[2] = {0, 0};
  bool local_eof_ = false, done_ = false;
};

Result<Upgraded> UpgradeWsForward(const ClientOptions& opts, const std::string& url,
                                  int32_t port, bool* refused) {
  std::string u =
      url + (url.find('?') == std::string::npos ? "?" : "&") + "ports=" + std::to_string(port);
  return UpgradeImpl(u, opts, true, refused);
}

Result<void> ForwardOneWs(Upgraded up, UniqueFd local, int wake_fd) {
  ClientWsForward handler(std::move(local));
  auto mux = BERTH_TRY(NewWsMux(up.conn.get(), &handler, false,
                                WsProtocol{up.protocol.find("base64") != std::string::npos, false},
                                MuxLimits{}, std::move(up.rest)));
  handler.SetMux(mux.get());
  RunLoop(up.conn.get(), mux.get(), &handler, wake_fd);
  handler.Finish();
  return {};
}

// One SPDY connection for every local connection; `first` was accepted already.
Result<void> RunSpdyForward(const ClientOptions& opts, const PortForwardIo& io, UniqueFd first) {
  std::string url = BERTH_TRY(io.next_url());
  Upgraded up = BERTH_TRY(Upgrade(url, opts, true));
  ClientSpdyForward handler(io);
  auto mux = NewSpdyMux(up.conn.get(), &handler, false, MuxLimits{}, std::move(up.rest));
  handler.SetMux(mux.get());
  if (first) handler.Adopt(std::move(first));
  RunLoop(up.conn.get(), mux.get(), &handler, -1);
  if (handler.Lost())
    return Unavailable("port-forward", url.substr(0, url.rfind('/')), "connection lost");
  return {};
}

}  // namespace

Result<void> RunPortForward(const ClientOptions& opts, const PortForwardIo& io) {
  if (!io.next_url) return InvalidArgument("port-forward", "", "no URL source");
  if (opts.transport == Transport::kSpdy) return RunSpdyForward(opts, io, UniqueFd());
  bool decided = !opts.fallback_to_spdy;  // the first upgrade tells whether WebSocket works
  // WebSocket: a thread per local connection, each with its own URL.
  UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return Errno("eventfd", "port-forward");
  struct Worker {
    std::thread t;
    std::atomic<bool> done{false};
  };
  std::list<std::unique_ptr<Worker>> workers;
  auto reap = [&](bool all) {
    for (auto it = workers.begin(); it != workers.end();) {
      if (all || (*it)->done.load()) {
        (*it)->t.join();
        it = workers.erase(it);
      } else {
        ++it;
      }
    }
  };
  Result<void> result;
  for (;;) {
    reap(false);
    pollfd p[2] = {{workers.size() < io.max_connections ? io.listen_fd : -1, POLLIN, 0},
                   {io.stop_fd, POLLIN, 0}};
    int n = ::poll(p, 2, 200);
    if (n < 0 && errno != EINTR) {
      result = Errno("poll", "port-forward");
      break;
    }
    if (p[1].revents & POLLIN) break;
    if (!(p[0].revents & POLLIN)) continue;
    UniqueFd local(accept4(io.listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!local) continue;
    auto url = io.next_url();
    if (!url) {
      log::Warn("port-forward: " + url.error().Message());
      continue;
    }
    // The upgrade here, not in the worker: a refusal must be known before the next accept.
    bool refused = false;
    auto up = UpgradeWsForward(opts, *url, io.remote_port, &refused);
    if (!up && refused && !decided) {
      log::Debug("port-forward: WebSocket refused (" + up.error().Message() +
                 "), falling back to SPDY");
      result = RunSpdyForward(SpdyOptions(opts), io, std::move(local));
      break;
    }
    if (!up) {
      log::Warn("port-forward: " + up.error().Message());
      continue;
    }
    decided = true;
    auto w = std::make_unique<Worker>();
    Worker* raw = w.get();
    int wfd = wake.Get();
    raw->t = std::thread(
        [raw, up = std::make_shared<Upgraded>(std::move(*up)), f = local.Release(), wfd] {
          auto r = ForwardOneWs(std::move(*up), UniqueFd(f), wfd);
          if (!r) log::Warn("port-forward: " + r.error().Message());
          raw->done.store(true);
        });
    workers.push_back(std::move(w));
  }
  uint64_t one = 1;
  (void)!::write(wake.Get(), &one, sizeof one);
  reap(true);
  return result;
}

}  // namespace berth::stream
