// The server side of remote command (exec, attach) and port-forward, above a Mux.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "stream/backend.h"
#include "stream/loop.h"
#include "stream/token_cache.h"

namespace berth::stream {

struct ProtocolChoice {
  bool websocket = false;
  int version = 4;      // remote command: 1..5 (channel.k8s.io is 1)
  bool base64 = false;  // WebSocket base64 variants
};

// A LoopHandler that writes to a Mux, given after construction (the Mux needs the handler
// for its events).
class MuxHandler : public LoopHandler {
 public:
  void SetMux(Mux* mux) { mux_ = mux; }

 protected:
  Mux* mux_ = nullptr;
};

// req is an ExecRequest or an AttachRequest.
std::unique_ptr<MuxHandler> NewRemoteCommandHandler(Backend* backend, StreamRequest req,
                                                    ProtocolChoice proto,
                                                    std::chrono::milliseconds stream_timeout);
// WebSocket port-forward: opens the ports' connections once the handler has its Mux.
void StartPortForwardWebSocket(MuxHandler* h);

// ports: for WebSocket, the ports to forward (one data/error channel pair each); for SPDY
// empty (the client names a port per stream pair).
std::unique_ptr<MuxHandler> NewPortForwardHandler(Backend* backend, PortForwardRequest req,
                                                  ProtocolChoice proto,
                                                  std::vector<int32_t> ws_ports,
                                                  std::chrono::milliseconds stream_timeout);

}  // namespace berth::stream
