// Internal to the registry client: one HTTP exchange over libcurl, redirects followed by
// hand so credentials never leave the registry's origin, and a pool of easy handles so
// keep-alive connections are reused across transfers (and threads).
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "image/hosts.h"

namespace berth::image::http {

struct Response;

// Receives the body of a final 2xx response; `head` has its status and headers. An error
// aborts the transfer and is reported as Response::aborted.
using BodyFn = std::function<Result<void>(const Response& head, const char* data, size_t n)>;

struct Request {
  std::string method = "GET";  // GET, HEAD or POST
  std::string url;
  std::vector<std::string> headers;  // "Accept: …", "Range: …"
  // "Bearer …" / "Basic …": sent only while the request stays on the origin of `url`.
  std::string authorization;
  std::string post_body;  // form data for POST
  // TLS settings of the registry endpoint, applied on the endpoint's origin only.
  const RegistryEndpoint* endpoint = nullptr;
  BodyFn on_body;             // null: a 2xx body is kept in Response::body
  size_t max_body = 1 << 20;  // limit of a kept body (a larger one aborts the transfer)
  int connect_timeout_s = 15;
  int low_speed_timeout_s = 60;  // no byte for this long (after the request went out): abort; 0: never
  std::string user_agent;
};

struct Response {
  CURLcode curl = CURLE_OK;  // transport failure, when not CURLE_OK
  std::string curl_error;
  bool connected = false;        // a connection was established (a failure after it is not "down")
  bool stalled = false;          // no byte moved for low_speed_timeout_s (curl is then TIMEDOUT)
  std::optional<Error> aborted;  // on_body (or the size limit) stopped the transfer
  bool too_large = false;        // the kept body passed Request::max_body
  long status = 0;
  std::string url;                             // after redirects
  std::map<std::string, std::string> headers;  // lowercased names; last value wins
  std::string body;                            // kept 2xx body, or the start of an error body

  bool Ok() const { return curl == CURLE_OK && !aborted; }
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// scheme://host:port of an absolute http(s) URL (port made explicit), "" if unparsable.
std::string Origin(const std::string& url);
// curl_easy_escape without a handle.
std::string Escape(std::string_view s);

// Shares DNS and TLS sessions between handles; each easy handle keeps its own connection
// cache (libcurl does not support sharing connections between concurrent threads), and
// handles go back to the pool after a transfer so the next transfer reuses a connection.
class Transport {
 public:
  Transport();
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Performs req, following up to 10 redirects. Never fails: transport errors are in
  // Response::curl.
  Response Perform(const Request& req);

 private:
  CURL* Acquire();
  void Release(CURL* h);
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self);
  static void Unlock(CURL*, curl_lock_data data, void* self);

  CURLSH* share_ = nullptr;
  std::mutex share_locks_[CURL_LOCK_DATA_LAST];
  std::mutex mu_;
  std::vector<CURL*> idle_;  // guarded by mu_
};

}  // namespace berth::image::http
