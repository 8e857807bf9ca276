// berth-shim's server: one process per pod that runs the OCI runtime for each of the pod's
// containers, reaps them (a child subreaper), holds their stdio, writes their CRI logs,
// records their exits on disk, and answers berthd on <work-dir>/shim.sock (protocol.h).
// Single-threaded: everything happens in one epoll loop, so a slow runtime call or exec
// never stops the others, and the shim may fork or posix_spawn freely.
//
// Files (docs/shim.md): <work-dir>/shim.pid, shim.sock, shim.lock, shim.log, shim.json and
// per container <work-dir>/<id>/{container.json, init.pid, exit.json, runtime.log}.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "shim/event_loop.h"
#include "shim/log_writer.h"
#include "shim/protocol.h"
#include "shim/records.h"

namespace berth::shim {

struct ConsoleSocket;  // console.h

struct ShimOptions {
  std::string ns;                      // --namespace
  std::string id;                      // --id: the pod (or container) this shim serves
  std::string work_dir;                // --work-dir
  std::string address;                 // --address: berthd's, recorded only
  std::string runtime;                 // --runtime: the OCI runtime binary
  std::string runtime_root;            // --runtime-root
  // --runtime-copy FD:IDENTITY: a sealed copy of the runtime (berthd's, sys/sealed_copy.h)
  // that `exec` runs from while the runtime file keeps that identity; -1: none.
  int runtime_copy_fd = -1;
  std::string runtime_copy_id;
  bool debug = false;                  // --log-level debug
  int64_t runtime_timeout_ms = 60000;  // a runtime command running longer is killed
};

// Checks options and paths before anything is created (kInvalidArgument naming the flag).
Result<void> ValidateOptions(const ShimOptions& o);
// A container id the shim accepts: 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'.
Result<void> ValidateId(const std::string& id, const char* what);
// An exec's process.json (exec_sync.cc): the container's own process from bundle/config.json
// with the request's args, env, cwd and user; a terminal when tty (with the request's
// width/height as its consoleSize). op leads the errors.
Result<Json> ExecProcess(const std::string& bundle, const Json& req, bool tty, const char* op);

class Server {
 public:
  // Takes the work dir's lock, listens on shim.sock (0600) and writes shim.pid (atomic):
  // when this returns, clients can connect. kAlreadyExists when another shim holds the
  // work dir.
  static Result<std::unique_ptr<Server>> Start(ShimOptions options);
  ~Server();
  // Serves until a shutdown request (or SIGTERM) is accepted; then removes shim.sock and
  // shim.pid.
  Result<void> Run();
  // Runs hook once no request came for delay_ms after one did.
  void SetIdleHook(std::function<void()> hook, int64_t delay_ms) {
    idle_hook_ = std::move(hook);
    idle_delay_ms_ = delay_ms;
  }

 private:
  enum class Status { kCreating, kCreated, kRunning, kStopped };

  // One output stream: a pipe's read end or the pty master.
  struct Stream {
    UniqueFd fd;
    uint64_t token = 0;
    bool is_stderr = false;
    LineSplitter splitter;
  };

  struct Container {
    ContainerRecord rec;
    std::string dir;
    Status status = Status::kCreating;
    ExitRecord exit;
    LogFile log;
    Stream out, err;
    UniqueFd stdin_w;   // kept open: the container's stdin reaches EOF only at its exit
    bool stdin_closed = false;  // stdin_once: the first attachment with stdin has ended
    bool master_shared = false; // an attacher holds a dup of the pty master (its flags too)
    bool busy = false;  // a start/kill --all/delete runs
    bool deleting = false;
    bool adopted = false;           // found on disk at start-up, not our child
    bool log_created = false;       // create made the log file (removed if create fails)
    std::vector<uint64_t> waiters;  // connections waiting for the exit
    std::function<void()> on_exit;  // a pending delete waiting for the init's exit
    uint64_t delete_timer = 0;
    std::vector<uint64_t> attachments;  // ids in attachments_
  };

  // An `attach` connection (attach.cc): pipes into which the container's output is copied
  // as it is read, without waiting (a full pipe drops the rest: a slow attacher never
  // holds the container or its log back).
  struct Attachment {
    uint64_t id = 0;
    std::string container;
    uint64_t conn = 0;
    UniqueFd out_w, err_w;  // non-blocking write ends; berthd holds the read ends
    bool stdin = false;     // berthd holds a dup of the container's stdin (or pty master)
    uint64_t dropped = 0;   // bytes a full pipe did not take
  };

  struct Exec {
    uint64_t id = 0;
    std::string container;
    uint64_t conn = 0;
    pid_t pid = 0;  // the exec'd process once the runtime reported it
    pid_t runtime_pid = 0;
    Stream out, err;
    std::string out_buf, err_buf;
    size_t max_output = kDefaultExecOutput;
    bool truncated = false;
    bool timed_out = false;
    uint64_t timer = 0;
    std::string process_file, pid_file;
    // A streaming exec (exec_stream.cc): its stdio goes to berthd with the answer, its exit
    // follows as a frame; conn 0 once berthd has gone (the process is killed).
    bool stream = false;
    std::vector<std::string> give_names;
    std::vector<UniqueFd> give;  // pipes' far ends (or the pty master), sent then closed
    std::shared_ptr<ConsoleSocket> console;
  };

  struct Conn {
    uint64_t id = 0;
    UniqueFd fd;
    uint64_t token = 0;
    FrameDecoder decoder;
    std::string out;
    bool busy = false;        // a request is being answered
    bool subscriber = false;  // receives an event per exit
    bool close_after_write = false;
    // A streaming exec's or an attachment's connection: after the answer it carries only
    // the final {"exit": …} frame (and, from the client, close_stdin).
    uint64_t stream_exec = 0, attachment = 0;
    // fds sent (SCM_RIGHTS) with the byte at offset fds_at of out.
    std::vector<UniqueFd> fds;
    size_t fds_at = 0;
  };

  // A child the shim waits for: on exit, fn gets its wait(2) status (-1: unknown, an
  // adopted process that is not our child).
  struct Child {
    UniqueFd pidfd;
    uint64_t token = 0;
    std::function<void(int status)> fn;
  };

  explicit Server(ShimOptions options) : opt_(std::move(options)) {}
  Result<void> Setup();

  // --- connections (server.cc) ---
  void OnAccept();
  void OnConnEvent(uint64_t conn_id, uint32_t events);
  void HandleFrame(Conn& c, const std::string& payload);
  void Reply(uint64_t conn_id, const std::string& body);
  void ReplyError(uint64_t conn_id, const Error& e) { Reply(conn_id, ErrorResponse(e)); }
  void ReplyResult(uint64_t conn_id, Json result) {
    Reply(conn_id, ResultResponse(std::move(result)));
  }
  void SendFrame(Conn& c, const std::string& body);
  // The result frame with fds attached (an exec's or an attachment's stdio).
  void ReplyWithFds(uint64_t conn_id, Json result, std::vector<UniqueFd> fds);
  void FlushConn(Conn& c);
  void CloseConn(uint64_t conn_id);
  void Publish(const Json& event);

  // --- children (server.cc) ---
  void OnSignal();
  void ReapAll();
  void OnReaped(pid_t pid, int status);
  // Tracks pid: exits go to fn (at once when it was already reaped).
  void WatchChild(pid_t pid, std::function<void(int status)> fn);
  bool SignalChild(pid_t pid, int sig);
  // Runs `<runtime> --root R --log <log> --log-format json <args...>`: done gets the
  // outcome once it exits (an Error with the runtime's message when it failed).
  // Returns the runtime's pid (0 when it could not be started; done has run then).
  std::string RuntimeBinaryFor(const std::string& command) const;
  pid_t RunRuntime(const std::string& command, const std::string& id, std::vector<std::string> args,
                   int in, int out, int err, const std::string& log_file,
                   std::function<void(Result<void>)> done);

  // --- containers (containers.cc) ---
  void OpCreate(uint64_t conn, const Json& req);
  void FinishCreate(uint64_t conn, const std::string& id, Result<void> r,
                    std::shared_ptr<ConsoleSocket> console);
  void OpStart(uint64_t conn, const Json& req);
  void OpKill(uint64_t conn, const Json& req);
  void OpDelete(uint64_t conn, const Json& req);
  void FinishDelete(uint64_t conn, const std::string& id);
  void OpWait(uint64_t conn, const Json& req);
  void OpReopenLog(uint64_t conn, const Json& req);
  Result<Container*> Find(const std::string& id, const char* op);
  Json Info(const Container& c) const;
  static Json ExitJson(const Container& c);  // exit_code, signal, oom_killed, exited_at
  void OnContainerExit(const std::string& id, int status);
  void AddStream(Stream& s, std::function<void()> on_data);
  void DrainLog(Container& c, Stream& s);  // reads until EAGAIN; EOF closes s
  void CloseStream(Stream& s);
  // Containers a previous shim left in the work dir (container.json, exit.json).
  void LoadContainers();
  void RemoveUnfinishedCreate(const std::string& id, const std::string& dir);

  // --- exec_sync (exec_sync.cc) ---
  void OpExecSync(uint64_t conn, const Json& req);
  void DrainExec(Exec& e, Stream& s, std::string& buf);
  void FinishExec(uint64_t exec_id, int status, const Error* error);

  // --- streaming exec (exec_stream.cc) ---
  void OpExec(uint64_t conn, const Json& req);
  void StartedStreamExec(uint64_t exec_id, Result<void> r);
  void FinishStreamExec(uint64_t exec_id, int status, const Error* error);
  void AbandonStreamExec(uint64_t exec_id);

  // --- attach (attach.cc) ---
  void OpAttach(uint64_t conn, const Json& req);
  void OpCloseStdin(Conn& c);
  // Copies what was read from a container's stream to its attachments.
  void Fanout(Container& c, bool is_stderr, const char* data, size_t n);
  // The container exited (exit: its info) or goes: every attachment gets its final frame.
  void EndAttachments(Container& c, const Json& exit);
  void DropAttachment(uint64_t attach_id);  // its connection closed: a detach

  bool AnythingRunning(std::string* what) const;

  ShimOptions opt_;
  EventLoop loop_;
  UniqueFd lock_, listener_, sigfd_;
  uint64_t next_conn_ = 1, next_exec_ = 1;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::map<std::string, std::unique_ptr<Container>> containers_;
  std::map<uint64_t, std::unique_ptr<Exec>> execs_;
  std::map<uint64_t, Attachment> attachments_;
  uint64_t next_attach_ = 1;
  std::unordered_map<pid_t, Child> children_;
  // Exits of children nobody watched yet (a container init reparented to us, reaped before
  // the runtime's pid file was read), oldest first; bounded.
  std::deque<std::pair<pid_t, int>> unclaimed_;
  int pending_runtime_ = 0;
  bool stopping_ = false;
  std::function<void()> idle_hook_;
  int64_t idle_delay_ms_ = 0;
  uint64_t idle_timer_ = 0;
};

}  // namespace berth::shim
