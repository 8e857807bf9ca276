#include "cli/berthctl/log_printer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace berth::cli {

// "2016-10-06T00:17:09.669794202Z" or with an offset ("+02:00") → ns since the epoch.
std::optional<int64_t> ParseRfc3339(std::string_view s) {
  struct tm tm {};
  int n = 0;
  std::string text(s);
  if (sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t secs = timegm(&tm);
  int64_t frac = 0;
  size_t i = n;
  if (i < text.size() && text[i] == '.') {
    int64_t scale = 100000000;
    for (i++; i < text.size() && isdigit(static_cast<unsigned char>(text[i])); i++) {
      frac += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int hh = 0, mm = 0;
    if (sscanf(text.c_str() + i + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
    int64_t off = (hh * 60 + mm) * 60;
    secs -= text[i] == '+' ? off : -off;
  } else if (i >= text.size() || (text[i] != 'Z' && text[i] != 'z')) {
    return std::nullopt;
  }
  return secs * 1000000000 + frac;
}

void LogPrinter::Feed(std::string_view data) {
  buf_.append(data);
  size_t start = 0;
  for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1)
    Record(std::string_view(buf_).substr(start, nl - start));
  buf_.erase(0, start);
}

bool Drain(int fd, LogPrinter& p) {
  bool any = false;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return any;
    p.Feed(std::string_view(buf, n));
    any = true;
  }
}

bool Replaced(const std::string& path, int fd) {
  struct stat a {}, b {};
  if (stat(path.c_str(), &a) != 0 || fstat(fd, &b) != 0) return false;
  return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

}  // namespace berth::cli
