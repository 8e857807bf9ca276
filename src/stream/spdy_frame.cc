#include "stream/spdy_frame.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace berth::stream::spdy {
namespace {

uint32_t Get32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint32_t Get24(const unsigned char* p) {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}
void Put32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}
void Put24(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

std::unexpected<Error> Malformed(std::string detail) {
  return InvalidArgument("parse SPDY frame", "", std::move(detail));
}

constexpr size_t kMaxPayload = (1u << 24) - 1;

}  // namespace

std::string_view HeaderValue(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) {
      std::string_view sv = v;
      return sv.substr(0, sv.find('\0'));
    }
  }
  return {};
}

FrameReader::FrameReader(Limits limits) : limits_(limits) {}

FrameReader::~FrameReader() {
  if (zs_ready_) inflateEnd(&zs_);
}

void FrameReader::Append(std::string_view bytes) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (64 << 10) && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

Result<Headers> FrameReader::InflateHeaders(std::string_view block) {
  if (!zs_ready_) {
    if (inflateInit(&zs_) != Z_OK) return Internal("inflateInit", "SPDY header block");
    zs_ready_ = true;
  }
  std::string plain;
  zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
  zs_.avail_in = static_cast<uInt>(block.size());
  char chunk[4096];
  for (;;) {
    zs_.next_out = reinterpret_cast<Bytef*>(chunk);
    zs_.avail_out = sizeof chunk;
    int rc = inflate(&zs_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      const std::string& d = HeaderDictionary();
      rc = inflateSetDictionary(&zs_, reinterpret_cast<const Bytef*>(d.data()),
                                static_cast<uInt>(d.size()));
      if (rc != Z_OK) return Malformed("header block: not compressed with the SPDY/3 dictionary");
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
      return Malformed(std::string("header block: zlib: ") + (zs_.msg ? zs_.msg : "error"));
    }
    plain.append(chunk, sizeof chunk - zs_.avail_out);
    if (plain.size() > limits_.max_header_block) {
      return ResourceExhausted(
          "parse SPDY frame", "",
          "header block over " + std::to_string(limits_.max_header_block) + " bytes");
    }
    if (rc != Z_OK || (zs_.avail_in == 0 && zs_.avail_out != 0)) break;
  }
  if (zs_.avail_in != 0) return Malformed("header block: trailing compressed bytes");

  const auto* p = reinterpret_cast<const unsigned char*>(plain.data());
  size_t n = plain.size(), off = 0;
  auto need = [&](size_t k) { return n - off >= k; };
  if (!need(4)) return Malformed("header block: no pair count");
  uint32_t pairs = Get32(p);
  off = 4;
  // Each pair takes at least 8 bytes: a count beyond that is a lie.
  if (pairs > (n - off) / 8) return Malformed("header block: pair count past its end");
  Headers h;
  h.reserve(pairs);
  for (uint32_t i = 0; i < pairs; ++i) {
    if (!need(4)) return Malformed("header block: truncated name length");
    uint32_t nl = Get32(p + off);
    off += 4;
    if (nl == 0) return Malformed("header block: empty header name");
    if (!need(nl)) return Malformed("header block: truncated name");
    std::string name(plain, off, nl);
    off += nl;
    if (!need(4)) return Malformed("header block: truncated value length");
    uint32_t vl = Get32(p + off);
    off += 4;
    if (!need(vl)) return Malformed("header block: truncated value");
    std::string value(plain, off, vl);
    off += vl;
    // Go's http.Header spells names in canonical case; SPDY wants lower case: accept both.
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    auto it = std::find_if(h.begin(), h.end(), [&](const auto& kv) { return kv.first == name; });
    if (it != h.end()) {
      it->second.push_back('\0');
      it->second.append(value);
    } else {
      h.emplace_back(std::move(name), std::move(value));
    }
  }
  if (off != n) return Malformed("header block: bytes after the last pair");
  return h;
}

Result<std::optional<Frame>> FrameReader::Next() {
  for (;;) {
    if (Buffered() < 8) return std::optional<Frame>{};
    const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
    uint32_t len = Get24(p + 5);
    if (len > limits_.max_frame) {
      return ResourceExhausted("parse SPDY frame", "",
                               "frame of " + std::to_string(len) + " bytes, over the limit of " +
                                   std::to_string(limits_.max_frame));
    }
    if (Buffered() < 8 + size_t{len}) return std::optional<Frame>{};
    const unsigned char* d = p + 8;
    Frame f;
    f.flags = p[4];
    pos_ += 8 + len;
    if ((p[0] & 0x80) == 0) {  // DATA
      f.type = FrameType::kData;
      f.stream_id = Get32(p) & 0x7fffffff;
      if (f.stream_id == 0) return Malformed("DATA frame on stream 0");
      f.data.assign(reinterpret_cast<const char*>(d), len);
      return std::optional<Frame>(std::move(f));
    }
    uint16_t version = static_cast<uint16_t>(((p[0] & 0x7f) << 8) | p[1]);
    if (version != kVersion) {
      return InvalidArgument("parse SPDY frame", "",
                             "unsupported SPDY version " + std::to_string(version));
    }
    uint16_t type = static_cast<uint16_t>((p[2] << 8) | p[3]);
    f.type = static_cast<FrameType>(type);
    auto want = [&](size_t k, const char* what) -> Result<void> {
      if (len < k) return Malformed(std::string(what) + " frame too short");
      return {};
    };
    auto want_exact = [&](size_t k, const char* what) -> Result<void> {
      if (len != k) return Malformed(std::string(what) + " frame has the wrong length");
      return {};
    };
    std::string_view rest(reinterpret_cast<const char*>(d), len);
    switch (f.type) {
      case FrameType::kSynStream: {
        BERTH_TRYV(want(10, "SYN_STREAM"));
        f.stream_id = Get32(d) & 0x7fffffff;
        f.associated_id = Get32(d + 4) & 0x7fffffff;
        f.priority = static_cast<uint8_t>(d[8] >> 5);
        f.slot = d[9];
        if (f.stream_id == 0) return Malformed("SYN_STREAM for stream 0");
        f.headers = BERTH_TRY(InflateHeaders(rest.substr(10)));
        break;
      }
      case FrameType::kSynReply:
      case FrameType::kHeaders: {
        BERTH_TRYV(want(4, f.type == FrameType::kSynReply ? "SYN_REPLY" : "HEADERS"));
        f.stream_id = Get32(d) & 0x7fffffff;
        if (f.stream_id == 0) return Malformed("SYN_REPLY/HEADERS for stream 0");
        f.headers = BERTH_TRY(InflateHeaders(rest.substr(4)));
        break;
      }
      case FrameType::kRstStream:
        BERTH_TRYV(want_exact(8, "RST_STREAM"));
        f.stream_id = Get32(d) & 0x7fffffff;
        f.status = Get32(d + 4);
        break;
      case FrameType::kSettings: {
        BERTH_TRYV(want(4, "SETTINGS"));
        uint32_t count = Get32(d);
        if (size_t{count} * 8 != len - 4)
          return Malformed("SETTINGS count does not match its length");
        for (uint32_t i = 0; i < count; ++i) {
          const unsigned char* e = d + 4 + 8 * i;
          f.settings.push_back(Setting{e[0], Get24(e + 1), Get32(e + 4)});
        }
        break;
      }
      case FrameType::kPing:
        BERTH_TRYV(want_exact(4, "PING"));
        f.ping_id = Get32(d);
        break;
      case FrameType::kGoAway:
        BERTH_TRYV(want_exact(8, "GOAWAY"));
        f.last_good_id = Get32(d) & 0x7fffffff;
        f.status = Get32(d + 4);
        break;
      case FrameType::kWindowUpdate:
        BERTH_TRYV(want_exact(8, "WINDOW_UPDATE"));
        f.stream_id = Get32(d) & 0x7fffffff;
        f.delta = Get32(d + 4) & 0x7fffffff;
        break;
      default:
        // Section 2.2.1: unknown control frames are ignored. Type 0 is reserved: skip it too.
        continue;
    }
    return std::optional<Frame>(std::move(f));
  }
}

FrameWriter::FrameWriter() = default;

FrameWriter::~FrameWriter() {
  if (zs_ready_) deflateEnd(&zs_);
}

Result<std::string> FrameWriter::DeflateHeaders(const Headers& h) {
  if (!zs_ready_) {
    // A 2 KiB window and little memory: header blocks are small, and one such stream
    // lives per connection (any window size inflates with the peer's default 32 KiB one).
    if (deflateInit2(&zs_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 11, 1, Z_DEFAULT_STRATEGY) != Z_OK) {
      return Internal("deflateInit", "SPDY header block");
    }
    const std::string& d = HeaderDictionary();
    if (deflateSetDictionary(&zs_, reinterpret_cast<const Bytef*>(d.data()),
                             static_cast<uInt>(d.size())) != Z_OK) {
      deflateEnd(&zs_);
      return Internal("deflateSetDictionary", "SPDY header block");
    }
    zs_ready_ = true;
  }
  std::string plain;
  Put32(&plain, static_cast<uint32_t>(h.size()));
  for (const auto& [k, v] : h) {
    Put32(&plain, static_cast<uint32_t>(k.size()));
    plain.append(k);
    Put32(&plain, static_cast<uint32_t>(v.size()));
    plain.append(v);
  }
  std::string out;
  zs_.next_in = reinterpret_cast<Bytef*>(plain.data());
  zs_.avail_in = static_cast<uInt>(plain.size());
  char chunk[4096];
  do {
    zs_.next_out = reinterpret_cast<Bytef*>(chunk);
    zs_.avail_out = sizeof chunk;
    int rc = deflate(&zs_, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return Internal("deflate", "SPDY header block");
    out.append(chunk, sizeof chunk - zs_.avail_out);
  } while (zs_.avail_out == 0);
  return out;
}

Result<void> FrameWriter::Write(const Frame& f, std::string* out) {
  if (f.type == FrameType::kData) {
    if (f.data.size() > kMaxPayload) {
      return InvalidArgument("write SPDY frame", "DATA", "payload over 16 MiB");
    }
    Put32(out, f.stream_id & 0x7fffffff);
    out->push_back(static_cast<char>(f.flags));
    Put24(out, static_cast<uint32_t>(f.data.size()));
    out->append(f.data);
    return {};
  }
  std::string body;
  switch (f.type) {
    case FrameType::kSynStream:
      Put32(&body, f.stream_id & 0x7fffffff);
      Put32(&body, f.associated_id & 0x7fffffff);
      body.push_back(static_cast<char>((f.priority & 7) << 5));
      body.push_back(static_cast<char>(f.slot));
      body.append(BERTH_TRY(DeflateHeaders(f.headers)));
      break;
    case FrameType::kSynReply:
    case FrameType::kHeaders:
      Put32(&body, f.stream_id & 0x7fffffff);
      body.append(BERTH_TRY(DeflateHeaders(f.headers)));
      break;
    case FrameType::kRstStream:
      Put32(&body, f.stream_id & 0x7fffffff);
      Put32(&body, f.status);
      break;
    case FrameType::kSettings:
      Put32(&body, static_cast<uint32_t>(f.settings.size()));
      for (const Setting& s : f.settings) {
        body.push_back(static_cast<char>(s.flags));
        Put24(&body, s.id);
        Put32(&body, s.value);
      }
      break;
    case FrameType::kPing:
      Put32(&body, f.ping_id);
      break;
    case FrameType::kGoAway:
      Put32(&body, f.last_good_id & 0x7fffffff);
      Put32(&body, f.status);
      break;
    case FrameType::kWindowUpdate:
      Put32(&body, f.stream_id & 0x7fffffff);
      Put32(&body, f.delta & 0x7fffffff);
      break;
    default:
      return InvalidArgument("write SPDY frame", std::to_string(static_cast<int>(f.type)),
                             "unknown frame type");
  }
  if (body.size() > kMaxPayload) return InvalidArgument("write SPDY frame", "", "over 16 MiB");
  out->push_back(static_cast<char>(0x80 | (kVersion >> 8)));
  out->push_back(static_cast<char>(kVersion & 0xff));
  out->push_back(static_cast<char>(static_cast<uint16_t>(f.type) >> 8));
  out->push_back(static_cast<char>(static_cast<uint16_t>(f.type) & 0xff));
  out->push_back(static_cast<char>(f.flags));
  Put24(out, static_cast<uint32_t>(body.size()));
  out->append(body);
  return {};
}

Frame DataFrame(uint32_t stream_id, std::string data, bool fin) {
  Frame f;
  f.type = FrameType::kData;
  f.stream_id = stream_id;
  f.data = std::move(data);
  f.flags = fin ? kFlagFin : 0;
  return f;
}
Frame RstFrame(uint32_t stream_id, uint32_t status) {
  Frame f;
  f.type = FrameType::kRstStream;
  f.stream_id = stream_id;
  f.status = status;
  return f;
}
Frame ReplyFrame(uint32_t stream_id, Headers headers, bool fin) {
  Frame f;
  f.type = FrameType::kSynReply;
  f.stream_id = stream_id;
  f.headers = std::move(headers);
  f.flags = fin ? kFlagFin : 0;
  return f;
}
Frame SynStreamFrame(uint32_t stream_id, Headers headers, bool fin) {
  Frame f;
  f.type = FrameType::kSynStream;
  f.stream_id = stream_id;
  f.headers = std::move(headers);
  f.flags = fin ? kFlagFin : 0;
  return f;
}
Frame GoAwayFrame(uint32_t last_good_id, uint32_t status) {
  Frame f;
  f.type = FrameType::kGoAway;
  f.last_good_id = last_good_id;
  f.status = status;
  return f;
}
Frame PingFrame(uint32_t id) {
  Frame f;
  f.type = FrameType::kPing;
  f.ping_id = id;
  return f;
}
Frame WindowUpdateFrame(uint32_t stream_id, uint32_t delta) {
  Frame f;
  f.type = FrameType::kWindowUpdate;
  f.stream_id = stream_id;
  f.delta = delta;
  return f;
}

}  // namespace berth::stream::spdy
