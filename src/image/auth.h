// Registry authentication: credentials from a docker-style config.json and the
// WWW-Authenticate challenge (RFC 7235; docker token auth: Bearer realm/service/scope).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::image {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // a refresh token ("identitytoken"), used as OAuth2 grant
};

// docker's config.json: {"auths": {"<registry>": {"auth": base64("user:pass")} |
// {"username": …, "password": …} | {"identitytoken": …}}}. Keys may be a bare host, a URL
// ("https://index.docker.io/v1/" stands for docker.io), with or without a path.
class CredentialStore {
 public:
  CredentialStore() = default;
  // path "" = $REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json, else
  // $HOME/.docker/config.json; a missing file is an empty store, a malformed one an error.
  static Result<CredentialStore> Load(const std::string& path = "");
  static Result<CredentialStore> Parse(std::string_view json, std::string_view what);
  std::optional<Credentials> Lookup(std::string_view registry) const;
  // registry is normalised as config.json keys are (NormalizeRegistryKey).
  void Set(std::string_view registry, Credentials c);
  bool Empty() const { return creds_.empty(); }

 private:
  std::map<std::string, Credentials> creds_;  // keyed by normalised host
};

// The host a registry is known by in credential stores: scheme and path dropped,
// lowercased, and docker.io's aliases ("index.docker.io", "registry-1.docker.io",
// "https://index.docker.io/v1/") mapped to "docker.io".
std::string NormalizeRegistryKey(std::string_view registry);

struct Challenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // lowercased keys: realm, service, scope…
                                              // a token68 ("Negotiate abc==") has key ""
};

// Parses a WWW-Authenticate header value (one or more challenges, quoted strings with
// escapes, tokens). Errors name the header.
Result<std::vector<Challenge>> ParseChallenges(std::string_view header);

std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view data);

}  // namespace berth::image
