// The CRI container log format (what kubelet's `kubectl logs` reads, written by the runtime's
// shim): one record per line,
//   <RFC 3339 timestamp, nanoseconds> SP <stdout|stderr> SP <tags> SP <content> LF
// where tags are ':'-separated and start with P (partial: the line continues in the next
// record) or F (full: the record ends the line).
// A library of its own (berth_cri_log, base only) because berth-shim writes these files
// and must not link gRPC.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth::crilog {

struct LogRecord {
  std::string_view timestamp;
  bool stderr_stream = false;
  bool partial = false;       // no newline after content
  std::string_view content;
};

// One line without its LF; nullopt when it is not a CRI log record.
std::optional<LogRecord> ParseLogLine(std::string_view line);

// The line for one record, LF included. `content` must not hold a LF (split lines first:
// a chunk without its LF is a partial record).
std::string FormatLogLine(const LogRecord& record);

}  // namespace berth::crilog
