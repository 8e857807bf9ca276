// Private: the hybrid manager — v1 controllers plus the cgroup2 "unified" mount.
#pragma once

#include <string>
#include <vector>

#include "cgroups/manager.h"
#include "cgroups/mounts.h"
#include "cgroups/v1.h"
#include "cgroups/v2.h"

namespace berth::cgroups {

// systemd's hybrid layout: every v1 controller on its own mount, and a cgroup2
// hierarchy (usually /sys/fs/cgroup/unified) that tracks processes and may offer
// v2-only controllers (hugetlb here). Processes join both, as with runc, so tools
// that read the unified tree (systemd, cgroup2 eBPF) see the container.
class HybridManager : public Manager {
 public:
  HybridManager(const std::vector<V1Hierarchy>& v1, const std::string& unified_mount,
                std::string rel);

  Result<void> Create() override;
  Result<void> AddProcess(pid_t pid) override;
  Result<void> Set(const spec::LinuxResources& res) override;
  Result<void> Freeze() override { return v1_.Freeze(); }
  Result<void> Thaw() override { return v1_.Thaw(); }
  Result<FreezerState> GetFreezerState() override { return v1_.GetFreezerState(); }
  Result<std::vector<pid_t>> Pids() override { return v1_.Pids(); }
  Result<void> KillAll(int sig) override { return v1_.KillAll(sig); }
  Result<Stats> GetStats() override;
  Result<void> Destroy() override;
  // "" and v1 names as V1Manager; "unified" (and hugetlb when v1 lacks it) → the
  // cgroup2 dir.
  std::string Path(const std::string& controller = "") const override;
  bool Exists() const override { return v1_.Exists() || v2_.Exists(); }
  std::vector<std::string> CreatedParents() const override;
  void AdoptCreated(const std::vector<std::string>& dirs) override {
    v1_.AdoptCreated(dirs);
    v2_.AdoptCreated(dirs);
  }

 private:
  std::string rel_;
  V1Manager v1_;
  V2Manager v2_;
};

}  // namespace berth::cgroups
