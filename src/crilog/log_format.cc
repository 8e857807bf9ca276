#include "crilog/log_format.h"

namespace berth::crilog {

std::optional<LogRecord> ParseLogLine(std::string_view line) {
  auto next_field = [&line]() -> std::optional<std::string_view> {
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    std::string_view f = line.substr(0, sp);
    line.remove_prefix(sp + 1);
    return f;
  };
  LogRecord r;
  auto ts = next_field();
  auto stream = next_field();
  // An empty record ("... stdout F" + LF) has no space after the tags.
  std::optional<std::string_view> tags = next_field();
  if (!tags) {
    tags = line;
    line = {};
  }
  if (!ts || ts->empty() || !stream || tags->empty()) return std::nullopt;
  if (*stream == "stderr") {
    r.stderr_stream = true;
  } else if (*stream != "stdout") {
    return std::nullopt;
  }
  std::string_view first_tag = tags->substr(0, tags->find(':'));
  if (first_tag == "P") {
    r.partial = true;
  } else if (first_tag != "F") {
    return std::nullopt;
  }
  r.timestamp = *ts;
  r.content = line;
  return r;
}

std::string FormatLogLine(const LogRecord& record) {
  std::string line;
  line.reserve(record.timestamp.size() + record.content.size() + 12);
  line += record.timestamp;
  line += record.stderr_stream ? " stderr " : " stdout ";
  line += record.partial ? 'P' : 'F';
  line += ' ';
  line += record.content;
  line += '\n';
  return line;
}

}  // namespace berth::crilog
