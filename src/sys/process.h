// Process primitives: fork and clone without a new stack (fork semantics plus namespace
// flags), refused in a threaded process; pidfds, /proc/<pid>/stat facts and fd hygiene
// before execve.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::sys {

// The threads of this process (field 20 of /proc/self/stat). Fails when /proc does not
// show this process (a child that joined a mount namespace whose /proc belongs to another
// pid namespace).
Result<int> ThreadCount();

// The child of a fork holds only the forking thread: a lock another thread held (malloc's,
// stdio's, any mutex) stays locked in it forever. So the forking helpers below refuse in a
// process with more than one thread: abort() in debug builds (NDEBUG undefined), a
// kFailedPrecondition error otherwise. A threaded process (berthd) must posix_spawn.
// When ThreadCount cannot tell, the fork goes ahead: that happens only in the runtime's
// own children, cloned from a process that passed the check.
Result<void> CheckSingleThreaded(const char* op);

// clone(2) with fork semantics (child continues on a copy of the stack).
// flags may hold CLONE_NEW* and CLONE_PARENT; SIGCHLD is added. Returns 0 in the child.
Result<pid_t> ForkWithFlags(unsigned long flags);
// fork(2) (glibc's: atfork handlers run). Returns 0 in the child.
Result<pid_t> Fork();

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

// Signal names: "KILL", "SIGKILL", "9" -> 9. Also SIGRTMIN+n / RTMIN+n.
Result<int> ParseSignal(const std::string& s);
std::string SignalName(int sig);

}  // namespace berth::sys
