// The runtime's answers to what spec validation asks of this host (spec::HostProbe):
// stat(2), getrlimit(2), capget(2), /proc/self and the LSMs' filesystems. `create`,
// `run` and `exec` pass it to spec::Validate; a daemon validating for a host it does not
// run on passes none.
#pragma once

#include "spec/host_probe.h"

namespace berth::runtime {

class SystemHostProbe final : public spec::HostProbe {
 public:
  Result<spec::PathKind> Stat(const std::string& path) const override;
  bool IsOwnNamespace(const std::string& proc_name, const std::string& path) const override;
  Result<std::optional<uint64_t>> HardRlimit(int resource) const override;
  bool HasCapSysResource() const override;
  std::optional<int> OwnOomScoreAdj() const override;
  // Tries `adj` on the runtime itself and puts its own value back (raising is always
  // allowed), since oom_score_adj_min cannot be read.
  Result<bool> MaySetOomScoreAdj(int adj) const override;
  bool AppArmorEnabled() const override;
  bool SelinuxEnabled() const override;
};

}  // namespace berth::runtime
