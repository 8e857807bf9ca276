// Small parent-side helpers shared by create, run and exec.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::runtime {

// Writes the pid atomically (tmp + rename), as containerd reads it as soon as it appears.
Result<void> WritePidFile(const std::string& path, pid_t pid);
// With all signals blocked by the caller: waits for pid to exit, forwarding every other
// signal to it (as `runc run` does), reaping unrelated children. Returns the exit status.
int ForwardSignalsUntilExit(pid_t pid);

// For a foreground process with a terminal and no --console-socket: `theirs` goes to the
// child as its console socket, berth receives the pty master on `ours` (sys::RecvFd) and
// proxies it.
struct ConsolePair {
  UniqueFd ours, theirs;
};
Result<ConsolePair> MakeConsolePair();
// Like ForwardSignalsUntilExit, and also copies stdin -> pty master -> stdout, puts our
// terminal (if stdin is one) in raw mode and passes window size changes on.
int ProxyTerminalUntilExit(pid_t pid, int master);

}  // namespace berth::runtime
