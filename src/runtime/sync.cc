#include "runtime/sync.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace berth::runtime {
namespace {
struct Header {
  uint32_t type;
  int32_t value;
};
constexpr size_t kMaxPacket = 8192;
}  // namespace

Result<SyncPair> MakeSyncPair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return Errno("socketpair", "sync");
  return SyncPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<void> SyncSend(int fd, SyncType type, int32_t value, const std::string& text) {
  char buf[kMaxPacket];
  Header h{static_cast<uint32_t>(type), value};
  memcpy(buf, &h, sizeof h);
  size_t n = std::min(text.size(), kMaxPacket - sizeof h);
  memcpy(buf + sizeof h, text.data(), n);
  for (;;) {
    ssize_t r = send(fd, buf, sizeof h + n, MSG_NOSIGNAL);
    if (r >= 0) return {};
    if (errno == EINTR) continue;
    return Errno("send", "sync socket");
  }
}

void SyncSendError(int fd, const Error& e) {
  (void)SyncSend(fd, SyncType::kError, e.code, e.Message());
}

Result<SyncMsg> SyncRecv(int fd) {
  char buf[kMaxPacket];
  ssize_t r;
  do {
    r = recv(fd, buf, sizeof buf, 0);
  } while (r < 0 && errno == EINTR);
  // ECONNRESET: the peer died with our message unread — for us the same as EOF.
  if (r == 0 || (r < 0 && errno == ECONNRESET)) return Fail("sync", "", "EOF");
  if (r < 0) return Errno("recv", "sync socket");
  if (static_cast<size_t>(r) < sizeof(Header)) return Fail("sync", "", "short message");
  Header h;
  memcpy(&h, buf, sizeof h);
  SyncMsg m;
  m.type = static_cast<SyncType>(h.type);
  m.value = h.value;
  m.text.assign(buf + sizeof h, static_cast<size_t>(r) - sizeof h);
  return m;
}

Result<SyncMsg> SyncExpect(int fd, SyncType want, const char* stage) {
  auto m = SyncRecv(fd);
  if (!m) {
    if (m.error().detail == "EOF")
      return Fail(stage, "", "container init exited unexpectedly");
    return m;
  }
  if (m->type == SyncType::kError) {
    Error e{0, "", "", m->text, {}};  // text is already a full message (errno included)
    return std::unexpected(e);
  }
  if (m->type != want)
    return Fail(stage, "", "unexpected sync message " + std::to_string(static_cast<int>(m->type)));
  return m;
}

}  // namespace berth::runtime
