#include "oci/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include "sys/process.h"
#include "sys/spawn.h"

namespace berth::oci {

Process::Process(Process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)) {}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    KillAndReap();
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
  }
  return *this;
}

Process::~Process() { KillAndReap(); }

void Process::KillAndReap() {
  if (pid_ <= 0) return;
  (void)Signal(SIGKILL);
  (void)Wait();
}

Result<int> Process::Wait() {
  if (pid_ <= 0) return Internal("wait", "process", "no child to wait for (already waited?)");
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno == EINTR) continue;
    auto e = Errno("waitpid", std::to_string(pid_));
    pid_ = -1;
    return e;
  }
  pid_ = -1;
  pidfd_.Reset();
  return status;
}

Result<int> Process::WaitFor(std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0 || !pidfd_) return Wait();
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{pidfd_.Get(), POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("poll", "pidfd " + std::to_string(pid_));
    if (r > 0) return Wait();
  }
  KillAndReap();
  return DeadlineExceeded("wait", "process", "did not exit within " +
                                                 std::to_string(timeout.count()) +
                                                 " ms (killed)");
}

Result<void> Process::Signal(int sig) const {
  if (pid_ <= 0) return FailedPrecondition("kill", "process", "the child was already reaped");
  if (pidfd_) return sys::PidfdSendSignal(pidfd_, sig);
  // Not reaped yet, so the pid cannot have been reused.
  if (kill(pid_, sig) < 0) return Errno("kill", std::to_string(pid_));
  return {};
}

Result<Process> Spawn(const std::string& binary, const std::vector<std::string>& argv,
                      const Stdio& stdio) {
  pid_t pid = BERTH_TRY(sys::SpawnProcess(binary, argv, {stdio.in, stdio.out, stdio.err, false}));
  auto pidfd = sys::PidfdOpen(pid);
  return Process(pid, pidfd ? std::move(*pidfd) : UniqueFd());
}

namespace {

Result<void> MakePipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return Errno("pipe2");
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  // Read ends never block: after the child exits they are drained, not waited on.
  if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) return Errno("fcntl O_NONBLOCK", "pipe");
  return {};
}

// Reads what is there now; closes fd at EOF. Keeps at most max bytes in buf.
void ReadAvailable(UniqueFd& fd, std::string& buf, size_t max) {
  char chunk[16384];
  while (fd) {
    ssize_t n = read(fd.Get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno != EAGAIN) fd.Reset();
      return;
    }
    if (n == 0) {
      fd.Reset();
      return;
    }
    if (buf.size() < max) buf.append(chunk, std::min(static_cast<size_t>(n), max - buf.size()));
  }
}

}  // namespace

Result<Captured> SpawnAndCapture(const std::string& binary, const std::vector<std::string>& argv,
                                 const CaptureOptions& options) {
  UniqueFd out_r, out_w, err_r, err_w;
  if (options.capture_out) BERTH_TRYV(MakePipe(out_r, out_w));
  if (options.capture_err) BERTH_TRYV(MakePipe(err_r, err_w));
  Stdio stdio{-1, out_w ? out_w.Get() : -1, err_w ? err_w.Get() : -1};
  auto proc = BERTH_TRY(Spawn(binary, argv, stdio));
  out_w.Reset();
  err_w.Reset();

  using Clock = std::chrono::steady_clock;
  const bool timed = options.timeout.count() > 0;
  const auto deadline = Clock::now() + options.timeout;
  Captured c;
  bool exited = false;
  while (!exited) {
    pollfd fds[3];
    int n = 0;
    int pid_slot = -1;
    if (proc.Pidfd() >= 0) {
      pid_slot = n;
      fds[n++] = {proc.Pidfd(), POLLIN, 0};
    }
    if (out_r) fds[n++] = {out_r.Get(), POLLIN, 0};
    if (err_r) fds[n++] = {err_r.Get(), POLLIN, 0};
    if (n == 0) break;  // no pidfd and both pipes closed: the child is about to be reaped
    int ms = -1;
    if (timed) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      ms = left.count() > 0 ? static_cast<int>(left.count()) : 0;
    }
    int r = ms == 0 ? 0 : poll(fds, n, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("poll", binary);
    if (r == 0) {
      (void)proc.Signal(SIGKILL);
      (void)proc.Wait();
      return DeadlineExceeded("run", binary,
                              "did not exit within " + std::to_string(options.timeout.count()) +
                                  " ms (killed)");
    }
    ReadAvailable(out_r, c.out, options.max_bytes);
    ReadAvailable(err_r, c.err, options.max_bytes);
    if (pid_slot >= 0 && (fds[pid_slot].revents & POLLIN)) exited = true;
  }
  // What the child wrote before it exited is in the pipes; a grandchild that inherited
  // them (a hook left running) must not keep us waiting.
  ReadAvailable(out_r, c.out, options.max_bytes);
  ReadAvailable(err_r, c.err, options.max_bytes);
  c.wait_status = BERTH_TRY(proc.Wait());
  return c;
}

}  // namespace berth::oci
