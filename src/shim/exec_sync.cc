// exec_sync: a process in a running container, its output collected by the shim, killed at
// its timeout — all inside the event loop, so other requests are served meanwhile.
//
// The process runs through `<runtime> exec --detach --process FILE --pid-file P ID`: the
// runtime leaves, the process is reparented to the shim (a subreaper) and reaped here, so
// its wait status is exact and a timeout kills it through its pidfd. FILE is the
// container's own config.json process with the request's args (and env, cwd, user):
// kubelet's probes expect the container's environment.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "shim/server.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace berth::shim {

namespace {

constexpr size_t kMaxExecs = 64;

std::string Quote(const std::string& id) { return "\"" + id + "\""; }

Result<std::vector<std::string>> GetStrings(const Json& req, const char* op, const char* field,
                                            bool required) {
  std::vector<std::string> out;
  auto it = req.find(field);
  if (it == req.end() || it->is_null()) {
    if (required) return InvalidArgument(op, field, "missing");
    return out;
  }
  if (!it->is_array()) return InvalidArgument(op, field, "must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return InvalidArgument(op, field, "must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

Result<Json> ExecProcess(const std::string& bundle, const Json& req, bool tty, const char* op) {
  std::string text = BERTH_TRY(sys::ReadFile(bundle + "/config.json"));
  Json config = Json::parse(text, nullptr, false);
  if (config.is_discarded() || !config.is_object() || !config.contains("process") ||
      !config["process"].is_object())
    return InvalidArgument(op, bundle + "/config.json", "has no process object");
  Json p = config["process"];
  auto args = BERTH_TRY(GetStrings(req, op, "args", true));
  if (args.empty()) return InvalidArgument(op, "args", "must not be empty");
  p["args"] = args;
  p["terminal"] = tty;
  p.erase("consoleSize");
  if (tty) {
    int64_t w = BERTH_TRY(GetInt(req, "width", 0)), h = BERTH_TRY(GetInt(req, "height", 0));
    if (w < 0 || w > 65535 || h < 0 || h > 65535)
      return InvalidArgument(op, "width/height", "must be 0-65535");
    if (w > 0 && h > 0) p["consoleSize"] = {{"width", w}, {"height", h}};
  }
  auto env = BERTH_TRY(GetStrings(req, op, "env", false));
  if (!env.empty()) {
    Json e = p.contains("env") && p["env"].is_array() ? p["env"] : Json::array();
    for (const auto& kv : env) {
      size_t eq = kv.find('=');
      if (eq == 0 || eq == std::string::npos)
        return InvalidArgument(op, "env", "\"" + kv + "\" is not KEY=VALUE");
      bool replaced = false;
      for (auto& cur : e) {
        if (cur.is_string() && cur.get<std::string>().compare(0, eq + 1, kv, 0, eq + 1) == 0) {
          cur = kv;
          replaced = true;
        }
      }
      if (!replaced) e.push_back(kv);
    }
    p["env"] = e;
  }
  std::string cwd = BERTH_TRY(GetString(req, "cwd", false));
  if (!cwd.empty()) {
    if (cwd[0] != '/') return InvalidArgument(op, "cwd", "must be an absolute path");
    p["cwd"] = cwd;
  }
  std::string user = BERTH_TRY(GetString(req, "user", false));
  if (!user.empty()) {
    // uid[:gid], numeric: names are berthd's to resolve in the image's /etc/passwd.
    size_t colon = user.find(':');
    auto num = [&](std::string_view s) -> Result<uint32_t> {
      if (s.empty() || s.size() > 10)
        return InvalidArgument(op, "user", "\"" + user + "\" is not uid[:gid]");
      uint64_t v = 0;
      for (char ch : s) {
        if (ch < '0' || ch > '9')
          return InvalidArgument(op, "user", "\"" + user + "\" is not uid[:gid]");
        v = v * 10 + static_cast<uint64_t>(ch - '0');
      }
      if (v > 0xffffffffu)
        return InvalidArgument(op, "user", "\"" + user + "\" is out of range");
      return static_cast<uint32_t>(v);
    };
    uint32_t uid = BERTH_TRY(num(std::string_view(user).substr(0, colon)));
    uint32_t gid =
        colon == std::string::npos ? uid : BERTH_TRY(num(std::string_view(user).substr(colon + 1)));
    p["user"]["uid"] = uid;
    p["user"]["gid"] = gid;
  }
  return p;
}

void Server::OpExecSync(uint64_t conn, const Json& req) {
  auto id = GetString(req, "id");
  if (!id) return ReplyError(conn, id.error());
  auto timeout = GetInt(req, "timeout_ms", 0);
  if (!timeout) return ReplyError(conn, timeout.error());
  auto max_out = GetInt(req, "max_output_bytes", static_cast<int64_t>(kDefaultExecOutput));
  if (!max_out) return ReplyError(conn, max_out.error());
  if (*timeout < 0)
    return ReplyError(conn,
                      InvalidArgument("exec_sync", "timeout_ms", "must not be negative").error());
  if (*max_out < 0 || static_cast<uint64_t>(*max_out) > kMaxExecOutput)
    return ReplyError(conn, InvalidArgument("exec_sync", "max_output_bytes",
                                            "must be 0-" + std::to_string(kMaxExecOutput))
                                .error());
  auto found = Find(*id, "exec_sync");
  if (!found) return ReplyError(conn, found.error());
  Container& c = **found;
  if (c.status != Status::kRunning)
    return ReplyError(
        conn, FailedPrecondition("exec_sync", Quote(*id), "container is not running").error());
  size_t running = 0;
  for (auto& [xid, x] : execs_) running += !x->stream;
  if (running >= kMaxExecs)
    return ReplyError(
        conn, ResourceExhausted("exec_sync", Quote(*id),
                                std::to_string(kMaxExecs) + " execs are running in this shim")
                  .error());
  auto process = ExecProcess(c.rec.bundle, req, false, "exec_sync");
  if (!process) return ReplyError(conn, process.error().Wrap("exec_sync " + Quote(*id)));

  auto e = std::make_unique<Exec>();
  e->id = next_exec_++;
  e->container = *id;
  e->conn = conn;
  e->max_output = static_cast<size_t>(*max_out);
  e->process_file = c.dir + "/exec-" + std::to_string(e->id) + ".json";
  e->pid_file = c.dir + "/exec-" + std::to_string(e->id) + ".pid";
  e->err.is_stderr = true;
  if (auto w = sys::WriteFileAtomic(e->process_file, process->dump(), 0600); !w)
    return ReplyError(conn, w.error().Wrap("exec_sync " + Quote(*id)));
  UniqueFd out_w, err_w;
  for (auto [s, w] : {std::pair{&e->out, &out_w}, std::pair{&e->err, &err_w}}) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
      unlink(e->process_file.c_str());
      return ReplyError(conn, Errno("pipe2", "exec_sync").error());
    }
    s->fd.Reset(p[0]);
    w->Reset(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
  }
  const uint64_t xid = e->id;
  Exec& ref = *e;
  execs_[xid] = std::move(e);
  AddStream(ref.out, [this, xid] {
    if (auto it = execs_.find(xid); it != execs_.end())
      DrainExec(*it->second, it->second->out, it->second->out_buf);
  });
  AddStream(ref.err, [this, xid] {
    if (auto it = execs_.find(xid); it != execs_.end())
      DrainExec(*it->second, it->second->err, it->second->err_buf);
  });
  if (*timeout > 0) {
    ref.timer = loop_.AddTimer(MonotonicMs() + *timeout, [this, xid] {
      auto it = execs_.find(xid);
      if (it == execs_.end()) return;
      Exec& x = *it->second;
      x.timer = 0;
      x.timed_out = true;
      log::Info("exec " + std::to_string(xid) + " in " + Quote(x.container) + " timed out: killed");
      // The process if the runtime reported it, else the runtime itself.
      SignalChild(x.pid > 0 ? x.pid : x.runtime_pid, SIGKILL);
    });
  }
  pid_t rpid = RunRuntime(
      "exec", *id, {"--process", ref.process_file, "--detach", "--pid-file", ref.pid_file, *id}, -1,
      out_w.Get(), err_w.Get(), c.dir + "/runtime.log", [this, xid](Result<void> r) {
        auto it = execs_.find(xid);
        if (it == execs_.end()) return;
        Exec& x = *it->second;
        x.runtime_pid = 0;
        if (!r) return FinishExec(xid, 0, &r.error());
        auto text = sys::ReadFile(x.pid_file);
        pid_t pid = text ? static_cast<pid_t>(atoi(text->c_str())) : 0;
        if (pid <= 0) {
          Error e = Internal("exec_sync " + Quote(x.container), x.pid_file,
                             "the runtime wrote no pid file")
                        .error();
          return FinishExec(xid, 0, &e);
        }
        x.pid = pid;
        WatchChild(pid, [this, xid](int status) { FinishExec(xid, status, nullptr); });
      });
  if (auto it = execs_.find(xid); it != execs_.end()) it->second->runtime_pid = rpid;
}

void Server::DrainExec(Exec& e, Stream& s, std::string& buf) {
  char chunk[32768];
  while (s.fd) {
    ssize_t n = read(s.fd.Get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) return CloseStream(s);
    size_t keep =
        std::min(static_cast<size_t>(n), e.max_output - std::min(e.max_output, buf.size()));
    buf.append(chunk, keep);
    if (keep < static_cast<size_t>(n)) e.truncated = true;
  }
}

void Server::FinishExec(uint64_t exec_id, int status, const Error* error) {
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return;
  std::unique_ptr<Exec> e = std::move(it->second);
  execs_.erase(it);
  loop_.CancelTimer(e->timer);
  // What it wrote before it exited is in the pipes; a child it left behind holding them
  // open does not keep the answer waiting.
  DrainExec(*e, e->out, e->out_buf);
  DrainExec(*e, e->err, e->err_buf);
  CloseStream(e->out);
  CloseStream(e->err);
  unlink(e->process_file.c_str());
  unlink(e->pid_file.c_str());
  if (error) {
    if (e->timed_out)
      return ReplyError(
          e->conn,
          DeadlineExceeded("exec_sync", Quote(e->container),
                           "the runtime did not start the process before the timeout (killed)")
              .error());
    return ReplyError(e->conn, *error);
  }
  int code = 255, sig = 0;
  if (status != -1 && WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    code = 128 + sig;
  } else if (status != -1) {
    code = WEXITSTATUS(status);
  }
  ReplyResult(e->conn, {{"exit_code", code},
                        {"signal", sig},
                        {"timed_out", e->timed_out},
                        {"truncated", e->truncated},
                        {"stdout", Base64Encode(e->out_buf)},
                        {"stderr", Base64Encode(e->err_buf)}});
}

}  // namespace berth::shim
