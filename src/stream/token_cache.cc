#include "stream/token_cache.h"

#include <sys/random.h>

#include <cerrno>

namespace berth::stream {

const char* RequestKindName(const StreamRequest& req) {
  switch (req.index()) {
    case 0:
      return "exec";
    case 1:
      return "attach";
    default:
      return "portforward";
  }
}

Result<std::string> NewToken() {
  unsigned char raw[16];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("getrandom", "streaming token");
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

TokenCache::TokenCache(std::chrono::milliseconds ttl, size_t max_entries, Clock clock)
    : ttl_(ttl), max_entries_(max_entries), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

void TokenCache::DropExpiredLocked(std::chrono::steady_clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires <= now)
      it = entries_.erase(it);
    else
      ++it;
  }
}

Result<std::string> TokenCache::Insert(StreamRequest req) {
  auto now = clock_();
  std::lock_guard lock(mu_);
  DropExpiredLocked(now);
  if (entries_.size() >= max_entries_) {
    return ResourceExhausted(
        "store streaming request", RequestKindName(req),
        "too many cached requests (" + std::to_string(max_entries_) + " waiting for their client)");
  }
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::string token = BERTH_TRY(NewToken());
    if (entries_.contains(token)) continue;  // 128 bits: never, but cheap to check
    entries_.emplace(token, Entry{std::move(req), now + ttl_});
    return token;
  }
  return Internal("store streaming request", RequestKindName(req), "token collision");
}

Result<StreamRequest> TokenCache::Consume(const std::string& token) {
  auto now = clock_();
  std::lock_guard lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end()) {
    return NotFound("streaming token", token, "unknown, already used or expired");
  }
  Entry e = std::move(it->second);
  entries_.erase(it);
  if (e.expires <= now) return NotFound("streaming token", token, "expired");
  return std::move(e.req);
}

size_t TokenCache::Size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace berth::stream
