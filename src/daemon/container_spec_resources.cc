// LinuxContainerResources -> linux.resources and process.oomScoreAdj; the pod's sysctls.
//
// The pod's overhead and resources (LinuxPodSandboxConfig.overhead/.resources) size the pod
// cgroup, which kubelet manages itself (cgroup_parent already accounts for them); they are
// informational for the runtime and change nothing in a container's own spec.
#include <algorithm>

#include "daemon/container_spec_internal.h"

namespace berth::daemon::internal {
namespace {

std::string R(const std::string& member) { return "linux.resources." + member; }

// "2MB", "1GB": digits then the kernel's unit (hugetlb.<size>.* file names).
bool IsPageSize(const std::string& s) {
  size_t digits = s.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string::npos) return false;
  std::string unit = s.substr(digits);
  return unit == "KB" || unit == "MB" || unit == "GB";
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Sysctls owned by the IPC namespace (ipc_namespaces(7), mq_overview(7)).
bool IsIpcSysctl(const std::string& key) {
  return key == "kernel.msgmax" || key == "kernel.msgmnb" || key == "kernel.msgmni" ||
         key == "kernel.sem" || key == "kernel.shmall" || key == "kernel.shmmax" ||
         key == "kernel.shmmni" || key == "kernel.shm_rmid_forced" ||
         key.starts_with("fs.mqueue.");
}

}  // namespace

Result<void> ApplyResources(spec::Spec& s, const v1::ContainerConfig& config,
                            const HostFeatures& host) {
  const v1::LinuxContainerResources& r = config.linux().resources();
  spec::Linux& l = *s.linux;
  spec::LinuxResources& res = l.resources ? *l.resources : l.resources.emplace();

  // Zero or empty is "not specified" throughout LinuxContainerResources.
  if (r.cpu_period() < 0) return InvalidField(R("cpu_period"), "must not be negative");
  if (r.cpu_shares() < 0) return InvalidField(R("cpu_shares"), "must not be negative");
  if (r.cpu_quota() < -1)
    return InvalidField(R("cpu_quota"), std::to_string(r.cpu_quota()) +
                                            " is neither a quota in microseconds nor -1");
  if (r.cpu_period() || r.cpu_quota() || r.cpu_shares() || !r.cpuset_cpus().empty() ||
      !r.cpuset_mems().empty()) {
    spec::LinuxCpu& cpu = res.cpu ? *res.cpu : res.cpu.emplace();
    if (r.cpu_period()) cpu.period = static_cast<uint64_t>(r.cpu_period());
    if (r.cpu_quota()) cpu.quota = r.cpu_quota();
    if (r.cpu_shares()) cpu.shares = static_cast<uint64_t>(r.cpu_shares());
    cpu.cpus = r.cpuset_cpus();
    cpu.mems = r.cpuset_mems();
  }

  if (r.memory_limit_in_bytes() < 0)
    return InvalidField(R("memory_limit_in_bytes"), "must not be negative");
  int64_t swap = r.memory_swap_limit_in_bytes();
  if (swap < -1)
    return InvalidField(R("memory_swap_limit_in_bytes"),
                        std::to_string(swap) + " is neither a byte count nor -1 (unlimited)");
  // Memory + swap, as cgroup v1's memsw: below the memory limit it means nothing.
  if (swap > 0 && r.memory_limit_in_bytes() > 0 && swap < r.memory_limit_in_bytes())
    return InvalidField(R("memory_swap_limit_in_bytes"),
                        std::to_string(swap) + " is below memory_limit_in_bytes " +
                            std::to_string(r.memory_limit_in_bytes()) + " (it counts memory + swap)");
  if (r.memory_limit_in_bytes() || swap) {
    spec::LinuxMemory& mem = res.memory ? *res.memory : res.memory.emplace();
    if (r.memory_limit_in_bytes()) mem.limit = r.memory_limit_in_bytes();
    if (swap)
      mem.swap = swap;
    else if (host.swap_accounting)
      mem.swap = r.memory_limit_in_bytes();  // no swapping unless asked, as containerd
  }

  if (r.oom_score_adj() < -1000 || r.oom_score_adj() > 1000)
    return InvalidField(R("oom_score_adj"),
                        std::to_string(r.oom_score_adj()) + " is outside [-1000, 1000]");
  // Always set, so a container never inherits berthd's own (usually negative) score; never
  // below berthd's, which the kernel would refuse without CAP_SYS_RESOURCE (containerd's
  // restrict_oom_score_adj).
  s.process->oom_score_adj =
      std::max(static_cast<int>(r.oom_score_adj()), host.min_oom_score_adj);

  res.hugepage_limits.clear();
  for (int i = 0; i < r.hugepage_limits_size(); ++i) {
    const auto& h = r.hugepage_limits(i);
    std::string field = Field(R("hugepage_limits"), i, "page_size");
    if (!IsPageSize(h.page_size()))
      return InvalidField(field, "\"" + h.page_size() + "\" is not a page size such as \"2MB\"");
    if (!host.hugepage_sizes.empty() &&
        std::find(host.hugepage_sizes.begin(), host.hugepage_sizes.end(), h.page_size()) ==
            host.hugepage_sizes.end())
      return InvalidField(field, "\"" + h.page_size() + "\" is not a huge page size of this host (" +
                                     Join(host.hugepage_sizes) + ")");
    res.hugepage_limits.push_back({h.page_size(), h.limit()});
  }

  res.unified.clear();
  if (!r.unified().empty()) {
    if (!host.cgroup_v2)
      return InvalidField(R("unified"), "cgroup v2 files, but this host uses cgroup v1");
    for (const auto& [k, v] : r.unified()) {
      if (k.find('/') != std::string::npos || k.find("..") != std::string::npos ||
          k.find('.') == std::string::npos)
        return InvalidField(R("unified") + "[\"" + k + "\"]",
                            "not a cgroup file name such as \"memory.high\"");
      res.unified[k] = v;
    }
  }
  return {};
}

Result<void> ApplySysctls(spec::Spec& s, const v1::PodSandboxConfig& sandbox,
                          const SandboxInputs& pod) {
  s.linux->sysctl.clear();
  for (const auto& [key, value] : sandbox.linux().sysctls()) {
    std::string k = key;
    std::replace(k.begin(), k.end(), '/', '.');  // sysctl(8) accepts both spellings
    std::string field = "linux.sysctls[\"" + key + "\"]";
    // The runtime would refuse these too; here the error can say why in pod terms.
    if (k.starts_with("net.") && pod.net_ns_path.empty())
      return InvalidField(field, "a network sysctl needs the pod's own network namespace "
                                 "(this pod uses the host's network)");
    if (IsIpcSysctl(k) && pod.ipc_ns_path.empty())
      return InvalidField(field, "an IPC sysctl needs the pod's own IPC namespace (this pod "
                                 "uses the host's IPC)");
    s.linux->sysctl[key] = value;
  }
  return {};
}

}  // namespace berth::daemon::internal
