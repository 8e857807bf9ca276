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
  kError,             // either way: text holds the error; value holds errno
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
// Sends an Error (its Message() and errno).
void SyncSendError(int fd, const Error& e);
// Receives one message; EOF is reported as an Error with op "sync" and detail "EOF".
Result<SyncMsg> SyncRecv(int fd);
// Receives and requires `want`; a kError message becomes the Error it carries.
Result<SyncMsg> SyncExpect(int fd, SyncType want, const char* stage);

}  // namespace berth::runtime
