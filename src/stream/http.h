// HTTP/1.1 just enough for an upgrade: the request head a streaming client sends and the
// response head it gets back, parsed with http-parser (libhttp-parser), bounded in size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace berth::stream {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;  // names lower case

// The first value of a header ("" when absent); All: every line of it.
std::string_view HeaderGet(const HttpHeaders& h, std::string_view name);
std::vector<std::string> HeaderAll(const HttpHeaders& h, std::string_view name);
// A comma-separated header holds token (case-insensitive): "Connection: keep-alive, Upgrade".
bool HeaderHasToken(const HttpHeaders& h, std::string_view name, std::string_view token);

struct HttpHead {
  // Requests.
  std::string method, path, query;
  // Responses.
  int status = 0;
  HttpHeaders headers;
  uint64_t content_length = 0;
  bool has_content_length = false;
};

// Finds the end of a head (the empty line) in buf; nullopt while incomplete. The head is
// buf[0, *end); what follows belongs to the upgraded protocol (or a body).
std::optional<size_t> FindHeadEnd(std::string_view buf);
// Parses a complete head (request or response). INVALID_ARGUMENT when malformed.
Result<HttpHead> ParseRequestHead(std::string_view head);
Result<HttpHead> ParseResponseHead(std::string_view head);

// "HTTP/1.1 404 Not Found" with headers, Content-Length and the body (text/plain).
std::string HttpResponse(int status, std::string_view body, const HttpHeaders& extra = {});
const char* HttpReason(int status);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2).
std::string WebSocketAccept(std::string_view key);
std::string Base64(std::string_view bytes);

// A query parameter's values: "ports=80,90&ports=7" → ["80,90", "7"] for "ports".
std::vector<std::string> QueryValues(std::string_view query, std::string_view name);
std::string PercentDecode(std::string_view s);

struct Url {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  std::string path_and_query;  // "/exec/abc?x=1"
};
Result<Url> ParseUrl(std::string_view url);

}  // namespace berth::stream
