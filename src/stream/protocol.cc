#include "stream/protocol.h"

#include <openssl/evp.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "base/text.h"

namespace berth::stream {

std::optional<Channel> ChannelFromStreamType(std::string_view type) {
  if (type == "stdin") return kStdin;
  if (type == "stdout") return kStdout;
  if (type == "stderr") return kStderr;
  if (type == "error") return kError;
  if (type == "resize") return kResize;
  return std::nullopt;
}

const char* StreamTypeName(Channel c) {
  switch (c) {
    case kStdin:
      return "stdin";
    case kStdout:
      return "stdout";
    case kStderr:
      return "stderr";
    case kError:
      return "error";
    case kResize:
      return "resize";
    default:
      return "?";
  }
}

std::string StatusJson(const ExitStatus& s) {
  nlohmann::ordered_json j;
  j["metadata"] = nlohmann::json::object();
  if (s.ok) {
    j["status"] = "Success";
    return j.dump();
  }
  j["status"] = "Failure";
  j["message"] = s.message;
  if (s.exit_code > 0) {
    j["reason"] = "NonZeroExitCode";
    nlohmann::ordered_json cause;  // metav1.StatusCause's field order
    cause["reason"] = "ExitCode";
    cause["message"] = std::to_string(s.exit_code);
    j["details"]["causes"] = nlohmann::ordered_json::array({cause});
  } else {
    j["reason"] = "InternalError";
    nlohmann::ordered_json cause;
    cause["message"] = s.message;
    j["details"]["causes"] = nlohmann::ordered_json::array({cause});
    j["code"] = 500;
  }
  return j.dump();
}

std::string StatusText(const ExitStatus& s) { return s.ok ? std::string() : s.message; }

namespace {

// A member that should be a string: "" when absent or of another type (json::value would
// throw type_error for a peer's {"status": 7}).
std::string StringMember(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<int> ParseStatusJson(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("parse error stream", "Status", "not a JSON object");
  }
  std::string status = StringMember(j, "status");
  if (status == "Success") return 0;
  if (status != "Failure") {
    return InvalidArgument("parse error stream", "Status", "unknown status " + QuoteText(status, 64));
  }
  std::string message = StringMember(j, "message");
  if (message.empty()) message = "remote command failed";
  if (StringMember(j, "reason") == "NonZeroExitCode" && j.contains("details") &&
      j["details"].is_object() && j["details"].contains("causes") &&
      j["details"]["causes"].is_array()) {
    for (const auto& c : j["details"]["causes"]) {
      if (!c.is_object() || StringMember(c, "reason") != "ExitCode") continue;
      std::string m = StringMember(c, "message");
      int code = 0;
      auto [ptr, ec] = std::from_chars(m.data(), m.data() + m.size(), code);
      if (ec == std::errc() && ptr == m.data() + m.size()) return code;
      return InvalidArgument("parse error stream", "Status", "bad exit code " + QuoteText(m, 64));
    }
  }
  // The server's text, shown by the client: escaped, one line.
  return Fail("remote command", "", EscapeText(message));
}

Result<void> ResizeParser::Feed(std::string_view bytes, std::vector<TermSize>* out) {
  pending_.append(bytes);
  size_t start = 0;
  for (;;) {
    size_t open = pending_.find('{', start);
    if (open == std::string::npos) {
      pending_.clear();
      return {};
    }
    size_t close = pending_.find('}', open);
    if (close == std::string::npos) {
      pending_.erase(0, open);
      if (pending_.size() > 4096) {
        pending_.clear();
        return InvalidArgument("parse resize message", "", "over 4 KiB without its end");
      }
      return {};
    }
    auto j = nlohmann::json::parse(pending_.begin() + static_cast<long>(open),
                                   pending_.begin() + static_cast<long>(close) + 1, nullptr, false);
    start = close + 1;
    if (j.is_discarded() || !j.is_object()) {
      return InvalidArgument("parse resize message", "", "not a JSON object");
    }
    auto dim = [&](const char* k) -> int64_t {
      return j.contains(k) && j[k].is_number_integer() ? j[k].get<int64_t>() : -1;
    };
    int64_t w = dim("Width"), h = dim("Height");
    if (w < 0 || h < 0 || w > 65535 || h > 65535) {
      return InvalidArgument("parse resize message", "", "Width/Height missing or out of range");
    }
    out->push_back(TermSize{static_cast<uint16_t>(w), static_cast<uint16_t>(h)});
  }
}

std::string ResizeJson(TermSize size) {
  return "{\"Width\":" + std::to_string(size.width) + ",\"Height\":" + std::to_string(size.height) +
         "}\n";
}

std::string EncodeChannelMessage(uint8_t channel, std::string_view data, bool base64) {
  std::string out;
  if (!base64) {
    out.reserve(data.size() + 1);
    out.push_back(static_cast<char>(channel));
    out.append(data);
    return out;
  }
  out.resize(1 + 4 * ((data.size() + 2) / 3) + 1);
  out[0] = static_cast<char>('0' + channel);
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + 1),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(1 + static_cast<size_t>(n));
  return out;
}

std::string EncodeCloseSignal(uint8_t channel) {
  return std::string{static_cast<char>(kCloseChannel), static_cast<char>(channel)};
}

Result<ChannelMessage> DecodeChannelMessage(std::string_view msg, bool base64, bool v5) {
  if (msg.empty()) return InvalidArgument("decode channel message", "", "empty message");
  ChannelMessage m;
  auto first = static_cast<uint8_t>(msg[0]);
  if (v5 && first == kCloseChannel) {
    if (msg.size() != 2) {
      return InvalidArgument("decode channel message", "", "close signal without one channel");
    }
    m.close = true;
    m.channel = static_cast<uint8_t>(msg[1]);
    return m;
  }
  if (!base64) {
    m.channel = first;
    m.data.assign(msg.substr(1));
    return m;
  }
  if (first < '0' || first > '9') {
    return InvalidArgument("decode channel message", "", "base64 channel is not a digit");
  }
  m.channel = static_cast<uint8_t>(first - '0');
  std::string_view b = msg.substr(1);
  if (b.size() % 4 != 0) return InvalidArgument("decode channel message", "", "bad base64");
  m.data.resize(b.size() / 4 * 3);
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(m.data.data()),
                      reinterpret_cast<const unsigned char*>(b.data()), static_cast<int>(b.size()));
  if (n < 0) return InvalidArgument("decode channel message", "", "bad base64");
  size_t pad = 0;
  if (!b.empty() && b.back() == '=') pad = (b.size() >= 2 && b[b.size() - 2] == '=') ? 2 : 1;
  m.data.resize(static_cast<size_t>(n) - pad);
  return m;
}

std::optional<std::string> Negotiate(const std::vector<std::string>& client_offers,
                                     const std::vector<std::string_view>& supported) {
  for (const std::string& line : client_offers) {
    size_t start = 0;
    while (start <= line.size()) {
      size_t comma = line.find(',', start);
      if (comma == std::string::npos) comma = line.size();
      std::string_view v(line.data() + start, comma - start);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      for (std::string_view s : supported) {
        if (!v.empty() && v == s) return std::string(s);
      }
      start = comma + 1;
    }
  }
  return std::nullopt;
}

}  // namespace berth::stream
