// logs (with --follow across a ReopenContainerLog rotation, --tail, --since), reopen-log and
// events (the GetContainerEvents stream until SIGINT/SIGTERM).
// The CRI headers first: api.proto's Signal enum names its values SIGTERM, ..., which
// <signal.h> defines as macros.
#include "cli/berthctl/cri_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <deque>
#include <optional>
#include <thread>

#include "base/unique_fd.h"
#include "cli/berthctl/commands.h"
#include "crilog/log_format.h"

namespace berth::cli {

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

// --since: RFC 3339, or a duration back from now ("42m", "1h30m", "10s").
Result<int64_t> SinceNs(const std::string& since) {
  if (auto t = ParseRfc3339(since)) return *t;
  int64_t total = 0;
  size_t i = 0;
  while (i < since.size()) {
    size_t start = i;
    while (i < since.size() && (isdigit(static_cast<unsigned char>(since[i])) || since[i] == '.')) i++;
    if (start == i || i == since.size())
      return InvalidArgument("--since", since, "expected an RFC 3339 time or a duration like 42m");
    double v = std::stod(since.substr(start, i - start));
    char unit = since[i++];
    double mult = unit == 's' ? 1e9 : unit == 'm' ? 60e9 : unit == 'h' ? 3600e9 : 0;
    if (mult == 0)
      return InvalidArgument("--since", since, "units are s, m and h");
    total += static_cast<int64_t>(v * mult);
  }
  return NowNs() - total;
}

// Turns the bytes of a CRI log file into the container's output. Before Live() the lines are
// held (for --tail); after it each record is written as it comes.
class LogPrinter {
 public:
  LogPrinter(int64_t tail, bool timestamps, int64_t since_ns)
      : tail_(tail), timestamps_(timestamps), since_ns_(since_ns) {}

  void Feed(std::string_view data) {
    buf_.append(data);
    size_t start = 0;
    for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1)
      Record(std::string_view(buf_).substr(start, nl - start));
    buf_.erase(0, start);
  }

  // Prints what is held (the last --tail lines) and writes from now on as it comes.
  void Live() {
    for (auto& l : held_) Write(l.err, l.text);
    held_.clear();
    live_ = true;
  }

  // The end of the file: an unterminated last line counts (the container is still writing it).
  void End(const std::string& id, const std::string& path) {
    if (!buf_.empty()) {
      std::string rest = std::move(buf_);
      buf_.clear();
      Record(rest);
    }
    if (!live_) {
      if (in_line_) held_.push_back({pending_err_, pending_});
      Trim();
      Live();
    }
    if (bad_ > 0)
      fprintf(stderr, "berthctl: logs %s: %s: skipped %zu lines that are not CRI log records\n",
              id.c_str(), path.c_str(), bad_);
  }

 private:
  struct Line {
    bool err;
    std::string text;
  };

  void Record(std::string_view raw) {
    auto r = crilog::ParseLogLine(raw);
    if (!r) {
      bad_++;
      return;
    }
    if (since_ns_ > 0 && !in_line_) {
      auto t = ParseRfc3339(r->timestamp);
      skipping_ = t && *t < since_ns_;
    }
    if (skipping_) {
      in_line_ = r->partial;
      return;
    }
    std::string piece;
    if (!in_line_ && timestamps_) piece = std::string(r->timestamp) + " ";
    piece += r->content;
    if (!r->partial) piece += "\n";
    in_line_ = r->partial;
    if (live_) {
      Write(r->stderr_stream, piece);
      return;
    }
    pending_ += piece;
    pending_err_ = r->stderr_stream;
    if (in_line_) return;
    held_.push_back({pending_err_, std::move(pending_)});
    pending_.clear();
    Trim();
  }

  void Trim() {
    if (tail_ >= 0)
      while (held_.size() > static_cast<size_t>(tail_)) held_.pop_front();
  }

  static void Write(bool err, const std::string& text) {
    FILE* out = err ? stderr : stdout;
    fwrite(text.data(), 1, text.size(), out);
    fflush(out);
  }

  int64_t tail_;
  bool timestamps_;
  int64_t since_ns_;
  bool live_ = false, in_line_ = false, pending_err_ = false, skipping_ = false;
  std::string buf_, pending_;
  std::deque<Line> held_;
  size_t bad_ = 0;
};

// Reads fd to its end into p; true when anything was read.
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

// The log path names another file than fd (kubelet renamed it and the runtime reopened it).
bool Replaced(const std::string& path, int fd) {
  struct stat a {}, b {};
  if (stat(path.c_str(), &a) != 0 || fstat(fd, &b) != 0) return false;
  return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

// Exited or gone: nothing more will be written.
bool Finished(cri::Client& c, const std::string& id) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  auto s = c.ContainerStatus(req);
  if (!s) return s.error().IsNotFound();
  return s->status().state() == v1::CONTAINER_EXITED;
}

}  // namespace

int CriLogs(const CriCommands::Options& o, const LogsArgs& a) {
  int64_t since = 0;
  if (!a.since.empty()) {
    auto s = SinceNs(a.since);
    if (!s) return CriFail(s.error());
    since = *s;
  }
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  v1::ContainerStatusRequest req;
  req.set_container_id(a.id);
  auto s = c->ContainerStatus(req);
  if (!s) return CriFail(s.error());
  const std::string id = s->status().id();
  const std::string path = s->status().log_path();
  if (path.empty())
    return CriFail(FailedPrecondition("logs", a.id,
                                       "the container has no log file (its pod config has no "
                                       "log_directory or its config no log_path)")
                        .error());
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return CriFail(Errno("logs " + a.id + ": open", path).error());
  LogPrinter p(a.tail, a.timestamps, since);
  Drain(fd.Get(), p);
  if (!a.follow) {
    p.End(a.id, path);
    return 0;
  }
  p.Live();
  // Follow: poll the file; when the path names a new file (rotation), finish the old one and
  // go on in the new one; once the container has exited, read what is left and stop.
  auto last_check = std::chrono::steady_clock::time_point{};
  bool finished = false;
  for (;;) {
    bool any = Drain(fd.Get(), p);
    if (Replaced(path, fd.Get())) {
      Drain(fd.Get(), p);
      UniqueFd next(open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (next) fd = std::move(next);
      continue;
    }
    if (finished && !any) break;
    auto now = std::chrono::steady_clock::now();
    if (!finished && now - last_check >= std::chrono::milliseconds(500)) {
      last_check = now;
      // Seen exited: one more pass after a pause takes what the shim wrote last.
      finished = Finished(*c, id);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  p.End(a.id, path);
  return 0;
}

int CriReopenLog(const CriCommands::Options& o, const std::vector<std::string>& ids) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  int rc = 0;
  for (auto& id : ids) {
    v1::ReopenContainerLogRequest req;
    req.set_container_id(id);
    if (auto r = c->ReopenContainerLog(req); !r) rc = CriFail(r.error());
    else printf("%s\n", id.c_str());
  }
  return rc;
}

namespace {

std::string Rfc3339(int64_t ns) {
  time_t secs = ns / 1000000000;
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(ns % 1000000000));
  return buf;
}

}  // namespace

int CriEvents(const CriCommands::Options& o, const std::string& output) {
  // SIGINT and SIGTERM are taken by a thread of ours (blocked before gRPC starts its own,
  // which inherit the mask): it cancels the stream, and we leave through the normal path.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // A shell starts background jobs with SIGINT ignored; blocked, it still reaches sigwait.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  auto stream = c->GetContainerEvents({});
  if (!stream) return CriFail(stream.error());
  std::atomic<bool> done{false}, signalled{false};
  std::thread waiter([&] {
    timespec tick{0, 200 * 1000 * 1000};
    while (!done) {
      if (sigtimedwait(&set, nullptr, &tick) > 0) {
        signalled = true;
        (*stream)->Cancel();
        return;
      }
    }
  });
  v1::ContainerEventResponse e;
  while ((*stream)->Next(&e)) {
    if (output == "json") {
      printf("%s\n", ToJson(e).dump().c_str());
    } else if (output == "yaml") {
      printf("---\n%s", ToYaml(ToJson(e)).c_str());
    } else {
      const std::string& pod = e.pod_sandbox_status().id();
      printf("%s %s %s %s\n", Rfc3339(e.created_at()).c_str(),
             v1::ContainerEventType_Name(e.container_event_type()).c_str(),
             e.container_id().c_str(), pod.empty() ? "-" : pod.c_str());
    }
    fflush(stdout);
  }
  done = true;
  waiter.join();
  auto r = (*stream)->Finish();
  if (!r) return CriFail(r.error());
  if (signalled) return 0;
  fprintf(stderr, "berthctl: events: the runtime on %s ended the stream\n", c->endpoint().c_str());
  return 1;
}

}  // namespace berth::cli
