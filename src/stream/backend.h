// The streaming server's view of the runtime (issue 11). berth_stream (src/stream) speaks
// the Kubernetes remote-command and port-forward protocols (SPDY/3.1 and WebSocket) and
// pumps bytes; berthd implements Backend with berth-shim and the pods' network namespaces.
// The server never forks and holds no runtime process per session: a Session is a set of
// fds the server reads and writes itself (pipes or a pty master the shim passed to berthd).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::stream {

struct TermSize {
  uint16_t width = 0;   // columns
  uint16_t height = 0;  // rows
};

// What the CRI Exec/Attach/PortForward request asked for, kept with its token until the
// client connects. ns is berthd's namespace of the call (k8s.io for kubelet).
struct ExecRequest {
  std::string ns;
  std::string container_id;
  std::vector<std::string> cmd;
  bool tty = false;
  bool stdin = false, stdout = false, stderr = false;
  // tty only: the client's terminal size when it sent one before the session started (the
  // streaming server waits briefly for it), 0x0 when unknown. A pty given this size before
  // the process starts spares it a 0x0 terminal (`stty size`, full-screen programs);
  // Resize() follows with the same size in any case.
  TermSize initial_size;
};

struct AttachRequest {
  std::string ns;
  std::string container_id;
  bool tty = false;
  bool stdin = false, stdout = false, stderr = false;
};

struct PortForwardRequest {
  std::string ns;
  std::string pod_id;
  std::vector<int32_t> ports;  // may be empty: the client names the ports per stream
};

// One exec'd process, or one attachment to a container's stdio.
class Session {
 public:
  virtual ~Session() = default;

  // The fds the server pumps; -1 where the stream was not asked for. With a tty, stdout is
  // the terminal's output (a pty master or a pipe fed from it), stderr is -1, and stdin
  // writes to the terminal. The server may make them non-blocking and poll them; it reads
  // stdout/stderr until EOF and never closes them itself (the Session owns them).
  virtual int StdinFd() const = 0;
  virtual int StdoutFd() const = 0;
  virtual int StderrFd() const = 0;

  // The client closed stdin (v5's close signal, a SPDY stream's FIN): EOF must reach the
  // process (a pipe closed; on a tty, the terminal's EOF character).
  virtual Result<void> CloseStdin() = 0;

  // A resize message of the client (tty sessions only).
  virtual Result<void> Resize(TermSize size) = 0;

  // Blocks until the exec'd process has exited (exec: its exit code, 128 + signal when
  // killed) or the attachment ended (attach: the container exited or detached; 0). Called
  // after stdout/stderr reached EOF.
  virtual Result<int> Wait() = 0;

  // Readable once the exec'd process has exited (or the attachment ended) even while a
  // child it left behind still holds stdout or stderr open, so that EOF would never come;
  // -1 when the Backend cannot tell (the server then waits for EOF). The server only polls
  // it: what made it readable is Wait()'s to read.
  virtual int ExitFd() const { return -1; }

  // The client went away before the end: an exec'd process is killed (nothing leaks), an
  // attachment is just dropped (the container keeps running). The server runs Wait() on a
  // thread of its own: Abandon() may come from another thread while Wait() blocks, and must
  // make it return.
  virtual void Abandon() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Errors carry their kind (NOT_FOUND: no such container; FAILED_PRECONDITION: not
  // running); a command that cannot be started in the container is an error, not a hang.
  virtual Result<std::unique_ptr<Session>> Exec(const ExecRequest& req) = 0;
  virtual Result<std::unique_ptr<Session>> Attach(const AttachRequest& req) = 0;
  // A TCP connection to 127.0.0.1:port inside the pod's network namespace.
  virtual Result<UniqueFd> PortForward(const PortForwardRequest& req, int32_t port) = 0;
};

}  // namespace berth::stream
