// Streaming exec (`exec`, for the CRI's Exec): a process in a running container whose stdio
// berthd pumps itself. The shim starts it as exec_sync does (`<runtime> exec --detach`: the
// process reparents to the shim, a subreaper, and is reaped here through its pidfd), sends
// berthd the far ends of its pipes, or the pty master with a terminal, with the answer
// (SCM_RIGHTS) and keeps no copy: no process and no byte of its I/O pass through the shim.
// When the process exits, one more frame {"exit": {exit_code, signal}} follows; berthd
// closing the connection before that kills the process.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "shim/console.h"
#include "shim/server.h"
#include "sys/fs.h"

namespace berth::shim {

namespace {

constexpr size_t kMaxStreamExecs = 64;

std::string Quote(const std::string& id) { return "\"" + id + "\""; }

}  // namespace

void Server::OpExec(uint64_t conn, const Json& req) {
  auto fail = [&](const Error& e) { ReplyError(conn, e); };
  auto id = GetString(req, "id");
  if (!id) return fail(id.error());
  auto tty = GetBool(req, "tty"), in = GetBool(req, "stdin"), out = GetBool(req, "stdout"),
       err = GetBool(req, "stderr");
  for (auto* b : {&tty, &in, &out, &err})
    if (!*b) return fail(b->error());
  auto found = Find(*id, "exec");
  if (!found) return fail(found.error());
  Container& c = **found;
  if (c.status != Status::kRunning)
    return fail(FailedPrecondition("exec", Quote(*id), "container is not running").error());
  size_t running = 0;
  for (auto& [xid, x] : execs_) running += x->stream;
  if (running >= kMaxStreamExecs)
    return fail(ResourceExhausted("exec", Quote(*id),
                                  std::to_string(kMaxStreamExecs) +
                                      " streaming execs are running in this shim")
                    .error());
  auto process = ExecProcess(c.rec.bundle, req, *tty, "exec");
  if (!process) return fail(process.error().Wrap("exec " + Quote(*id)));

  auto e = std::make_unique<Exec>();
  e->id = next_exec_++;
  e->stream = true;
  e->container = *id;
  e->conn = conn;
  const std::string base = c.dir + "/exec-" + std::to_string(e->id);
  e->process_file = base + ".json";
  e->pid_file = base + ".pid";
  if (auto w = sys::WriteFileAtomic(e->process_file, process->dump(), 0600); !w)
    return fail(w.error().Wrap("exec " + Quote(*id)));
  auto undo = [&](Error why) {
    unlink(e->process_file.c_str());
    fail(why.Wrap("exec " + Quote(*id)));
  };

  // The process's own ends stay here only until the runtime has them.
  UniqueFd child[3];
  std::vector<std::string> args = {"--process", e->process_file, "--detach", "--pid-file",
                                   e->pid_file};
  if (*tty) {
    auto cs = ListenConsole(c.dir, "exec-" + std::to_string(e->id) + ".sock");
    if (!cs) return undo(cs.error());
    e->console = std::make_shared<ConsoleSocket>(std::move(*cs));
    args.push_back("--console-socket");
    args.push_back(e->console->path);
  } else {
    const bool want[3] = {*in, *out, *err};
    const char* names[3] = {"stdin", "stdout", "stderr"};
    for (int k = 0; k < 3; k++) {
      if (!want[k]) {
        // Not asked for: /dev/null, never the runtime's stderr capture (which closes when
        // the runtime exits, and the process would get EPIPE).
        child[k].Reset(open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!child[k]) return undo(Errno("open", "/dev/null").error());
        continue;
      }
      int p[2];
      if (pipe2(p, O_CLOEXEC) < 0) return undo(Errno("pipe2", names[k]).error());
      // stdin: the process reads p[0], berthd writes p[1]; stdout/stderr the other way.
      child[k].Reset(k == 0 ? p[0] : p[1]);
      e->give.emplace_back(k == 0 ? p[1] : p[0]);
      e->give_names.push_back(names[k]);
    }
  }
  args.push_back(*id);
  const uint64_t xid = e->id;
  execs_[xid] = std::move(e);
  if (auto it = conns_.find(conn); it != conns_.end()) it->second->stream_exec = xid;
  pid_t rpid = RunRuntime("exec", *id, std::move(args), child[0].Get(), child[1].Get(),
                          child[2].Get(), c.dir + "/runtime.log",
                          [this, xid](Result<void> r) { StartedStreamExec(xid, std::move(r)); });
  if (auto it = execs_.find(xid); it != execs_.end()) it->second->runtime_pid = rpid;
}

void Server::StartedStreamExec(uint64_t exec_id, Result<void> r) {
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return;
  Exec& x = *it->second;
  x.runtime_pid = 0;
  // A command that cannot be started (no such binary) is the runtime's error, answered here.
  if (!r) return FinishStreamExec(exec_id, 0, &r.error());
  const std::string op = "exec " + Quote(x.container);
  if (x.console) {
    auto master = ReceiveMaster(*x.console, op);
    RemoveConsole(*x.console);
    x.console.reset();
    if (!master) return FinishStreamExec(exec_id, 0, &master.error());
    x.give.push_back(std::move(*master));
    x.give_names.push_back("tty");
  }
  auto text = sys::ReadFile(x.pid_file);
  pid_t pid = text ? static_cast<pid_t>(atoi(text->c_str())) : 0;
  if (pid <= 0) {
    Error e = Internal(op, x.pid_file, "the runtime wrote no pid file").error();
    return FinishStreamExec(exec_id, 0, &e);
  }
  x.pid = pid;
  const bool abandoned = x.conn == 0 || !conns_.contains(x.conn);
  if (!abandoned) {
    ReplyWithFds(x.conn, {{"pid", pid}, {"fds", x.give_names}}, std::move(x.give));
    log::Debug(op + " pid " + std::to_string(pid) + " streams to berthd");
  }
  x.give.clear();
  // The answer goes first: an exit seen at once (the process is already reaped) follows it.
  WatchChild(pid, [this, exec_id](int status) { FinishStreamExec(exec_id, status, nullptr); });
  if (abandoned && execs_.contains(exec_id)) AbandonStreamExec(exec_id);
}

void Server::AbandonStreamExec(uint64_t exec_id) {
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return;
  Exec& x = *it->second;
  x.conn = 0;
  // Before the runtime has reported the process, StartedStreamExec kills it.
  if (x.pid > 0) {
    log::Info("exec " + std::to_string(exec_id) + " in " + Quote(x.container) +
              ": berthd left, pid " + std::to_string(x.pid) + " killed");
    SignalChild(x.pid, SIGKILL);
  }
}

void Server::FinishStreamExec(uint64_t exec_id, int status, const Error* error) {
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return;
  std::unique_ptr<Exec> e = std::move(it->second);
  execs_.erase(it);
  unlink(e->process_file.c_str());
  unlink(e->pid_file.c_str());
  if (e->console) RemoveConsole(*e->console);
  auto conn = conns_.find(e->conn);
  if (e->conn == 0 || conn == conns_.end()) return;
  Conn& c = *conn->second;
  c.stream_exec = 0;
  if (error) return ReplyError(e->conn, *error);
  int code = 255, sig = 0;
  if (status != -1 && WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    code = 128 + sig;
  } else if (status != -1) {
    code = WEXITSTATUS(status);
  }
  c.close_after_write = true;
  SendFrame(c, Json{{"exit", {{"exit_code", code}, {"signal", sig}}}}.dump());
}

}  // namespace berth::shim
