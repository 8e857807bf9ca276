// Parent <-> container-init protocol over a SOCK_SEQPACKET socketpair. Each message is
// one packet: a fixed header and an optional text (an error message). Packet boundaries
// make partial reads impossible, and EOF tells the parent the child exec'd or died.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::runtime {

enum class SyncType : uint32_t {
  kGo = 1,            // parent -> child: continue
  kMapIds,            // stage-1 -> parent: write uid/gid maps for `value` (pid)
  kChildPid,          // stage-1 -> parent: the init's pid (host pid ns)
  kCreateRuntime,     // init -> parent: environment ready, run prestart/createRuntime hooks
  kCreated,           // init -> parent: waiting for start
  kError,             // either way: an Error (kind, errno, op, subject, detail, context)
};

struct SyncMsg {
  SyncType type = SyncType::kGo;
  int32_t value = 0;
  std::string text;
};

struct SyncPair {
  UniqueFd parent, child;
};
Result<SyncPair> MakeSyncPair();

Result<void> SyncSend(int fd, SyncType type, int32_t value = 0, const std::string& text = {});
// Sends an Error whole: its kind, errno and each part, so the receiver gets the same Error
// (kind and errno included) and not a flattened message. kAborted is sent as kInternal:
// on this socket kAborted means only "the peer went away" (below).
void SyncSendError(int fd, const Error& e);
// Receives one message. A kError message becomes the Error it carries. EOF (the peer exited,
// or exec'd: the socket is close-on-exec) is an Error of kind kAborted (IsPeerGone).
Result<SyncMsg> SyncRecv(int fd);
// Receives and requires `want`; EOF becomes kAborted with op `stage` and
// "container init exited unexpectedly".
Result<SyncMsg> SyncExpect(int fd, SyncType want, const char* stage);
// True for the error SyncRecv/SyncExpect report when the peer closed its end.
inline bool IsPeerGone(const Error& e) { return e.Is(ErrorKind::kAborted); }

}  // namespace berth::runtime
