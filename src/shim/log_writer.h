// The container's output as kubelet reads it: CRI log records (crilog/log_format.h) written
// by the shim straight to the log path, one write(2) per record with O_APPEND so the two
// streams interleave by whole lines.
//
// Splitting, as containerd's CRI logger and kubelet's reader (pkg/kubelet/kuberuntime/logs)
// agree: a line ending in LF is one F record (a CR before the LF is dropped, as containerd
// does, so a tty's CRLF reads back as a plain line); a line longer than kMaxLogLine is cut
// into P records of kMaxLogLine bytes and a last F; bytes left without a LF when the stream
// ends are one P record (kubelet prints a P record's content without adding a newline, so
// `kubectl logs` reproduces the stream exactly). A partial line is held (at most
// kMaxLogLine bytes per stream) until its LF, the bound, or EOF.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::shim {

// kubelet's and containerd's default (max_container_log_line_size = 16 KiB).
inline constexpr size_t kMaxLogLine = 16 * 1024;

// Cuts one stream's bytes into record contents. Pure: the caller adds timestamps.
class LineSplitter {
 public:
  using Sink = std::function<void(std::string_view content, bool partial)>;
  explicit LineSplitter(size_t max_line = kMaxLogLine) : max_(max_line) {}
  // Emits every complete record in pending + data; keeps the unterminated rest.
  void Feed(std::string_view data, const Sink& sink);
  // End of the stream: the held bytes, if any, as one partial record.
  void Finish(const Sink& sink);
  size_t Held() const { return held_.size(); }

 private:
  size_t max_;
  std::string held_;
};

// RFC 3339 with 9 fractional digits in UTC ("2016-10-06T00:17:09.669794202Z"); kubelet parses
// it with RFC3339NanoLenient.
std::string FormatTimestamp(int64_t unix_ns);
int64_t NowNs();

// The log file of one container: opened for append (0640, created when missing), reopened
// by ReopenContainerLog after the rotator renamed it. An empty path discards output (the
// pipes are still drained). A failed write is logged once and the output dropped: the
// container must never block on its log.
class LogFile {
 public:
  static Result<LogFile> Open(const std::string& path);
  LogFile() = default;

  // Writes one record now ("<ts> stdout|stderr F|P content\n").
  void Write(bool stderr_stream, std::string_view content, bool partial);
  // Opens the path again; on failure the old file stays in use.
  Result<void> Reopen();
  const std::string& Path() const { return path_; }

 private:
  static Result<UniqueFd> OpenFd(const std::string& path);
  std::string path_;
  UniqueFd fd_;
  bool warned_ = false;
};

}  // namespace berth::shim
