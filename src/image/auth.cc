#include "image/auth.h"

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "sys/fs.h"

namespace berth::image {

namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (Lower(s[i]) != prefix[i]) return false;
  return true;
}

std::string Quote(std::string_view s) { return QuoteText(s, 200); }

// Where docker, podman and skopeo look, in that precedence, when no file is named.
std::string DefaultAuthFile() {
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) return f;
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return std::string(d) + "/config.json";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.docker/config.json";
  return "";
}

Result<std::string> StringField(const nlohmann::json& entry, const char* key,
                                const std::string& where, std::string_view what) {
  auto it = entry.find(key);
  if (it == entry.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return InvalidArgument("parse", std::string(what), where + "." + key + ": expected a string");
  return it->get<std::string>();
}

Result<Credentials> ParseEntry(const nlohmann::json& entry, const std::string& where,
                               std::string_view what) {
  if (!entry.is_object()) return InvalidArgument("parse", std::string(what), where + ": expected an object");
  Credentials c;
  std::string auth = BERTH_TRY(StringField(entry, "auth", where, what));
  if (!auth.empty()) {
    auto decoded = Base64Decode(auth);
    if (!decoded) return InvalidArgument("parse", std::string(what), where + ".auth: not valid base64");
    size_t colon = decoded->find(':');
    if (colon == std::string::npos)
      return InvalidArgument("parse", std::string(what),
                  where + ".auth: expected base64 of \"user:password\"");
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  }
  // Explicit fields win over "auth" (podman writes both forms).
  std::string user = BERTH_TRY(StringField(entry, "username", where, what));
  std::string pass = BERTH_TRY(StringField(entry, "password", where, what));
  c.identity_token = BERTH_TRY(StringField(entry, "identitytoken", where, what));
  if (!user.empty()) c.username = user;
  if (!pass.empty()) c.password = pass;
  return c;
}

// --- RFC 7235 challenge grammar -----------------------------------------------------

bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken68Char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

class ChallengeParser {
 public:
  explicit ChallengeParser(std::string_view h) : h_(h) {}

  Result<std::vector<Challenge>> Parse() {
    std::vector<Challenge> out;
    for (;;) {
      SkipListSeparators();
      if (AtEnd()) break;
      Challenge c;
      c.scheme = Lowercase(Token());
      if (c.scheme.empty()) return Error("expected an authentication scheme");
      size_t after_scheme = pos_;
      SkipSpaces();
      if (AtEnd() || Peek() == ',') {
        out.push_back(std::move(c));
        continue;
      }
      if (pos_ == after_scheme) return Error("expected a space after the scheme");
      if (auto t68 = Token68()) {
        c.params[""] = *t68;
      } else {
        BERTH_TRYV(Params(c));
      }
      out.push_back(std::move(c));
    }
    if (out.empty()) return Error("no challenge");
    return out;
  }

 private:
  bool AtEnd() const { return pos_ >= h_.size(); }
  char Peek() const { return h_[pos_]; }
  void SkipSpaces() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) ++pos_;
  }
  void SkipListSeparators() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == ',')) ++pos_;
  }
  std::string_view Token() {
    size_t start = pos_;
    while (!AtEnd() && IsTchar(Peek())) ++pos_;
    return h_.substr(start, pos_ - start);
  }

  // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", alone up to
  // the end of the challenge; anything else (realm="x") is a parameter list.
  std::optional<std::string> Token68() {
    size_t p = pos_;
    while (p < h_.size() && IsToken68Char(h_[p])) ++p;
    if (p == pos_) return std::nullopt;
    while (p < h_.size() && h_[p] == '=') ++p;
    size_t end = p;
    while (p < h_.size() && (h_[p] == ' ' || h_[p] == '\t')) ++p;
    if (p < h_.size() && h_[p] != ',') return std::nullopt;
    std::string t(h_.substr(pos_, end - pos_));
    pos_ = p;
    return t;
  }

  // Whether the list item at pos_ is `name =`, i.e. a parameter of the current challenge
  // rather than the scheme of the next one.
  bool ParamAhead() const {
    size_t p = pos_;
    while (p < h_.size() && IsTchar(h_[p])) ++p;
    if (p == pos_) return false;
    while (p < h_.size() && (h_[p] == ' ' || h_[p] == '\t')) ++p;
    return p < h_.size() && h_[p] == '=';
  }

  Result<void> Params(Challenge& c) {
    for (;;) {
      std::string name = Lowercase(Token());
      if (name.empty()) return Error("expected a parameter name");
      SkipSpaces();
      if (AtEnd() || Peek() != '=') return Error("expected '=' after \"" + name + "\"");
      ++pos_;
      SkipSpaces();
      std::string value;
      if (!AtEnd() && Peek() == '"') {
        value = BERTH_TRY(Quoted());
      } else {
        value = std::string(Token());
        if (value.empty()) return Error("expected a value for \"" + name + "\"");
      }
      c.params.emplace(std::move(name), std::move(value));  // RFC 7235: first one counts
      SkipSpaces();
      if (AtEnd()) return {};
      if (Peek() != ',') return Error("expected ',' between parameters");
      SkipListSeparators();
      if (AtEnd() || !ParamAhead()) return {};
    }
  }

  Result<std::string> Quoted() {
    size_t open = pos_++;
    std::string v;
    while (!AtEnd()) {
      char ch = h_[pos_++];
      if (ch == '"') return v;
      if (ch == '\\') {
        if (AtEnd()) break;
        ch = h_[pos_++];
      }
      v += ch;
    }
    pos_ = open;
    return Error("unterminated quoted string");
  }

  std::unexpected<berth::Error> Error(const std::string& what) const {
    return InvalidArgument("parse", "WWW-Authenticate header " + Quote(h_),
                what + " at offset " + std::to_string(pos_));
  }

  std::string_view h_;
  size_t pos_ = 0;
};

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string NormalizeRegistryKey(std::string_view registry) {
  std::string_view s = registry;
  if (StartsWithNoCase(s, "https://"))
    s.remove_prefix(8);
  else if (StartsWithNoCase(s, "http://"))
    s.remove_prefix(7);
  if (size_t slash = s.find('/'); slash != std::string_view::npos) s = s.substr(0, slash);
  std::string host = Lowercase(s);
  if (host == "index.docker.io" || host == "registry-1.docker.io" ||
      host == "registry.hub.docker.com")
    return "docker.io";
  return host;
}

void CredentialStore::Set(std::string_view registry, Credentials c) {
  creds_[NormalizeRegistryKey(registry)] = std::move(c);
}

Result<CredentialStore> CredentialStore::Load(const std::string& path) {
  std::string file = path.empty() ? DefaultAuthFile() : path;
  if (file.empty()) return CredentialStore();
  auto text = sys::ReadFile(file);
  if (!text) {
    if (text.error().code == ENOENT) return CredentialStore();
    return std::unexpected(text.error());
  }
  return Parse(*text, file);
}

Result<CredentialStore> CredentialStore::Parse(std::string_view json, std::string_view what) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("parse", std::string(what), EscapeText(e.what()));  // quotes the input
  }
  if (!doc.is_object()) return InvalidArgument("parse", std::string(what), "expected a JSON object");
  CredentialStore store;
  // credsStore/credHelpers (external helper programs) are not consulted: only inline auths.
  auto auths = doc.find("auths");
  if (auths == doc.end() || auths->is_null()) return store;
  if (!auths->is_object()) return InvalidArgument("parse", std::string(what), "auths: expected an object");
  for (auto it = auths->begin(); it != auths->end(); ++it) {
    std::string where = "auths." + Quote(it.key());
    Credentials c = BERTH_TRY(ParseEntry(it.value(), where, what));
    if (c.username.empty() && c.password.empty() && c.identity_token.empty()) continue;
    std::string key = NormalizeRegistryKey(it.key());
    if (key.empty()) return InvalidArgument("parse", std::string(what), where + ": empty registry name");
    store.creds_[key] = std::move(c);
  }
  return store;
}

std::optional<Credentials> CredentialStore::Lookup(std::string_view registry) const {
  auto it = creds_.find(NormalizeRegistryKey(registry));
  if (it == creds_.end()) return std::nullopt;
  return it->second;
}

Result<std::vector<Challenge>> ParseChallenges(std::string_view header) {
  return ChallengeParser(header).Parse();
}

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(data[k]); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = byte(i) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// RFC 4648 standard alphabet. Padding may be omitted (some tools strip it) but must be
// correct when present; anything else — whitespace, URL-safe characters, data after the
// padding, a dangling sextet — is rejected.
Result<std::string> Base64Decode(std::string_view data) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("base64 decode", Quote(data.substr(0, 40)), why);
  };
  size_t len = data.size();
  size_t pad = 0;
  while (len > 0 && data[len - 1] == '=' && pad < 2) {
    --len;
    ++pad;
  }
  if (pad > 0 && data.size() % 4 != 0) return bad("wrong padding");
  if (len % 4 == 1) return bad("truncated input");
  std::string out;
  out.reserve(len / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    int v = B64Value(data[i]);
    if (v < 0) return bad("invalid character at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (pad > 0 && (len + pad) % 4 != 0) return bad("wrong padding");
  return out;
}

}  // namespace berth::image
