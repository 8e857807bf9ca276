#include "shim/client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/spawn.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/unix_socket.h"

namespace berth::shim {

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left until deadline for poll(2); -1 for none.
int LeftMs(bool timed, Clock::time_point deadline) {
  if (!timed) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(std::min<int64_t>(left, 1 << 30)) : 0;
}

Result<void> WaitFd(int fd, short events, bool timed, Clock::time_point deadline,
                    const char* what) {
  for (;;) {
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, LeftMs(timed, deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("poll", what);
    if (r == 0) return DeadlineExceeded(what, "berth-shim", "no answer before the deadline");
    return {};
  }
}

Result<void> SendAll(int fd, const std::string& data, bool timed, Clock::time_point deadline) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      BERTH_TRYV(WaitFd(fd, POLLOUT, timed, deadline, "send"));
      continue;
    }
    if (n < 0) return Errno("send", "berth-shim");
    off += static_cast<size_t>(n);
  }
  return {};
}

// The next frame on fd; kUnavailable when the shim closed the connection first.
Result<std::string> RecvFrame(int fd, FrameDecoder& dec, bool timed, Clock::time_point deadline) {
  for (;;) {
    auto f = BERTH_TRY(dec.Next());
    if (f) return std::move(*f);
    BERTH_TRYV(WaitFd(fd, POLLIN, timed, deadline, "receive"));
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return Errno("receive", "berth-shim");
    if (n == 0) {
      BERTH_TRYV(dec.Finish());
      return Unavailable("receive", "berth-shim", "the shim closed the connection");
    }
    dec.Feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

// {"result": …} -> result; {"error": …} -> the Error.
Result<Json> Unwrap(const std::string& payload) {
  Json j = BERTH_TRY(ParseMessage(payload));
  if (auto e = j.find("error"); e != j.end() && e->is_object())
    return std::unexpected(ErrorFromJson(*e));
  auto r = j.find("result");
  if (r == j.end())
    return DataLoss("receive", "berth-shim", "an answer with neither result nor error");
  return *r;
}

template <class T>
T Get(const Json& j, const char* key, T def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  try {
    return it->get<T>();
  } catch (const Json::exception&) {
    return def;
  }
}

}  // namespace

ContainerStatus ContainerStatusFromJson(const Json& j) {
  ContainerStatus s;
  s.id = Get<std::string>(j, "id", "");
  s.status = Get<std::string>(j, "status", "");
  s.pid = Get<pid_t>(j, "pid", 0);
  s.bundle = Get<std::string>(j, "bundle", "");
  s.log_path = Get<std::string>(j, "log_path", "");
  s.tty = Get(j, "tty", false);
  s.adopted = Get(j, "adopted", false);
  s.created_at = Get<int64_t>(j, "created_at", 0);
  s.started_at = Get<int64_t>(j, "started_at", 0);
  s.exited_at = Get<int64_t>(j, "exited_at", 0);
  s.exit_code = Get(j, "exit_code", 0);
  s.signal = Get(j, "signal", 0);
  s.oom_killed = Get(j, "oom_killed", false);
  return s;
}

Result<UniqueFd> ShimClient::Dial() const {
  auto fd = sys::ConnectUnix(socket_, "berth-shim");
  if (!fd) {
    Error e = fd.error();
    if (e.code == ENOENT || e.code == ECONNREFUSED)
      e.detail = "no shim listens there (not started, or it exited)";
    return std::unexpected(e.WithKind(ErrorKind::kUnavailable));
  }
  return fd;
}

Result<Json> ShimClient::Call(const Json& request, std::chrono::milliseconds timeout) const {
  const bool timed = timeout.count() > 0;
  const auto deadline = Clock::now() + timeout;
  UniqueFd fd = BERTH_TRY(Dial());
  std::string frame =
      BERTH_TRY(EncodeFrame(request.dump(-1, ' ', false, Json::error_handler_t::replace)));
  BERTH_TRYV(SendAll(fd.Get(), frame, timed, deadline));
  FrameDecoder dec;
  std::string payload = BERTH_TRY(RecvFrame(fd.Get(), dec, timed, deadline));
  return Unwrap(payload);
}

Result<ShimClient> ShimClient::Connect(const std::string& work_dir, Options options) {
  ShimClient c(work_dir + "/shim.sock", options);
  Json r = BERTH_TRY(c.Call({{"op", "hello"}}, options.call_timeout));
  c.info_.version = Get<uint32_t>(r, "version", 0);
  c.info_.ns = Get<std::string>(r, "namespace", "");
  c.info_.id = Get<std::string>(r, "id", "");
  c.info_.work_dir = Get<std::string>(r, "work_dir", "");
  c.info_.address = Get<std::string>(r, "address", "");
  c.info_.runtime = Get<std::string>(r, "runtime", "");
  c.info_.runtime_root = Get<std::string>(r, "runtime_root", "");
  c.info_.pid = Get<pid_t>(r, "pid", 0);
  if (c.info_.version != kProtocolVersion)
    return FailedPrecondition("connect", work_dir,
                              "the shim speaks protocol " + std::to_string(c.info_.version) +
                                  ", this client " + std::to_string(kProtocolVersion));
  return c;
}

Result<ContainerStatus> ShimClient::Create(const CreateRequest& r) const {
  Json req = {
      {"op", "create"}, {"id", r.id},       {"bundle", r.bundle},        {"log_path", r.log_path},
      {"tty", r.tty},   {"stdin", r.stdin}, {"stdin_once", r.stdin_once}};
  return ContainerStatusFromJson(BERTH_TRY(Call(req, options_.call_timeout)));
}

Result<ContainerStatus> ShimClient::Start(const std::string& id) const {
  return ContainerStatusFromJson(
      BERTH_TRY(Call({{"op", "start"}, {"id", id}}, options_.call_timeout)));
}

Result<void> ShimClient::Kill(const std::string& id, int signal, bool all) const {
  BERTH_TRYV(
      Call({{"op", "kill"}, {"id", id}, {"signal", signal}, {"all", all}}, options_.call_timeout));
  return {};
}

Result<ContainerStatus> ShimClient::State(const std::string& id) const {
  return ContainerStatusFromJson(
      BERTH_TRY(Call({{"op", "state"}, {"id", id}}, options_.call_timeout)));
}

Result<std::vector<ContainerStatus>> ShimClient::List() const {
  Json r = BERTH_TRY(Call({{"op", "list"}}, options_.call_timeout));
  std::vector<ContainerStatus> out;
  if (auto it = r.find("containers"); it != r.end() && it->is_array())
    for (const auto& c : *it) out.push_back(ContainerStatusFromJson(c));
  return out;
}

Result<ExecResult> ShimClient::ExecSync(const ExecRequest& r) const {
  Json req = {{"op", "exec_sync"},
              {"id", r.id},
              {"args", r.args},
              {"env", r.env},
              {"cwd", r.cwd},
              {"user", r.user},
              {"timeout_ms", r.timeout.count()},
              {"max_output_bytes", r.max_output_bytes}};
  // No client deadline for an exec without one (CRI: timeout 0 waits for ever).
  auto limit =
      r.timeout.count() > 0 ? r.timeout + options_.call_timeout : std::chrono::milliseconds(0);
  Json j = BERTH_TRY(Call(req, limit));
  ExecResult x;
  x.exit_code = Get(j, "exit_code", 0);
  x.signal = Get(j, "signal", 0);
  x.timed_out = Get(j, "timed_out", false);
  x.truncated = Get(j, "truncated", false);
  x.out = BERTH_TRY(Base64Decode(Get<std::string>(j, "stdout", "")));
  x.err = BERTH_TRY(Base64Decode(Get<std::string>(j, "stderr", "")));
  return x;
}

Result<void> ShimClient::ReopenLog(const std::string& id) const {
  BERTH_TRYV(Call({{"op", "reopen_log"}, {"id", id}}, options_.call_timeout));
  return {};
}

Result<void> ShimClient::Delete(const std::string& id, bool force) const {
  BERTH_TRYV(Call({{"op", "delete"}, {"id", id}, {"force", force}}, options_.call_timeout));
  return {};
}

Result<ContainerStatus> ShimClient::Wait(const std::string& id,
                                         std::chrono::milliseconds timeout) const {
  return ContainerStatusFromJson(BERTH_TRY(Call({{"op", "wait"}, {"id", id}}, timeout)));
}

Result<void> ShimClient::Shutdown() const {
  BERTH_TRYV(Call({{"op", "shutdown"}}, options_.call_timeout));
  return {};
}

Result<EventStream> ShimClient::Subscribe() const {
  const auto deadline = Clock::now() + options_.call_timeout;
  UniqueFd fd = BERTH_TRY(Dial());
  BERTH_TRYV(
      SendAll(fd.Get(), BERTH_TRY(EncodeFrame(Json{{"op", "subscribe"}}.dump())), true, deadline));
  EventStream s(std::move(fd));
  BERTH_TRYV(Unwrap(BERTH_TRY(RecvFrame(s.fd_.Get(), s.decoder_, true, deadline))));
  return s;
}

Result<ExitEvent> EventStream::WaitEvent(std::chrono::milliseconds timeout) {
  std::string payload =
      BERTH_TRY(RecvFrame(fd_.Get(), decoder_, timeout.count() > 0, Clock::now() + timeout));
  Json j = BERTH_TRY(ParseMessage(payload));
  auto ev = j.find("event");
  if (ev == j.end() || !ev->is_object()) return DataLoss("receive", "berth-shim", "not an event");
  ExitEvent e;
  e.id = Get<std::string>(*ev, "id", "");
  e.pid = Get<pid_t>(*ev, "pid", 0);
  e.exit_code = Get(*ev, "exit_code", 0);
  e.signal = Get(*ev, "signal", 0);
  e.oom_killed = Get(*ev, "oom_killed", false);
  e.exited_at = Get<int64_t>(*ev, "exited_at", 0);
  return e;
}

namespace {

// RecvFrame for an answer that may carry fds (SCM_RIGHTS with its first byte): each read is
// a recvmsg, so none is dropped by the kernel.
Result<std::string> RecvFrameFds(int fd, FrameDecoder& dec, std::vector<UniqueFd>& fds,
                                 Clock::time_point deadline) {
  for (;;) {
    auto f = BERTH_TRY(dec.Next());
    if (f) return std::move(*f);
    BERTH_TRYV(WaitFd(fd, POLLIN, true, deadline, "receive"));
    auto got = sys::RecvFds(fd, 65536, 4, "berth-shim");
    if (!got) {
      if (got.error().IsUnavailable()) {
        BERTH_TRYV(dec.Finish());
        return Unavailable("receive", "berth-shim", "the shim closed the connection");
      }
      return std::unexpected(got.error());
    }
    for (auto& x : got->fds) fds.push_back(std::move(x));
    dec.Feed(got->data);
  }
}

Result<UniqueFd> Dup(int fd, const char* what) {
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return Errno("dup", what);
  return UniqueFd(d);
}

}  // namespace

Result<StreamSession> ShimClient::OpenStream(const Json& request, bool attach, bool in,
                                             bool out) const {
  const auto deadline = Clock::now() + options_.call_timeout;
  StreamSession s;
  s.attach_ = attach;
  s.conn_ = BERTH_TRY(Dial());
  std::string frame =
      BERTH_TRY(EncodeFrame(request.dump(-1, ' ', false, Json::error_handler_t::replace)));
  BERTH_TRYV(SendAll(s.conn_.Get(), frame, true, deadline));
  std::vector<UniqueFd> fds;
  Json r = BERTH_TRY(Unwrap(BERTH_TRY(RecvFrameFds(s.conn_.Get(), s.decoder_, fds, deadline))));
  std::vector<std::string> names;
  if (auto it = r.find("fds"); it != r.end() && it->is_array())
    for (const auto& n : *it) names.push_back(n.is_string() ? n.get<std::string>() : "");
  if (names.size() != fds.size())
    return DataLoss("receive", "berth-shim",
                    "the answer names " + std::to_string(names.size()) + " fds and carried " +
                        std::to_string(fds.size()));
  for (size_t k = 0; k < fds.size(); k++) {
    UniqueFd* slot = names[k] == "stdin"    ? &s.stdin_
                     : names[k] == "stdout" ? &s.stdout_
                     : names[k] == "stderr" ? &s.stderr_
                     : names[k] == "tty"    ? &s.tty_
                                            : nullptr;
    if (!slot) return DataLoss("receive", "berth-shim", "an fd named \"" + names[k] + "\"");
    *slot = std::move(fds[k]);
  }
  // The terminal is both streams: each gets an fd of its own (the caller may poll both).
  if (s.tty_ && in && !s.stdin_) s.stdin_ = BERTH_TRY(Dup(s.tty_.Get(), "pty master"));
  if (s.tty_ && out && !s.stdout_) s.stdout_ = BERTH_TRY(Dup(s.tty_.Get(), "pty master"));
  s.pid_ = Get<pid_t>(r, "pid", 0);
  return s;
}

Result<StreamSession> ShimClient::ExecStream(const StreamExecRequest& r) const {
  Json req = {{"op", "exec"},     {"id", r.id},         {"args", r.args},
              {"env", r.env},     {"cwd", r.cwd},       {"user", r.user},
              {"tty", r.tty},     {"stdin", r.stdin},   {"stdout", r.stdout},
              {"stderr", r.stderr}, {"width", r.width}, {"height", r.height}};
  return OpenStream(req, false, r.stdin, r.stdout);
}

Result<StreamSession> ShimClient::Attach(const AttachRequest& r) const {
  Json req = {{"op", "attach"},
              {"id", r.id},
              {"stdin", r.stdin},
              {"stdout", r.stdout},
              {"stderr", r.stderr}};
  return OpenStream(req, true, r.stdin, r.stdout);
}

Result<void> StreamSession::Resize(uint16_t width, uint16_t height) const {
  if (!tty_) return FailedPrecondition("resize", "session", "not a terminal session");
  winsize ws{};
  ws.ws_col = width;
  ws.ws_row = height;
  if (ioctl(tty_.Get(), TIOCSWINSZ, &ws) < 0) return Errno("ioctl TIOCSWINSZ", "pty master");
  return {};
}

Result<void> StreamSession::CloseStdin() {
  if (tty_ && stdin_) {
    // The line discipline turns VEOF at the start of a line into EOF for the reader; a
    // terminal in raw mode gets the byte.
    termios t{};
    char eof = tcgetattr(tty_.Get(), &t) == 0 && t.c_cc[VEOF] ? static_cast<char>(t.c_cc[VEOF])
                                                                : '\x04';
    for (;;) {
      ssize_t n = write(stdin_.Get(), &eof, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        pollfd p{stdin_.Get(), POLLOUT, 0};
        if (poll(&p, 1, 5000) > 0) continue;
      }
      if (n < 0) return Errno("write", "pty master", "the terminal's EOF character");
      break;
    }
  } else {
    stdin_.Reset();
  }
  if (attach_ && conn_) {
    // stdin_once is the shim's: it holds the container's stdin. No answer comes.
    auto frame = EncodeFrame(Json{{"op", "close_stdin"}}.dump());
    if (frame)
      BERTH_TRYV(SendAll(conn_.Get(), *frame, true, Clock::now() + std::chrono::seconds(10)));
  }
  return {};
}

Result<StreamExit> StreamSession::Wait(std::chrono::milliseconds timeout) {
  const bool timed = timeout.count() > 0;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string payload = BERTH_TRY(RecvFrame(conn_.Get(), decoder_, timed, deadline));
    Json j = BERTH_TRY(ParseMessage(payload));
    if (auto e = j.find("error"); e != j.end() && e->is_object())
      return std::unexpected(ErrorFromJson(*e));
    auto x = j.find("exit");
    if (x == j.end() || !x->is_object()) continue;  // not ours to read: skipped
    StreamExit out;
    out.exit_code = Get(*x, "exit_code", 0);
    out.signal = Get(*x, "signal", 0);
    out.oom_killed = Get(*x, "oom_killed", false);
    out.exited_at = Get<int64_t>(*x, "exited_at", 0);
    return out;
  }
}

void StreamSession::Abandon() {
  // shutdown, not close: another thread may be in Wait's poll on this fd.
  if (conn_) ::shutdown(conn_.Get(), SHUT_RDWR);
}

namespace {

// The last lines of the shim's log, for an error that says why it did not start.
std::string LogTail(const std::string& path, size_t lines) {
  auto text = sys::ReadFile(path);
  if (!text || text->empty()) return "";
  size_t pos = text->size();
  if ((*text)[pos - 1] == '\n') pos--;
  for (size_t n = 0; n < lines && pos > 0; n++) {
    size_t nl = text->rfind('\n', pos - 1);
    pos = nl == std::string::npos ? 0 : nl;
    if (nl == std::string::npos) break;
  }
  std::string tail = text->substr(pos == 0 ? 0 : pos + 1);
  while (!tail.empty() && tail.back() == '\n') tail.pop_back();
  for (auto& ch : tail)
    if (ch == '\n') ch = '|';
  return tail;
}

}  // namespace

Result<pid_t> SpawnShim(const SpawnShimOptions& o) {
  std::vector<std::string> argv = {o.shim_binary, "--namespace", o.ns,       "--id",
                                   o.id,          "--work-dir",  o.work_dir, "--address",
                                   o.address,     "--runtime",   o.runtime,  "--runtime-root",
                                   o.runtime_root};
  if (!o.log_level.empty()) {
    argv.push_back("--log-level");
    argv.push_back(o.log_level);
  }
  if (o.runtime_copy_fd > 2) {
    argv.push_back("--runtime-copy");
    argv.push_back(std::to_string(o.runtime_copy_fd) + ":" + o.runtime_copy_id);
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return Errno("pipe2", "spawn berth-shim");
  UniqueFd err_r(p[0]), err_w(p[1]);
  sys::SpawnOptions so{-1, -1, err_w.Get(), true};
  so.keep = o.runtime_copy_fd;
  pid_t pid = BERTH_TRY(sys::SpawnProcess(o.shim_binary, argv, so));
  err_w.Reset();
  auto pidfd = sys::PidfdOpen(pid);
  const auto deadline = Clock::now() + o.timeout;
  const std::string what = "spawn berth-shim for " + o.ns + "/" + o.id;
  // The launcher exits once the daemon serves (or failed); its stderr says why.
  std::string err_text;
  bool exited = false;
  while (!exited) {
    pollfd fds[2] = {{err_r ? err_r.Get() : -1, POLLIN, 0}, {pidfd ? pidfd->Get() : -1, POLLIN, 0}};
    int r = poll(fds, 2, LeftMs(true, deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (fds[0].revents) {
      char buf[4096];
      ssize_t n = read(err_r.Get(), buf, sizeof buf);
      if (n > 0 && err_text.size() < 16384) err_text.append(buf, static_cast<size_t>(n));
      if (n == 0) err_r.Reset();
    }
    if (fds[1].revents & POLLIN) exited = true;
    if (!pidfd && !err_r) exited = true;  // no pidfd: the launcher's stderr closing is its exit
  }
  // What the launcher wrote just before it exited (it is the pipe's last writer by then:
  // the daemon has pointed its stderr at shim.log, or exited).
  while (exited && err_r) {
    pollfd p{err_r.Get(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) break;
    char buf[4096];
    ssize_t n = read(err_r.Get(), buf, sizeof buf);
    if (n <= 0) break;
    if (err_text.size() < 16384) err_text.append(buf, static_cast<size_t>(n));
  }
  std::string log_tail = LogTail(o.work_dir + "/shim.log", 5);
  auto with_output = [&](std::string detail) {
    while (!err_text.empty() && (err_text.back() == '\n' || err_text.back() == ' '))
      err_text.pop_back();
    if (!err_text.empty()) detail += ": " + err_text;
    if (!log_tail.empty()) detail += " (shim.log: " + log_tail + ")";
    return detail;
  };
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return DeadlineExceeded(
        what, o.work_dir,
        with_output("not serving after " + std::to_string(o.timeout.count()) + " ms"));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "killed by " + sys::SignalName(WTERMSIG(status));
    // The launcher's exit status says which kind (main.cc: 2 bad flags, 3 work dir taken).
    ErrorKind kind = WIFEXITED(status) && WEXITSTATUS(status) == 2   ? ErrorKind::kInvalidArgument
                     : WIFEXITED(status) && WEXITSTATUS(status) == 3 ? ErrorKind::kAlreadyExists
                                                                     : ErrorKind::kUnavailable;
    return Fail(kind, what, o.work_dir, with_output("the shim did not start (" + how + ")"));
  }
  auto text = sys::ReadFile(o.work_dir + "/shim.pid");
  pid_t daemon = text ? static_cast<pid_t>(atoi(text->c_str())) : 0;
  if (daemon <= 0)
    return Internal(what, o.work_dir + "/shim.pid", with_output("no pid in shim.pid"));
  return daemon;
}

}  // namespace berth::shim
