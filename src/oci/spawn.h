// Running a helper binary from a process that may have threads (berthd): posix_spawn, never
// fork() — a forked child of a threaded process may only call async-signal-safe functions,
// and glibc's posix_spawn (clone(CLONE_VM|CLONE_VFORK) + exec) needs none of the parent's
// locks. Every fd this file opens is O_CLOEXEC, so a spawn on another thread inherits none.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::oci {

// The child's fds 0, 1 and 2: an fd of the caller's (dup'ed, the caller keeps it) or -1 for
// /dev/null. {0, 1, 2} passes the caller's own stdio on.
struct Stdio {
  int in = -1;
  int out = -1;
  int err = -1;
  static Stdio Inherit() { return {0, 1, 2}; }
};

// A spawned child. Wait() reaps it; a Process destroyed without Wait() kills and reaps its
// child (no zombie, no orphan left running).
class Process {
 public:
  Process() = default;
  Process(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  ~Process();

  pid_t Pid() const { return pid_; }
  // A pidfd of the child (readable once it exited), or -1.
  int Pidfd() const { return pidfd_.Get(); }
  // Waits for the child; its wait(2) status. Retries EINTR.
  Result<int> Wait();
  // Wait with a limit (0: none): on expiry the child is SIGKILLed and reaped, and the
  // result is kDeadlineExceeded.
  Result<int> WaitFor(std::chrono::milliseconds timeout);
  // Sends sig (pidfd_send_signal: never a recycled pid).
  Result<void> Signal(int sig) const;

 private:
  void KillAndReap();
  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

// posix_spawn of `binary` (a path: no PATH search) with argv (argv[0] included) and the
// caller's environment. The child starts with an empty signal mask and every signal at its
// default disposition (a daemon's blocked or ignored signals do not leak into it).
// A binary that cannot be executed fails with its errno (ENOENT, EACCES, ENOEXEC...).
Result<Process> Spawn(const std::string& binary, const std::vector<std::string>& argv,
                      const Stdio& stdio);

struct Captured {
  int wait_status = 0;  // as wait(2) gives it
  std::string out;      // the child's stdout (when captured)
  std::string err;      // the child's stderr (when captured)
};

struct CaptureOptions {
  bool capture_out = false;  // else stdout is /dev/null
  bool capture_err = true;   // else stderr is /dev/null
  // 0: none. On expiry the child is SIGKILLed, reaped, and the result is kDeadlineExceeded.
  std::chrono::milliseconds timeout{0};
  size_t max_bytes = 1 << 20;  // per stream; the rest is read and dropped
};

// Spawns, collects stdout/stderr through pipes and waits. Returns when the child has
// exited, even if a grandchild still holds the pipes open (what the child wrote before it
// exited is still read).
Result<Captured> SpawnAndCapture(const std::string& binary, const std::vector<std::string>& argv,
                                 const CaptureOptions& options);

}  // namespace berth::oci
