#include "daemon/undo.h"

#include <thread>

namespace berth::daemon {

bool HoldsPodResources(const SandboxRecord& r) {
  return r.network_set_up || !r.net_ns.empty() || !r.ipc_ns.empty() || !r.uts_ns.empty() ||
         !r.pid_ns.empty() || r.pause_pid != 0;
}

Result<void> ForceDeleteInShim(const shim::ShimClient& shim, const std::string& id,
                               std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto r = shim.Delete(id, true);
    if (r || r.error().IsNotFound()) return {};
    if (!r.error().IsFailedPrecondition() || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace berth::daemon
