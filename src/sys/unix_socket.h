// Unix sockets: connecting by path, and passing fds with SCM_RIGHTS (the console socket's
// pty master, the seccomp agent's listener). Named unix_socket.h: a src/sys/socket.h would
// shadow the system <sys/socket.h>, src/ being an -I directory.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::sys {

// A SOCK_STREAM unix socket (close-on-exec) connected to path; `what` (a flag or spec
// field) leads the error.
Result<UniqueFd> ConnectUnix(const std::string& path, const std::string& what);

// Sends data with fds attached (SCM_RIGHTS, at most 16). A short write sends the rest of
// data without them: the fds travel only with the first sendmsg(2), as config-linux.md
// requires of the seccomp agent's protocol. Empty data sends one NUL byte (a stream socket
// carries no fd without a byte). EINTR is retried; a closed peer is an error, not SIGPIPE.
Result<void> SendFds(int sock, std::span<const int> fds, std::string_view data,
                     const std::string& what);

struct ReceivedFds {
  std::string data;
  std::vector<UniqueFd> fds;
};
// One recvmsg(2) of up to max_data bytes and up to max_fds fds, received close-on-exec.
// Fails when the peer closed without sending, or sent more fds than max_fds (the kernel
// drops those: MSG_CTRUNC). EINTR is retried.
Result<ReceivedFds> RecvFds(int sock, size_t max_data, size_t max_fds, const std::string& what);
// RecvFds of exactly one fd (the data is dropped); fails when none came.
Result<UniqueFd> RecvFd(int sock, const std::string& what);

}  // namespace berth::sys
