// Pod namespaces held without a process (the idea of CRI-O's pinns): a short-lived thread
// of berthd unshares net/ipc/uts, sets the pod's hostname, and bind-mounts its
// /proc/thread-self/ns/<type> onto files in the pod's dir; the thread then ends and the
// mounts keep the namespaces alive. No pause container, no runtime create/start, no shim
// process per pod for it. unshare(2) of these three types affects only the calling thread,
// which is why a threaded daemon may do it (CLONE_NEWNS or CLONE_NEWUSER it could not).
// A pod-shared PID namespace still needs a process (pid 1 of the namespace): not here.
#pragma once

#include <string>

#include "base/error.h"

namespace berth::daemon {

struct PinnedNamespaces {
  std::string net, ipc, uts;  // files, "" when not pinned (the host's is used)
};

// Pins the types asked for under dir (dir/net, dir/ipc, dir/uts); a new netns gets lo up
// (what the CNI loopback plugin would do). On failure nothing stays.
Result<PinnedNamespaces> PinNamespaces(const std::string& dir, bool net, bool ipc, bool uts,
                                       const std::string& hostname);
// A pod-shared PID namespace: `berth-shim pause` makes its pid 1 (a namespace with no
// process cannot be joined), whose ns is pinned at dir/pid; its pid stays in dir/pause.pid.
// Returns the file and the pid.
Result<std::pair<std::string, int>> StartPidHolder(const std::string& shim_binary,
                                                   const std::string& dir);
// Kills the holder (SIGKILL: every process of the namespace goes with it) when `pid` still
// is the process whose namespace `file` pins, or, when berthd died before it pinned that
// namespace, when `pid` still is the holder StartPidHolder started with `holder_pid_file`
// (its command line names that file), then unpins the file. Idempotent.
Result<void> StopPidHolder(const std::string& file, int pid, const std::string& holder_pid_file);

// Unmounts and removes each pinned file; absent files are fine (idempotent).
Result<void> UnpinNamespaces(const PinnedNamespaces& ns);

}  // namespace berth::daemon
