#include "base/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace berth::log {
namespace {

int g_fd = 2;
Format g_format = Format::kText;
bool g_debug = false;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

void Init(const std::string& path, Format format, bool debug) {
  g_format = format;
  g_debug = debug;
  if (path.empty()) return;
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::string m = "berth: open log file " + path + ": failed\n";
    (void)!::write(2, m.data(), m.size());
    return;
  }
  g_fd = fd;
}

bool DebugEnabled() { return g_debug; }
bool LoggingToFile() { return g_fd != 2; }

std::string NowRfc3339() {
  // std::chrono's civil calendar instead of gmtime_r/strftime: glibc initialises its
  // time zone (reads /etc/localtime) on the first call of either, on every run of the
  // runtime, although the result is UTC.
  using namespace std::chrono;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const sys_seconds secs{seconds{ts.tv_sec}};
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02lld.%09ldZ", int(ymd.year()),
           unsigned(ymd.month()), unsigned(ymd.day()), long(hms.hours().count()),
           long(hms.minutes().count()), static_cast<long long>(hms.seconds().count()),
           ts.tv_nsec);
  return buf;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void Write(Level level, std::string_view msg) {
  if (level == Level::kDebug && !g_debug) return;
  std::string line;
  if (g_format == Format::kJson) {
    line = "{\"level\":\"";
    line += LevelName(level);
    line += "\",\"msg\":\"";
    line += JsonEscape(msg);
    line += "\",\"time\":\"";
    line += NowRfc3339();
    line += "\"}\n";
  } else {
    line = "time=\"" + NowRfc3339() + "\" level=" + LevelName(level) + " msg=\"" +
           JsonEscape(msg) + "\"\n";
  }
  (void)!::write(g_fd, line.data(), line.size());
}

}  // namespace berth::log
