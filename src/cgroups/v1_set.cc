// cgroup v1: applying linux.resources. Each write's error names the spec field
// and the file, e.g.
// `linux.resources.memory.limit: write /sys/fs/cgroup/memory/berth/x/memory.limit_in_bytes: ...`.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "base/unique_fd.h"
#include "cgroups/cgroup_fs.h"
#include "cgroups/devices.h"
#include "cgroups/v1.h"

namespace berth::cgroups {

namespace {

constexpr const char* kRes = "linux.resources.";

std::string F(const std::string& rest) { return kRes + rest; }

auto NotMounted(const std::string& field, const char* controller) {
  return Fail(field, std::string("the \"") + controller + "\" cgroup controller",
              "is not mounted on this host");
}

// Kernels since 5.16 refuse kernel-memory limits (the spec deprecates them);
// treat "not supported" as the limit not existing, as other runtimes do.
bool NotSupported(const Error& e) {
  return e.code == EOPNOTSUPP || e.code == ENOTSUP || e.code == 524 /* ENOTSUPP */;
}

}  // namespace

Result<void> V1Manager::SetMemory(const spec::LinuxMemory& m) {
  // A 0 byte limit cannot hold any process; configs written by other tools use 0
  // for "unset", so do runc and crun.
  bool has_limit = m.limit && *m.limit != 0;
  bool has_swap = m.swap && *m.swap != 0;
  bool has_reservation = m.reservation && *m.reservation != 0;
  bool has_kmem = (m.kernel && *m.kernel != 0) || (m.kernel_tcp && *m.kernel_tcp != 0);
  // -1 as uint64 is "unset" (Docker before 20.10; runc skips it).
  bool has_swappiness = m.swappiness && *m.swappiness != UINT64_MAX;
  // Docker sends disableOOMKiller false for every container; false is the kernel's
  // default and runc writes only true.
  bool disable_oom = m.disable_oom_killer.value_or(false);
  if (!has_limit && !has_swap && !has_reservation && !has_kmem && !has_swappiness &&
      !disable_oom && !m.use_hierarchy)
    return {};
  std::string dir = Dir("memory");
  if (dir.empty()) return NotMounted(F("memory"), "memory");
  const std::string limit_file = dir + "/memory.limit_in_bytes";
  const std::string memsw_file = dir + "/memory.memsw.limit_in_bytes";
  if (has_swap && !fs::PathExists(memsw_file))
    return Fail(F("memory.swap"), memsw_file,
                "does not exist: swap accounting is disabled (boot with swapaccount=1)");

  if (has_swap) {
    // The kernel keeps limit <= memsw at every step: raise memsw before the limit,
    // lower the limit before memsw.
    uint64_t cur_limit = BERTH_TRY(fs::ReadUint(limit_file));
    uint64_t new_memsw = *m.swap < 0 ? UINT64_MAX : static_cast<uint64_t>(*m.swap);
    if (new_memsw >= cur_limit) {
      BERTH_TRYV(fs::WriteField(F("memory.swap"), memsw_file, std::to_string(*m.swap)));
      if (has_limit)
        BERTH_TRYV(fs::WriteField(F("memory.limit"), limit_file, std::to_string(*m.limit)));
    } else {
      if (has_limit)
        BERTH_TRYV(fs::WriteField(F("memory.limit"), limit_file, std::to_string(*m.limit)));
      BERTH_TRYV(fs::WriteField(F("memory.swap"), memsw_file, std::to_string(*m.swap)));
    }
  } else if (has_limit) {
    BERTH_TRYV(fs::WriteField(F("memory.limit"), limit_file, std::to_string(*m.limit)));
  }
  if (has_reservation)
    BERTH_TRYV(fs::WriteField(F("memory.reservation"), dir + "/memory.soft_limit_in_bytes",
                              std::to_string(*m.reservation)));
  struct {
    const std::optional<int64_t>& v;
    const char* field;
    const char* file;
  } kmem[] = {{m.kernel, "memory.kernel", "/memory.kmem.limit_in_bytes"},
              {m.kernel_tcp, "memory.kernelTCP", "/memory.kmem.tcp.limit_in_bytes"}};
  for (const auto& k : kmem) {
    if (!k.v || *k.v == 0 || !fs::PathExists(dir + k.file)) continue;
    auto r = fs::WriteField(F(k.field), dir + k.file, std::to_string(*k.v));
    if (!r && !NotSupported(r.error())) return r;
  }
  if (has_swappiness) {
    if (*m.swappiness > 100)
      return Fail(F("memory.swappiness"), std::to_string(*m.swappiness), "must be 0..100");
    BERTH_TRYV(fs::WriteField(F("memory.swappiness"), dir + "/memory.swappiness",
                              std::to_string(*m.swappiness)));
  }
  if (disable_oom)
    BERTH_TRYV(fs::WriteField(F("memory.disableOOMKiller"), dir + "/memory.oom_control", "1"));
  if (m.use_hierarchy && fs::PathExists(dir + "/memory.use_hierarchy")) {
    // Always 1 on kernels >= 5.x and writing it is refused; only write a change.
    std::string want = *m.use_hierarchy ? "1" : "0";
    auto cur = fs::ReadTrimmed(dir + "/memory.use_hierarchy");
    if (!cur || *cur != want)
      BERTH_TRYV(fs::WriteField(F("memory.useHierarchy"), dir + "/memory.use_hierarchy", want));
  }
  return {};
}

// Writes two interdependent values (period/quota, rt_period/rt_runtime): the kernel
// validates each write against the other's current value, so when the first order
// is refused with EINVAL the other order is tried.
static Result<void> WritePair(const std::string& f1, const std::string& p1,
                              const std::optional<std::string>& v1, const std::string& f2,
                              const std::string& p2, const std::optional<std::string>& v2) {
  if (!v1 || !v2) {
    if (v1) return fs::WriteField(f1, p1, *v1);
    if (v2) return fs::WriteField(f2, p2, *v2);
    return {};
  }
  auto r = fs::WriteField(f1, p1, *v1);
  if (!r) {
    if (r.error().code != EINVAL) return r;
    BERTH_TRYV(fs::WriteField(f2, p2, *v2));
    return fs::WriteField(f1, p1, *v1);
  }
  return fs::WriteField(f2, p2, *v2);
}

Result<void> V1Manager::SetCpu(const spec::LinuxCpu& c) {
  // 0 is "unset" for shares, quota, period and the real-time pair (runc writes nothing;
  // CRI-O and older containerd send 0 for whatever the pod did not ask).
  auto set = [](const auto& v) -> std::optional<std::string> {
    if (!v || *v == 0) return std::nullopt;
    return std::to_string(*v);
  };
  std::optional<std::string> period = set(c.period), quota = set(c.quota),
                             rt_period = set(c.realtime_period),
                             rt_runtime = set(c.realtime_runtime);
  bool wants_cpu = (c.shares && *c.shares) || quota || period || c.burst || rt_runtime ||
                   rt_period || c.idle;
  if (wants_cpu) {
    std::string dir = Dir("cpu");
    if (dir.empty()) return NotMounted(F("cpu"), "cpu");
    if (c.shares && *c.shares)
      BERTH_TRYV(fs::WriteField(F("cpu.shares"), dir + "/cpu.shares", std::to_string(*c.shares)));
    // quota -1 is "no limit".
    BERTH_TRYV(WritePair(F("cpu.period"), dir + "/cpu.cfs_period_us", period, F("cpu.quota"),
                         dir + "/cpu.cfs_quota_us", quota));
    if (c.burst)
      BERTH_TRYV(
          fs::WriteField(F("cpu.burst"), dir + "/cpu.cfs_burst_us", std::to_string(*c.burst)));
    auto rt = WritePair(F("cpu.realtimePeriod"), dir + "/cpu.rt_period_us", rt_period,
                        F("cpu.realtimeRuntime"), dir + "/cpu.rt_runtime_us", rt_runtime);
    if (!rt && rt.error().code == EINVAL && c.realtime_runtime && *c.realtime_runtime > 0) {
      // The usual cause: a cgroup's real-time budget must fit in its parent's, and a new
      // parent (berth's own /berth included) starts with none.
      std::string parent = dir.substr(0, dir.rfind('/'));
      auto budget = fs::ReadTrimmed(parent + "/cpu.rt_runtime_us");
      auto parent_period = fs::ReadTrimmed(parent + "/cpu.rt_period_us");
      if (budget && parent_period)
        rt.error().detail = "the parent cgroup " + parent + " has a real-time budget of " +
                            *budget + " us per " + *parent_period +
                            " us and a child's must fit in it (raise the parent's "
                            "cpu.rt_runtime_us first)";
    }
    if (!rt) return rt;
    if (c.idle) {
      if (!fs::PathExists(dir + "/cpu.idle"))
        return Fail(F("cpu.idle"), dir + "/cpu.idle", "does not exist (kernel older than 5.15)");
      BERTH_TRYV(fs::WriteField(F("cpu.idle"), dir + "/cpu.idle", std::to_string(*c.idle)));
    }
  }
  if (!c.cpus.empty() || !c.mems.empty()) {
    std::string dir = Dir("cpuset");
    if (dir.empty()) return NotMounted(F("cpu.cpus"), "cpuset");
    if (!c.cpus.empty()) BERTH_TRYV(fs::WriteField(F("cpu.cpus"), dir + "/cpuset.cpus", c.cpus));
    if (!c.mems.empty()) BERTH_TRYV(fs::WriteField(F("cpu.mems"), dir + "/cpuset.mems", c.mems));
  }
  return {};
}

// A weight of 0 is "unset": Docker writes blockIO.weight 0 for every container (and
// per-device weights of 0 it accepts), and runc writes nothing for them.
static bool WeightSet(const std::optional<uint16_t>& w) { return w && *w != 0; }

Result<void> V1Manager::SetBlkio(const spec::LinuxBlockIo& io) {
  bool wants = WeightSet(io.weight) || WeightSet(io.leaf_weight) ||
               !io.throttle_read_bps_device.empty() || !io.throttle_write_bps_device.empty() ||
               !io.throttle_read_iops_device.empty() || !io.throttle_write_iops_device.empty();
  for (const auto& d : io.weight_device) wants |= WeightSet(d.weight) || WeightSet(d.leaf_weight);
  if (!wants) return {};
  std::string dir = Dir("blkio");
  if (dir.empty()) return NotMounted(F("blockIO"), "blkio");
  // CFQ's blkio.weight is gone since 5.0; BFQ offers blkio.bfq.weight instead.
  std::string weight_file = dir + "/blkio.weight";
  std::string weight_dev_file = dir + "/blkio.weight_device";
  if (!fs::PathExists(weight_file) && fs::PathExists(dir + "/blkio.bfq.weight")) {
    weight_file = dir + "/blkio.bfq.weight";
    weight_dev_file = dir + "/blkio.bfq.weight_device";
  }
  auto need = [](const std::string& field, const std::string& file) -> Result<void> {
    if (fs::PathExists(file)) return {};
    return Fail(field, file,
                "does not exist: the block I/O scheduler offers no proportional weights");
  };
  if (WeightSet(io.weight)) {
    BERTH_TRYV(need(F("blockIO.weight"), weight_file));
    BERTH_TRYV(fs::WriteField(F("blockIO.weight"), weight_file, std::to_string(*io.weight)));
  }
  if (WeightSet(io.leaf_weight)) {
    BERTH_TRYV(need(F("blockIO.leafWeight"), dir + "/blkio.leaf_weight"));
    BERTH_TRYV(fs::WriteField(F("blockIO.leafWeight"), dir + "/blkio.leaf_weight",
                              std::to_string(*io.leaf_weight)));
  }
  for (size_t i = 0; i < io.weight_device.size(); ++i) {
    const auto& d = io.weight_device[i];
    std::string field = F("blockIO.weightDevice[") + std::to_string(i) + "]";
    std::string dev = std::to_string(d.major) + ":" + std::to_string(d.minor) + " ";
    if (WeightSet(d.weight)) {
      BERTH_TRYV(need(field + ".weight", weight_dev_file));
      BERTH_TRYV(
          fs::WriteField(field + ".weight", weight_dev_file, dev + std::to_string(*d.weight)));
    }
    if (WeightSet(d.leaf_weight)) {
      std::string f = dir + "/blkio.leaf_weight_device";
      BERTH_TRYV(need(field + ".leafWeight", f));
      BERTH_TRYV(fs::WriteField(field + ".leafWeight", f, dev + std::to_string(*d.leaf_weight)));
    }
  }
  struct {
    const std::vector<spec::LinuxThrottleDevice>& list;
    const char* field;
    const char* file;
  } throttles[] = {
      {io.throttle_read_bps_device, "blockIO.throttleReadBpsDevice", "read_bps_device"},
      {io.throttle_write_bps_device, "blockIO.throttleWriteBpsDevice", "write_bps_device"},
      {io.throttle_read_iops_device, "blockIO.throttleReadIOPSDevice", "read_iops_device"},
      {io.throttle_write_iops_device, "blockIO.throttleWriteIOPSDevice", "write_iops_device"},
  };
  for (const auto& t : throttles) {
    for (size_t i = 0; i < t.list.size(); ++i) {
      const auto& d = t.list[i];
      BERTH_TRYV(fs::WriteField(
          F(t.field) + "[" + std::to_string(i) + "]", dir + "/blkio.throttle." + t.file,
          std::to_string(d.major) + ":" + std::to_string(d.minor) + " " + std::to_string(d.rate)));
    }
  }
  return {};
}

Result<void> V1Manager::SetDevices(const std::vector<spec::LinuxDeviceCgroup>& list) {
  auto rules = BERTH_TRY(ParseDeviceRules(list));
  std::string dir = Dir("devices");
  if (dir.empty()) return NotMounted(F("devices"), "devices");
  // Start from "deny everything" and replay the list in order, so later entries win
  // exactly as the spec says, whatever the cgroup held before.
  // Each rule is one write(2); the two files are opened once each, not once per rule
  // (a container's default list is a dozen rules).
  const std::string allow_path = dir + "/devices.allow", deny_path = dir + "/devices.deny";
  UniqueFd allow_fd, deny_fd;
  auto write_rule = [&](std::string field, bool allow, std::string_view rule) -> Result<void> {
    UniqueFd& fd = allow ? allow_fd : deny_fd;
    const std::string& path = allow ? allow_path : deny_path;
    if (!fd) fd.Reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    ssize_t n = -1;
    if (fd) {
      do n = ::write(fd.Get(), rule.data(), rule.size());
      while (n < 0 && errno == EINTR);
    }
    if (n >= 0) return {};
    auto err = Errno("write", path);
    err.error().Wrap(std::move(field));
    return err;
  };
  BERTH_TRYV(write_rule(F("devices"), false, "a"));
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    // A leading "deny all" repeats the reset just written.
    if (i == 0 && !r.allow && V1DeviceRule(r) == "a *:* rwm") continue;
    BERTH_TRYV(write_rule(F("devices[") + std::to_string(i) + "]", r.allow, V1DeviceRule(r)));
  }
  return {};
}

Result<void> V1Manager::SetNetwork(const spec::LinuxNetwork& n) {
  if (n.class_id && *n.class_id != 0) {  // 0 is "unset" (runc)
    std::string dir = Dir("net_cls");
    if (dir.empty()) return NotMounted(F("network.classID"), "net_cls");
    BERTH_TRYV(fs::WriteField(F("network.classID"), dir + "/net_cls.classid",
                              std::to_string(*n.class_id)));
  }
  if (!n.priorities.empty()) {
    std::string dir = Dir("net_prio");
    if (dir.empty()) return NotMounted(F("network.priorities"), "net_prio");
    for (size_t i = 0; i < n.priorities.size(); ++i) {
      const auto& p = n.priorities[i];
      BERTH_TRYV(fs::WriteField(F("network.priorities[") + std::to_string(i) + "]",
                                dir + "/net_prio.ifpriomap",
                                p.name + " " + std::to_string(p.priority)));
    }
  }
  return {};
}

Result<void> V1Manager::SetHugetlb(const std::vector<spec::LinuxHugepageLimit>& limits) {
  std::string dir = Dir("hugetlb");
  if (dir.empty()) return NotMounted(F("hugepageLimits"), "hugetlb");
  for (size_t i = 0; i < limits.size(); ++i) {
    const auto& l = limits[i];
    std::string field = F("hugepageLimits[") + std::to_string(i) + "]";
    std::string file = dir + "/hugetlb." + l.page_size + ".limit_in_bytes";
    if (l.page_size.find('/') != std::string::npos || !fs::PathExists(file))
      return Fail(field + ".pageSize", "\"" + l.page_size + "\"",
                  "the kernel offers no such huge page size (" + file + " does not exist)");
    BERTH_TRYV(fs::WriteField(field, file, std::to_string(l.limit)));
    // Reservations count too since 5.7; keep both limits equal, as runc does.
    std::string rsvd = dir + "/hugetlb." + l.page_size + ".rsvd.limit_in_bytes";
    if (fs::PathExists(rsvd)) BERTH_TRYV(fs::WriteField(field, rsvd, std::to_string(l.limit)));
  }
  return {};
}

Result<void> V1Manager::SetRdma(const std::map<std::string, spec::LinuxRdma>& rdma) {
  std::string dir = Dir("rdma");
  if (dir.empty()) return NotMounted(F("rdma"), "rdma");
  for (const auto& [dev, lim] : rdma) {
    std::string v = dev;
    if (lim.hca_handles) v += " hca_handle=" + std::to_string(*lim.hca_handles);
    if (lim.hca_objects) v += " hca_object=" + std::to_string(*lim.hca_objects);
    BERTH_TRYV(fs::WriteField(F("rdma[\"") + dev + "\"]", dir + "/rdma.max", v));
  }
  return {};
}

Result<void> V1Manager::Set(const spec::LinuxResources& res) {
  if (!res.unified.empty())
    return Fail(F("unified[\"" + res.unified.begin()->first + "\"]"), "",
                "requires cgroup v2; this host has cgroup v1 only");
  if (res.cpu) BERTH_TRYV(SetCpu(*res.cpu));
  if (res.memory) BERTH_TRYV(SetMemory(*res.memory));
  // pids.limit: 0 is "unset" (runc writes nothing: an update keeps the limit), -1 "max".
  if (res.pids && res.pids->limit != 0) {
    std::string dir = Dir("pids");
    if (dir.empty()) return NotMounted(F("pids"), "pids");
    BERTH_TRYV(fs::WriteField(F("pids.limit"), dir + "/pids.max",
                              res.pids->limit > 0 ? std::to_string(res.pids->limit) : "max"));
  }
  if (res.block_io) BERTH_TRYV(SetBlkio(*res.block_io));
  if (!res.hugepage_limits.empty()) BERTH_TRYV(SetHugetlb(res.hugepage_limits));
  if (res.network) BERTH_TRYV(SetNetwork(*res.network));
  if (!res.rdma.empty()) BERTH_TRYV(SetRdma(res.rdma));
  if (!res.devices.empty()) BERTH_TRYV(SetDevices(res.devices));
  return {};
}

}  // namespace berth::cgroups
