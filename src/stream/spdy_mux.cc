// SPDY/3.1 session over a Conn. Flow control: like the Go implementation Kubernetes uses
// (moby/spdystream), windows are not enforced on sending and WINDOW_UPDATEs received are
// ignored; we do send WINDOW_UPDATEs for what we consume so a strict peer never stalls.
// Back-pressure comes from not reading the socket.
#include <cerrno>
#include <map>

#include "stream/mux.h"

namespace berth::stream {
namespace {

constexpr size_t kMaxDataChunk = 32 << 10;
constexpr uint32_t kWindowAck = 32 << 10;

class SpdyMux : public Mux {
 public:
  SpdyMux(Conn* conn, MuxEvents* events, bool server, MuxLimits limits, std::string initial)
      : conn_(conn),
        events_(events),
        server_(server),
        limits_(limits),
        reader_(spdy::Limits{limits.max_frame, limits.max_header_block}),
        next_id_(server ? 2 : 1) {
    reader_.Append(initial);
  }

  Result<void> OnReadable() override {
    BERTH_TRYV(Dispatch());  // frames that came with the HTTP head
    char buf[64 << 10];
    while (!read_paused_ && !peer_eof_ && !failed_) {
      ssize_t n = conn_->Read(buf, sizeof buf);
      if (n == 0) {
        peer_eof_ = true;
        break;
      }
      if (n < 0) {
        if (errno == EAGAIN) break;
        return Errno("read", "SPDY connection");
      }
      reader_.Append(std::string_view(buf, static_cast<size_t>(n)));
      BERTH_TRYV(Dispatch());
      if (static_cast<size_t>(n) < sizeof buf && !conn_->Pending()) break;
    }
    return {};
  }

  Result<void> Flush() override {
    while (pos_ < out_.size()) {
      ssize_t n = conn_->Write(out_.data() + pos_, out_.size() - pos_);
      if (n < 0) {
        if (errno == EAGAIN) break;
        return Errno("write", "SPDY connection");
      }
      pos_ += static_cast<size_t>(n);
    }
    if (pos_ == out_.size()) {
      out_.clear();
      pos_ = 0;
    } else if (pos_ > (256 << 10)) {
      out_.erase(0, pos_);
      pos_ = 0;
    }
    return {};
  }

  bool WantWrite() const override { return pos_ < out_.size(); }
  size_t Queued() const override { return out_.size() - pos_; }

  void Send(uint32_t id, std::string_view data) override {
    auto it = streams_.find(id);
    if (it == streams_.end() || it->second.local_fin) return;
    while (!data.empty()) {
      size_t k = std::min(data.size(), kMaxDataChunk);
      Put(spdy::DataFrame(id, std::string(data.substr(0, k))));
      data.remove_prefix(k);
    }
  }

  void Fin(uint32_t id) override {
    auto it = streams_.find(id);
    if (it == streams_.end() || it->second.local_fin) return;
    it->second.local_fin = true;
    Put(spdy::DataFrame(id, {}, true));
    if (it->second.remote_fin) streams_.erase(it);
  }

  void Reset(uint32_t id, uint32_t status) override {
    Put(spdy::RstFrame(id, status));
    streams_.erase(id);
  }

  void Close() override {
    if (goaway_sent_) return;
    goaway_sent_ = true;
    Put(spdy::GoAwayFrame(last_peer_id_, spdy::kGoAwayOk));
  }

  uint32_t OpenStream(const spdy::Headers& h) override {
    uint32_t id = next_id_;
    next_id_ += 2;
    streams_[id] = StreamState{};
    Put(spdy::SynStreamFrame(id, h));
    return id;
  }

 private:
  struct StreamState {
    bool local_fin = false;
    bool remote_fin = false;
    uint32_t unacked = 0;
  };

  void Put(const spdy::Frame& f) {
    // Only a header block over 16 MiB fails, which our own frames never have.
    (void)writer_.Write(f, &out_);
  }

  Result<void> ProtocolError(std::string detail) {
    failed_ = true;
    Close();
    return InvalidArgument("SPDY session", "", std::move(detail));
  }

  void RemoteFin(uint32_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end() || it->second.remote_fin) return;
    it->second.remote_fin = true;
    bool both = it->second.local_fin;
    events_->OnStreamFin(id);
    if (both) streams_.erase(id);
  }

  Result<void> Dispatch() {
    while (!failed_) {
      auto next = reader_.Next();
      if (!next) {
        if (next.error().IsResourceExhausted()) {
          failed_ = true;
          Close();
          return std::unexpected(next.error());
        }
        return ProtocolError(next.error().Message());
      }
      if (!next->has_value()) return {};
      BERTH_TRYV(Handle(**next));
    }
    return {};
  }

  Result<void> Handle(spdy::Frame& f) {
    using spdy::FrameType;
    switch (f.type) {
      case FrameType::kSynStream: {
        if (!server_) {
          Put(spdy::RstFrame(f.stream_id, spdy::kRefusedStream));  // we take no pushed streams
          return {};
        }
        if (f.stream_id % 2 == 0 || f.stream_id <= last_peer_id_) {
          // Section 2.3.2: a stream id reused or out of order is a session error.
          return ProtocolError("SYN_STREAM " + std::to_string(f.stream_id) +
                               (f.stream_id % 2 == 0
                                    ? ": even id from a client"
                                    : ": id not above the last one (stream opened twice?)"));
        }
        last_peer_id_ = f.stream_id;
        if (goaway_sent_) {
          Put(spdy::RstFrame(f.stream_id, spdy::kRefusedStream));
          return {};
        }
        if (streams_.size() >= limits_.max_streams) {
          Put(spdy::RstFrame(f.stream_id, spdy::kRefusedStream));
          return {};
        }
        uint32_t status = events_->OnStreamOpen(f.stream_id, f.headers);
        if (status != 0) {
          Put(spdy::RstFrame(f.stream_id, status));
          return {};
        }
        streams_[f.stream_id] = StreamState{};
        Put(spdy::ReplyFrame(f.stream_id));
        events_->OnStreamReady(f.stream_id);
        if (f.Fin()) RemoteFin(f.stream_id);
        return {};
      }
      case FrameType::kSynReply:
        if (streams_.contains(f.stream_id)) {
          events_->OnStreamReply(f.stream_id);
          if (f.Fin()) RemoteFin(f.stream_id);
        }
        return {};
      case FrameType::kData: {
        auto it = streams_.find(f.stream_id);
        if (it == streams_.end() || it->second.remote_fin) {
          // Data racing our RST, or for a stream that never was: dropped.
          return {};
        }
        if (!f.data.empty()) {
          it->second.unacked += static_cast<uint32_t>(f.data.size());
          if (it->second.unacked >= kWindowAck && !f.Fin()) {
            Put(spdy::WindowUpdateFrame(f.stream_id, it->second.unacked));
            it->second.unacked = 0;
          }
          events_->OnStreamData(f.stream_id, f.data);
        }
        if (f.Fin()) RemoteFin(f.stream_id);
        return {};
      }
      case FrameType::kRstStream:
        if (streams_.erase(f.stream_id)) events_->OnStreamReset(f.stream_id);
        return {};
      case FrameType::kPing:
        // Our pings have our parity (server even, client odd); echo the peer's.
        if ((f.ping_id % 2 == 1) == server_) Put(spdy::PingFrame(f.ping_id));
        return {};
      case FrameType::kGoAway:
        events_->OnPeerClose();
        return {};
      case FrameType::kHeaders:
        if (f.Fin()) RemoteFin(f.stream_id);
        return {};
      case FrameType::kSettings:
      case FrameType::kWindowUpdate:
      default:
        return {};
    }
  }

  Conn* conn_;
  MuxEvents* events_;
  bool server_;
  MuxLimits limits_;
  spdy::FrameReader reader_;
  spdy::FrameWriter writer_;
  std::string out_;
  size_t pos_ = 0;
  std::map<uint32_t, StreamState> streams_;
  uint32_t last_peer_id_ = 0;
  uint32_t next_id_;
  bool goaway_sent_ = false;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<Mux> NewSpdyMux(Conn* conn, MuxEvents* events, bool server, MuxLimits limits,
                                std::string initial) {
  return std::make_unique<SpdyMux>(conn, events, server, limits, std::move(initial));
}

}  // namespace berth::stream
