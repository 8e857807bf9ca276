#include "shim/protocol.h"

#include <array>

namespace berth::shim {

Result<std::string> EncodeFrame(std::string_view payload, size_t max) {
  if (payload.empty()) return InvalidArgument("encode frame", "message", "empty message");
  if (payload.size() > max)
    return ResourceExhausted("encode frame", "message",
                             std::to_string(payload.size()) + " bytes exceed the bound of " +
                                 std::to_string(max) + " bytes");
  std::string out;
  out.reserve(payload.size() + 4);
  uint32_t n = static_cast<uint32_t>(payload.size());
  out += static_cast<char>(n >> 24);
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  out += payload;
  return out;
}

Result<std::optional<std::string>> FrameDecoder::Next() {
  if (buf_.size() < 4) return std::optional<std::string>();
  auto b = [this](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(buf_[i])); };
  uint32_t n = b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
  if (n == 0) return InvalidArgument("read frame", "message", "a frame of 0 bytes");
  if (n > max_)
    return ResourceExhausted("read frame", "message",
                             "a frame of " + std::to_string(n) + " bytes exceeds the bound of " +
                                 std::to_string(max_) + " bytes");
  if (buf_.size() < 4 + static_cast<size_t>(n)) return std::optional<std::string>();
  std::string payload = buf_.substr(4, n);
  buf_.erase(0, 4 + static_cast<size_t>(n));
  return std::optional<std::string>(std::move(payload));
}

Result<void> FrameDecoder::Finish() const {
  if (buf_.empty()) return {};
  if (buf_.size() < 4)
    return DataLoss("read frame", "message",
                    "the connection closed after " + std::to_string(buf_.size()) +
                        " bytes of a 4-byte frame header");
  auto b = [this](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(buf_[i])); };
  uint32_t n = b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
  return DataLoss("read frame", "message",
                  "the connection closed after " + std::to_string(buf_.size() - 4) + " of " +
                      std::to_string(n) + " bytes of a frame");
}

Result<Json> ParseMessage(std::string_view payload) {
  Json j = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return InvalidArgument("parse message", "message",
                           "not valid JSON (" + std::to_string(payload.size()) + " bytes)");
  if (!j.is_object()) return InvalidArgument("parse message", "message", "not a JSON object");
  return j;
}

ErrorKind KindFromName(std::string_view name) {
  for (int v = 1; v <= 16; v++) {
    ErrorKind k = KindFromInt(v);
    if (name == KindName(k)) return k;
  }
  return ErrorKind::kUnknown;
}

Json ErrorToJson(const Error& e) {
  Json j = {
      {"kind", KindName(e.Kind())}, {"op", e.op}, {"subject", e.subject}, {"detail", e.detail}};
  if (!e.context_.empty()) j["context"] = e.context_;
  if (e.code != 0) j["errno"] = e.code;
  return j;
}

Error ErrorFromJson(const Json& j) {
  Error e;
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  e.op = str("op");
  e.subject = str("subject");
  e.detail = str("detail");
  e.context_ = str("context");
  if (auto it = j.find("errno"); it != j.end() && it->is_number_integer()) e.code = it->get<int>();
  e.kind_ = KindFromName(str("kind"));
  return e;
}

namespace {
// Invalid UTF-8 (a path or a runtime message with raw bytes) becomes U+FFFD instead of
// making dump() throw.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }
}  // namespace

std::string ErrorResponse(const Error& e) { return Dump(Json{{"error", ErrorToJson(e)}}); }
std::string ResultResponse(Json result) { return Dump(Json{{"result", std::move(result)}}); }

Result<std::string> GetString(const Json& j, const char* field, bool required) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (required) return InvalidArgument("request", field, "missing");
    return std::string();
  }
  if (!it->is_string()) return InvalidArgument("request", field, "must be a string");
  return it->get<std::string>();
}

Result<bool> GetBool(const Json& j, const char* field, bool def) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return def;
  if (!it->is_boolean()) return InvalidArgument("request", field, "must be a boolean");
  return it->get<bool>();
}

Result<int64_t> GetInt(const Json& j, const char* field, int64_t def) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return def;
  if (!it->is_number_integer()) return InvalidArgument("request", field, "must be an integer");
  return it->get<int64_t>();
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += rest == 2 ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int k = 0; k < 64; k++) t[static_cast<unsigned char>(kB64[k])] = static_cast<int8_t>(k);
    return t;
  }();
  if (text.size() % 4 != 0)
    return InvalidArgument("base64 decode", "text", "length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int pad = 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) {
      char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        pad++;
        v <<= 6;
        continue;
      }
      int d = table[static_cast<unsigned char>(c)];
      if (d < 0 || pad > 0) return InvalidArgument("base64 decode", "text", "invalid character");
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>(v >> 8);
    if (pad < 1) out += static_cast<char>(v);
  }
  return out;
}

}  // namespace berth::shim
