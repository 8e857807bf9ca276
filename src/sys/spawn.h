// posix_spawn with the child's stdio given as fds: for threaded callers (berthd, berth_oci's
// runtime client: posix_spawn needs none of the parent's locks) and for the shim, which
// links base, sys and cri_log only.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"

namespace berth::sys {

struct SpawnOptions {
  // The child's fds 0-2: a caller's fd (dup'ed) or -1 for /dev/null. Every other fd of
  // the caller must be close-on-exec (the shim and berthd open all of theirs so).
  int in = -1, out = -1, err = -1;
  bool setsid = false;  // POSIX_SPAWN_SETSID: a session of its own
  // One more fd (> 2) the child keeps at the same number, its close-on-exec cleared in the
  // child only (berthd's runtime copy for a shim); -1: none.
  int keep = -1;
  // The child's environment as "KEY=value" strings; nullptr: the caller's environ.
  const std::vector<std::string>* env = nullptr;
};

// Starts binary (a path, no PATH search) with argv and options.env (default: the caller's
// environment); the child gets an empty signal mask and default dispositions. An exec
// failure comes back as the child's errno (ENOENT, EACCES, ENOEXEC).
Result<pid_t> SpawnProcess(const std::string& binary, const std::vector<std::string>& argv,
                           const SpawnOptions& options);

}  // namespace berth::sys
