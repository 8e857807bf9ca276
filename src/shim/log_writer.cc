#include "shim/log_writer.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

#include "base/log.h"
#include "crilog/log_format.h"
#include "sys/fs.h"

namespace berth::shim {

void LineSplitter::Feed(std::string_view data, const Sink& sink) {
  held_.append(data);
  size_t start = 0;
  for (;;) {
    size_t lf = held_.find('\n', start);
    size_t end = lf == std::string::npos ? held_.size() : lf;
    // A line longer than the bound leaves as P records of exactly max_ bytes; a line of
    // exactly max_ bytes is still one F record.
    while (end - start > max_) {
      sink(std::string_view(held_).substr(start, max_), true);
      start += max_;
    }
    if (lf == std::string::npos) break;
    size_t len = end - start;
    if (len > 0 && held_[end - 1] == '\r') len--;
    sink(std::string_view(held_).substr(start, len), false);
    start = lf + 1;
  }
  held_.erase(0, start);
}

void LineSplitter::Finish(const Sink& sink) {
  if (!held_.empty()) sink(held_, true);
  held_.clear();
}

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string FormatTimestamp(int64_t unix_ns) {
  // std::chrono's civil calendar: gmtime_r would read the time zone files for a UTC result.
  // Digits by hand rather than snprintf: this runs for every log record, and printf's
  // machinery is a large part of the shim's resident code (docs/shim.md).
  using namespace std::chrono;
  int64_t secs = unix_ns / 1000000000, nanos = unix_ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    secs--;
  }
  const sys_seconds s{seconds{secs}};
  const auto day = floor<days>(s);
  const year_month_day ymd{day};
  const hh_mm_ss hms{s - day};
  char buf[32] = "0000-00-00T00:00:00.000000000Z";
  auto put = [&buf](int pos, int width, int64_t v) {
    for (int i = pos + width - 1; i >= pos; i--, v /= 10) buf[i] = static_cast<char>('0' + v % 10);
  };
  put(0, 4, static_cast<int>(ymd.year()));
  put(5, 2, static_cast<unsigned>(ymd.month()));
  put(8, 2, static_cast<unsigned>(ymd.day()));
  put(11, 2, hms.hours().count());
  put(14, 2, hms.minutes().count());
  put(17, 2, hms.seconds().count());
  put(20, 9, nanos);
  return std::string(buf, 30);
}

Result<UniqueFd> LogFile::OpenFd(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) return Errno("open log file", path);
  return UniqueFd(fd);
}

Result<LogFile> LogFile::Open(const std::string& path) {
  LogFile f;
  f.path_ = path;
  if (!path.empty()) f.fd_ = BERTH_TRY(OpenFd(path));
  return f;
}

Result<void> LogFile::Reopen() {
  if (path_.empty()) return {};
  fd_ = BERTH_TRY(OpenFd(path_));
  warned_ = false;
  return {};
}

void LogFile::Write(bool stderr_stream, std::string_view content, bool partial) {
  if (!fd_) return;
  std::string ts = FormatTimestamp(NowNs());
  std::string line = crilog::FormatLogLine({ts, stderr_stream, partial, content});
  if (auto r = sys::WriteAll(fd_.Get(), line.data(), line.size(), "log file"); !r && !warned_) {
    // Once per file: a full disk must not fill the shim's own log as well.
    warned_ = true;
    log::Warn("write " + path_ + ": " + r.error().Message() + " (output dropped)");
  }
}

}  // namespace berth::shim
