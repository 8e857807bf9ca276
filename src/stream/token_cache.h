// Single-use tokens for the streaming URLs (as kubelet's streaming server): a CRI
// Exec/Attach/PortForward call stores its request under a random token; the client's
// connection consumes it once. Tokens expire (default 1 minute) and the cache is bounded.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <variant>

#include "base/error.h"
#include "stream/backend.h"

namespace berth::stream {

using Clock = std::function<std::chrono::steady_clock::time_point()>;

using StreamRequest = std::variant<ExecRequest, AttachRequest, PortForwardRequest>;

// "exec", "attach", "portforward": the URL path's first segment for a request.
const char* RequestKindName(const StreamRequest& req);

// A crypto-random URL-safe token (base64url of 16 bytes from getrandom, no padding).
Result<std::string> NewToken();

class TokenCache {
 public:
  TokenCache(std::chrono::milliseconds ttl, size_t max_entries, Clock clock = {});

  // RESOURCE_EXHAUSTED when max_entries unexpired tokens are waiting.
  Result<std::string> Insert(StreamRequest req);
  // Removes and returns the request; NOT_FOUND for an unknown, used or expired token.
  Result<StreamRequest> Consume(const std::string& token);
  size_t Size();

 private:
  struct Entry {
    StreamRequest req;
    std::chrono::steady_clock::time_point expires;
  };
  void DropExpiredLocked(std::chrono::steady_clock::time_point now);

  std::chrono::milliseconds ttl_;
  size_t max_entries_;
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace berth::stream
