// Container operations: create (the runtime's create with pipes or a console socket),
// start, kill, delete, wait, reopen_log; exits, log streams, and adoption at start-up.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "base/fault.h"
#include "base/log.h"
#include "shim/console.h"
#include "shim/server.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/unix_socket.h"

namespace berth::shim {

namespace {

std::string Quote(const std::string& id) { return "\"" + id + "\""; }

const char* StatusName(int s) {
  switch (s) {
    case 0:
      return "creating";
    case 1:
      return "created";
    case 2:
      return "running";
    default:
      return "stopped";
  }
}

}  // namespace

Json Server::ExitJson(const Container& c) {
  return {{"exit_code", c.exit.exit_code},
          {"signal", c.exit.signal},
          {"oom_killed", c.exit.oom_killed},
          {"exited_at", c.exit.exited_at}};
}

namespace {

Result<void> Pipe(UniqueFd& r, UniqueFd& w, bool nonblock_read) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return Errno("pipe2");
  r.Reset(p[0]);
  w.Reset(p[1]);
  if (nonblock_read && fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
    return Errno("fcntl O_NONBLOCK", "pipe");
  return {};
}

}  // namespace

Result<Server::Container*> Server::Find(const std::string& id, const char* op) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return NotFound(op, Quote(id), "no such container in this shim");
  return it->second.get();
}

Json Server::Info(const Container& c) const {
  Json j = {{"id", c.rec.id},
            {"status", StatusName(static_cast<int>(c.status))},
            {"pid", c.rec.pid},
            {"bundle", c.rec.bundle},
            {"log_path", c.rec.log_path},
            {"tty", c.rec.tty},
            {"created_at", c.rec.created_at},
            {"started_at", c.rec.started_at},
            {"exit_code", c.exit.exit_code},
            {"signal", c.exit.signal},
            {"oom_killed", c.exit.oom_killed},
            {"exited_at", c.exit.exited_at}};
  if (c.adopted) j["adopted"] = true;
  return j;
}

void Server::AddStream(Stream& s, std::function<void()> on_data) {
  auto token =
      loop_.Add(s.fd.Get(), EPOLLIN, [on_data = std::move(on_data)](uint32_t) { on_data(); });
  if (token)
    s.token = *token;
  else
    log::Warn("watch output: " + token.error().Message());
}

void Server::CloseStream(Stream& s) {
  loop_.Remove(s.token);
  s.token = 0;
  s.fd.Reset();
}

void Server::DrainLog(Container& c, Stream& s) {
  if (!s.fd) return;
  auto sink = [&c, &s](std::string_view content, bool partial) {
    c.log.Write(s.is_stderr, content, partial);
  };
  // An attacher's dup of the pty master shares its O_NONBLOCK: a read here must not block.
  if (c.master_shared && &s == &c.out) {
    int fl = fcntl(s.fd.Get(), F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(s.fd.Get(), F_SETFL, fl | O_NONBLOCK);
  }
  char buf[32768];
  for (;;) {
    ssize_t n = read(s.fd.Get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      // EOF, or EIO from a pty master once every slave fd is closed.
      s.splitter.Finish(sink);
      CloseStream(s);
      return;
    }
    if (!c.attachments.empty()) Fanout(c, s.is_stderr, buf, static_cast<size_t>(n));
    s.splitter.Feed(std::string_view(buf, static_cast<size_t>(n)), sink);
  }
}

void Server::OpCreate(uint64_t conn, const Json& req) {
  auto fail = [&](const Error& e) { ReplyError(conn, e); };
  auto id = GetString(req, "id");
  if (!id) return fail(id.error());
  if (auto r = ValidateId(*id, "create"); !r) return fail(r.error());
  auto bundle = GetString(req, "bundle");
  if (!bundle) return fail(bundle.error());
  auto log_path = GetString(req, "log_path", false);
  if (!log_path) return fail(log_path.error());
  auto tty = GetBool(req, "tty"), in = GetBool(req, "stdin"), once = GetBool(req, "stdin_once");
  if (!tty) return fail(tty.error());
  if (!in) return fail(in.error());
  if (!once) return fail(once.error());
  if (bundle->empty() || (*bundle)[0] != '/')
    return fail(
        InvalidArgument("create " + Quote(*id), "bundle", "must be an absolute path").error());
  if (!log_path->empty() && (*log_path)[0] != '/')
    return fail(
        InvalidArgument("create " + Quote(*id), "log_path", "must be an absolute path").error());
  if (access((*bundle + "/config.json").c_str(), R_OK) != 0)
    return fail(Errno("create " + Quote(*id), *bundle + "/config.json",
                      "the bundle has no readable config.json")
                    .error());
  if (containers_.contains(*id))
    return fail(
        AlreadyExists("create", Quote(*id), "this shim already has a container with this id")
            .error());
  if (access((opt_.runtime_root + "/" + *id).c_str(), F_OK) == 0)
    return fail(
        AlreadyExists("create", Quote(*id),
                      "the runtime already has a container with this id under " + opt_.runtime_root)
            .error());

  auto c = std::make_unique<Container>();
  c->dir = opt_.work_dir + "/" + *id;
  c->rec.id = *id;
  c->rec.bundle = *bundle;
  c->rec.log_path = *log_path;
  c->rec.tty = *tty;
  c->rec.stdin = *in;
  c->rec.stdin_once = *once;
  c->rec.created_at = NowNs();
  // A directory without a container in memory is what a failed or interrupted create left.
  (void)sys::RemoveTree(c->dir);
  if (mkdir(c->dir.c_str(), 0700) < 0) return fail(Errno("mkdir", c->dir).error());
  auto undo_dir = [&] { (void)sys::RemoveTree(c->dir); };

  c->log_created = !log_path->empty() && access(log_path->c_str(), F_OK) != 0;
  auto log = LogFile::Open(*log_path);
  if (!log) {
    undo_dir();
    return fail(log.error().Wrap("create " + Quote(*id)));
  }
  c->log = std::move(*log);
  auto undo_log = [&] {
    if (c->log_created) unlink(log_path->c_str());
    undo_dir();
  };

  UniqueFd in_r, out_w, err_w;
  auto console = std::make_shared<ConsoleSocket>();
  c->out.is_stderr = false;
  c->err.is_stderr = true;
  if (*tty) {
    auto cs = ListenConsole(c->dir, "console.sock");
    if (!cs) {
      undo_log();
      return fail(cs.error().Wrap("create " + Quote(*id)));
    }
    *console = std::move(*cs);
  } else {
    Result<void> r = {};
    if (*in) r = Pipe(in_r, c->stdin_w, false);
    if (r) r = Pipe(c->out.fd, out_w, true);
    if (r) r = Pipe(c->err.fd, err_w, true);
    if (!r) {
      undo_log();
      return fail(r.error().Wrap("create " + Quote(*id)));
    }
  }

  std::vector<std::string> args = {"--bundle", *bundle, "--pid-file", c->dir + "/init.pid"};
  if (*tty) {
    args.push_back("--console-socket");
    args.push_back(console->path);
  }
  args.push_back(*id);
  Container& ref = *c;
  containers_[*id] = std::move(c);
  // Output is logged from the first byte (createRuntime hooks may already write).
  const std::string cid = *id;
  if (ref.out.fd)
    AddStream(ref.out, [this, cid] {
      if (auto it = containers_.find(cid); it != containers_.end())
        DrainLog(*it->second, it->second->out);
    });
  if (ref.err.fd)
    AddStream(ref.err, [this, cid] {
      if (auto it = containers_.find(cid); it != containers_.end())
        DrainLog(*it->second, it->second->err);
    });
  fault::Reach("shim.runtime.create.before");
  RunRuntime("create", cid, std::move(args), in_r ? in_r.Get() : -1, out_w ? out_w.Get() : -1,
             err_w ? err_w.Get() : -1, ref.dir + "/runtime.log",
             [this, conn, cid, console](Result<void> r) {
               FinishCreate(conn, cid, std::move(r), console);
             });
}

void Server::FinishCreate(uint64_t conn, const std::string& id, Result<void> r,
                          std::shared_ptr<ConsoleSocket> console) {
  fault::Reach("shim.runtime.create.after");
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  Container& c = *it->second;
  auto abandon = [&](Error e) {
    RemoveConsole(*console);
    // Whatever the runtime made of it goes too (berth and runc clean up after a failed
    // create themselves; this covers a create killed at its timeout).
    if (access((opt_.runtime_root + "/" + id).c_str(), F_OK) == 0)
      RunRuntime(
          "delete", id, {"--force", id}, -1, -1, -1, c.dir + "/runtime.log", [id](Result<void> d) {
            if (!d)
              log::Warn("clean up after a failed create of " + id + ": " + d.error().Message());
          });
    CloseStream(c.out);
    CloseStream(c.err);
    if (c.log_created) unlink(c.rec.log_path.c_str());
    (void)sys::RemoveTree(c.dir);
    containers_.erase(id);
    log::Info("create " + Quote(id) + " failed: " + e.Message());
    ReplyError(conn, e);
  };
  if (!r) return abandon(r.error());
  if (c.rec.tty) {
    auto master = ReceiveMaster(*console, "create " + Quote(id));
    if (!master) return abandon(master.error().Wrap("create " + Quote(id)));
    c.out.fd = std::move(*master);
    AddStream(c.out, [this, id] {
      if (auto it = containers_.find(id); it != containers_.end())
        DrainLog(*it->second, it->second->out);
    });
  }
  RemoveConsole(*console);
  auto text = sys::ReadFile(c.dir + "/init.pid");
  pid_t pid = 0;
  if (text) pid = static_cast<pid_t>(atoi(text->c_str()));
  if (pid <= 0)
    return abandon(
        Internal("create " + Quote(id), c.dir + "/init.pid", "the runtime wrote no pid file")
            .error());
  c.rec.pid = pid;
  if (auto st = sys::ReadProcStat(pid)) c.rec.pid_start_time = st->start_time;
  c.rec.init_exe = ProcessExe(pid);
  c.rec.oom_file = FindOomFile(pid);
  c.rec.oom_kills_at_start = ReadOomKills(c.rec.oom_file);
  fault::Reach("shim.record.created.before");
  if (auto w = WriteContainerRecord(c.dir, c.rec); !w)
    return abandon(w.error().Wrap("create " + Quote(id)));
  fault::Reach("shim.record.created.after");
  c.status = Status::kCreated;
  log::Info("created " + Quote(id) + " pid " + std::to_string(pid));
  Json info = Info(c);
  WatchChild(pid, [this, id](int status) { OnContainerExit(id, status); });
  ReplyResult(conn, std::move(info));
}

void Server::OpStart(uint64_t conn, const Json& req) {
  auto id = GetString(req, "id");
  if (!id) return ReplyError(conn, id.error());
  auto found = Find(*id, "start");
  if (!found) return ReplyError(conn, found.error());
  Container& c = **found;
  if (c.busy)
    return ReplyError(
        conn,
        FailedPrecondition("start", Quote(*id), "another operation on it is running").error());
  if (c.status != Status::kCreated)
    return ReplyError(
        conn, FailedPrecondition("start", Quote(*id),
                                 std::string("container is ") +
                                     StatusName(static_cast<int>(c.status)) + ", not created")
                  .error());
  c.busy = true;
  // Taken before the runtime runs: the container may exit before start's answer is read,
  // and exited_at must not come before started_at.
  int64_t started_at = NowNs();
  const std::string cid = *id;
  fault::Reach("shim.runtime.start.before");
  RunRuntime("start", cid, {cid}, -1, -1, -1, c.dir + "/runtime.log",
             [this, conn, cid, started_at](Result<void> r) {
               fault::Reach("shim.runtime.start.after");
               auto it = containers_.find(cid);
               if (it == containers_.end()) return;
               Container& c = *it->second;
               c.busy = false;
               if (!r) return ReplyError(conn, r.error());
               c.rec.started_at = started_at;
               if (c.status == Status::kCreated) c.status = Status::kRunning;
               fault::Reach("shim.record.started.before");
               if (auto w = WriteContainerRecord(c.dir, c.rec); !w) log::Warn(w.error().Message());
               fault::Reach("shim.record.started.after");
               ReplyResult(conn, Info(c));
             });
}

void Server::OpKill(uint64_t conn, const Json& req) {
  auto id = GetString(req, "id");
  if (!id) return ReplyError(conn, id.error());
  int sig = SIGTERM;
  if (auto it = req.find("signal"); it != req.end() && !it->is_null()) {
    Result<int> s = it->is_string() ? sys::ParseSignal(it->get<std::string>())
                    : it->is_number_integer()
                        ? Result<int>(it->get<int>())
                        : InvalidArgument("request", "signal", "must be a number or a name");
    if (!s) return ReplyError(conn, s.error());
    if (*s <= 0 || *s >= 65)
      return ReplyError(
          conn, InvalidArgument("kill", "signal", std::to_string(*s) + " is not a signal").error());
    sig = *s;
  }
  auto all = GetBool(req, "all");
  if (!all) return ReplyError(conn, all.error());
  auto found = Find(*id, "kill");
  if (!found) return ReplyError(conn, found.error());
  Container& c = **found;
  if (c.status == Status::kCreating || c.status == Status::kStopped)
    return ReplyError(conn, FailedPrecondition("kill", Quote(*id),
                                               std::string("container is ") +
                                                   StatusName(static_cast<int>(c.status)))
                                .error());
  if (*all) {
    fault::Reach("shim.runtime.kill.before");
    RunRuntime("kill", *id, {"--all", *id, std::to_string(sig)}, -1, -1, -1, c.dir + "/runtime.log",
               [this, conn](Result<void> r) {
                 fault::Reach("shim.runtime.kill.after");
                 if (!r) return ReplyError(conn, r.error());
                 ReplyResult(conn, Json::object());
               });
    return;
  }
  // Through the init's pidfd: never a recycled pid, and no runtime process per signal.
  if (!SignalChild(c.rec.pid, sig))
    return ReplyError(
        conn, Errno("kill", Quote(*id),
                    "signal " + sys::SignalName(sig) + " to pid " + std::to_string(c.rec.pid))
                  .error());
  ReplyResult(conn, Json::object());
}

void Server::OpDelete(uint64_t conn, const Json& req) {
  auto id = GetString(req, "id");
  if (!id) return ReplyError(conn, id.error());
  auto force = GetBool(req, "force");
  if (!force) return ReplyError(conn, force.error());
  auto found = Find(*id, "delete");
  if (!found) return ReplyError(conn, found.error());
  Container& c = **found;
  if (c.busy || c.status == Status::kCreating)
    return ReplyError(
        conn,
        FailedPrecondition("delete", Quote(*id), "another operation on it is running").error());
  if (c.status == Status::kRunning && !*force)
    return ReplyError(
        conn, FailedPrecondition("delete", Quote(*id),
                                 "container is running: kill it first, or delete with force")
                  .error());
  c.busy = true;
  const std::string cid = *id;
  std::vector<std::string> args;
  if (*force) args.push_back("--force");
  args.push_back(cid);
  fault::Reach("shim.runtime.delete.before");
  RunRuntime("delete", cid, std::move(args), -1, -1, -1, c.dir + "/runtime.log",
             [this, conn, cid](Result<void> r) {
               fault::Reach("shim.runtime.delete.after");
               auto it = containers_.find(cid);
               if (it == containers_.end()) return;
               Container& c = *it->second;
               // A runtime that no longer knows the container (deleted behind our back) is
               // not an error: the shim's part still has to go.
               if (!r && access((opt_.runtime_root + "/" + cid).c_str(), F_OK) == 0) {
                 c.busy = false;
                 return ReplyError(conn, r.error());
               }
               if (c.status == Status::kStopped) return FinishDelete(conn, cid);
               // The runtime killed a created (or, forced, running) init: its exit record
               // is written before the container goes.
               c.on_exit = [this, conn, cid] { FinishDelete(conn, cid); };
               c.delete_timer = loop_.AddTimer(MonotonicMs() + 10000, [this, conn, cid] {
                 log::Warn("delete " + Quote(cid) +
                           ": the init did not exit within 10 s of the runtime's delete");
                 FinishDelete(conn, cid);
               });
             });
}

void Server::FinishDelete(uint64_t conn, const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  Container& c = *it->second;
  c.on_exit = nullptr;
  loop_.CancelTimer(c.delete_timer);
  DrainLog(c, c.out);
  DrainLog(c, c.err);
  auto sink = [&c](bool is_err) {
    return [&c, is_err](std::string_view content, bool partial) {
      c.log.Write(is_err, content, partial);
    };
  };
  // Streams still held open by a leftover process: what they held is flushed.
  c.out.splitter.Finish(sink(false));
  c.err.splitter.Finish(sink(true));
  CloseStream(c.out);
  CloseStream(c.err);
  EndAttachments(c, ExitJson(c));  // only when the init outlived delete's wait for its exit
  if (auto r = sys::RemoveTree(c.dir); !r)
    log::Warn("delete " + Quote(id) + ": " + r.error().Message());
  containers_.erase(it);
  log::Info("deleted " + Quote(id));
  ReplyResult(conn, Json::object());
}

void Server::OpWait(uint64_t conn, const Json& req) {
  auto id = GetString(req, "id");
  if (!id) return ReplyError(conn, id.error());
  auto found = Find(*id, "wait");
  if (!found) return ReplyError(conn, found.error());
  Container& c = **found;
  if (c.status == Status::kStopped) return ReplyResult(conn, Info(c));
  c.waiters.push_back(conn);
}

void Server::OpReopenLog(uint64_t conn, const Json& req) {
  auto id = GetString(req, "id");
  if (!id) return ReplyError(conn, id.error());
  auto found = Find(*id, "reopen_log");
  if (!found) return ReplyError(conn, found.error());
  Container& c = **found;
  // What is read already goes to the old file; the rest to the new one.
  DrainLog(c, c.out);
  DrainLog(c, c.err);
  if (auto r = c.log.Reopen(); !r)
    return ReplyError(conn, r.error().Wrap("reopen_log " + Quote(*id)));
  ReplyResult(conn, Json::object());
}

void Server::OnContainerExit(const std::string& id, int status) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  Container& c = *it->second;
  if (c.status == Status::kStopped) return;
  ExitRecord& e = c.exit;
  e.pid = c.rec.pid;
  if (status == -1) {
    e.exit_code = 255;  // an adopted process: its status went to its real parent
  } else if (WIFSIGNALED(status)) {
    e.signal = WTERMSIG(status);
    e.exit_code = 128 + e.signal;
  } else {
    e.exit_code = WEXITSTATUS(status);
  }
  e.exited_at = NowNs();
  e.oom_killed = !c.rec.oom_file.empty() && ReadOomKills(c.rec.oom_file) > c.rec.oom_kills_at_start;
  // Everything it wrote before it exited is in the pipes: logged before anyone hears of it.
  DrainLog(c, c.out);
  DrainLog(c, c.err);
  fault::Reach("shim.record.exit.before");
  if (auto r = WriteExitRecord(c.dir, e); !r)
    log::Error("exit record of " + Quote(id) + ": " + r.error().Message());
  fault::Reach("shim.record.exit.after");
  c.status = Status::kStopped;
  c.stdin_w.Reset();
  log::Info("container " + Quote(id) + " pid " + std::to_string(e.pid) + " exited: code " +
            std::to_string(e.exit_code) + (e.signal ? " signal " + sys::SignalName(e.signal) : "") +
            (e.oom_killed ? " (OOM killed)" : ""));
  Json exit = ExitJson(c);
  EndAttachments(c, exit);
  exit["type"] = "exit";
  exit["id"] = id;
  exit["pid"] = e.pid;
  Publish(exit);
  Json info = Info(c);
  for (uint64_t w : std::exchange(c.waiters, {})) ReplyResult(w, info);
  if (c.on_exit) {
    auto f = std::move(c.on_exit);
    f();
  }
}

void Server::RemoveUnfinishedCreate(const std::string& id, const std::string& dir) {
  // No container.json: the previous shim died during this create, so its CreateContainer
  // failed and nobody will ask for the container. What the runtime made of it (an init
  // waiting for start, its cgroup, its state) would be left for ever: deleted, then the dir.
  if (access((opt_.runtime_root + "/" + id).c_str(), F_OK) != 0) {
    log::Info("removed " + dir + " (a create that did not finish; the runtime has nothing of it)");
    (void)sys::RemoveTree(dir);
    return;
  }
  log::Warn("deleting " + Quote(id) + ": the runtime has it, but its create did not finish "
            "(the previous shim died in it)");
  RunRuntime("delete", id, {"--force", id}, -1, -1, -1, dir + "/runtime.log",
             [id, dir](Result<void> r) {
               if (!r) log::Warn("delete of the unfinished " + Quote(id) + ": " + r.error().Message());
               (void)sys::RemoveTree(dir);
             });
}

void Server::LoadContainers() {
  auto names = sys::ListSubdirs(opt_.work_dir);
  if (!names) return;
  for (const auto& name : *names) {
    if (!ValidateId(name, "container")) continue;
    const std::string dir = opt_.work_dir + "/" + name;
    auto rec = ReadContainerRecord(dir);
    if (!rec && rec.error().IsNotFound()) {
      RemoveUnfinishedCreate(name, dir);
      continue;
    }
    if (!rec) {
      log::Warn("skipped " + dir + ": " + rec.error().Message());
      continue;
    }
    auto c = std::make_unique<Container>();
    c->rec = *rec;
    c->dir = dir;
    c->adopted = true;
    if (auto log = LogFile::Open(rec->log_path)) c->log = std::move(*log);
    if (auto ex = ReadExitRecord(dir)) {
      c->exit = *ex;
      c->status = Status::kStopped;
    } else if (rec->pid > 0 && sys::ProcessAlive(rec->pid, rec->pid_start_time)) {
      // Its pipes died with the previous shim; its exit is still seen (a pidfd polls for
      // any process), though not its status.
      c->status = rec->started_at || InitHasExeced(*rec) ? Status::kRunning : Status::kCreated;
      if (!rec->started_at && c->status == Status::kRunning) {
        // Started, but the previous shim died before it recorded when: now is the best
        // bound there is (never before the real start).
        c->rec.started_at = NowNs();
        log::Warn("adopted " + Quote(name) + ": started, though its record did not say so "
                  "(the init runs " + ProcessExe(rec->pid) + ", not " + rec->init_exe + ")");
        if (auto w = WriteContainerRecord(dir, c->rec); !w) log::Warn(w.error().Message());
      }
    } else {
      c->status = Status::kRunning;  // so OnContainerExit records it below
    }
    Container& ref = *c;
    containers_[name] = std::move(c);
    log::Info("adopted " + Quote(name) + " (" + StatusName(static_cast<int>(ref.status)) + ")");
    if (ref.status != Status::kStopped) {
      if (sys::ProcessAlive(rec->pid, rec->pid_start_time))
        WatchChild(rec->pid, [this, name](int status) { OnContainerExit(name, status); });
      else
        OnContainerExit(name, -1);
    }
  }
}

}  // namespace berth::shim
