// Process primitives: clone without a new stack (fork semantics plus namespace flags),
// pidfds, /proc/<pid>/stat facts and fd hygiene before execve.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::sys {

// clone(2) with fork semantics (child continues on a copy of the stack).
// flags may hold CLONE_NEW* and CLONE_PARENT; SIGCHLD is added. Returns 0 in the child.
Result<pid_t> ForkWithFlags(unsigned long flags);

Result<UniqueFd> PidfdOpen(pid_t pid);
Result<void> PidfdSendSignal(const UniqueFd& pidfd, int sig);

// Start time (clock ticks since boot, field 22 of /proc/<pid>/stat) and state letter.
struct ProcStat {
  char state = '?';
  uint64_t start_time = 0;
  pid_t ppid = 0;
};
Result<ProcStat> ReadProcStat(pid_t pid);

// True if pid exists, is not a zombie, and (when start_time != 0) started at start_time:
// guards against pid reuse between commands.
bool ProcessAlive(pid_t pid, uint64_t start_time);

// A wait(2) status as a shell reports it: the exit code, or 128+signal.
int ShellStatus(int wait_status);
// Waits for pid; returns ShellStatus of it.
Result<int> WaitExit(pid_t pid);

// Marks every fd >= first as close-on-exec, so nothing of the runtime leaks into the
// container (CVE-2024-21626). close_range(CLOSE_RANGE_CLOEXEC) with a /proc/self/fd fallback.
Result<void> CloexecFrom(int first);

// Writes all of data to fd (retrying EINTR/short writes).
Result<void> WriteAll(int fd, const void* data, size_t len, const char* what);
// Reads a whole file (small files: /proc, cgroupfs, config.json).
Result<std::string> ReadFile(const std::string& path);
// Writes a file atomically: tmp in the same dir, fsync-free rename (state is under /run).
Result<void> WriteFileAtomic(const std::string& path, const std::string& data, int mode = 0600);
// open(O_WRONLY|O_TRUNC) + write, for /proc and cgroupfs knobs.
Result<void> WriteFile(const std::string& path, const std::string& data);

// Signal names: "KILL", "SIGKILL", "9" -> 9. Also SIGRTMIN+n / RTMIN+n.
Result<int> ParseSignal(const std::string& s);
std::string SignalName(int sig);

}  // namespace berth::sys
