#include "stream/loop.h"

#include <unistd.h>

#include <cerrno>

namespace berth::stream {

using Clock = std::chrono::steady_clock;

void FdSink::Drain() {
  while (!broken && fd >= 0 && pos < buf.size()) {
    ssize_t n = ::write(fd, buf.data() + pos, buf.size() - pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      broken = true;
      break;
    }
    pos += static_cast<size_t>(n);
  }
  if (broken || pos == buf.size()) {
    buf.clear();
    pos = 0;
  } else if (pos > (64 << 10)) {
    buf.erase(0, pos);
    pos = 0;
  }
}

std::string ReadChunk(int fd, bool* eof) {
  std::string out(32 << 10, '\0');
  for (;;) {
    ssize_t n = ::read(fd, out.data(), out.size());
    if (n > 0) {
      out.resize(static_cast<size_t>(n));
      return out;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return {};
    *eof = true;  // 0, EIO (pty), or another error: nothing more will come
    return {};
  }
}

void RunLoop(Conn* conn, Mux* mux, LoopHandler* handler, int wake_fd) {
  bool gone = false;
  // Frames that came with the HTTP head, or since, are dispatched before the first poll;
  // what they changed (stdin's EOF) is acted on before it too: the poll may never return.
  if (!mux->OnReadable() || mux->PeerEof())
    gone = true;
  else
    handler->OnTick();
  std::vector<pollfd> fds;
  while (!gone && !handler->Done()) {
    (void)mux->Flush();
    mux->SetReadPaused(handler->InputPaused());
    fds.clear();
    short sock_events = 0;
    if (!mux->ReadPaused()) sock_events |= POLLIN;
    if (mux->WantWrite()) sock_events |= POLLOUT;
    fds.push_back({conn->Fd(), sock_events, 0});
    fds.push_back({wake_fd, static_cast<short>(wake_fd >= 0 ? POLLIN : 0), 0});
    handler->PollFds(&fds);
    int timeout = -1;
    auto deadline = handler->Deadline();
    if (deadline != Clock::time_point::max()) timeout = PollTimeout(deadline);
    if (conn->Pending() && !mux->ReadPaused()) timeout = 0;
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      gone = true;  // the server stops
      break;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) ||
        (conn->Pending() && !mux->ReadPaused())) {
      if (!mux->OnReadable() || mux->PeerEof()) {
        gone = true;
        break;
      }
    }
    if (n > 0) handler->OnPoll(fds.data() + 2, fds.size() - 2);
    handler->OnTick();
    if (!mux->Flush()) {
      gone = true;
      break;
    }
  }
  if (gone && !handler->Done()) handler->OnPeerGone();
  // Graceful end: say goodbye, send what is queued (bounded), half-close, drain briefly so
  // the peer reads everything before our close (a close with unread input sends RST).
  mux->Close();
  auto until = Clock::now() + std::chrono::seconds(5);
  while (mux->WantWrite() && Clock::now() < until) {
    if (!mux->Flush()) break;
    if (!mux->WantWrite()) break;
    pollfd p{conn->Fd(), POLLOUT, 0};
    if (::poll(&p, 1, PollTimeout(until)) <= 0) break;
    if (p.revents & (POLLERR | POLLHUP)) break;
  }
  conn->ShutdownWrite();
  until = Clock::now() + std::chrono::seconds(2);
  char buf[4096];
  for (;;) {
    pollfd p{conn->Fd(), POLLIN, 0};
    if (::poll(&p, 1, PollTimeout(until)) <= 0) break;
    ssize_t r = conn->Read(buf, sizeof buf);
    if (r == 0 || (r < 0 && errno != EAGAIN)) break;
  }
}

}  // namespace berth::stream
