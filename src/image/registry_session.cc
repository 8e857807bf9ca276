#include "image/registry_session.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace berth::image::detail {

namespace {

using Clock = std::chrono::steady_clock;

// Failures worth another attempt: the network, not the request, went wrong.
bool TransientCurl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// A mirror that cannot even be reached is skipped at once: the next endpoint is the
// faster way to the content than retrying.
bool Unreachable(const http::Response& r) {
  return r.curl == CURLE_COULDNT_CONNECT || r.curl == CURLE_COULDNT_RESOLVE_HOST ||
         r.curl == CURLE_COULDNT_RESOLVE_PROXY ||
         (r.curl == CURLE_OPERATION_TIMEDOUT && !r.connected);
}

bool TransientStatus(long s) { return s == 408 || s == 429 || (s >= 500 && s <= 599); }

std::string StatusText(long s) {
  switch (s) {
    case 400:
      return "bad request";
    case 401:
      return "unauthorized";
    case 403:
      return "denied";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 408:
      return "request timeout";
    case 416:
      return "range not satisfiable";
    case 429:
      return "too many requests";
    case 500:
      return "internal server error";
    case 502:
      return "bad gateway";
    case 503:
      return "service unavailable";
    case 504:
      return "gateway timeout";
    default:
      return "HTTP status " + std::to_string(s);
  }
}

// distribution-spec error body: {"errors":[{"code":"…","message":"…","detail":…}]},
// as (code, message) pairs; empty when the body is something else.
std::vector<std::pair<std::string, std::string>> DistributionErrors(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object()) return out;
  auto errs = doc.find("errors");
  if (errs == doc.end() || !errs->is_array()) return out;
  for (const auto& e : *errs) {
    if (!e.is_object()) continue;
    auto str = [&](const char* k) {
      auto it = e.find(k);
      return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string code = str("code"), msg = str("message");
    if (msg.empty()) {
      msg = code;
      std::transform(msg.begin(), msg.end(), msg.begin(),
                     [](char c) { return c == '_' ? ' ' : static_cast<char>(std::tolower(c)); });
    }
    if (msg.empty()) continue;
    out.emplace_back(code, msg);
  }
  return out;
}

// What an HTTP status from a registry means to a caller (a CRI PullImage answers with it).
ErrorKind KindOfStatus(long status) {
  switch (status) {
    case 401: return ErrorKind::kUnauthenticated;
    case 403: return ErrorKind::kPermissionDenied;
    case 404: return ErrorKind::kNotFound;
    case 408: return ErrorKind::kDeadlineExceeded;
    case 429: return ErrorKind::kResourceExhausted;
    case 400:
    case 405:
    case 413:
    case 416: return ErrorKind::kInvalidArgument;
    default: return status >= 500 || status == 0 ? ErrorKind::kUnavailable : ErrorKind::kUnknown;
  }
}

std::string Scope(const Reference& ref) { return "repository:" + ref.path + ":pull"; }

std::string OriginOf(const RegistryEndpoint& ep) { return ep.scheme + "://" + ep.host; }

}  // namespace

std::string RefString(const Reference& ref) {
  std::string s = ref.domain + "/" + ref.path;
  if (!ref.tag.empty()) s += ":" + ref.tag;
  if (!ref.digest.empty()) s += "@" + ref.digest;
  return s;
}

Error Session::HttpError(const Target& t, const http::Response& r, const std::string& url) const {
  // "manifest unknown (MANIFEST_UNKNOWN, 404 from <url>)"
  std::string where = std::to_string(r.status) + " from " + url + ")";
  std::string detail;
  for (const auto& [code, msg] : DistributionErrors(r.body)) {
    if (!detail.empty()) detail += "; ";
    detail += msg + " (" + (code.empty() ? "" : code + ", ") + where;
  }
  bool plain_status = detail.empty();  // no distribution error body: the status says all
  if (plain_status) detail = StatusText(r.status) + " (" + where;
  // Go's HTTPS servers (docker-registry among them) answer plain HTTP with a 400 and a
  // text body saying so: pass that on, it tells the user to drop --insecure-registry.
  if (plain_status && r.status == 400 && url.starts_with("http://") &&
      r.body.find("HTTPS") != std::string::npos)
    detail += ": the server speaks HTTPS (is it wrongly listed as an insecure registry?)";
  return Error{0, t.op, t.subject, detail, {}, KindOfStatus(r.status)};
}

Error Session::Unauthorized(const Target& t, const http::Response& r, const std::string& url,
                            const std::string& why) const {
  Error e = HttpError(t, r, url);
  e.detail = "unauthorized: " + why + (r.status ? ": " + e.detail : "");
  return e;
}

std::optional<Credentials> Session::CredsFor(const Target& t) const {
  // The upstream is known by the registry's name (docker.io, not registry-1.docker.io);
  // a mirror by its own host.
  if (!t.ep.mirror)
    if (auto c = creds_.Lookup(t.ref.domain)) return c;
  return creds_.Lookup(t.ep.host);
}

Result<std::string> Session::Authorization(const Target& t, const std::string& scope) {
  std::string origin = OriginOf(t.ep);
  std::optional<Challenge> ch;
  {
    std::lock_guard lock(mu_);
    auto tok = tokens_.find({origin, scope});
    if (tok != tokens_.end()) {
      if (Clock::now() < tok->second.expires) return "Bearer " + tok->second.value;
      tokens_.erase(tok);
    }
    if (auto c = challenges_.find(origin); c != challenges_.end()) ch = c->second;
  }
  if (!ch) return std::string();
  if (ch->scheme == "bearer") return "Bearer " + BERTH_TRY(FetchToken(t, *ch, scope));
  if (ch->scheme == "basic") {
    if (auto c = CredsFor(t); c && !c->username.empty())
      return "Basic " + Base64Encode(c->username + ":" + c->password);
  }
  return std::string();
}

Result<std::string> Session::FetchToken(const Target& t, const Challenge& ch,
                                        const std::string& scope) {
  std::string origin = OriginOf(t.ep);
  // Parallel layer downloads hit the same 401 together: one of them asks, the others
  // find the token in the cache.
  std::lock_guard fetch_lock(token_fetch_mu_);
  {
    std::lock_guard lock(mu_);
    auto tok = tokens_.find({origin, scope});
    if (tok != tokens_.end() && Clock::now() < tok->second.expires) return tok->second.value;
  }
  auto param = [&](const char* k) {
    auto it = ch.params.find(k);
    return it == ch.params.end() ? std::string() : it->second;
  };
  std::string realm = param("realm"), service = param("service");
  if (!realm.starts_with("https://") && !realm.starts_with("http://"))
    return Fail(ErrorKind::kUnauthenticated, t.op, t.subject,
                "unauthorized: " + t.ep.host + " asks for a bearer token from realm \"" + realm +
                    "\", which is not an http(s) URL");
  std::optional<Credentials> creds = CredsFor(t);
  if (creds && realm.starts_with("http://") && t.ep.scheme == "https")
    return Fail(ErrorKind::kUnauthenticated, t.op, t.subject,
                "unauthorized: " + t.ep.host + " is served over https but its token realm \"" +
                    realm + "\" is plain http; berth does not send credentials there");

  http::Request req;
  req.user_agent = opts_.user_agent;
  req.connect_timeout_s = opts_.connect_timeout_s;
  req.low_speed_timeout_s = opts_.low_speed_timeout_s;
  req.endpoint = &t.ep;
  req.max_body = 1 << 20;
  req.headers.push_back("Accept: application/json");
  std::string query = "scope=" + http::Escape(scope);
  if (!service.empty()) query = "service=" + http::Escape(service) + "&" + query;
  if (creds && !creds->identity_token.empty()) {
    // OAuth2 refresh-token grant (docker's identity tokens).
    req.method = "POST";
    req.url = realm;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.post_body = "grant_type=refresh_token&client_id=berth&refresh_token=" +
                    http::Escape(creds->identity_token) + "&" + query;
  } else {
    req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") + query;
    if (creds && !creds->username.empty())
      req.authorization = "Basic " + Base64Encode(creds->username + ":" + creds->password);
  }

  http::Response r;
  for (int attempt = 0;; ++attempt) {
    r = transport_.Perform(req);
    bool transient = r.curl != CURLE_OK ? TransientCurl(r.curl) : TransientStatus(r.status);
    if (!transient || attempt >= opts_.retries) break;
    Backoff(attempt, r.curl == CURLE_OK ? &r : nullptr);
  }
  if (r.curl != CURLE_OK)
    return Unavailable(t.op, t.subject, "token request to " + realm + " failed: " + r.curl_error);
  if (r.aborted)
    return Fail(r.aborted->Kind(), t.op, t.subject, "token request to " + realm + ": " + r.aborted->Message());
  if (r.status == 401 || r.status == 403) {
    std::string who = creds && !creds->username.empty()
                          ? "the credentials of \"" + creds->username + "\""
                      : creds ? std::string("the identity token")
                              : std::string("anonymous access");
    return std::unexpected(Unauthorized(
        t, r, req.url, "token server of " + t.ep.host + " rejected " + who + " for " + scope));
  }
  if (r.status != 200) {
    Error e = HttpError(t, r, req.url);
    e.detail = "token request failed: " + e.detail;
    return std::unexpected(e);
  }
  nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
  std::string token;
  int64_t expires_in = 0;
  if (doc.is_object()) {
    for (const char* k : {"token", "access_token"}) {
      if (auto it = doc.find(k);
          it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
        token = it->get<std::string>();
        break;
      }
    }
    if (auto it = doc.find("expires_in"); it != doc.end() && it->is_number_integer())
      expires_in = it->get<int64_t>();
  }
  if (token.empty())
    return Fail(ErrorKind::kUnauthenticated, t.op, t.subject,
                "token response of " + realm + " has neither \"token\" nor \"access_token\"");
  // Docker's token spec: absent or shorter lifetimes mean 60 s. Renew a little early.
  expires_in = std::max<int64_t>(expires_in, 60);
  std::lock_guard lock(mu_);
  tokens_[{origin, scope}] = Token{token, Clock::now() + std::chrono::seconds(expires_in - 10)};
  return token;
}

void Session::Backoff(int attempt, const http::Response* r) const {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t base = static_cast<int64_t>(std::max(opts_.backoff_ms, 1)) << std::min(attempt, 16);
  // Jitter spreads the parallel layer downloads that failed together.
  int64_t ms = std::uniform_int_distribution<int64_t>(base / 2, base)(rng);
  if (r) {
    // Retry-After (seconds) on 429/503, capped so a hostile value cannot stall a pull.
    std::string ra = r->Header("retry-after");
    if (!ra.empty() &&
        std::all_of(ra.begin(), ra.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        ra.size() < 6)
      ms = std::max<int64_t>(ms, std::min<int64_t>(std::stoll(ra) * 1000, 60'000));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::expected<http::Response, Failure> Session::Exchange(const Target& t,
                                                         const std::function<http::Request()>& make,
                                                         const std::function<int64_t()>& progress) {
  const std::string scope = Scope(t.ref);
  const std::string origin = OriginOf(t.ep);
  const int retries = std::max(opts_.retries, 0);
  bool reauthed = false;
  int attempt = 0;
  int64_t seen = progress ? progress() : 0;
  for (;;) {
    http::Request req = make();
    req.endpoint = &t.ep;
    req.user_agent = opts_.user_agent;
    req.connect_timeout_s = opts_.connect_timeout_s;
    req.low_speed_timeout_s = opts_.low_speed_timeout_s;
    auto auth = Authorization(t, scope);
    if (!auth) return std::unexpected(Failure{auth.error(), false});
    req.authorization = *auth;

    http::Response r = transport_.Perform(req);
    if (r.too_large) {
      size_t mib = req.max_body >> 20;
      std::string limit = mib << 20 == req.max_body ? std::to_string(mib) + " MiB"
                                                    : std::to_string(req.max_body) + " bytes";
      return std::unexpected(
          Failure{Error{0, t.op, t.subject, req.url + " sent more than " + limit, {},
                        ErrorKind::kResourceExhausted}, true});
    }
    if (r.aborted) return std::unexpected(Failure{*r.aborted, true});

    if (progress) {
      int64_t now = progress();
      if (now > seen) attempt = 0;  // a resumed transfer is not a failed one
      seen = now;
    }
    if (r.curl != CURLE_OK) {
      // The stall watch fired: no data for low_speed_timeout_s, the very stall the caller
      // bounds. Another attempt would multiply that bound by the retries (5 × 60 s by
      // default, past kubelet's 2-minute deadline).
      if (r.stalled) {
        std::string s = std::to_string(opts_.low_speed_timeout_s);
        return std::unexpected(Failure{
            Error{0, t.op, t.subject,
                  req.method + " " + req.url + ": the download stalled: no data for " + s +
                      " s (" + opts_.low_speed_timeout_name + " = " + s + " s)", {},
                  ErrorKind::kDeadlineExceeded},
            false});
      }
      bool give_up = !TransientCurl(r.curl) || attempt >= retries || (!t.last && Unreachable(r));
      if (give_up) {
        std::string tries =
            attempt > 0 ? " (after " + std::to_string(attempt + 1) + " attempts)" : "";
        return std::unexpected(Failure{
            Error{0, t.op, t.subject, req.method + " " + req.url + ": " + r.curl_error + tries, {},
                  ErrorKind::kUnavailable},
            false});
      }
      Backoff(attempt++, nullptr);
      continue;
    }

    if (r.status == 401) {
      std::optional<Credentials> creds = CredsFor(t);
      std::string who = creds && !creds->username.empty()
                            ? "the credentials of \"" + creds->username + "\""
                            : std::string("anonymous access");
      if (reauthed)
        return std::unexpected(
            Failure{Unauthorized(t, r, req.url, t.ep.host + " rejected " + who), false});
      reauthed = true;
      auto parsed = ParseChallenges(r.Header("www-authenticate"));
      if (!parsed)
        return std::unexpected(Failure{Unauthorized(t, r, req.url,
                                                    t.ep.host + " sent no usable challenge (" +
                                                        parsed.error().Message() + ")"),
                                       false});
      const Challenge* pick = nullptr;
      for (const Challenge& c : *parsed)
        if (c.scheme == "bearer") pick = &c;
      for (const Challenge& c : *parsed)
        if (!pick && c.scheme == "basic") pick = &c;
      if (!pick)
        return std::unexpected(Failure{
            Unauthorized(t, r, req.url,
                         t.ep.host + " wants an authentication scheme berth does not support (" +
                             r.Header("www-authenticate") + ")"),
            false});
      if (pick->scheme == "basic" && !(creds && !creds->username.empty()))
        return std::unexpected(
            Failure{Unauthorized(t, r, req.url,
                                 t.ep.host + " requires credentials and none are configured for " +
                                     (t.ep.mirror ? t.ep.host : t.ref.domain)),
                    false});
      {
        std::lock_guard lock(mu_);
        challenges_[origin] = *pick;
        tokens_.erase({origin, scope});  // the cached token (if any) was refused
      }
      continue;  // Authorization() now fetches a token or sends the credentials
    }

    if (TransientStatus(r.status) && attempt < retries) {
      Backoff(attempt++, &r);
      continue;
    }
    return r;
  }
}

}  // namespace berth::image::detail
