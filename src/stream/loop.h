// The poll loop of one upgraded connection (a thread of its own): the socket, a wake fd
// (Server::Stop) and the fds of what the connection carries (a Session's pipes, port-forward
// sockets), with back-pressure both ways: a peer's data is not read while the fd it goes to
// is full, and an fd is not read while the peer is slow to take what we queued.
#pragma once

#include <poll.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/error.h"
#include "stream/conn.h"
#include "stream/mux.h"

namespace berth::stream {

// Queued bytes toward the peer above which fds are not read; buffered bytes toward an fd
// above which the socket is not read.
inline constexpr size_t kHighWater = 256 << 10;

class LoopHandler : public MuxEvents {
 public:
  // Appends the fds to poll besides the socket; OnPoll gets them back with revents.
  virtual void PollFds(std::vector<pollfd>* fds) = 0;
  virtual void OnPoll(const pollfd* fds, size_t n) = 0;
  // Stop reading the socket (an fd's buffer is full).
  virtual bool InputPaused() const = 0;
  // The next deadline (timeouts of stream creation), or time_point::max().
  virtual std::chrono::steady_clock::time_point Deadline() const {
    return std::chrono::steady_clock::time_point::max();
  }
  virtual void OnTick() {}
  // Everything ended: the loop closes the connection gracefully.
  virtual bool Done() const = 0;
  // The peer went away, the connection failed or the server stops: drop what runs.
  virtual void OnPeerGone() = 0;
};

// Runs until the handler is done or the peer is gone; then a graceful close (GOAWAY or
// WebSocket close, flush, half-close, a short drain).
void RunLoop(Conn* conn, Mux* mux, LoopHandler* handler, int wake_fd);

// Bytes toward an fd (a process's stdin, a port-forward socket), written as it takes them.
struct FdSink {
  int fd = -1;
  std::string buf;
  size_t pos = 0;
  bool broken = false;  // EPIPE and the like: further data is dropped
  size_t Pending() const { return buf.size() - pos; }
  void Break() {
    broken = true;
    buf.clear();
    pos = 0;
  }
  void Add(std::string_view d) {
    if (!broken) buf.append(d);
  }
  // Writes what the fd takes now.
  void Drain();
};

// Reads up to 32 KiB from fd: the data, "" with *eof at EOF (EIO from a pty master whose
// terminal closed counts as EOF), "" when it would block.
std::string ReadChunk(int fd, bool* eof);

}  // namespace berth::stream
