#include "stream/http.h"

#include <http_parser.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <strings.h>

#include <algorithm>
#include <cctype>

#include "base/text.h"

namespace berth::stream {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct ParseState {
  HttpHead head;
  std::string url, field, value;
  bool in_value = false;
  bool done = false;
  std::string error;
};

void FlushHeader(ParseState* st) {
  if (!st->field.empty()) st->head.headers.emplace_back(Lower(st->field), st->value);
  st->field.clear();
  st->value.clear();
  st->in_value = false;
}

int OnUrl(http_parser* p, const char* at, size_t n) {
  static_cast<ParseState*>(p->data)->url.append(at, n);
  return 0;
}
int OnField(http_parser* p, const char* at, size_t n) {
  auto* st = static_cast<ParseState*>(p->data);
  if (st->in_value) FlushHeader(st);
  st->field.append(at, n);
  return 0;
}
int OnValue(http_parser* p, const char* at, size_t n) {
  auto* st = static_cast<ParseState*>(p->data);
  st->in_value = true;
  st->value.append(at, n);
  return 0;
}
int OnHeadersComplete(http_parser* p) {
  auto* st = static_cast<ParseState*>(p->data);
  FlushHeader(st);
  st->done = true;
  st->head.status = static_cast<int>(p->status_code);
  st->head.method = http_method_str(static_cast<http_method>(p->method));
  if (p->flags & F_CONTENTLENGTH) {
    st->head.has_content_length = true;
    st->head.content_length = p->content_length;
  }
  http_parser_pause(p, 1);  // the head is all we parse here
  return 0;
}

Result<HttpHead> ParseHead(std::string_view head, http_parser_type type) {
  http_parser_settings settings{};
  settings.on_url = OnUrl;
  settings.on_header_field = OnField;
  settings.on_header_value = OnValue;
  settings.on_headers_complete = OnHeadersComplete;
  http_parser parser;
  http_parser_init(&parser, type);
  ParseState st;
  parser.data = &st;
  http_parser_execute(&parser, &settings, head.data(), head.size());
  auto err = HTTP_PARSER_ERRNO(&parser);
  if (!st.done || (err != HPE_OK && err != HPE_PAUSED)) {
    return InvalidArgument("parse HTTP head", "",
                           st.done ? http_errno_description(err) : "incomplete head");
  }
  if (type == HTTP_REQUEST) {
    http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(st.url.data(), st.url.size(), 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH))) {
      return InvalidArgument("parse HTTP head", QuoteText(st.url, 200), "bad request target");
    }
    st.head.path = st.url.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    if (u.field_set & (1 << UF_QUERY)) {
      st.head.query = st.url.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    }
  }
  return std::move(st.head);
}

}  // namespace

std::string_view HeaderGet(const HttpHeaders& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return {};
}

std::vector<std::string> HeaderAll(const HttpHeaders& h, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : h) {
    if (k == name) out.push_back(v);
  }
  return out;
}

bool HeaderHasToken(const HttpHeaders& h, std::string_view name, std::string_view token) {
  for (const auto& [k, v] : h) {
    if (k != name) continue;
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      std::string_view t(v.data() + start, comma - start);
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
      if (t.size() == token.size() && strncasecmp(t.data(), token.data(), t.size()) == 0) {
        return true;
      }
      start = comma + 1;
    }
  }
  return false;
}

std::optional<size_t> FindHeadEnd(std::string_view buf) {
  size_t crlf = buf.find("\r\n\r\n");
  size_t lf = buf.find("\n\n");
  size_t best = std::string_view::npos;
  if (crlf != std::string_view::npos) best = crlf + 4;
  if (lf != std::string_view::npos && (best == std::string_view::npos || lf + 2 < best)) {
    best = lf + 2;
  }
  if (best == std::string_view::npos) return std::nullopt;
  return best;
}

Result<HttpHead> ParseRequestHead(std::string_view head) { return ParseHead(head, HTTP_REQUEST); }
Result<HttpHead> ParseResponseHead(std::string_view head) { return ParseHead(head, HTTP_RESPONSE); }

const char* HttpReason(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

std::string HttpResponse(int status, std::string_view body, const HttpHeaders& extra) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + HttpReason(status) + "\r\n";
  for (const auto& [k, v] : extra) out += k + ": " + v + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "X-Content-Type-Options: nosniff\r\n";
  out += "Connection: close\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out.append(body);
  return out;
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string WebSocketAccept(std::string_view key) {
  std::string s(key);
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  return Base64(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> QueryValues(std::string_view query, std::string_view name) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view kv = query.substr(start, amp - start);
    size_t eq = kv.find('=');
    std::string k = PercentDecode(kv.substr(0, eq));
    if (k == name)
      out.push_back(eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1)));
    start = amp + 1;
  }
  return out;
}

Result<Url> ParseUrl(std::string_view url) {
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(url.data(), url.size(), 0, &u) != 0 ||
      !(u.field_set & (1 << UF_SCHEMA)) || !(u.field_set & (1 << UF_HOST))) {
    return InvalidArgument("parse URL", QuoteText(url, 200), "not an absolute http(s) URL");
  }
  auto field = [&](int f) {
    return std::string(url.substr(u.field_data[f].off, u.field_data[f].len));
  };
  Url out;
  std::string scheme = Lower(field(UF_SCHEMA));
  if (scheme == "https")
    out.tls = true;
  else if (scheme != "http") {
    return InvalidArgument("parse URL", QuoteText(url, 200), "scheme is not http or https");
  }
  out.host = field(UF_HOST);
  out.port = (u.field_set & (1 << UF_PORT)) ? u.port : (out.tls ? 443 : 80);
  out.path_and_query = (u.field_set & (1 << UF_PATH)) ? field(UF_PATH) : "/";
  if (u.field_set & (1 << UF_QUERY)) out.path_and_query += "?" + field(UF_QUERY);
  return out;
}

}  // namespace berth::stream
