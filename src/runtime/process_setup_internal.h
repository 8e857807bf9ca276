// Pieces of process_setup split by responsibility: capabilities.cc (names, capset),
// rlimits.cc (names, host limits), seccomp.cc (libseccomp compile in the parent, raw
// install in the child, listener hand-off). Not part of the public interface.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/process_setup.h"
#include "spec/spec.h"

namespace berth::runtime::internal {

// ---- capabilities.cc
// /proc/sys/kernel/cap_last_cap (CAP_LAST_CAP of our headers when unreadable).
int KernelLastCap();
Result<PreparedCaps> PrepareCaps(const std::optional<spec::Capabilities>& caps);

// Child side: the raw capget/capset (v3) and prctl wrappers. No allocation on success.
struct CapSets {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};
Result<CapSets> CapGet();
Result<void> CapSet(const CapSets& s, const char* when);
Result<void> DropBounding(const PreparedCaps& caps);
Result<void> SetAmbient(const PreparedCaps& caps);

// ---- rlimits.cc
std::optional<int> RlimitFromName(const std::string& name);
Result<std::vector<PreparedRlimit>> PrepareRlimits(const std::vector<spec::Rlimit>& rlimits);
Result<void> ApplyRlimits(const std::vector<PreparedRlimit>& rlimits);

// ---- seccomp.cc
Result<PreparedSeccomp> CompileSeccomp(const spec::Seccomp& seccomp);
// seccomp(SECCOMP_SET_MODE_FILTER) with the prepared program; returns the listener fd
// when one was requested, else -1.
Result<int> InstallSeccomp(const PreparedSeccomp& s);

}  // namespace berth::runtime::internal
