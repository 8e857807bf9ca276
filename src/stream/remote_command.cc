// Exec and attach: waits for the client's streams (SPDY) or takes the fixed channels
// (WebSocket), starts the Backend's Session, pumps stdin/stdout/stderr, applies resizes and
// reports the end on the error stream, as kubelet's remotecommand server does.
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/log.h"
#include "stream/handlers.h"
#include "stream/protocol.h"

namespace berth::stream {

namespace {

using SteadyClock = std::chrono::steady_clock;

// How long output may still come after the process exited, before open pipes (a child
// holding them) stop counting: the exit status is not held back by a background process.
constexpr auto kExitDrain = std::chrono::milliseconds(500);

std::string JoinCmd(const std::vector<std::string>& cmd) {
  std::string s;
  for (const auto& c : cmd) s += (s.empty() ? "" : " ") + c;
  return s;
}

class RemoteCommandHandler : public MuxHandler {
 public:
  RemoteCommandHandler(Backend* backend, StreamRequest req, ProtocolChoice proto,
                       std::chrono::milliseconds stream_timeout)
      : backend_(backend), req_(std::move(req)), proto_(proto) {
    std::visit(
        [&](const auto& r) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(r)>, PortForwardRequest>) {
            tty_ = r.tty;
            want_[kStdin] = r.stdin;
            want_[kStdout] = r.stdout;
            want_[kStderr] = r.stderr && !r.tty;  // a terminal has one output
          }
        },
        req_);
    want_[kError] = true;
    want_[kResize] = tty_ && (proto_.websocket || proto_.version >= 3);
    deadline_ = SteadyClock::now() + stream_timeout;
    if (proto_.websocket) {
      for (int c = 0; c < kNumChannels; ++c) ids_[c] = static_cast<uint32_t>(c);
    }
  }

  ~RemoteCommandHandler() override {
    if (waiter_.joinable()) waiter_.join();
  }

  // --- Mux events ---
  uint32_t OnStreamOpen(uint32_t id, const spdy::Headers& h) override {
    auto ch = ChannelFromStreamType(spdy::HeaderValue(h, "streamtype"));
    if (!ch) {
      log::Warn("streaming: refused stream " + std::to_string(id) + ": unknown streamType \"" +
                std::string(spdy::HeaderValue(h, "streamtype")) + "\"");
      return spdy::kProtocolError;
    }
    if (ids_[*ch] != 0 || started_) return spdy::kStreamInUse;  // that stream type twice
    ids_[*ch] = id;
    return 0;
  }

  void OnStreamReady(uint32_t) override {
    if (started_ || finished_ || streams_complete_) return;
    if (!proto_.websocket) {
      for (int c = 0; c < kNumChannels; ++c) {
        if (want_[c] && ids_[c] == 0) return;
      }
    }
    streams_complete_ = true;
    // A terminal's first size comes right after its streams: a process started before it
    // would see 0x0 (`stty size`, a full-screen program). Wait for it, briefly.
    size_grace_ = SteadyClock::now() + std::chrono::milliseconds(500);
    TryStart();
  }

  void TryStart() {
    if (started_ || finished_ || !streams_complete_) return;
    if (want_[kResize] && !pending_size_ && SteadyClock::now() < size_grace_) return;
    Start();
  }

  void OnStreamData(uint32_t id, std::string_view data) override {
    int ch = ChannelOf(id);
    if (ch == kStdin) {
      stdin_.Add(data);
      if (session_) stdin_.Drain();
    } else if (ch == kResize) {
      std::vector<TermSize> sizes;
      if (!resize_.Feed(data, &sizes)) {
        log::Warn("streaming: bad resize message ignored");
        return;
      }
      for (TermSize s : sizes) {
        if (session_)
          (void)session_->Resize(s);
        else
          pending_size_ = s;
      }
      TryStart();
    }
  }

  void OnStreamFin(uint32_t id) override {
    if (ChannelOf(id) == kStdin) stdin_eof_ = true;
  }

  void OnStreamReset(uint32_t id) override {
    int ch = ChannelOf(id);
    if (ch >= 0) ids_[ch] = 0;  // nothing more goes there
    if (ch == kStdin) stdin_eof_ = true;
  }

  void OnPeerClose() override {
    if (proto_.websocket && !finished_) OnPeerGone();
  }

  // --- Loop ---
  void PollFds(std::vector<pollfd>* fds) override {
    poll_base_ = fds->size();
    bool room = mux_->Queued() < kHighWater;
    auto add = [&](int fd, short ev) { fds->push_back({fd, ev, 0}); };
    add(session_ && !out_eof_[0] && room ? out_fd_[0] : -1, POLLIN);
    add(session_ && !out_eof_[1] && room ? out_fd_[1] : -1, POLLIN);
    add(session_ && stdin_.Pending() ? stdin_.fd : -1, POLLOUT);
    add(wait_efd_.Valid() ? wait_efd_.Get() : -1, POLLIN);
    add(session_ && !exited_ && !waiting_ ? session_->ExitFd() : -1, POLLIN);
  }

  void OnPoll(const pollfd* fds, size_t n) override {
    if (n < 5) return;
    if (fds[4].fd >= 0 && fds[4].revents) {
      exited_ = true;
      exited_at_ = SteadyClock::now();
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      bool eof = false;
      std::string chunk = ReadChunk(out_fd_[i], &eof);
      uint32_t id = ids_[i == 0 ? kStdout : kStderr];
      if (!chunk.empty() && (proto_.websocket || id != 0)) mux_->Send(id, chunk);
      if (eof) {
        out_eof_[i] = true;
        if (!proto_.websocket && id != 0) mux_->Fin(id);
      }
    }
    if (fds[2].fd >= 0 && fds[2].revents) stdin_.Drain();
    if (fds[3].fd >= 0 && (fds[3].revents & POLLIN)) Finish();
  }

  bool InputPaused() const override { return stdin_.Pending() > kHighWater; }

  SteadyClock::time_point Deadline() const override {
    if (started_ && exited_ && !waiting_)
      return std::max(exited_at_ + kExitDrain, SteadyClock::now() + std::chrono::milliseconds(50));
    if (started_) return SteadyClock::time_point::max();
    return streams_complete_ ? size_grace_ : deadline_;
  }

  void OnTick() override {
    TryStart();
    if (!started_ && !streams_complete_ && !finished_ && SteadyClock::now() >= deadline_) {
      log::Warn("streaming: timed out waiting for the client to create its streams");
      ExitStatus st{false, 0, "timed out waiting for the client to create streams"};
      WriteStatus(st);
      finished_ = true;
      return;
    }
    if (!session_ || finished_) return;
    if (stdin_eof_ && !stdin_closed_ && stdin_.Pending() == 0) {
      stdin_closed_ = true;
      if (auto r = session_->CloseStdin(); !r) log::Warn("streaming: " + r.error().Message());
    }
    if (!waiting_ && exited_ && SteadyClock::now() >= exited_at_ + kExitDrain) EndDrainedOutput();
    if (!waiting_ && out_eof_[0] && out_eof_[1]) StartWaiter();
  }

  bool Done() const override { return finished_; }

  void OnPeerGone() override {
    if (finished_) return;
    finished_ = true;
    if (session_) {
      session_->Abandon();
      if (waiter_.joinable()) waiter_.join();
    }
  }

 private:
  int ChannelOf(uint32_t id) const {
    if (proto_.websocket) return id < kNumChannels ? static_cast<int>(id) : -1;
    for (int c = 0; c < kNumChannels; ++c) {
      if (ids_[c] == id && id != 0) return c;
    }
    return -1;
  }

  void Start() {
    started_ = true;
    Result<std::unique_ptr<Session>> s;
    if (auto* e = std::get_if<ExecRequest>(&req_)) {
      ExecRequest r = *e;
      r.stderr = want_[kStderr];
      if (tty_ && pending_size_) r.initial_size = *pending_size_;
      s = backend_->Exec(r);
    } else {
      AttachRequest r = std::get<AttachRequest>(req_);
      r.stderr = want_[kStderr];
      s = backend_->Attach(r);
    }
    if (!s) {
      std::string what = std::holds_alternative<ExecRequest>(req_)
                             ? "executing command in container"
                             : "attaching to container";
      WriteStatus(ExitStatus{false, 0, "error " + what + ": " + s.error().Message()});
      finished_ = true;
      return;
    }
    session_ = std::move(*s);
    out_fd_[0] = want_[kStdout] ? session_->StdoutFd() : -1;
    out_fd_[1] = want_[kStderr] ? session_->StderrFd() : -1;
    out_eof_[0] = out_fd_[0] < 0;
    out_eof_[1] = out_fd_[1] < 0;
    stdin_.fd = want_[kStdin] ? session_->StdinFd() : -1;
    if (stdin_.fd < 0) stdin_.Break();  // nothing to write stdin to: dropped
    for (int fd : {out_fd_[0], out_fd_[1], stdin_.fd}) {
      if (fd >= 0) (void)SetNonBlocking(fd);
    }
    if (pending_size_) (void)session_->Resize(*pending_size_);
    stdin_.Drain();
    if (proto_.websocket && proto_.version < 5) {
      // kubelet's first message tells the client the streams are up (v5 clients, which
      // talk to the API server's translator, do not expect it).
      mux_->Send(want_[kStdout] ? kStdout : want_[kStderr] ? kStderr : kError, "");
    }
  }

  // The process exited a while ago but stdout/stderr are still open (a child it left holds
  // them): what the pipes hold now is the last we send; then they count as ended.
  void EndDrainedOutput() {
    for (int i = 0; i < 2; ++i) {
      if (out_eof_[i]) continue;
      int queued = 0;
      if (::ioctl(out_fd_[i], FIONREAD, &queued) == 0 && queued > 0) continue;  // read it first
      out_eof_[i] = true;
      uint32_t id = ids_[i == 0 ? kStdout : kStderr];
      if (!proto_.websocket && id != 0) mux_->Fin(id);
    }
  }

  // Wait() blocks: a thread of its own, so stdin and the client stay served meanwhile.
  void StartWaiter() {
    waiting_ = true;
    wait_efd_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    Session* s = session_.get();
    int efd = wait_efd_.Get();
    waiter_ = std::thread([this, s, efd] {
      wait_result_ = s->Wait();
      uint64_t one = 1;
      (void)!::write(efd, &one, sizeof one);
    });
  }

  void Finish() {
    waiter_.join();
    ExitStatus st;
    if (!wait_result_) {
      st = ExitStatus{false, 0,
                      "error executing command in container: " + wait_result_.error().Message()};
    } else if (*wait_result_ != 0) {
      std::string cmd;
      if (auto* e = std::get_if<ExecRequest>(&req_)) cmd = JoinCmd(e->cmd);
      st = ExitStatus{false, *wait_result_,
                      "command terminated with non-zero exit code: command '" + cmd +
                          "' exited with " + std::to_string(*wait_result_)};
    }
    WriteStatus(st);
    finished_ = true;
  }

  void WriteStatus(const ExitStatus& st) {
    uint32_t id = ids_[kError];
    if (!proto_.websocket && id == 0) return;
    std::string body = proto_.version >= 4 ? StatusJson(st) : StatusText(st);
    if (!body.empty()) mux_->Send(id, body);
    if (!proto_.websocket) {
      mux_->Fin(id);
      for (int c : {kStdout, kStderr}) {
        if (ids_[c]) mux_->Fin(ids_[c]);
      }
    }
  }

  Backend* backend_;
  StreamRequest req_;
  ProtocolChoice proto_;
  bool tty_ = false;
  bool want_[kNumChannels] = {};
  uint32_t ids_[kNumChannels] = {};
  SteadyClock::time_point deadline_;
  bool started_ = false, finished_ = false, waiting_ = false;
  bool exited_ = false;  // the Session's ExitFd became readable
  SteadyClock::time_point exited_at_;
  bool streams_complete_ = false;
  SteadyClock::time_point size_grace_;
  std::unique_ptr<Session> session_;
  int out_fd_[2] = {-1, -1};
  bool out_eof_[2] = {true, true};
  FdSink stdin_;
  bool stdin_eof_ = false, stdin_closed_ = false;
  ResizeParser resize_;
  std::optional<TermSize> pending_size_;
  size_t poll_base_ = 0;
  UniqueFd wait_efd_;
  std::thread waiter_;
  Result<int> wait_result_ = 0;
};

}  // namespace

std::unique_ptr<MuxHandler> NewRemoteCommandHandler(Backend* backend, StreamRequest req,
                                                    ProtocolChoice proto,
                                                    std::chrono::milliseconds stream_timeout) {
  return std::make_unique<RemoteCommandHandler>(backend, std::move(req), proto, stream_timeout);
}

}  // namespace berth::stream
