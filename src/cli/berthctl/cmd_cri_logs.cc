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
#include "cli/berthctl/log_printer.h"

namespace berth::cli {

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
  auto ref = FindContainerRef(o, a.id);
  if (!ref) return CriFail(ref.error());
  auto c = CriConnect(ref->opts);
  if (!c) return CriFail(c.error());
  const std::string id = ref->status.id();
  const std::string path = ref->status.log_path();
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
  // The waiter sleeps in sigwaitinfo; when the stream ends from the runtime's side, a
  // SIGTERM sent to that thread alone (done already set) wakes it without a polling tick.
  std::thread waiter([&] {
    while (sigwaitinfo(&set, nullptr) < 0) {
    }
    if (done) return;
    signalled = true;
    (*stream)->Cancel();
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
  if (!signalled) pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  auto r = (*stream)->Finish();
  if (!r) return CriFail(r.error());
  if (signalled) return 0;
  fprintf(stderr, "berthctl: events: the runtime on %s ended the stream\n", c->endpoint().c_str());
  return 1;
}

}  // namespace berth::cli
