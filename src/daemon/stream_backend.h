// berthd's side of the streaming server (issue 11): stream::Backend over the pods' berth-shims
// and network namespaces. Exec and Attach are the shim's `exec` and `attach` (docs/shim.md):
// the shim hands berthd the process's pipes or pty master, so no process runs per session
// and the server pumps the fds itself. PortForward connects inside the pod's network
// namespace from berthd, without socat or nsenter.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "stream/backend.h"

namespace berth::daemon {

class Daemon;

// Finds containers and pods in the request's namespace; the daemon must outlive it.
// Thread-safe: each call has its own shim connection.
std::unique_ptr<stream::Backend> NewStreamBackend(Daemon& daemon);

// A TCP connection to 127.0.0.1:port — or [::1]:port when that is refused — inside the
// network namespace pinned at netns ("": berthd's own, for host-network pods), within
// timeout; returned blocking. The socket is made in a short-lived thread that joins the
// namespace (setns affects only the calling thread, and a socket keeps the namespace it
// was made in), so none of berthd's threads ever changes namespace.
Result<UniqueFd> ConnectInNetns(const std::string& netns, int port,
                                std::chrono::milliseconds timeout);

}  // namespace berth::daemon
