// The streaming connections after the upgrade, as a peer drives them: the SPDY mux (stream
// open/reply/reset, flow control, GOAWAY) and the WebSocket mux (RFC 6455 frames by wslay:
// masking, fragments, control frames, close; then the Kubernetes channel bytes, base64
// and v5 close signals). The first byte picks SPDY or WebSocket (bit 0), server or client
// (bit 1), base64 (bit 2) and v5 (bit 3); the rest is what the peer sent, handed to the mux
// as the bytes read past the HTTP head. The mux runs on one end of a socketpair whose other
// end has shut down writing (EOF after the input) and is drained of what the mux answers.
// Events accept every stream and echo what arrives, so replies are built and queued too.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/unique_fd.h"
#include "fuzz_util.h"
#include "stream/conn.h"
#include "stream/mux.h"

namespace {

using namespace berth;
using namespace berth::stream;

class Echo : public MuxEvents {
 public:
  Mux* mux = nullptr;
  uint32_t OnStreamOpen(uint32_t id, const spdy::Headers& h) override {
    (void)spdy::HeaderValue(h, "streamtype");
    return id % 5 == 0 ? uint32_t{spdy::kRefusedStream} : 0;
  }
  void OnStreamData(uint32_t id, std::string_view data) override {
    if (mux) mux->Send(id, data.substr(0, 256));
  }
  void OnStreamFin(uint32_t id) override {
    if (mux) mux->Fin(id);
  }
  void OnStreamReset(uint32_t id) override {}
  void OnPeerClose() override {
    if (mux) mux->Close();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t mode = in.Byte();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
    fuzz::Fail("socketpair");
  UniqueFd peer(sv[1]);
  shutdown(peer.Get(), SHUT_WR);
  std::unique_ptr<Conn> conn = Conn::Plain(UniqueFd(sv[0]));

  MuxLimits limits;
  limits.max_streams = 8;
  limits.max_frame = 32 << 10;
  limits.max_header_block = 8 << 10;
  Echo events;
  const bool server = (mode & 2) == 0;
  std::unique_ptr<Mux> mux;
  if (mode & 1) {
    WsProtocol proto{(mode & 4) != 0, (mode & 8) != 0};
    auto m = NewWsMux(conn.get(), &events, server, proto, limits, std::string(in.Rest()));
    if (!m) fuzz::Fail("NewWsMux", m.error().Message());
    mux = std::move(*m);
  } else {
    mux = NewSpdyMux(conn.get(), &events, server, limits, std::string(in.Rest()));
  }
  events.mux = mux.get();
  if (!server) {
    spdy::Headers h = {{"streamtype", "stdin"}};
    (void)mux->OpenStream(h);
  }
  char sink[64 << 10];
  for (int round = 0; round < 64 && !mux->PeerEof(); ++round) {
    auto r = mux->OnReadable();
    if (auto f = mux->Flush(); !f) fuzz::CheckMessage(f.error(), "Flush");
    while (read(peer.Get(), sink, sizeof sink) > 0) {
    }
    if (!r) {
      fuzz::CheckMessage(r.error(), "OnReadable");
      break;
    }
  }
  return 0;
}
