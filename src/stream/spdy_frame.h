// SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 and the SPDY/3.1 draft), as the Kubernetes
// remote-command and port-forward protocols use it over an HTTP upgrade: control frames
// SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE and DATA
// frames. Header blocks are one zlib stream per direction, primed with the spec's dictionary.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace berth::stream::spdy {

constexpr uint16_t kVersion = 3;

enum class FrameType : uint16_t {
  kData = 0,  // not a control frame type: DATA frames have no type field
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

constexpr uint8_t kFlagFin = 0x01;
constexpr uint8_t kFlagUnidirectional = 0x02;  // SYN_STREAM only

// RST_STREAM status codes.
enum RstStatus : uint32_t {
  kProtocolError = 1,
  kInvalidStream = 2,
  kRefusedStream = 3,
  kUnsupportedVersion = 4,
  kCancel = 5,
  kInternalError = 6,
  kFlowControlError = 7,
  kStreamInUse = 8,
  kStreamAlreadyClosed = 9,
  kFrameTooLarge = 11,
};

// GOAWAY status codes.
enum GoAwayStatus : uint32_t { kGoAwayOk = 0, kGoAwayProtocolError = 1, kGoAwayInternalError = 2 };

constexpr uint32_t kSettingsMaxConcurrentStreams = 4;
constexpr uint32_t kSettingsInitialWindowSize = 7;

// Names are lower case; a name with several values holds them joined by NUL, as on the wire.
using Headers = std::vector<std::pair<std::string, std::string>>;
// The first value of name, or "" when absent.
std::string_view HeaderValue(const Headers& h, std::string_view name);

struct Setting {
  uint8_t flags = 0;
  uint32_t id = 0;  // 24 bits
  uint32_t value = 0;
};

struct Frame {
  FrameType type = FrameType::kData;
  uint8_t flags = 0;
  uint32_t stream_id = 0;      // DATA, SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE
  uint32_t associated_id = 0;  // SYN_STREAM
  uint8_t priority = 0;        // SYN_STREAM, 3 bits
  uint8_t slot = 0;            // SYN_STREAM
  uint32_t status = 0;         // RST_STREAM, GOAWAY
  uint32_t last_good_id = 0;   // GOAWAY
  uint32_t ping_id = 0;        // PING
  uint32_t delta = 0;          // WINDOW_UPDATE
  std::vector<Setting> settings;
  Headers headers;   // SYN_STREAM, SYN_REPLY, HEADERS
  std::string data;  // DATA
  bool Fin() const { return (flags & kFlagFin) != 0; }
};

// The dictionary of section 2.6.10.1 (1,423 bytes).
const std::string& HeaderDictionary();

struct Limits {
  size_t max_frame = 1 << 20;          // a frame's length field
  size_t max_header_block = 64 << 10;  // a header block once inflated
};

// Parses frames out of the bytes a peer sends. Errors are session errors (the caller sends
// GOAWAY and closes); their kind is INVALID_ARGUMENT (malformed) or RESOURCE_EXHAUSTED
// (over a limit).
class FrameReader {
 public:
  explicit FrameReader(Limits limits = {});
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  void Append(std::string_view bytes);
  size_t Buffered() const { return buf_.size() - pos_; }
  // The next whole frame, or nullopt when more bytes are needed.
  Result<std::optional<Frame>> Next();

 private:
  Result<Headers> InflateHeaders(std::string_view block);

  Limits limits_;
  std::string buf_;
  size_t pos_ = 0;
  z_stream zs_{};
  bool zs_ready_ = false;
};

// Serializes frames; holds the deflate stream of this direction's header blocks.
class FrameWriter {
 public:
  FrameWriter();
  ~FrameWriter();
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  // Appends the frame's bytes to out.
  Result<void> Write(const Frame& f, std::string* out);

 private:
  Result<std::string> DeflateHeaders(const Headers& h);

  z_stream zs_{};
  bool zs_ready_ = false;
};

// Convenience constructors.
Frame DataFrame(uint32_t stream_id, std::string data, bool fin = false);
Frame RstFrame(uint32_t stream_id, uint32_t status);
Frame ReplyFrame(uint32_t stream_id, Headers headers = {}, bool fin = false);
Frame SynStreamFrame(uint32_t stream_id, Headers headers, bool fin = false);
Frame GoAwayFrame(uint32_t last_good_id, uint32_t status);
Frame PingFrame(uint32_t id);
Frame WindowUpdateFrame(uint32_t stream_id, uint32_t delta);

}  // namespace berth::stream::spdy
