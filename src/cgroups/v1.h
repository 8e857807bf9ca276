// Private: the cgroup v1 manager — one directory per mounted v1 hierarchy.
#pragma once

#include <string>
#include <vector>

#include "cgroups/manager.h"
#include "cgroups/mounts.h"

namespace berth::cgroups {

class V1Manager : public Manager {
 public:
  // rel: the cgroup path ("/berth/id") below every hierarchy's mountpoint.
  V1Manager(const std::vector<V1Hierarchy>& hierarchies, std::string rel);

  Result<void> Create() override;
  Result<void> AddProcess(pid_t pid) override;
  Result<void> Set(const spec::LinuxResources& res) override;
  Result<void> Freeze() override;
  Result<void> Thaw() override;
  Result<FreezerState> GetFreezerState() override;
  Result<std::vector<pid_t>> Pids() override;
  Result<void> KillAll(int sig) override;
  Result<Stats> GetStats() override;
  Result<void> Destroy() override;
  std::string Path(const std::string& controller = "") const override;
  bool Exists() const override;
  std::vector<std::string> CreatedParents() const override;
  void AdoptCreated(const std::vector<std::string>& dirs) override;

  // Directory for a controller ("memory", "name=systemd"), empty if not mounted.
  std::string Dir(const std::string& controller) const;

 private:
  struct Hier {
    V1Hierarchy mount;
    std::string dir;  // mountpoint + rel
  };
  Result<void> SetMemory(const spec::LinuxMemory& mem);
  Result<void> SetCpu(const spec::LinuxCpu& cpu);
  Result<void> SetBlkio(const spec::LinuxBlockIo& io);
  Result<void> SetDevices(const std::vector<spec::LinuxDeviceCgroup>& rules);
  Result<void> SetNetwork(const spec::LinuxNetwork& net);
  Result<void> SetHugetlb(const std::vector<spec::LinuxHugepageLimit>& limits);
  Result<void> SetRdma(const std::map<std::string, spec::LinuxRdma>& rdma);
  Result<void> CopyCpusetFromParent(const std::string& dir);
  // Hierarchy used for Pids/Freeze: freezer if mounted, else pids, else the first.
  std::string ProcsDir() const;

  std::string rel_;
  std::vector<Hier> hiers_;
  std::vector<std::string> created_;  // in creation order
};

}  // namespace berth::cgroups
