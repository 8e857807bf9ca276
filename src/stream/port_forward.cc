// Port-forward: over SPDY, a data and an error stream per (requestID, port), each pair a
// connection the Backend opens inside the pod; over WebSocket, a data/error channel pair per
// port of the URL, the first message of each the port (2 bytes, little endian), as kubelet's
// portforward server does.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "base/log.h"
#include "stream/handlers.h"

namespace berth::stream {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxPairs = 128;

struct Pair {
  std::string request_id;
  int32_t port = 0;
  uint32_t data_id = 0, error_id = 0;
  bool have_data = false, have_error = false;
  bool started = false;
  UniqueFd fd;
  FdSink to_pod;
  bool pod_eof = false;     // the pod's side closed: data stream FIN sent
  bool client_fin = false;  // the client closed its side of the data stream
  bool write_shut = false;
  bool done = false;
  SteadyClock::time_point deadline;
};

std::optional<int32_t> ParsePort(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 65535) return std::nullopt;
  return static_cast<int32_t>(v);
}

std::string Le16(int32_t port) {
  return std::string{static_cast<char>(port & 0xff), static_cast<char>((port >> 8) & 0xff)};
}

class PortForwardHandler : public MuxHandler {
 public:
  PortForwardHandler(Backend* backend, PortForwardRequest req, ProtocolChoice proto,
                     std::vector<int32_t> ws_ports, std::chrono::milliseconds stream_timeout)
      : backend_(backend),
        req_(std::move(req)),
        proto_(proto),
        ws_ports_(std::move(ws_ports)),
        stream_timeout_(stream_timeout) {}

  // WebSocket: the pairs are the URL's ports, opened once the mux is there.
  void StartWebSocket() {
    for (size_t i = 0; i < ws_ports_.size(); ++i) {
      auto p = std::make_unique<Pair>();
      p->port = ws_ports_[i];
      p->data_id = static_cast<uint32_t>(2 * i);
      p->error_id = static_cast<uint32_t>(2 * i + 1);
      p->have_data = p->have_error = true;
      mux_->Send(p->data_id, Le16(p->port));
      mux_->Send(p->error_id, Le16(p->port));
      Pair* raw = p.get();
      pairs_[std::to_string(i)] = std::move(p);
      Connect(raw);
    }
    ws_started_ = true;
  }

  uint32_t OnStreamOpen(uint32_t id, const spdy::Headers& h) override {
    auto port = ParsePort(spdy::HeaderValue(h, "port"));
    std::string_view type = spdy::HeaderValue(h, "streamtype");
    if (!port || (type != "data" && type != "error")) {
      log::Warn("streaming: port-forward stream " + std::to_string(id) +
                " refused: needs a port header (1-65535) and streamType data or error");
      return spdy::kProtocolError;
    }
    std::string rid(spdy::HeaderValue(h, "requestid"));
    if (rid.empty()) {
      // Old clients: pair by stream id (error n, data n+2), as kubelet guesses.
      rid = std::to_string(type == "error" ? id : id - 2);
    }
    auto it = pairs_.find(rid);
    if (it == pairs_.end()) {
      if (pairs_.size() >= kMaxPairs) return spdy::kRefusedStream;
      auto p = std::make_unique<Pair>();
      p->request_id = rid;
      p->port = *port;
      p->deadline = SteadyClock::now() + stream_timeout_;
      it = pairs_.emplace(rid, std::move(p)).first;
    }
    Pair* p = it->second.get();
    bool data = type == "data";
    if ((data && p->have_data) || (!data && p->have_error)) {
      // Tell the client on the pair's error stream, as kubelet does.
      if (p->have_error) {
        mux_->Send(p->error_id, "error processing stream for request " + rid + ": " +
                                    (data ? "data" : "error") + " stream already assigned");
      }
      return spdy::kStreamInUse;
    }
    (data ? p->data_id : p->error_id) = id;
    (data ? p->have_data : p->have_error) = true;
    by_stream_[id] = p;
    return 0;
  }

  void OnStreamReady(uint32_t id) override {
    auto it = by_stream_.find(id);
    if (it == by_stream_.end()) return;
    Pair* p = it->second;
    if (p->have_data && p->have_error && !p->started) Connect(p);
  }

  void OnStreamData(uint32_t id, std::string_view data) override {
    Pair* p = PairOf(id);
    if (!p || p->done || id != p->data_id) return;  // the error stream carries nothing in
    p->to_pod.Add(data);
    if (p->started) p->to_pod.Drain();
  }

  void OnStreamFin(uint32_t id) override {
    Pair* p = PairOf(id);
    if (p && id == p->data_id) p->client_fin = true;
  }

  void OnStreamReset(uint32_t id) override {
    Pair* p = PairOf(id);
    if (!p) return;
    // One stream of the pair reset: the other goes too.
    uint32_t other = id == p->data_id ? p->error_id : p->data_id;
    if (other != 0 && !p->done) mux_->Reset(other, spdy::kCancel);
    End(p);
  }

  void OnPeerClose() override {
    if (proto_.websocket)
      OnPeerGone();
    else
      goaway_ = true;
  }

  void PollFds(std::vector<pollfd>* fds) override {
    polled_.clear();
    bool room = mux_->Queued() < kHighWater;
    for (auto& [rid, p] : pairs_) {
      if (!p->fd.Valid() || p->done) continue;
      short ev = 0;
      if (!p->pod_eof && room) ev |= POLLIN;
      if (p->to_pod.Pending()) ev |= POLLOUT;
      if (!ev) continue;
      fds->push_back({p->fd.Get(), ev, 0});
      polled_.push_back(p.get());
    }
  }

  void OnPoll(const pollfd* fds, size_t n) override {
    for (size_t i = 0; i < n && i < polled_.size(); ++i) {
      Pair* p = polled_[i];
      if (!fds[i].revents || p->done) continue;
      if (fds[i].revents & POLLOUT) p->to_pod.Drain();
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        bool eof = false;
        std::string chunk = ReadChunk(p->fd.Get(), &eof);
        if (!chunk.empty()) mux_->Send(p->data_id, chunk);
        if (eof) {
          p->pod_eof = true;
          if (proto_.websocket) {
            End(p);  // v4 channels cannot be closed one by one: the pair just ends
          } else {
            mux_->Fin(p->data_id);
            mux_->Fin(p->error_id);
          }
        }
      }
    }
  }

  bool InputPaused() const override {
    for (const auto& [rid, p] : pairs_) {
      if (p->to_pod.Pending() > kHighWater) return true;
    }
    return false;
  }

  SteadyClock::time_point Deadline() const override {
    auto d = SteadyClock::time_point::max();
    for (const auto& [rid, p] : pairs_) {
      if (!p->started && !p->done) d = std::min(d, p->deadline);
    }
    return d;
  }

  void OnTick() override {
    auto now = SteadyClock::now();
    for (auto& [rid, p] : pairs_) {
      if (!p->started && !p->done && now >= p->deadline) {
        if (p->have_error)
          mux_->Send(p->error_id, "timed out waiting for the streams of request " + rid);
        if (p->have_error) mux_->Reset(p->error_id, spdy::kCancel);
        if (p->have_data) mux_->Reset(p->data_id, spdy::kCancel);
        End(p.get());
      }
      if (p->started && !p->done) {
        if (p->client_fin && !p->write_shut && p->to_pod.Pending() == 0) {
          p->write_shut = true;
          ::shutdown(p->fd.Get(), SHUT_WR);
        }
        if (p->to_pod.broken && !p->pod_eof) {
          p->pod_eof = true;
          mux_->Fin(p->data_id);
          mux_->Fin(p->error_id);
        }
        if (p->pod_eof && p->client_fin) End(p.get());
      }
    }
    for (auto it = pairs_.begin(); it != pairs_.end();) {
      if (it->second->done && !proto_.websocket) {
        Pair* p = it->second.get();
        by_stream_.erase(p->data_id);
        by_stream_.erase(p->error_id);
        it = pairs_.erase(it);
      } else {
        ++it;
      }
    }
  }

  bool Done() const override {
    if (gone_) return true;
    if (!proto_.websocket) return false;  // SPDY: ends when the client goes
    if (!ws_started_) return false;
    for (const auto& [rid, p] : pairs_) {
      if (!p->done) return false;
    }
    return true;
  }

  void OnPeerGone() override {
    gone_ = true;
    for (auto& [rid, p] : pairs_) End(p.get());
  }

 private:
  Pair* PairOf(uint32_t id) {
    if (proto_.websocket) {
      auto it = pairs_.find(std::to_string(id / 2));
      return it == pairs_.end() ? nullptr : it->second.get();
    }
    auto it = by_stream_.find(id);
    return it == by_stream_.end() ? nullptr : it->second;
  }

  void Connect(Pair* p) {
    p->started = true;
    bool allowed = req_.ports.empty() ||
                   std::find(req_.ports.begin(), req_.ports.end(), p->port) != req_.ports.end();
    Result<UniqueFd> fd = allowed ? backend_->PortForward(req_, p->port)
                                  : FailedPrecondition("port-forward", std::to_string(p->port),
                                                       "port not in the request's ports");
    if (fd) {
      if (auto nb = SetNonBlocking(fd->Get()); !nb) fd = std::unexpected(nb.error());
    }
    if (!fd) {
      mux_->Send(p->error_id, "error forwarding port " + std::to_string(p->port) + " to pod " +
                                  req_.pod_id + ": " + fd.error().Message());
      if (proto_.websocket) {
        End(p);
      } else {
        mux_->Fin(p->error_id);
        mux_->Fin(p->data_id);
        p->pod_eof = true;  // ends when the client closes or resets its side
      }
      return;
    }
    p->fd = std::move(*fd);
    p->to_pod.fd = p->fd.Get();
    p->to_pod.Drain();
  }

  void End(Pair* p) {
    if (p->done) return;
    p->done = true;
    p->fd.Reset();
    p->to_pod.fd = -1;
    p->to_pod.Break();
  }

  Backend* backend_;
  PortForwardRequest req_;
  ProtocolChoice proto_;
  std::vector<int32_t> ws_ports_;
  std::chrono::milliseconds stream_timeout_;
  std::map<std::string, std::unique_ptr<Pair>> pairs_;
  std::map<uint32_t, Pair*> by_stream_;
  std::vector<Pair*> polled_;
  bool ws_started_ = false;
  bool goaway_ = false;
  bool gone_ = false;
};

}  // namespace

std::unique_ptr<MuxHandler> NewPortForwardHandler(Backend* backend, PortForwardRequest req,
                                                  ProtocolChoice proto,
                                                  std::vector<int32_t> ws_ports,
                                                  std::chrono::milliseconds stream_timeout) {
  return std::make_unique<PortForwardHandler>(backend, std::move(req), proto, std::move(ws_ports),
                                              stream_timeout);
}

void StartPortForwardWebSocket(MuxHandler* h) {
  static_cast<PortForwardHandler*>(h)->StartWebSocket();
}

}  // namespace berth::stream
