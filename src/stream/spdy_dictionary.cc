// The zlib dictionary SPDY/3 header blocks are compressed with (draft-mbelshe-httpbis-spdy-00,
// section 2.6.10.1): length-prefixed header names and values, then a run of common status
// lines, dates and media types. Built from its parts here so it reads as the spec's data.
#include <cstdint>
#include <string>
#include <string_view>

#include "stream/spdy_frame.h"

namespace berth::stream::spdy {
namespace {

constexpr std::string_view kWords[] = {
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
};

constexpr std::string_view kTail =
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504"
    "505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
    "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 "
    "Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, "
    "Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/"
    "xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,"
    "sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

std::string Build() {
  std::string d;
  for (std::string_view w : kWords) {
    uint32_t n = static_cast<uint32_t>(w.size());
    d.push_back(static_cast<char>(n >> 24));
    d.push_back(static_cast<char>(n >> 16));
    d.push_back(static_cast<char>(n >> 8));
    d.push_back(static_cast<char>(n));
    d.append(w);
  }
  d.append(kTail);
  return d;
}

}  // namespace

const std::string& HeaderDictionary() {
  static const std::string dict = Build();
  return dict;
}

}  // namespace berth::stream::spdy
