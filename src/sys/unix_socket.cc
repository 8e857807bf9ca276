#include "sys/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace berth::sys {

namespace {
constexpr size_t kMaxFds = 16;
}  // namespace

Result<UniqueFd> ConnectUnix(const std::string& path, const std::string& what) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return InvalidArgument(what, path,
                           "a unix socket path must be 1-" +
                               std::to_string(sizeof addr.sun_path - 1) + " bytes long");
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return Errno("socket", what);
  // An interrupted unix connect leaves the socket unconnected, so it can be retried.
  int rc;
  do {
    rc = ::connect(sock.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Errno(what + ": connect", path);
  return sock;
}

Result<void> SendFds(int sock, std::span<const int> fds, std::string_view data,
                     const std::string& what) {
  if (fds.size() > kMaxFds)
    return InvalidArgument("sendmsg", what, std::to_string(fds.size()) + " fds, at most " +
                                                std::to_string(kMaxFds) + " in one message");
  static const char kNul = '\0';
  const char* p = data.empty() ? &kNul : data.data();
  size_t left = data.empty() ? 1 : data.size();
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  bool first = true;
  while (left > 0) {
    iovec iov{const_cast<char*>(p), left};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (first && !fds.empty()) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("sendmsg", what);
    }
    first = false;
    p += n;
    left -= static_cast<size_t>(n);
  }
  return {};
}

Result<ReceivedFds> RecvFds(int sock, size_t max_data, size_t max_fds, const std::string& what) {
  if (max_fds > kMaxFds)
    return InvalidArgument("recvmsg", what, "at most " + std::to_string(kMaxFds) + " fds");
  ReceivedFds out;
  out.data.resize(max_data > 0 ? max_data : 1);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  iovec iov{out.data.data(), out.data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (max_fds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * max_fds);
  }
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Errno("recvmsg", what);
  // Every fd that arrived is owned first, so that none leaks on the errors below.
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      out.fds.emplace_back(fd);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC)
    return InvalidArgument("recvmsg", what,
                           "the peer sent more than " + std::to_string(max_fds) + " fds");
  if (n == 0 && out.fds.empty())
    return Fail(ErrorKind::kUnavailable, "recvmsg", what, "the peer closed the connection");
  out.data.resize(static_cast<size_t>(n));
  return out;
}

Result<UniqueFd> RecvFd(int sock, const std::string& what) {
  ReceivedFds r = BERTH_TRY(RecvFds(sock, 256, 1, what));
  if (r.fds.empty()) return InvalidArgument("recvmsg", what, "no fd received");
  return std::move(r.fds[0]);
}

}  // namespace berth::sys
