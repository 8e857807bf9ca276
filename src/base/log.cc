#include "base/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

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
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
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
