// The client of berth-shim, for berthd (threaded) and tools: blocking calls with a deadline,
// one connection per call (so any number of threads may call at once, and a call never
// waits behind another one's slow exec), never a fork. SpawnShim starts a shim with
// posix_spawn and returns once it serves.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "shim/protocol.h"

namespace berth::shim {

struct ShimInfo {
  uint32_t version = 0;
  std::string ns, id, work_dir, address, runtime, runtime_root;
  pid_t pid = 0;
};

struct ContainerStatus {
  std::string id;
  std::string status;  // "creating", "created", "running", "stopped"
  pid_t pid = 0;
  std::string bundle, log_path;
  bool tty = false;
  bool adopted = false;                                   // found on disk by a restarted shim
  int64_t created_at = 0, started_at = 0, exited_at = 0;  // ns since the epoch
  int exit_code = 0;
  int signal = 0;
  bool oom_killed = false;
};

struct CreateRequest {
  std::string id;
  std::string bundle;    // absolute
  std::string log_path;  // absolute; "" discards the output
  bool tty = false;
  bool stdin = false;
  bool stdin_once = false;
};

struct ExecRequest {
  std::string id;
  std::vector<std::string> args;
  std::vector<std::string> env;                  // KEY=VALUE, over the container's own
  std::string cwd;                               // "" keeps the container's
  std::string user;                              // "uid[:gid]", "" keeps the container's
  std::chrono::milliseconds timeout{0};          // 0: none
  size_t max_output_bytes = kDefaultExecOutput;  // per stream
};

struct ExecResult {
  int exit_code = 0;  // or 128 + signal
  int signal = 0;
  bool timed_out = false;  // killed at the timeout
  bool truncated = false;  // output beyond max_output_bytes was dropped
  std::string out, err;
};

// A streaming exec (the CRI's Exec): berthd pumps the process's stdio itself.
struct StreamExecRequest {
  std::string id;
  std::vector<std::string> args;
  std::vector<std::string> env;  // KEY=VALUE, over the container's own
  std::string cwd, user;         // "" keeps the container's; user "uid[:gid]"
  bool tty = false;
  bool stdin = false, stdout = true, stderr = true;  // stderr is ignored with a tty
  uint16_t width = 0, height = 0;  // the terminal's size at start (0: the runtime's default)
};

// An attachment to a container's stdio (the CRI's Attach).
struct AttachRequest {
  std::string id;
  bool stdin = false, stdout = true, stderr = true;
};

// The last frame of a stream: an exec'd process's exit, or the attached container's.
struct StreamExit {
  int exit_code = 0;  // or 128 + signal
  int signal = 0;
  bool oom_killed = false;  // attach only
  int64_t exited_at = 0;    // attach only
};

// An exec'd process or an attachment: the fds berthd pumps and the connection to the shim
// that carries the final frame. Destroying it (or Abandon) closes the connection: an exec'd
// process is then killed by the shim, an attachment just ends (the container runs on).
class StreamSession {
 public:
  StreamSession(StreamSession&&) = default;
  StreamSession& operator=(StreamSession&&) = default;

  // -1 where the stream was not asked for. With a tty, stdin and stdout are the terminal
  // (an exec: dups of its pty master; an attachment: a pipe for stdout, stdin a dup of the
  // container's pty master) and stderr is -1.
  int Stdin() const { return stdin_.Get(); }
  int Stdout() const { return stdout_.Get(); }
  int Stderr() const { return stderr_.Get(); }
  // The pty master (tty sessions), for resizing; -1 without a tty. An attachment's shares
  // its open file with the shim's: it must stay non-blocking.
  int Terminal() const { return tty_.Get(); }
  bool Tty() const { return tty_.Valid(); }
  pid_t Pid() const { return pid_; }  // an exec'd process's pid (0 for an attachment)
  // The connection to the shim, for poll only: readable when the exit frame came (or the
  // shim closed it); Wait reads it.
  int Connection() const { return conn_.Get(); }

  // TIOCSWINSZ on the pty master (the foreground process gets SIGWINCH).
  Result<void> Resize(uint16_t width, uint16_t height) const;
  // EOF for the process: a pipe is closed; a terminal gets its EOF character (VEOF, ^D).
  // An attachment also tells the shim, which closes a stdin_once container's stdin.
  Result<void> CloseStdin();
  // The final frame; kUnavailable when the shim closed the connection without one (it
  // died, or Abandon), kDeadlineExceeded at timeout (0: none).
  Result<StreamExit> Wait(std::chrono::milliseconds timeout);
  // Ends the session from any thread (a Wait blocked elsewhere returns kUnavailable); the
  // fds stay open until the session is destroyed.
  void Abandon();

 private:
  friend class ShimClient;
  StreamSession() = default;
  UniqueFd conn_, stdin_, stdout_, stderr_, tty_;
  FrameDecoder decoder_;
  bool attach_ = false;
  pid_t pid_ = 0;
};

struct ExitEvent {
  std::string id;
  pid_t pid = 0;
  int exit_code = 0;
  int signal = 0;
  bool oom_killed = false;
  int64_t exited_at = 0;
};

// A connection subscribed to the shim's exit events.
class EventStream {
 public:
  // The next exit; kDeadlineExceeded when none came within timeout, kUnavailable when the
  // shim closed the connection.
  Result<ExitEvent> WaitEvent(std::chrono::milliseconds timeout);

 private:
  friend class ShimClient;
  explicit EventStream(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  FrameDecoder decoder_;
};

class ShimClient {
 public:
  struct Options {
    // The limit of every call but ExecSync (its own timeout plus this) and Wait. The shim
    // bounds each runtime command at 60 s, so this only catches a hung shim.
    std::chrono::milliseconds call_timeout{90000};
  };

  // Checks that a shim answers on <work_dir>/shim.sock (kUnavailable when none listens).
  static Result<ShimClient> Connect(const std::string& work_dir, Options options);
  static Result<ShimClient> Connect(const std::string& work_dir) {
    return Connect(work_dir, Options{});
  }

  const ShimInfo& Info() const { return info_; }
  Result<ContainerStatus> Create(const CreateRequest& r) const;
  Result<ContainerStatus> Start(const std::string& id) const;
  Result<void> Kill(const std::string& id, int signal, bool all = false) const;
  Result<ContainerStatus> State(const std::string& id) const;
  Result<std::vector<ContainerStatus>> List() const;
  Result<ExecResult> ExecSync(const ExecRequest& r) const;
  Result<void> ReopenLog(const std::string& id) const;
  // force: kill a running container first.
  Result<void> Delete(const std::string& id, bool force = false) const;
  // Until the container has exited (at once when it has); kDeadlineExceeded at timeout.
  Result<ContainerStatus> Wait(const std::string& id, std::chrono::milliseconds timeout) const;
  // Refused (kFailedPrecondition) while a container or exec runs.
  Result<void> Shutdown() const;
  Result<EventStream> Subscribe() const;
  // A process in a running container whose stdio the caller pumps (no deadline once it
  // runs); a command that cannot be started is the runtime's error.
  Result<StreamSession> ExecStream(const StreamExecRequest& r) const;
  // The container's stdio (created or running, and not adopted by a restarted shim).
  Result<StreamSession> Attach(const AttachRequest& r) const;

  // One request, its result object (the error as an Error). timeout 0: none.
  Result<Json> Call(const Json& request, std::chrono::milliseconds timeout) const;

 private:
  ShimClient(std::string socket, Options options) : socket_(std::move(socket)), options_(options) {}
  Result<UniqueFd> Dial() const;
  Result<StreamSession> OpenStream(const Json& request, bool attach, bool in, bool out) const;
  std::string socket_;
  Options options_;
  ShimInfo info_;
};

ContainerStatus ContainerStatusFromJson(const Json& j);

struct SpawnShimOptions {
  std::string shim_binary;  // berth-shim's path
  std::string ns, id, work_dir, address, runtime, runtime_root;
  std::string log_level;                     // "" or "debug", "info", …
  // A sealed copy of runtime (sys/sealed_copy.h) passed to the shim as this fd, with the
  // runtime file's identity when it was copied (sys::FileIdentity); -1: none.
  int runtime_copy_fd = -1;
  std::string runtime_copy_id;
  std::chrono::milliseconds timeout{10000};  // for the shim to serve
};

// Starts `berth-shim …` (posix_spawn, its own session) and waits until it serves. The shim
// daemonises: the process spawned exits once the daemon listens, and the daemon is
// reparented away from the caller. Returns the daemon's pid (from shim.pid). A shim that
// fails to start is a clear error with what it printed and the tail of its shim.log.
Result<pid_t> SpawnShim(const SpawnShimOptions& options);

}  // namespace berth::shim
