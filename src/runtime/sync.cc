#include "runtime/sync.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace berth::runtime {
namespace {
struct Header {
  uint32_t type;
  int32_t value;
  uint32_t kind;  // an ErrorKind, for kError
};
constexpr size_t kMaxPacket = 8192;

// An Error's parts, NUL-separated: op, subject, detail, context.
std::string EncodeError(const Error& e) {
  std::string s = e.op;
  s += '\0';
  s += e.subject;
  s += '\0';
  s += e.detail;
  s += '\0';
  s += e.context_;
  return s;
}

Error DecodeError(const SyncMsg& m, uint32_t kind) {
  Error e;
  e.code = m.value;
  e.kind_ = KindFromInt(static_cast<int>(kind));
  std::string* parts[] = {&e.op, &e.subject, &e.detail, &e.context_};
  size_t i = 0, start = 0;
  for (; i < 4 && start <= m.text.size(); ++i) {
    size_t end = m.text.find('\0', start);
    if (end == std::string::npos) end = m.text.size();
    *parts[i] = m.text.substr(start, end - start);
    start = end + 1;
  }
  if (e.op.empty() && e.detail.empty() && e.code == 0) e.detail = "unreadable error message";
  return e;
}
}  // namespace

Result<SyncPair> MakeSyncPair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return Errno("socketpair", "sync");
  return SyncPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

namespace {
Result<void> SendPacket(int fd, const Header& h, const std::string& text) {
  char buf[kMaxPacket];
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
}  // namespace

Result<void> SyncSend(int fd, SyncType type, int32_t value, const std::string& text) {
  return SendPacket(fd, Header{static_cast<uint32_t>(type), value, 0}, text);
}

void SyncSendError(int fd, const Error& e) {
  ErrorKind kind = e.Kind();
  if (kind == ErrorKind::kAborted) kind = ErrorKind::kInternal;
  (void)SendPacket(fd,
                   Header{static_cast<uint32_t>(SyncType::kError), e.code,
                          static_cast<uint32_t>(kind)},
                   EncodeError(e));
}

Result<SyncMsg> SyncRecv(int fd) {
  char buf[kMaxPacket];
  ssize_t r;
  do {
    r = recv(fd, buf, sizeof buf, 0);
  } while (r < 0 && errno == EINTR);
  // ECONNRESET: the peer died with our message unread — for us the same as EOF.
  if (r == 0 || (r < 0 && errno == ECONNRESET))
    return Fail(ErrorKind::kAborted, "sync", "socket", "the peer closed its end");
  if (r < 0) return Errno("recv", "sync socket");
  if (static_cast<size_t>(r) < sizeof(Header))
    return Internal("sync", "socket", "short message of " + std::to_string(r) + " bytes");
  Header h;
  memcpy(&h, buf, sizeof h);
  SyncMsg m;
  m.type = static_cast<SyncType>(h.type);
  m.value = h.value;
  m.text.assign(buf + sizeof h, static_cast<size_t>(r) - sizeof h);
  if (m.type == SyncType::kError) return std::unexpected(DecodeError(m, h.kind));
  return m;
}

Result<SyncMsg> SyncExpect(int fd, SyncType want, const char* stage) {
  auto m = SyncRecv(fd);
  if (!m) {
    if (IsPeerGone(m.error()))
      return Fail(ErrorKind::kAborted, stage, "", "container init exited unexpectedly");
    return m;
  }
  if (m->type != want)
    return Internal(stage, "sync socket",
                    "unexpected message " + std::to_string(static_cast<int>(m->type)) +
                        " (expected " + std::to_string(static_cast<int>(want)) + ")");
  return m;
}

}  // namespace berth::runtime
