// Internal to the registry client: one registry request made robust — credentials and
// bearer tokens (cached per origin and scope), one re-authentication on 401, retries with
// exponential backoff and jitter on transient failures — and distribution-spec error
// bodies turned into messages.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "image/auth.h"
#include "image/hosts.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/registry_http.h"

namespace berth::image::detail {

// What a request is for: errors name op and subject, auth uses the repository.
struct Target {
  const Reference& ref;
  const RegistryEndpoint& ep;
  std::string op;       // "pull"
  std::string subject;  // "localhost:5000/x:y"
  bool last = true;     // no endpoint to fall through to
};

struct Failure {
  Error error;
  bool fatal = false;  // do not try another endpoint (the sink or a size limit refused)
};

// "domain/path[:tag][@digest]" (Reference::String lives elsewhere).
std::string RefString(const Reference& ref);

class Session {
 public:
  Session(CredentialStore creds, RegistryOptions opts)
      : creds_(std::move(creds)), opts_(std::move(opts)) {}

  // Sends make()'s request (rebuilt for each attempt, so a blob can resume) and returns
  // the final response whatever its status — except 401s it could not get past and
  // transient failures that outlived the retries. progress() (optional) reports bytes
  // delivered so far: an attempt that made progress does not use up a retry.
  std::expected<http::Response, Failure> Exchange(const Target& t,
                                                  const std::function<http::Request()>& make,
                                                  const std::function<int64_t()>& progress = {});

  // "manifest unknown (MANIFEST_UNKNOWN, 404 from <url>)" from a non-2xx response.
  Error HttpError(const Target& t, const http::Response& r, const std::string& url) const;

  const RegistryOptions& options() const { return opts_; }

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  using TokenKey = std::pair<std::string, std::string>;  // (origin, scope)

  std::optional<Credentials> CredsFor(const Target& t) const;
  // The Authorization value for a request now: a cached token, a token fetched because the
  // origin is known to want one, basic credentials, or nothing.
  Result<std::string> Authorization(const Target& t, const std::string& scope);
  Result<std::string> FetchToken(const Target& t, const Challenge& ch, const std::string& scope);
  Error Unauthorized(const Target& t, const http::Response& r, const std::string& url,
                     const std::string& why) const;
  void Backoff(int attempt, const http::Response* r) const;

  CredentialStore creds_;
  RegistryOptions opts_;
  http::Transport transport_;

  std::mutex mu_;
  std::map<std::string, Challenge> challenges_;  // by origin; guarded by mu_
  std::map<TokenKey, Token> tokens_;             // guarded by mu_
  std::mutex token_fetch_mu_;                    // one token request at a time
};

}  // namespace berth::image::detail
