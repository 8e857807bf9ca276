// The server's frame: start-up, the connection loop, request dispatch, child reaping and
// runtime commands. Container and exec operations are in containers.cc and exec_sync.cc.
#include "shim/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "shim/runtime_message.h"
#include "sys/spawn.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/sealed_copy.h"
#include "sys/unix_socket.h"

namespace berth::shim {

namespace {
// Streaming execs and attachments hold theirs for their whole life.
constexpr size_t kMaxConns = 256;
constexpr size_t kMaxUnclaimed = 256;
// A subscriber that stops reading is dropped once this much is queued for it.
constexpr size_t kMaxQueued = 4u << 20;
constexpr size_t kMaxRuntimeStderr = 64 * 1024;
}  // namespace

Result<void> ValidateId(const std::string& id, const char* what) {
  if (id.empty() || id.size() > 128)
    return InvalidArgument(what, id, "must be 1-128 characters long");
  if (id[0] == '.' || id[0] == '-')
    return InvalidArgument(what, id, "must not start with '.' or '-'");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return InvalidArgument(what, id, "may hold only letters, digits, '_', '.' and '-'");
  }
  return {};
}

Result<void> ValidateOptions(const ShimOptions& o) {
  auto need = [](const std::string& v, const char* flag) -> Result<void> {
    if (v.empty()) return InvalidArgument(flag, "", "is required");
    return {};
  };
  BERTH_TRYV(need(o.ns, "--namespace"));
  BERTH_TRYV(need(o.id, "--id"));
  BERTH_TRYV(need(o.work_dir, "--work-dir"));
  BERTH_TRYV(need(o.runtime, "--runtime"));
  BERTH_TRYV(need(o.runtime_root, "--runtime-root"));
  BERTH_TRYV(ValidateId(o.ns, "--namespace"));
  BERTH_TRYV(ValidateId(o.id, "--id"));
  if (o.work_dir[0] != '/') return InvalidArgument("--work-dir", o.work_dir, "must be absolute");
  if (o.runtime[0] != '/')
    return InvalidArgument("--runtime", o.runtime, "must be an absolute path");
  if (o.runtime_root[0] != '/')
    return InvalidArgument("--runtime-root", o.runtime_root, "must be absolute");
  if (access(o.runtime.c_str(), X_OK) != 0) return Errno("--runtime", o.runtime);
  if ((o.work_dir + "/shim.sock").size() >= sizeof(sockaddr_un::sun_path))
    return InvalidArgument(
        "--work-dir", o.work_dir,
        "too long for a unix socket path (" + o.work_dir + "/shim.sock must be under 108 bytes)");
  return {};
}

Result<std::unique_ptr<Server>> Server::Start(ShimOptions options) {
  BERTH_TRYV(ValidateOptions(options));
  std::unique_ptr<Server> s(new Server(std::move(options)));
  BERTH_TRYV(s->Setup());
  return s;
}

Server::~Server() = default;

Result<void> Server::Setup() {
  if (opt_.runtime_copy_fd >= 0) {
    // Inherited without close-on-exec: no other child of ours gets it. Only a sealed copy
    // is ever exec'd in place of the runtime.
    int fd = opt_.runtime_copy_fd;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || !sys::IsSealedCopy(fd)) {
      log::Warn("--runtime-copy: fd " + std::to_string(fd) +
                " is not a sealed copy of the runtime; exec runs " + opt_.runtime);
      if (fd > 2) close(fd);
      opt_.runtime_copy_fd = -1;
    }
  }
  const std::string& wd = opt_.work_dir;
  BERTH_TRYV(sys::MkdirAll(wd, 0700));
  auto lock = sys::LockFile(wd + "/shim.lock", LOCK_EX | LOCK_NB);
  if (!lock) {
    if (lock.error().code != EWOULDBLOCK) return std::unexpected(lock.error());
    auto pid = sys::ReadFile(wd + "/shim.pid");
    return AlreadyExists(
        "berth-shim", wd,
        "another shim serves this work dir" +
            (pid ? " (pid " + std::string(pid->substr(0, pid->find('\n'))) + ")" : std::string()));
  }
  lock_ = std::move(*lock);
  BERTH_TRYV(loop_.Init());

  // A subreaper: the container inits that `create` leaves behind become our children.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) return Errno("prctl PR_SET_CHILD_SUBREAPER");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return Errno("sigprocmask");
  sigfd_.Reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd_) return Errno("signalfd");
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  BERTH_TRYV(loop_.Add(sigfd_.Get(), EPOLLIN, [this](uint32_t) { OnSignal(); }));

  const std::string sock = wd + "/shim.sock";
  if (unlink(sock.c_str()) < 0 && errno != ENOENT) return Errno("unlink", sock);
  listener_.Reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener_) return Errno("socket", sock);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  sock.copy(addr.sun_path, sizeof addr.sun_path - 1);
  // umask 0177 while binding: the socket is 0600 from its first moment.
  mode_t old = umask(0177);
  int rc = bind(listener_.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc < 0) return Errno("bind", sock);
  if (listen(listener_.Get(), 64) < 0) return Errno("listen", sock);
  BERTH_TRYV(loop_.Add(listener_.Get(), EPOLLIN, [this](uint32_t) { OnAccept(); }));

  Json info = {{"namespace", opt_.ns},
               {"id", opt_.id},
               {"address", opt_.address},
               {"runtime", opt_.runtime},
               {"runtime_root", opt_.runtime_root},
               {"pid", getpid()},
               {"version", kProtocolVersion}};
  BERTH_TRYV(sys::WriteFileAtomic(wd + "/shim.json", info.dump() + "\n", 0600));
  LoadContainers();
  BERTH_TRYV(sys::WriteFileAtomic(wd + "/shim.pid", std::to_string(getpid()) + "\n", 0644));
  log::Info("berth-shim " + std::to_string(getpid()) + " serves " + opt_.ns + "/" + opt_.id +
            " on " + sock);
  return {};
}

Result<void> Server::Run() {
  while (!stopping_) BERTH_TRYV(loop_.RunOnce());
  // The shutdown answer (and anything else queued) goes out before the socket disappears.
  const int64_t deadline = MonotonicMs() + 1000;
  loop_.AddTimer(deadline, [] {});  // wakes the loop even if no client reads
  while (MonotonicMs() < deadline) {
    bool pending = false;
    for (auto& [id, c] : conns_) pending |= !c->out.empty();
    if (!pending) break;
    BERTH_TRYV(loop_.RunOnce());
  }
  unlink((opt_.work_dir + "/shim.sock").c_str());
  unlink((opt_.work_dir + "/shim.pid").c_str());
  log::Info("berth-shim " + std::to_string(getpid()) + " shut down");
  return {};
}

bool Server::AnythingRunning(std::string* what) const {
  for (auto& [id, c] : containers_) {
    if (c->status != Status::kStopped) {
      *what = "container \"" + id + "\" is " +
              (c->status == Status::kCreating  ? "being created"
               : c->status == Status::kCreated ? "created (its init is alive)"
                                               : "running");
      return true;
    }
  }
  if (!execs_.empty()) {
    *what = std::to_string(execs_.size()) + " exec(s) are running";
    return true;
  }
  if (pending_runtime_ > 0) {
    *what = "a runtime command is running";
    return true;
  }
  return false;
}

// ---- connections ----

void Server::OnAccept() {
  for (;;) {
    int fd = accept4(listener_.Get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        log::Warn("accept on shim.sock: " + Errno("accept").error().Message());
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    UniqueFd conn_fd(fd);
    if (conns_.size() >= kMaxConns) {
      log::Warn("refused a connection: " + std::to_string(kMaxConns) + " are open");
      continue;
    }
    auto c = std::make_unique<Conn>();
    c->id = next_conn_++;
    c->fd = std::move(conn_fd);
    uint64_t id = c->id;
    auto token = loop_.Add(c->fd.Get(), EPOLLIN, [this, id](uint32_t ev) { OnConnEvent(id, ev); });
    if (!token) {
      log::Warn(token.error().Message());
      continue;
    }
    c->token = *token;
    conns_.emplace(id, std::move(c));
  }
}

void Server::OnConnEvent(uint64_t conn_id, uint32_t events) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (events & EPOLLOUT) {
    FlushConn(c);
    if (!conns_.contains(conn_id)) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    char buf[16384];
    for (;;) {
      ssize_t n = recv(c.fd.Get(), buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n <= 0) {
        // The client went away (or was killed): whatever it asked for goes on without it.
        if (auto r = c.decoder.Finish(); !r)
          log::Debug("connection closed: " + r.error().Message());
        CloseConn(conn_id);
        return;
      }
      if (c.subscriber) continue;  // a subscriber has nothing more to ask
      c.decoder.Feed(std::string_view(buf, static_cast<size_t>(n)));
      if (c.decoder.Buffered() > kMaxFrame + 4) break;  // framing below reports it
    }
    // A client that keeps sending while its request runs is not buffered without bound.
    if (c.busy && c.decoder.Buffered() > kMaxFrame + 4) {
      log::Warn("dropped a connection that sent more than a frame's bound while waiting");
      CloseConn(conn_id);
      return;
    }
  }
  // One request at a time per connection: the next waits until this one is answered.
  while (!c.busy && !c.subscriber && !c.close_after_write) {
    auto frame = c.decoder.Next();
    if (!frame) {
      c.close_after_write = true;
      SendFrame(c, ErrorResponse(frame.error()));
      return;
    }
    if (!*frame) break;
    HandleFrame(c, **frame);
    if (!conns_.contains(conn_id)) return;
  }
}

void Server::HandleFrame(Conn& c, const std::string& payload) {
  c.busy = true;
  // Idle means no request for a while (a container's output keeps coming: that code is
  // small and stays mapped).
  if (idle_hook_) {
    loop_.CancelTimer(idle_timer_);
    idle_timer_ = loop_.AddTimer(MonotonicMs() + idle_delay_ms_, [this] {
      idle_timer_ = 0;
      idle_hook_();
    });
  }
  const uint64_t id = c.id;
  auto req = ParseMessage(payload);
  if (!req) return ReplyError(id, req.error());
  auto op = GetString(*req, "op");
  if (!op) return ReplyError(id, op.error());
  log::Debug("request " + *op);
  if (c.stream_exec || c.attachment) {
    // A stream's connection: its answer is out, the final frame follows; nothing is answered.
    c.busy = false;
    if (*op == "close_stdin" && c.attachment) return OpCloseStdin(c);
    log::Warn("ignored a request \"" + *op + "\" on a streaming connection");
    return;
  }
  if (*op == "hello") {
    ReplyResult(id, {{"version", kProtocolVersion},
                     {"namespace", opt_.ns},
                     {"id", opt_.id},
                     {"pid", getpid()},
                     {"work_dir", opt_.work_dir},
                     {"address", opt_.address},
                     {"runtime", opt_.runtime},
                     {"runtime_root", opt_.runtime_root},
                     {"containers", containers_.size()}});
  } else if (*op == "create") {
    OpCreate(id, *req);
  } else if (*op == "start") {
    OpStart(id, *req);
  } else if (*op == "kill") {
    OpKill(id, *req);
  } else if (*op == "state") {
    auto cid = GetString(*req, "id");
    if (!cid) return ReplyError(id, cid.error());
    auto ctr = Find(*cid, "state");
    if (!ctr) return ReplyError(id, ctr.error());
    ReplyResult(id, Info(**ctr));
  } else if (*op == "list") {
    Json list = Json::array();
    for (auto& [cid, ctr] : containers_) list.push_back(Info(*ctr));
    ReplyResult(id, {{"containers", std::move(list)}});
  } else if (*op == "exec_sync") {
    OpExecSync(id, *req);
  } else if (*op == "exec") {
    OpExec(id, *req);
  } else if (*op == "attach") {
    OpAttach(id, *req);
  } else if (*op == "reopen_log") {
    OpReopenLog(id, *req);
  } else if (*op == "delete") {
    OpDelete(id, *req);
  } else if (*op == "wait") {
    OpWait(id, *req);
  } else if (*op == "subscribe") {
    c.subscriber = true;
    ReplyResult(id, {{"subscribed", true}});
  } else if (*op == "shutdown") {
    std::string what;
    if (AnythingRunning(&what))
      return ReplyError(id,
                        FailedPrecondition("shutdown", opt_.id, what + "; the shim stays").error());
    ReplyResult(id, Json::object());
    stopping_ = true;
  } else {
    ReplyError(id, Unimplemented(*op, "request", "no such operation").error());
  }
}

void Server::Reply(uint64_t conn_id, const std::string& body) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) return;  // the client left; the work was done anyway
  Conn& c = *it->second;
  c.busy = false;
  SendFrame(c, body);
  if (conns_.contains(conn_id) && c.decoder.Buffered() > 0 && !c.subscriber)
    loop_.AddTimer(0, [this, conn_id] { OnConnEvent(conn_id, 0); });
}

void Server::ReplyWithFds(uint64_t conn_id, Json result, std::vector<UniqueFd> fds) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) return;  // the fds are closed: nobody is there to take them
  Conn& c = *it->second;
  c.busy = false;
  if (!fds.empty()) {
    c.fds = std::move(fds);
    c.fds_at = c.out.size();
  }
  SendFrame(c, ResultResponse(std::move(result)));
  // Requests that arrived meanwhile are served from the loop, not from inside this call.
  if (conns_.contains(conn_id) && c.decoder.Buffered() > 0 && !c.subscriber)
    loop_.AddTimer(0, [this, conn_id] { OnConnEvent(conn_id, 0); });
}

void Server::SendFrame(Conn& c, const std::string& body) {
  auto frame = EncodeFrame(body);
  if (!frame) frame = EncodeFrame(ErrorResponse(frame.error().Wrap("answer")));
  c.out += *frame;
  FlushConn(c);
}

void Server::FlushConn(Conn& c) {
  while (!c.out.empty()) {
    if (!c.fds.empty() && c.fds_at == 0) {
      // The fds travel with the first byte of their frame (a stream socket carries none
      // without a byte).
      std::vector<int> raw;
      for (const auto& f : c.fds) raw.push_back(f.Get());
      auto r = sys::SendFds(c.fd.Get(), raw, std::string_view(c.out.data(), 1), "a client");
      if (!r && r.error().code == EAGAIN) break;
      if (!r) return CloseConn(c.id);
      c.fds.clear();  // the client has them now; the shim's copies close
      c.out.erase(0, 1);
      continue;
    }
    size_t len = c.fds.empty() ? c.out.size() : c.fds_at;
    ssize_t n = send(c.fd.Get(), c.out.data(), len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return CloseConn(c.id);
    c.out.erase(0, static_cast<size_t>(n));
    if (!c.fds.empty()) c.fds_at -= static_cast<size_t>(n);
  }
  if (c.out.empty() && c.close_after_write) return CloseConn(c.id);
  (void)loop_.Modify(c.token, c.out.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT);
}

void Server::CloseConn(uint64_t conn_id) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) return;
  loop_.Remove(it->second->token);
  const uint64_t exec = it->second->stream_exec, attach = it->second->attachment;
  conns_.erase(it);
  // berthd went away from a stream: an exec'd process is killed, an attachment dropped.
  if (exec) AbandonStreamExec(exec);
  if (attach) DropAttachment(attach);
}

void Server::Publish(const Json& event) {
  const std::string body =
      Json{{"event", event}}.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::vector<uint64_t> slow;
  for (auto& [id, c] : conns_) {
    if (!c->subscriber) continue;
    if (c->out.size() > kMaxQueued) {
      slow.push_back(id);
      continue;
    }
    SendFrame(*c, body);
  }
  for (uint64_t id : slow) {
    log::Warn("dropped an event subscriber that stopped reading");
    CloseConn(id);
  }
}

// ---- children ----

void Server::OnSignal() {
  signalfd_siginfo si;
  bool chld = false;
  while (read(sigfd_.Get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGCHLD) {
      chld = true;
    } else {
      std::string what;
      if (AnythingRunning(&what)) {
        log::Warn("signal " + sys::SignalName(static_cast<int>(si.ssi_signo)) +
                  " ignored: " + what);
      } else {
        log::Info("signal " + sys::SignalName(static_cast<int>(si.ssi_signo)) + ": shutting down");
        stopping_ = true;
      }
    }
  }
  if (chld) ReapAll();
}

void Server::ReapAll() {
  std::vector<std::pair<pid_t, int>> reaped;
  for (;;) {
    int st = 0;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid <= 0) break;
    reaped.emplace_back(pid, st);
  }
  // Unwatched exits are filed first: a runtime's exit handled below may look for the exit
  // of the init it started, reaped in the same round.
  for (auto& [pid, st] : reaped)
    if (!children_.contains(pid)) OnReaped(pid, st);
  for (auto& [pid, st] : reaped)
    if (children_.contains(pid)) OnReaped(pid, st);
}

void Server::OnReaped(pid_t pid, int status) {
  auto it = children_.find(pid);
  if (it == children_.end()) {
    // Intermediate processes of `create`/`exec` land here too; the list stays bounded.
    unclaimed_.emplace_back(pid, status);
    if (unclaimed_.size() > kMaxUnclaimed) unclaimed_.pop_front();
    return;
  }
  loop_.Remove(it->second.token);
  auto fn = std::move(it->second.fn);
  children_.erase(it);
  fn(status);
}

void Server::WatchChild(pid_t pid, std::function<void(int status)> fn) {
  auto pidfd = sys::PidfdOpen(pid);
  if (!pidfd) {
    // Gone: reaped already (a child that exited before anyone asked for it), else a
    // process we adopted that has exited, whose status went to its real parent.
    // A live (or zombie) process is looked up first, so a stale entry of a recycled pid
    // in unclaimed_ is never taken for it.
    for (auto it = unclaimed_.begin(); it != unclaimed_.end(); ++it) {
      if (it->first == pid) {
        int st = it->second;
        unclaimed_.erase(it);
        return fn(st);
      }
    }
    return fn(-1);
  }
  Child ch;
  ch.fn = std::move(fn);
  auto token = loop_.Add(pidfd->Get(), EPOLLIN, [this, pid](uint32_t) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return OnReaped(pid, st);
    // ECHILD: not our child (adopted after a restart): it exited, its status is lost.
    if (r < 0 && errno == ECHILD && children_.contains(pid)) OnReaped(pid, -1);
  });
  if (token) ch.token = *token;
  ch.pidfd = std::move(*pidfd);
  children_[pid] = std::move(ch);
}

bool Server::SignalChild(pid_t pid, int sig) {
  auto it = children_.find(pid);
  if (it == children_.end() || !it->second.pidfd) return false;
  return static_cast<bool>(sys::PidfdSendSignal(it->second.pidfd, sig));
}

// exec puts a runtime process into a running container: from berthd's sealed copy when there
// is one and the runtime file is still the one copied (an upgraded runtime is run as the new
// file, which then protects itself), so that `berth exec` need not copy itself each time
// (CVE-2019-5736, sys/sealed_copy.h). argv[0] stays the runtime's path.
std::string Server::RuntimeBinaryFor(const std::string& command) const {
  if (command != "exec" || opt_.runtime_copy_fd < 0) return opt_.runtime;
  struct stat st {};
  if (stat(opt_.runtime.c_str(), &st) != 0 || sys::FileIdentity(st) != opt_.runtime_copy_id)
    return opt_.runtime;
  return "/proc/self/fd/" + std::to_string(opt_.runtime_copy_fd);
}

pid_t Server::RunRuntime(const std::string& command, const std::string& id,
                         std::vector<std::string> args, int in, int out, int err,
                         const std::string& log_file, std::function<void(Result<void>)> done) {
  std::vector<std::string> argv = {opt_.runtime, "--root", opt_.runtime_root,
                                   "--log",      log_file, "--log-format",
                                   "json",       command};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  struct stat st {};
  off_t offset = stat(log_file.c_str(), &st) == 0 ? st.st_size : 0;

  // Commands whose stderr is not the container's get it captured for their error text.
  struct Capture {
    UniqueFd fd;
    uint64_t token = 0;
    std::string text;
    bool timed_out = false;
  };
  auto cap = std::make_shared<Capture>();
  UniqueFd err_w;
  if (err < 0) {
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
      cap->fd.Reset(p[0]);
      err_w.Reset(p[1]);
      err = p[1];
      auto drain = [cap] {
        char buf[4096];
        ssize_t n;
        while ((n = read(cap->fd.Get(), buf, sizeof buf)) > 0)
          if (cap->text.size() < kMaxRuntimeStderr) cap->text.append(buf, static_cast<size_t>(n));
      };
      if (auto t = loop_.Add(cap->fd.Get(), EPOLLIN, [drain](uint32_t) { drain(); }); t)
        cap->token = *t;
    }
  }
  log::Debug("run " + command + " " + id);
  auto pid = sys::SpawnProcess(RuntimeBinaryFor(command), argv, {in, out, err, false});
  err_w.Reset();
  if (!pid) {
    loop_.Remove(cap->token);
    done(std::unexpected(pid.error().Wrap(command + " \"" + id + "\"")));
    return 0;
  }
  pending_runtime_++;
  pid_t rpid = *pid;
  uint64_t timer = loop_.AddTimer(MonotonicMs() + opt_.runtime_timeout_ms, [this, rpid, cap] {
    cap->timed_out = true;
    SignalChild(rpid, SIGKILL);
  });
  WatchChild(rpid, [this, cap, timer, command, id, log_file, offset,
                    done = std::move(done)](int status) {
    pending_runtime_--;
    loop_.CancelTimer(timer);
    if (cap->fd) {
      char buf[4096];
      ssize_t n;
      while ((n = read(cap->fd.Get(), buf, sizeof buf)) > 0)
        if (cap->text.size() < kMaxRuntimeStderr) cap->text.append(buf, static_cast<size_t>(n));
      loop_.Remove(cap->token);
      cap->fd.Reset();
    }
    if (status == 0) return done({});
    std::string runtime_name = opt_.runtime.substr(opt_.runtime.rfind('/') + 1);
    if (cap->timed_out)
      return done(DeadlineExceeded(
          runtime_name + " " + command, "\"" + id + "\"",
          "did not finish within " + std::to_string(opt_.runtime_timeout_ms) + " ms (killed)"));
    std::string logged;
    if (auto text = sys::ReadFile(log_file); text && static_cast<size_t>(offset) <= text->size())
      logged = text->substr(static_cast<size_t>(offset));
    std::string msg = RuntimeMessage(logged);
    if (msg.empty()) msg = RuntimeMessage(cap->text);
    // berth and runc lead with `<command> "<id>": `, which the error's op and subject say.
    if (std::string lead = command + " \"" + id + "\": "; msg.starts_with(lead))
      msg.erase(0, lead.size());
    std::string how = WIFEXITED(status)     ? "exit status " + std::to_string(WEXITSTATUS(status))
                      : WIFSIGNALED(status) ? "killed by " + sys::SignalName(WTERMSIG(status))
                                            : "failed";
    Error e = Fail(runtime_name + " " + command, "\"" + id + "\"",
                   msg.empty() ? how : msg + " (" + how + ")")
                  .error();
    done(std::unexpected(std::move(e)));
  });
  return rpid;
}

}  // namespace berth::shim
