// cgroup v2: applying linux.resources, converting the spec's v1-shaped values the
// way the runtime-spec and the kernel's cgroup-v2.rst document.
#include <string>

#include "cgroups/cgroup_fs.h"
#include "cgroups/devices.h"
#include "cgroups/v2.h"

namespace berth::cgroups {

namespace {

constexpr const char* kRes = "linux.resources.";
std::string F(const std::string& rest) { return kRes + rest; }

std::string MaxOr(int64_t v) { return v < 0 ? "max" : std::to_string(v); }

}  // namespace

// cpu.shares [2, 262144] → cpu.weight [1, 10000].
uint64_t SharesToWeight(uint64_t shares) {
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

// blkio.weight [10, 1000] → io.weight [1, 10000].
uint64_t BlkioToIoWeight(uint64_t w) {
  if (w < 10) w = 10;
  if (w > 1000) w = 1000;
  return 1 + ((w - 10) * 9999) / 990;
}

Result<void> V2Manager::SetMemory(const spec::LinuxMemory& m) {
  bool has_limit = m.limit && *m.limit != 0;  // 0 = unset, as in configs of other tools
  bool has_swap = m.swap && *m.swap != 0;
  bool has_res = m.reservation && *m.reservation != 0;
  // swappiness, disableOOMKiller, kernel, kernelTCP and useHierarchy have no v2
  // file; the spec marks them v1-only, so they are ignored here.
  if (!has_limit && !has_swap && !has_res) return {};
  BERTH_TRYV(EnableController("memory", F("memory")));
  if (has_limit && *m.limit > 0 && m.check_before_update.value_or(false)) {
    uint64_t cur = BERTH_TRY(fs::ReadUint(dir_ + "/memory.current"));
    if (cur > static_cast<uint64_t>(*m.limit))
      return Fail(
          F("memory.limit"), std::to_string(*m.limit),
          "is below the current usage of " + std::to_string(cur) + " bytes (checkBeforeUpdate)");
  }
  if (has_swap) {
    // The spec's swap is memory+swap (v1's memsw); v2 limits swap alone.
    std::string v;
    if (*m.swap < 0) {
      v = "max";
    } else if (!has_limit) {
      return Fail(F("memory.swap"), std::to_string(*m.swap),
                  "needs linux.resources.memory.limit on cgroup v2 "
                  "(memory.swap.max = swap - limit)");
    } else if (*m.limit < 0) {
      v = std::to_string(*m.swap);
    } else if (*m.swap < *m.limit) {
      return Fail(F("memory.swap"), std::to_string(*m.swap),
                  "must not be below linux.resources.memory.limit (" + std::to_string(*m.limit) +
                      "): it counts memory plus swap");
    } else {
      v = std::to_string(*m.swap - *m.limit);
    }
    std::string file = dir_ + "/memory.swap.max";
    if (!fs::PathExists(file))
      return Fail(F("memory.swap"), file, "does not exist: swap accounting is disabled");
    BERTH_TRYV(fs::WriteField(F("memory.swap"), file, v));
  }
  if (has_limit)
    BERTH_TRYV(fs::WriteField(F("memory.limit"), dir_ + "/memory.max", MaxOr(*m.limit)));
  if (has_res)
    BERTH_TRYV(
        fs::WriteField(F("memory.reservation"), dir_ + "/memory.low", MaxOr(*m.reservation)));
  return {};
}

Result<void> V2Manager::SetCpu(const spec::LinuxCpu& c) {
  if ((c.realtime_runtime && *c.realtime_runtime) || (c.realtime_period && *c.realtime_period))
    return Fail(F("cpu.realtimeRuntime"), "", "real-time CPU budgets do not exist on cgroup v2");
  bool has_shares = c.shares && *c.shares;
  bool has_quota = c.quota && *c.quota != 0;
  bool has_period = c.period && *c.period;
  if (has_shares || has_quota || has_period || c.burst || c.idle) {
    BERTH_TRYV(EnableController("cpu", F("cpu")));
    if (has_shares)
      BERTH_TRYV(fs::WriteField(F("cpu.shares"), dir_ + "/cpu.weight",
                                std::to_string(SharesToWeight(*c.shares))));
    if (has_quota || has_period) {
      // cpu.max is "$QUOTA $PERIOD"; keep the part the spec leaves unset.
      std::string quota;
      if (has_quota) {
        quota = MaxOr(*c.quota);
      } else {
        auto cur = BERTH_TRY(fs::ReadTrimmed(dir_ + "/cpu.max"));
        quota = cur.substr(0, cur.find(' '));
      }
      std::string v = quota;
      if (has_period) v += " " + std::to_string(*c.period);
      BERTH_TRYV(fs::WriteField(F(has_quota ? "cpu.quota" : "cpu.period"), dir_ + "/cpu.max", v));
    }
    if (c.burst)
      BERTH_TRYV(fs::WriteField(F("cpu.burst"), dir_ + "/cpu.max.burst", std::to_string(*c.burst)));
    if (c.idle)
      BERTH_TRYV(fs::WriteField(F("cpu.idle"), dir_ + "/cpu.idle", std::to_string(*c.idle)));
  }
  if (!c.cpus.empty() || !c.mems.empty()) {
    BERTH_TRYV(EnableController("cpuset", F(c.cpus.empty() ? "cpu.mems" : "cpu.cpus")));
    if (!c.cpus.empty()) BERTH_TRYV(fs::WriteField(F("cpu.cpus"), dir_ + "/cpuset.cpus", c.cpus));
    if (!c.mems.empty()) BERTH_TRYV(fs::WriteField(F("cpu.mems"), dir_ + "/cpuset.mems", c.mems));
  }
  return {};
}

Result<void> V2Manager::SetIo(const spec::LinuxBlockIo& io) {
  // A weight of 0 is "unset": Docker writes blockIO.weight 0 for every container, and
  // runc neither writes it nor enables the io controller for it.
  auto set = [](const std::optional<uint16_t>& w) { return w && *w != 0; };
  bool wants = set(io.weight) || set(io.leaf_weight) || !io.throttle_read_bps_device.empty() ||
               !io.throttle_write_bps_device.empty() || !io.throttle_read_iops_device.empty() ||
               !io.throttle_write_iops_device.empty();
  for (const auto& d : io.weight_device) wants |= set(d.weight) || set(d.leaf_weight);
  if (!wants) return {};
  BERTH_TRYV(EnableController("io", F("blockIO")));
  if (set(io.leaf_weight))
    return Fail(F("blockIO.leafWeight"), "", "leaf weights do not exist on cgroup v2");
  // BFQ keeps v1's 1..1000 scale in io.bfq.weight; otherwise io.weight (1..10000).
  const std::string bfq = dir_ + "/io.bfq.weight";
  const bool use_bfq = fs::PathExists(bfq);
  const std::string weight_file = use_bfq ? bfq : dir_ + "/io.weight";
  auto conv = [&](uint64_t w) { return std::to_string(use_bfq ? w : BlkioToIoWeight(w)); };
  auto need_weight = [&](const std::string& field) -> Result<void> {
    if (fs::PathExists(weight_file)) return {};
    return Fail(field, weight_file,
                "does not exist: the block I/O scheduler offers no proportional weights");
  };
  if (set(io.weight)) {
    BERTH_TRYV(need_weight(F("blockIO.weight")));
    BERTH_TRYV(fs::WriteField(F("blockIO.weight"), weight_file, "default " + conv(*io.weight)));
  }
  for (size_t i = 0; i < io.weight_device.size(); ++i) {
    const auto& d = io.weight_device[i];
    std::string field = F("blockIO.weightDevice[" + std::to_string(i) + "]");
    if (set(d.leaf_weight))
      return Fail(field + ".leafWeight", "", "leaf weights do not exist on cgroup v2");
    if (!set(d.weight)) continue;
    BERTH_TRYV(need_weight(field));
    BERTH_TRYV(fs::WriteField(
        field, weight_file,
        std::to_string(d.major) + ":" + std::to_string(d.minor) + " " + conv(*d.weight)));
  }
  struct {
    const std::vector<spec::LinuxThrottleDevice>& list;
    const char* field;
    const char* key;
  } throttles[] = {
      {io.throttle_read_bps_device, "blockIO.throttleReadBpsDevice", "rbps"},
      {io.throttle_write_bps_device, "blockIO.throttleWriteBpsDevice", "wbps"},
      {io.throttle_read_iops_device, "blockIO.throttleReadIOPSDevice", "riops"},
      {io.throttle_write_iops_device, "blockIO.throttleWriteIOPSDevice", "wiops"},
  };
  for (const auto& t : throttles) {
    for (size_t i = 0; i < t.list.size(); ++i) {
      const auto& d = t.list[i];
      // v1 uses 0 for "no limit"; v2 spells it "max".
      std::string rate = d.rate == 0 ? "max" : std::to_string(d.rate);
      BERTH_TRYV(fs::WriteField(
          F(t.field) + "[" + std::to_string(i) + "]", dir_ + "/io.max",
          std::to_string(d.major) + ":" + std::to_string(d.minor) + " " + t.key + "=" + rate));
    }
  }
  return {};
}

Result<void> V2Manager::SetHugetlb(const std::vector<spec::LinuxHugepageLimit>& limits) {
  if (limits.empty()) return {};
  BERTH_TRYV(EnableController("hugetlb", F("hugepageLimits")));
  for (size_t i = 0; i < limits.size(); ++i) {
    const auto& l = limits[i];
    std::string field = F("hugepageLimits[" + std::to_string(i) + "]");
    std::string file = dir_ + "/hugetlb." + l.page_size + ".max";
    if (l.page_size.find('/') != std::string::npos || !fs::PathExists(file))
      return Fail(field + ".pageSize", "\"" + l.page_size + "\"",
                  "the kernel offers no such huge page size (" + file + " does not exist)");
    BERTH_TRYV(fs::WriteField(field, file, std::to_string(l.limit)));
    // Reservations count too since 5.7; keep both limits equal, as runc does.
    std::string rsvd = dir_ + "/hugetlb." + l.page_size + ".rsvd.max";
    if (fs::PathExists(rsvd)) BERTH_TRYV(fs::WriteField(field, rsvd, std::to_string(l.limit)));
  }
  return {};
}

Result<void> V2Manager::SetRdma(const std::map<std::string, spec::LinuxRdma>& rdma) {
  if (rdma.empty()) return {};
  BERTH_TRYV(EnableController("rdma", F("rdma")));
  for (const auto& [dev, lim] : rdma) {
    std::string v = dev;
    if (lim.hca_handles) v += " hca_handle=" + std::to_string(*lim.hca_handles);
    if (lim.hca_objects) v += " hca_object=" + std::to_string(*lim.hca_objects);
    BERTH_TRYV(fs::WriteField(F("rdma[\"" + dev + "\"]"), dir_ + "/rdma.max", v));
  }
  return {};
}

// Files the runtime itself manages; a config must not write them through `unified`.
static bool RuntimeOwned(const std::string& key) {
  return key == "cgroup.procs" || key == "cgroup.threads" || key == "cgroup.kill" ||
         key == "cgroup.freeze" || key == "cgroup.subtree_control" || key == "cgroup.type";
}

static Result<void> CheckUnifiedKey(const std::string& key) {
  std::string field = F("unified[\"" + key + "\"]");
  if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos ||
      key.find('\0') != std::string::npos)
    return Fail(field, "", "a key must be a file name in the cgroup directory");
  size_t dot = key.find('.');
  if (dot == std::string::npos || dot == 0)
    return Fail(field, "", "a key must look like \"<controller>.<file>\"");
  if (RuntimeOwned(key)) return Fail(field, "", "this file is managed by the runtime");
  return {};
}

Result<void> V2Manager::SetUnified(const std::map<std::string, std::string>& unified) {
  for (const auto& [key, value] : unified) BERTH_TRYV(CheckUnifiedKey(key));
  for (const auto& [key, value] : unified) {
    std::string field = F("unified[\"" + key + "\"]");
    std::string controller = key.substr(0, key.find('.'));
    std::string file = dir_ + "/" + key;
    if (controller != "cgroup" && !fs::PathExists(file))
      BERTH_TRYV(EnableController(controller, field));
    if (!fs::PathExists(file))
      return Fail(field, file, "no such cgroup interface file on this kernel");
    BERTH_TRYV(fs::WriteField(field, file, value));
  }
  return {};
}

Result<void> V2Manager::Set(const spec::LinuxResources& res) {
  for (const auto& [key, value] : res.unified) BERTH_TRYV(CheckUnifiedKey(key));
  auto devices = BERTH_TRY(ParseDeviceRules(res.devices));
  if (res.network && (res.network->class_id || !res.network->priorities.empty()))
    return Fail(F("network"), "",
                "net_cls/net_prio do not exist on cgroup v2 (classify traffic with eBPF or "
                "nftables \"socket cgroupv2\" instead)");
  if (res.cpu) BERTH_TRYV(SetCpu(*res.cpu));
  if (res.memory) BERTH_TRYV(SetMemory(*res.memory));
  // pids.limit: 0 is "unset" (runc writes nothing: an update keeps the limit), -1 "max".
  if (res.pids && res.pids->limit != 0) {
    BERTH_TRYV(EnableController("pids", F("pids")));
    BERTH_TRYV(fs::WriteField(F("pids.limit"), dir_ + "/pids.max",
                              res.pids->limit > 0 ? std::to_string(res.pids->limit) : "max"));
  }
  if (res.block_io) BERTH_TRYV(SetIo(*res.block_io));
  BERTH_TRYV(SetHugetlb(res.hugepage_limits));
  BERTH_TRYV(SetRdma(res.rdma));
  if (!res.devices.empty()) BERTH_TRYV(ApplyDeviceProgram(dir_, BuildDeviceProgram(devices)));
  // Last, so that explicit unified values override the converted ones (as runc).
  BERTH_TRYV(SetUnified(res.unified));
  return {};
}

}  // namespace berth::cgroups
