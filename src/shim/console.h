// The console socket a runtime sends a pty master to (--console-socket): for a container's
// create and for an exec with a terminal.
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::shim {

// A listening socket at dir/name when that path fits in sun_path, else in a private
// directory under /tmp.
struct ConsoleSocket {
  UniqueFd fd;
  std::string path, tmp_dir;
};

Result<ConsoleSocket> ListenConsole(const std::string& dir, const std::string& name);
// Removes the socket file (and its /tmp directory).
void RemoveConsole(const ConsoleSocket& cs);
// The pty master the runtime sent (non-blocking): it connected, sent and closed before it
// exited, so the connection is queued on the listener. op leads the error.
Result<UniqueFd> ReceiveMaster(const ConsoleSocket& cs, const std::string& op);

}  // namespace berth::shim
