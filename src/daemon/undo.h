// Helpers for undoing what a crash (of berthd or of a shim) left half done, shared by
// recovery, CreateContainer's failure path and StopPodSandbox.
#pragma once

#include <chrono>
#include <string>

#include "base/error.h"
#include "daemon/records.h"
#include "shim/client.h"

namespace berth::daemon {

// The record still names a network, a pinned namespace or a PID holder: a not-ready pod
// with one is owed a teardown (a StopPodSandbox cut short).
bool HoldsPodResources(const SandboxRecord& r);

// shim.Delete(id, force), waiting up to `wait` while the shim refuses because an operation
// on the container still runs (a create berthd was killed in the middle of: a bundle
// removed under it would leave its container behind). A container the shim does not know
// is done.
Result<void> ForceDeleteInShim(const shim::ShimClient& shim, const std::string& id,
                               std::chrono::milliseconds wait);

}  // namespace berth::daemon
