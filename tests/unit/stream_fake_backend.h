// A Backend for the streaming tests: exec runs a local process (posix_spawn through
// sys::SpawnProcess) on pipes or a pty, attach runs `cat`, port-forward connects to
// 127.0.0.1:port. Counts live sessions and records resizes.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "stream/backend.h"
#include "sys/spawn.h"

namespace berth::stream::testing {

class FakeBackend : public Backend {
 public:
  std::atomic<int> live{0};
  std::mutex mu;
  std::vector<TermSize> resizes;

  class FakeSession : public Session {
   public:
    FakeSession(FakeBackend* b) : b_(b) { b_->live++; }
    ~FakeSession() override {
      std::lock_guard lock(mu_);
      if (!reaped_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
      b_->live--;
    }
    int StdinFd() const override { return in_.Get(); }
    int StdoutFd() const override { return out_.Get(); }
    int StderrFd() const override { return err_.Get(); }
    Result<void> CloseStdin() override {
      if (tty_) {
        char eof = 4;  // VEOF at the start of a line
        if (::write(out_.Get(), &eof, 1) != 1) return Errno("write", "pty");
        return {};
      }
      in_.Reset();
      return {};
    }
    Result<void> Resize(TermSize s) override {
      {
        std::lock_guard lock(b_->mu);
        b_->resizes.push_back(s);
      }
      if (tty_) {
        winsize ws{s.height, s.width, 0, 0};
        if (ioctl(out_.Get(), TIOCSWINSZ, &ws) < 0) return Errno("TIOCSWINSZ", "pty");
      }
      return {};
    }
    Result<int> Wait() override {
      {
        std::lock_guard lock(mu_);
        if (reaped_) return code_;
        waiting_ = true;
      }
      int st = 0;
      while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      std::lock_guard lock(mu_);
      reaped_ = true;
      code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return code_;
    }
    void Abandon() override {
      std::lock_guard lock(mu_);
      if (reaped_) return;
      kill(pid_, SIGKILL);
      if (!waiting_) {
        waitpid(pid_, nullptr, 0);
        reaped_ = true;
      }
    }

    FakeBackend* b_;
    pid_t pid_ = -1;
    bool tty_ = false;
    UniqueFd in_, out_, err_;
    std::mutex mu_;
    bool waiting_ = false, reaped_ = false;
    int code_ = 0;
  };

  static std::string Resolve(const std::string& cmd) {
    if (cmd.find('/') != std::string::npos) return cmd;
    for (const char* dir : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"}) {
      std::string p = std::string(dir) + cmd;
      if (access(p.c_str(), X_OK) == 0) return p;
    }
    return cmd;
  }

  Result<std::unique_ptr<Session>> Run(std::vector<std::string> cmd, bool tty, bool in, bool out,
                                       bool err, TermSize size = {}) {
    auto s = std::make_unique<FakeSession>(this);
    s->tty_ = tty;
    sys::SpawnOptions o;
    UniqueFd child_in, child_out, child_err;
    if (tty) {
      int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) return Errno("posix_openpt");
      UniqueFd slave(open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (!slave) return Errno("open", "pty slave");
      if (size.width || size.height) {
        winsize ws{size.height, size.width, 0, 0};
        ioctl(m, TIOCSWINSZ, &ws);
      }
      s->out_.Reset(m);
      s->in_.Reset(dup(m));
      o.in = o.out = o.err = slave.Get();
      o.setsid = true;
      child_in = std::move(slave);
    } else {
      int p[2];
      if (in) {
        if (pipe2(p, O_CLOEXEC) < 0) return Errno("pipe2");
        child_in.Reset(p[0]);
        s->in_.Reset(p[1]);
        o.in = p[0];
      }
      if (out) {
        if (pipe2(p, O_CLOEXEC) < 0) return Errno("pipe2");
        s->out_.Reset(p[0]);
        child_out.Reset(p[1]);
        o.out = p[1];
      }
      if (err) {
        if (pipe2(p, O_CLOEXEC) < 0) return Errno("pipe2");
        s->err_.Reset(p[0]);
        child_err.Reset(p[1]);
        o.err = p[1];
      }
    }
    std::string bin = Resolve(cmd[0]);
    auto pid = sys::SpawnProcess(bin, cmd, o);
    if (!pid) return std::unexpected(pid.error());
    s->pid_ = *pid;
    return std::unique_ptr<Session>(std::move(s));
  }

  Result<std::unique_ptr<Session>> Exec(const ExecRequest& r) override {
    if (r.container_id == "missing") return NotFound("exec", r.container_id, "no such container");
    return Run(r.cmd, r.tty, r.stdin, r.stdout, r.stderr, r.initial_size);
  }
  Result<std::unique_ptr<Session>> Attach(const AttachRequest& r) override {
    return Run({"cat"}, r.tty, r.stdin, r.stdout, r.stderr);
  }
  Result<UniqueFd> PortForward(const PortForwardRequest&, int32_t port) override {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd.Get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
      return Errno("connect", "127.0.0.1:" + std::to_string(port));
    }
    return fd;
  }
};

}  // namespace berth::stream::testing
