// The wire protocol on <work-dir>/shim.sock: one request, one response, each a JSON object in
// a frame (a 4-byte big-endian length, then that many bytes). A stream socket with a length
// prefix rather than SOCK_SEQPACKET: an exec's output can exceed a socket buffer, which a
// SEQPACKET message may not. Frames are bounded (kMaxFrame) on both sides.
//
// Requests: {"op": "...", ...fields}. Responses: {"result": {...}} or
// {"error": {"kind": "NOT_FOUND", "op", "subject", "detail", "errno"}}, so the client
// rebuilds a base::Error with its kind. A `subscribe` connection then receives one frame
// {"event": {...}} per container exit; an `exec` or `attach` answer carries fds (SCM_RIGHTS
// with its first byte) and is followed by one {"exit": {...}} frame (docs/shim.md lists
// every op and field).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::shim {

using Json = nlohmann::json;

inline constexpr uint32_t kProtocolVersion = 1;
// 16 MiB: two exec outputs of kMaxExecOutput in base64 fit with room to spare.
inline constexpr size_t kMaxFrame = 16u << 20;
// The most an exec_sync keeps of each of stdout and stderr (the rest is read and dropped).
inline constexpr size_t kMaxExecOutput = 4u << 20;
inline constexpr size_t kDefaultExecOutput = 1u << 20;

// The frame for one message: 4-byte big-endian length + payload. Fails when payload is
// empty or larger than max.
Result<std::string> EncodeFrame(std::string_view payload, size_t max = kMaxFrame);

// Reassembles frames from a byte stream. Feed() what arrived; Next() yields each whole
// frame. A header announcing more than max (or 0) bytes is an error at once, before the
// body is buffered; Finish() at EOF says whether a frame was cut short.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max = kMaxFrame) : max_(max) {}
  void Feed(std::string_view bytes) { buf_.append(bytes); }
  // A whole frame's payload, nullopt when more bytes are needed, or an error (the stream
  // cannot be resynchronised after one: close it).
  Result<std::optional<std::string>> Next();
  // At EOF: an error when part of a frame was received (kDataLoss).
  Result<void> Finish() const;
  size_t Buffered() const { return buf_.size(); }

 private:
  size_t max_;
  std::string buf_;
};

// Parses a payload as a JSON object (kInvalidArgument naming what was wrong).
Result<Json> ParseMessage(std::string_view payload);

// The response frames' bodies.
Json ErrorToJson(const Error& e);
// Rebuilds the Error of {"error": {...}} (an unknown kind name becomes kUnknown).
Error ErrorFromJson(const Json& j);
std::string ErrorResponse(const Error& e);
std::string ResultResponse(Json result);

// "NOT_FOUND" -> kNotFound; kUnknown for a name that is not a kind.
ErrorKind KindFromName(std::string_view name);

// Typed field access for request handlers: a missing optional field gives the default;
// a field of the wrong type is kInvalidArgument naming it.
Result<std::string> GetString(const Json& j, const char* field, bool required = true);
Result<bool> GetBool(const Json& j, const char* field, bool def = false);
Result<int64_t> GetInt(const Json& j, const char* field, int64_t def = 0);

// base64 (RFC 4648, with padding): exec output is bytes, JSON strings are UTF-8.
std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view text);

}  // namespace berth::shim
