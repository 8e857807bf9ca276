// Runtime logging as runc does it: plain text or JSON lines ({"level","msg","time"}) to
// --log FILE (stderr when unset). containerd and CRI-O read the JSON form back to show
// the runtime's error to their users, so the last error line matters most.
#pragma once

#include <string>
#include <string_view>

namespace berth::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

// Opens path for appending (empty: stderr). Failure to open is reported on stderr only.
void Init(const std::string& path, Format format, bool debug);

void Write(Level level, std::string_view msg);
inline void Debug(std::string_view m) { Write(Level::kDebug, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, m); }
inline void Warn(std::string_view m) { Write(Level::kWarn, m); }
inline void Error(std::string_view m) { Write(Level::kError, m); }

bool DebugEnabled();
// True when a --log file is in use (errors then also go to stderr).
bool LoggingToFile();

// RFC 3339 with nanoseconds in UTC, as Go's time.RFC3339Nano prints.
std::string NowRfc3339();

// JSON string escaping for hand-written small documents.
std::string JsonEscape(std::string_view s);

}  // namespace berth::log
