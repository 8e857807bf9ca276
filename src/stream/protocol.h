// The Kubernetes remote-command and port-forward protocols above the transports: the
// negotiated protocol names, the error stream's Status, the resize messages and the
// WebSocket channel framing (kubelet's pkg/kubelet/cri/streaming, client-go's
// tools/remotecommand and apimachinery's wsstream define them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "stream/backend.h"

namespace berth::stream {

// SPDY remote-command protocols (X-Stream-Protocol-Version), newest first.
inline constexpr std::string_view kRemoteCommandV4 = "v4.channel.k8s.io";
inline constexpr std::string_view kRemoteCommandV3 = "v3.channel.k8s.io";
inline constexpr std::string_view kRemoteCommandV2 = "v2.channel.k8s.io";
inline constexpr std::string_view kRemoteCommandV1 = "channel.k8s.io";
inline constexpr std::string_view kPortForwardV1 = "portforward.k8s.io";
// WebSocket subprotocols (Sec-WebSocket-Protocol).
inline constexpr std::string_view kWsV5 = "v5.channel.k8s.io";
inline constexpr std::string_view kWsV4 = "v4.channel.k8s.io";
inline constexpr std::string_view kWsV4Base64 = "v4.base64.channel.k8s.io";
inline constexpr std::string_view kWsV1 = "channel.k8s.io";
inline constexpr std::string_view kWsV1Base64 = "base64.channel.k8s.io";

// Remote-command channels (the WebSocket channel byte; SPDY streams by their streamType).
enum Channel : uint8_t {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kError = 3,
  kResize = 4,
  kNumChannels = 5,
};
// v5.channel.k8s.io: a message [255, ch] says the sender closed channel ch.
inline constexpr uint8_t kCloseChannel = 255;

// "stdin" → kStdin …; nullopt for anything else.
std::optional<Channel> ChannelFromStreamType(std::string_view type);
const char* StreamTypeName(Channel c);

// How a remote command ended, as the error stream reports it.
struct ExitStatus {
  bool ok = true;       // Success
  int exit_code = 0;    // > 0: NonZeroExitCode
  std::string message;  // a Failure's message (also set for a non-zero exit code)
};

// v4/v5: the JSON of a metav1.Status (Success; Failure with reason NonZeroExitCode and a
// cause {reason: ExitCode, message: "N"}; Failure with reason InternalError).
std::string StatusJson(const ExitStatus& s);
// v1-v3: the plain text of the error, "" on success.
std::string StatusText(const ExitStatus& s);
// The exit code the JSON Status carries (0 for Success); an error (UNKNOWN kind, its text
// the Status message) for a Failure without an exit code; INVALID_ARGUMENT for bad JSON.
Result<int> ParseStatusJson(std::string_view json);

// Parses {"Width":W,"Height":H} objects from a byte stream (SPDY's resize stream carries
// them newline-separated; a WebSocket resize message carries one). Bounded: an object that
// does not end within 4 KiB is an error.
class ResizeParser {
 public:
  Result<void> Feed(std::string_view bytes, std::vector<TermSize>* out);

 private:
  std::string pending_;
};
std::string ResizeJson(TermSize size);

// One WebSocket message of a channel protocol, decoded.
struct ChannelMessage {
  uint8_t channel = 0;
  std::string data;
  bool close = false;  // v5 close signal: `channel` names the closed channel
};
// Binary protocols: [ch][data...]. Base64 protocols: text ['0'+ch][base64(data)].
std::string EncodeChannelMessage(uint8_t channel, std::string_view data, bool base64);
Result<ChannelMessage> DecodeChannelMessage(std::string_view msg, bool base64, bool v5);
std::string EncodeCloseSignal(uint8_t channel);

// Negotiation: the first of the client's offers (in its order) that the server supports,
// as kubelet's httpstream.Handshake and wsstream do. Offers may be repeated header lines
// or comma-separated.
std::optional<std::string> Negotiate(const std::vector<std::string>& client_offers,
                                     const std::vector<std::string_view>& supported);

}  // namespace berth::stream
