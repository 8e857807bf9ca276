// One upgraded connection carrying numbered streams: SPDY/3.1 streams, or the channels of a
// Kubernetes WebSocket protocol (channel byte = stream id). The remote-command and
// port-forward logic sits above this and does not care which transport it runs on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "stream/conn.h"
#include "stream/spdy_frame.h"

namespace berth::stream {

class MuxEvents {
 public:
  virtual ~MuxEvents() = default;
  // SPDY, server side: a SYN_STREAM. Return 0 to accept it (a SYN_REPLY is sent and then
  // OnStreamReady called) or an RST_STREAM status to refuse it.
  virtual uint32_t OnStreamOpen(uint32_t id, const spdy::Headers& h) {
    return spdy::kRefusedStream;
  }
  virtual void OnStreamReady(uint32_t id) {}
  // SPDY, client side: the SYN_REPLY of a stream we opened.
  virtual void OnStreamReply(uint32_t id) {}
  virtual void OnStreamData(uint32_t id, std::string_view data) = 0;
  // The peer closed its side of the stream (SPDY FIN, a v5 close signal).
  virtual void OnStreamFin(uint32_t id) = 0;
  virtual void OnStreamReset(uint32_t id) {}
  // GOAWAY, or a WebSocket close frame.
  virtual void OnPeerClose() {}
};

struct MuxLimits {
  size_t max_streams = 256;    // concurrent SPDY streams of a connection
  size_t max_frame = 1 << 20;  // a SPDY frame / WebSocket message
  size_t max_header_block = 64 << 10;
};

class Mux {
 public:
  virtual ~Mux() = default;
  // Reads what the socket has and dispatches it to the events. An error ends the connection
  // (after the caller flushed what the mux queued, e.g. a GOAWAY). EOF sets PeerEof().
  virtual Result<void> OnReadable() = 0;
  virtual Result<void> Flush() = 0;
  virtual bool WantWrite() const = 0;
  virtual size_t Queued() const = 0;
  bool PeerEof() const { return peer_eof_; }
  // While paused, OnReadable reads nothing (back-pressure: the peer's TCP window fills).
  void SetReadPaused(bool paused) { read_paused_ = paused; }
  bool ReadPaused() const { return read_paused_; }

  virtual void Send(uint32_t id, std::string_view data) = 0;
  // Closes our side of a stream: SPDY FIN; WebSocket v5 client: the close signal.
  virtual void Fin(uint32_t id) = 0;
  virtual void Reset(uint32_t id, uint32_t status) = 0;
  // GOAWAY, or the WebSocket close frame (code 1000).
  virtual void Close() = 0;
  // SPDY client: opens a stream with these headers; its id.
  virtual uint32_t OpenStream(const spdy::Headers& h) { return 0; }

 protected:
  bool peer_eof_ = false;
  bool read_paused_ = false;
};

struct WsProtocol {
  bool base64 = false;
  bool v5 = false;
};

// initial: bytes read past the HTTP head, the first of the upgraded protocol.
std::unique_ptr<Mux> NewSpdyMux(Conn* conn, MuxEvents* events, bool server, MuxLimits limits,
                                std::string initial);
Result<std::unique_ptr<Mux>> NewWsMux(Conn* conn, MuxEvents* events, bool server, WsProtocol proto,
                                      MuxLimits limits, std::string initial);

}  // namespace berth::stream
