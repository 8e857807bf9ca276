// What validation asks of the host it would run a config on, behind an interface (as
// leveldb's Env): the validator itself touches nothing, so a daemon can reuse it and tests
// can answer for a host they describe. The runtime's answer for this host is
// runtime::SystemHostProbe (src/runtime/host_probe.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"

namespace berth::spec {

enum class PathKind { kDirectory, kOther };

class HostProbe {
 public:
  virtual ~HostProbe() = default;

  // What `path` is, symlinks followed (stat(2)); a failure carries its errno.
  virtual Result<PathKind> Stat(const std::string& path) const = 0;
  // Whether `path` names the namespace the runtime itself is in; `proc_name` is its
  // name under /proc/self/ns ("uts", "net", "mnt").
  virtual bool IsOwnNamespace(const std::string& proc_name, const std::string& path) const = 0;
  // The runtime's hard limit of an RLIMIT_* resource; nullopt when unlimited.
  virtual Result<std::optional<uint64_t>> HardRlimit(int resource) const = 0;
  // CAP_SYS_RESOURCE in the runtime's effective set: it alone lets a process raise hard
  // rlimits and lower oom_score_adj below oom_score_adj_min.
  virtual bool HasCapSysResource() const = 0;
  // The runtime's own oom_score_adj; nullopt when it cannot be read.
  virtual std::optional<int> OwnOomScoreAdj() const = 0;
  // Whether the kernel lets the runtime set oom_score_adj to `adj`, which is below its own:
  // without CAP_SYS_RESOURCE that depends on oom_score_adj_min, which /proc does not show.
  virtual Result<bool> MaySetOomScoreAdj(int adj) const = 0;
  virtual bool AppArmorEnabled() const = 0;
  virtual bool SelinuxEnabled() const = 0;
};

}  // namespace berth::spec
