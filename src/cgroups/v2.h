// Private: the cgroup v2 (unified) manager — one directory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cgroups/manager.h"

namespace berth::cgroups {

// Conversions of the spec's v1-scaled values (runtime-spec config-linux.md, unified).
uint64_t SharesToWeight(uint64_t shares);   // cpu.shares [2,262144] → cpu.weight [1,10000]
uint64_t BlkioToIoWeight(uint64_t weight);  // blkio.weight [10,1000] → io.weight [1,10000]

class V2Manager : public Manager {
 public:
  // mountpoint: the cgroup2 mount; rel: "/berth/id". enable_all: Create enables every
  // controller the root offers in each ancestor (best effort), so stats work even
  // for controllers no limit was set on; otherwise controllers are enabled on
  // demand by Set.
  V2Manager(std::string mountpoint, std::string rel, bool enable_all);

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

  // Makes `controller` available in this cgroup by enabling it in every ancestor's
  // cgroup.subtree_control, root first. Errors are prefixed with `field`.
  Result<void> EnableController(const std::string& controller, const std::string& field);
  Result<void> SetHugetlb(const std::vector<spec::LinuxHugepageLimit>& limits);
  Result<void> SetUnified(const std::map<std::string, std::string>& unified);
  Result<void> ReadHugetlbStats(Stats* s);

 private:
  Result<void> SetMemory(const spec::LinuxMemory& m);
  Result<void> SetCpu(const spec::LinuxCpu& c);
  Result<void> SetIo(const spec::LinuxBlockIo& io);
  Result<void> SetRdma(const std::map<std::string, spec::LinuxRdma>& rdma);
  Result<void> WaitFrozen(bool frozen);
  // Ancestor dirs from the mountpoint down to the parent of dir_.
  std::vector<std::string> Ancestors() const;

  std::string mountpoint_, rel_, dir_;
  bool enable_all_;
  std::vector<std::string> created_;
};

}  // namespace berth::cgroups
