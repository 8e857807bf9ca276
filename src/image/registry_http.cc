#include "image/registry_http.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace berth::image::http {

namespace {

constexpr int kMaxRedirects = 10;
constexpr size_t kMaxErrorBody = 64 * 1024;  // enough for any distribution error document
constexpr size_t kMaxIdleHandles = 32;

std::once_flag g_curl_init;

struct Transfer {
  const Request* req;
  Response* resp;
  CURL* handle = nullptr;
  // The stall watch: the last moment bytes moved (or the request went out).
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  curl_off_t last_bytes = -1;
};

// Our own stall watch instead of CURLOPT_LOW_SPEED_*: curl averages the speed over a window
// of several seconds, so after a burst it noticed a stall only ~6 s late (8 s for a 2 s
// limit). Here a stall is exactly "no byte for low_speed_timeout_s seconds", counted from
// when the request was sent (connecting has connect_timeout_s of its own).
int OnProgress(void* p, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(p);
  auto now = std::chrono::steady_clock::now();
  curl_off_t sent_at = 0;
  curl_easy_getinfo(t->handle, CURLINFO_PRETRANSFER_TIME_T, &sent_at);
  if (sent_at == 0 || dlnow + ulnow != t->last_bytes) {
    t->last_bytes = sent_at == 0 ? -1 : dlnow + ulnow;
    t->last_progress = now;
    return 0;
  }
  if (now - t->last_progress < std::chrono::seconds(t->req->low_speed_timeout_s)) return 0;
  t->resp->stalled = true;
  return 1;  // CURLE_ABORTED_BY_CALLBACK
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

size_t OnHeader(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t len = size * n;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {
    // A new response (after 100-continue, or an intermediate one): start over.
    t->resp->headers.clear();
    t->resp->body.clear();
    size_t sp = line.find(' ');
    t->resp->status = sp == std::string_view::npos ? 0 : std::strtol(data + sp + 1, nullptr, 10);
    return len;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos)
    t->resp->headers[Lower(std::string(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  return len;
}

size_t OnBody(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t len = size * n;
  Response& r = *t->resp;
  bool success = r.status >= 200 && r.status < 300;
  if (success && t->req->on_body) {
    auto ok = t->req->on_body(r, data, len);
    if (!ok) {
      r.aborted = std::move(ok.error());
      return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
    }
    return len;
  }
  if (success) {
    if (r.body.size() + len > t->req->max_body) {
      r.too_large = true;
      r.aborted = ResourceExhausted("download", t->req->url,
                       "response larger than " + std::to_string(t->req->max_body) + " bytes")
                      .error();
      return 0;
    }
    r.body.append(data, len);
    return len;
  }
  // Error and redirect bodies: keep the start for the error message, drop the rest.
  if (r.body.size() < kMaxErrorBody)
    r.body.append(data, std::min(len, kMaxErrorBody - r.body.size()));
  return len;
}

// Resolves a Location value (absolute or relative) against the URL it came from.
std::optional<std::string> Resolve(const std::string& base, const std::string& location) {
  CURLU* u = curl_url();
  std::optional<std::string> out;
  if (curl_url_set(u, CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, location.c_str(), 0) == CURLUE_OK) {
    char* s = nullptr;
    if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) out = s;
    curl_free(s);
  }
  curl_url_cleanup(u);
  return out;
}

}  // namespace

std::string Origin(const std::string& url) {
  CURLU* u = curl_url();
  std::string out;
  char *scheme = nullptr, *host = nullptr, *port = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
    out = Lower(scheme) + "://" + Lower(host) + ":" + port;
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return out;
}

std::string Escape(std::string_view s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

Transport::Transport() {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  share_ = curl_share_init();
  curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &Transport::Lock);
  curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &Transport::Unlock);
  curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

Transport::~Transport() {
  // Easy handles first: they still reference the share.
  for (CURL* h : idle_) curl_easy_cleanup(h);
  curl_share_cleanup(share_);
}

void Transport::Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
  static_cast<Transport*>(self)->share_locks_[data].lock();
}

void Transport::Unlock(CURL*, curl_lock_data data, void* self) {
  static_cast<Transport*>(self)->share_locks_[data].unlock();
}

CURL* Transport::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void Transport::Release(CURL* h) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdleHandles)
    idle_.push_back(h);
  else
    curl_easy_cleanup(h);
}

Response Transport::Perform(const Request& req) {
  Response resp;
  CURL* h = Acquire();
  if (!h) {
    resp.curl = CURLE_OUT_OF_MEMORY;
    resp.curl_error = "curl_easy_init failed";
    return resp;
  }
  const std::string origin = Origin(req.url);
  const std::string endpoint_origin = req.endpoint ? Origin(req.endpoint->BaseUrl()) : "";
  std::string url = req.url;
  std::string method = req.method;
  char errbuf[CURL_ERROR_SIZE];
  for (int hop = 0;; ++hop) {
    // reset keeps the handle's live connections, which is what the pool is for.
    curl_easy_reset(h);
    errbuf[0] = '\0';
    resp.url = url;
    resp.status = 0;
    resp.headers.clear();
    resp.body.clear();
    Transfer t{&req, &resp, h};
    std::string here = Origin(url);
    bool same_origin = here == origin;

    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_SHARE, share_);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // by hand, below
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(req.connect_timeout_s));
    if (req.low_speed_timeout_s > 0) {
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &OnProgress);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    if (!req.user_agent.empty()) curl_easy_setopt(h, CURLOPT_USERAGENT, req.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    if (req.endpoint && here == endpoint_origin) {
      if (req.endpoint->skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
      }
      if (!req.endpoint->ca_file.empty())
        curl_easy_setopt(h, CURLOPT_CAINFO, req.endpoint->ca_file.c_str());
    }
    if (method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (method == "POST") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.post_body.size()));
      curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, req.post_body.c_str());
    }

    curl_slist* headers = nullptr;
    for (const std::string& line : req.headers) headers = curl_slist_append(headers, line.c_str());
    // A custom Authorization header is ours to guard: it goes to the registry's origin
    // only, never to a blob store it redirects to (which has its own signed URL).
    std::string auth;
    if (same_origin && !req.authorization.empty()) {
      auth = "Authorization: " + req.authorization;
      headers = curl_slist_append(headers, auth.c_str());
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    curl_off_t connect_us = 0;
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
    // A reused connection reports no connect time, but then a response has begun.
    resp.connected = connect_us > 0 || resp.status != 0;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (rc != CURLE_OK) {
      resp.curl = rc;
      resp.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
      if (resp.stalled) {
        resp.curl = CURLE_OPERATION_TIMEDOUT;
        resp.curl_error = "no data for " + std::to_string(req.low_speed_timeout_s) + " s";
      }
      break;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    resp.status = status;
    bool redirect =
        status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    std::string location = resp.Header("location");
    if (!redirect || location.empty()) break;
    if (hop == kMaxRedirects) {
      resp.curl = CURLE_TOO_MANY_REDIRECTS;
      resp.curl_error = "more than " + std::to_string(kMaxRedirects) + " redirects";
      break;
    }
    auto next = Resolve(url, location);
    if (!next || !(next->starts_with("https://") || next->starts_with("http://"))) {
      resp.curl = CURLE_UNSUPPORTED_PROTOCOL;
      resp.curl_error = "redirect to unsupported location \"" + location + "\"";
      break;
    }
    if (status == 303 || (method == "POST" && (status == 301 || status == 302))) method = "GET";
    url = *next;
  }
  Release(h);
  return resp;
}

}  // namespace berth::image::http
