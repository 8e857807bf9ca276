// A Kubernetes channel protocol over WebSocket (RFC 6455 framing by wslay): each message
// is [channel][data], channel = stream id. v5.channel.k8s.io adds [255][channel] to close
// one channel (stdin's EOF).
#include <sys/random.h>
#include <wslay/wslay.h>

#include <cerrno>
#include <cstring>

#include "stream/mux.h"
#include "stream/protocol.h"

namespace berth::stream {
namespace {

class WsMux : public Mux {
 public:
  WsMux(Conn* conn, MuxEvents* events, bool server, WsProtocol proto, MuxLimits limits,
        std::string initial)
      : conn_(conn),
        events_(events),
        server_(server),
        proto_(proto),
        limits_(limits),
        initial_(std::move(initial)) {}

  ~WsMux() override {
    if (ctx_) wslay_event_context_free(ctx_);
  }

  Result<void> Init() {
    wslay_event_callbacks cb{};
    cb.recv_callback = RecvCb;
    cb.send_callback = SendCb;
    cb.genmask_callback = GenMaskCb;
    cb.on_msg_recv_callback = MsgCb;
    int rc = server_ ? wslay_event_context_server_init(&ctx_, &cb, this)
                     : wslay_event_context_client_init(&ctx_, &cb, this);
    if (rc != 0) return Internal("wslay init", "WebSocket connection");
    wslay_event_config_set_max_recv_msg_length(ctx_, limits_.max_frame + 1);
    return {};
  }

  Result<void> OnReadable() override {
    if (failed_) return InvalidArgument("WebSocket session", "", error_);
    if (!wslay_event_want_read(ctx_)) {
      // Close received: the peer sends nothing more; read to see its EOF.
      char buf[4096];
      ssize_t n = conn_->Read(buf, sizeof buf);
      if (n == 0)
        peer_eof_ = true;
      else if (n < 0 && errno != EAGAIN)
        peer_eof_ = true;
      return {};
    }
    int rc = wslay_event_recv(ctx_);
    if (failed_) {
      wslay_event_queue_close(ctx_, WSLAY_CODE_PROTOCOL_ERROR, nullptr, 0);
      close_queued_ = true;
      return InvalidArgument("WebSocket session", "", error_);
    }
    if (rc != 0 && !peer_eof_) {
      if (rc == WSLAY_ERR_CALLBACK_FAILURE && io_error_)
        return Errno("read", "WebSocket connection");
      return InvalidArgument("WebSocket session", "", "malformed or oversized frame");
    }
    return {};
  }

  Result<void> Flush() override {
    for (int round = 0; round < 2; ++round) {
      if (wslay_event_want_write(ctx_)) {
        int rc = wslay_event_send(ctx_);
        if (rc != 0) return Errno("write", "WebSocket connection");
      }
      if (!MaybeQueueClose()) break;
    }
    return {};
  }

  bool WantWrite() const override {
    return wslay_event_want_write(ctx_) != 0 || (close_wanted_ && !close_queued_);
  }
  size_t Queued() const override { return wslay_event_get_queued_msg_length(ctx_); }

  void Send(uint32_t id, std::string_view data) override {
    std::string msg = EncodeChannelMessage(static_cast<uint8_t>(id), data, proto_.base64);
    Queue(msg);
  }

  void Fin(uint32_t id) override {
    if (server_ || !proto_.v5) return;  // v4 has no way to close one channel
    Queue(EncodeCloseSignal(static_cast<uint8_t>(id)));
  }

  void Reset(uint32_t, uint32_t) override {}

  void Close() override {
    close_wanted_ = true;
    MaybeQueueClose();
  }

 private:
  // wslay sends control frames before queued data and nothing after a close: the close
  // waits until everything queued is on the wire.
  bool MaybeQueueClose() {
    if (!close_wanted_ || close_queued_) return false;
    if (wslay_event_get_queued_msg_count(ctx_) > 0 || wslay_event_want_write(ctx_)) return false;
    close_queued_ = true;
    if (!wslay_event_get_close_sent(ctx_)) {
      wslay_event_queue_close(ctx_, WSLAY_CODE_NORMAL_CLOSURE, nullptr, 0);
    }
    return true;
  }

  void Queue(const std::string& msg) {
    wslay_event_msg m{static_cast<uint8_t>(proto_.base64 ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME),
                      reinterpret_cast<const uint8_t*>(msg.data()), msg.size()};
    wslay_event_queue_msg(ctx_, &m);  // copies; fails only once a close was queued
  }

  static ssize_t RecvCb(wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int, void* user) {
    auto* self = static_cast<WsMux*>(user);
    if (self->initial_pos_ < self->initial_.size()) {
      size_t k = std::min(len, self->initial_.size() - self->initial_pos_);
      memcpy(buf, self->initial_.data() + self->initial_pos_, k);
      self->initial_pos_ += k;
      return static_cast<ssize_t>(k);
    }
    if (self->read_paused_ || self->failed_) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    ssize_t n = self->conn_->Read(reinterpret_cast<char*>(buf), len);
    if (n > 0) return n;
    if (n == 0) {
      self->peer_eof_ = true;
      wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    }
    if (errno == EAGAIN) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
      self->io_error_ = true;
      wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
  }

  static ssize_t SendCb(wslay_event_context_ptr ctx, const uint8_t* data, size_t len, int,
                        void* user) {
    auto* self = static_cast<WsMux*>(user);
    ssize_t n = self->conn_->Write(reinterpret_cast<const char*>(data), len);
    if (n >= 0) return n;
    wslay_event_set_error(ctx, errno == EAGAIN ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }

  static int GenMaskCb(wslay_event_context_ptr, uint8_t* buf, size_t len, void*) {
    return getrandom(buf, len, 0) == static_cast<ssize_t>(len) ? 0 : -1;
  }

  static void MsgCb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    auto* self = static_cast<WsMux*>(user);
    if (self->failed_) return;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
      self->events_->OnPeerClose();
      return;
    }
    if (arg->opcode != WSLAY_BINARY_FRAME && arg->opcode != WSLAY_TEXT_FRAME) return;
    std::string_view msg(reinterpret_cast<const char*>(arg->msg), arg->msg_length);
    if (msg.size() > self->limits_.max_frame) {
      self->failed_ = true;
      self->error_ = "message over " + std::to_string(self->limits_.max_frame) + " bytes";
      return;
    }
    if (msg.empty()) return;  // clients may send empty keep-alive messages
    auto m = DecodeChannelMessage(msg, self->proto_.base64, self->proto_.v5);
    if (!m) {
      self->failed_ = true;
      self->error_ = m.error().Message();
      return;
    }
    if (m->close)
      self->events_->OnStreamFin(m->channel);
    else
      self->events_->OnStreamData(m->channel, m->data);
  }

  Conn* conn_;
  MuxEvents* events_;
  bool server_;
  WsProtocol proto_;
  MuxLimits limits_;
  std::string initial_;
  size_t initial_pos_ = 0;
  wslay_event_context_ptr ctx_ = nullptr;
  bool failed_ = false;
  bool io_error_ = false;
  bool close_wanted_ = false, close_queued_ = false;
  std::string error_;
};

}  // namespace

Result<std::unique_ptr<Mux>> NewWsMux(Conn* conn, MuxEvents* events, bool server, WsProtocol proto,
                                      MuxLimits limits, std::string initial) {
  auto m = std::make_unique<WsMux>(conn, events, server, proto, limits, std::move(initial));
  BERTH_TRYV(m->Init());
  return std::unique_ptr<Mux>(std::move(m));
}

}  // namespace berth::stream
