// Semantic checks on linux.resources and linux.seccomp: values the kernel would reject
// with a bare EINVAL at write time are caught here with the field's name.
#include <algorithm>
#include <cstdint>
#include <string>

#include "spec/validate_internal.h"

namespace berth::spec::internal {
namespace {

template <class Range>
bool Contains(const Range& r, std::string_view s) {
  return std::find(std::begin(r), std::end(r), s) != std::end(r);
}

Result<void> ValidateDeviceRules(const std::vector<LinuxDeviceCgroup>& rules,
                                 const std::string& base) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const LinuxDeviceCgroup& d = rules[i];
    std::string path = Index(base, i);
    if (!d.type.empty() && d.type != "a" && d.type != "b" && d.type != "c")
      return Invalid(path + ".type", Quote(d.type) + " is not a device rule type (a, b, c)");
    if (d.access.find_first_not_of("rwm") != std::string::npos)
      return Invalid(path + ".access", Quote(d.access) + " is not a subset of \"rwm\"");
    // -1 is the wildcard some clients write instead of omitting the field.
    if ((d.major && *d.major < -1) || (d.minor && *d.minor < -1))
      return Invalid(path, "major and minor must be >= -1");
  }
  return {};
}

Result<void> ByteCount(const std::optional<int64_t>& v, const std::string& path) {
  // -1 means unlimited (config-linux.md); no other negative has a meaning.
  if (v && *v < -1) return Invalid(path, std::to_string(*v) + " is not a valid byte count");
  return {};
}

Result<void> ValidateMemory(const LinuxMemory& m, const std::string& base) {
  BERTH_TRYV(ByteCount(m.limit, base + ".limit"));
  BERTH_TRYV(ByteCount(m.reservation, base + ".reservation"));
  BERTH_TRYV(ByteCount(m.swap, base + ".swap"));
  BERTH_TRYV(ByteCount(m.kernel, base + ".kernel"));
  BERTH_TRYV(ByteCount(m.kernel_tcp, base + ".kernelTCP"));
  // swap is memory+swap (v1's memsw.limit_in_bytes), so it cannot be below the limit;
  // 0 means "not set" for swap, as in runc.
  int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
  if (limit > 0 && swap > 0 && swap < limit)
    return Invalid(base + ".swap", std::to_string(swap) + " is below memory.limit " +
                                       std::to_string(limit) + " (swap is the memory+swap total)");
  // 2^64-1 is -1 cast to the spec's uint64: "not set" for Docker before 20.10 and
  // runc, which writes nothing for it.
  if (m.swappiness && *m.swappiness > 100 && *m.swappiness != UINT64_MAX)
    return Invalid(base + ".swappiness", std::to_string(*m.swappiness) + " is outside [0, 100]");
  return {};
}

// The kernel's cpulist format: "0-3,5,7-8".
bool IsCpuList(const std::string& s) {
  if (s.empty()) return true;
  size_t i = 0;
  auto number = [&](unsigned long& out) {
    size_t start = i;
    out = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 9)
      out = out * 10 + static_cast<unsigned long>(s[i++] - '0');
    return i > start;
  };
  while (true) {
    unsigned long a = 0, b = 0;
    if (!number(a)) return false;
    if (i < s.size() && s[i] == '-') {
      ++i;
      if (!number(b) || b < a) return false;
    }
    if (i == s.size()) return true;
    if (s[i++] != ',') return false;
  }
}

Result<void> ValidateCpu(const LinuxCpu& c, const std::string& base) {
  // CFS bandwidth periods are bounded by the kernel to 1 ms .. 1 s (sched/core.c).
  if (c.period && *c.period != 0 && (*c.period < 1000 || *c.period > 1000000))
    return Invalid(base + ".period",
                   std::to_string(*c.period) + " is outside the kernel's range [1000, 1000000] µs");
  // quota: -1 unlimited, 0 unset, else at least 1 ms.
  if (c.quota && *c.quota != -1 && *c.quota != 0 && *c.quota < 1000)
    return Invalid(base + ".quota",
                   std::to_string(*c.quota) + " is neither -1 (unlimited) nor >= 1000 µs");
  if (c.idle && *c.idle != 0 && *c.idle != 1)
    return Invalid(base + ".idle", std::to_string(*c.idle) + " is not 0 or 1");
  if (!IsCpuList(c.cpus))
    return Invalid(base + ".cpus", Quote(c.cpus) + " is not a CPU list such as \"0-3,5\"");
  if (!IsCpuList(c.mems))
    return Invalid(base + ".mems", Quote(c.mems) + " is not a node list such as \"0-1\"");
  return {};
}

Result<void> Weight(const std::optional<uint16_t>& w, const std::string& path) {
  // blkio.weight / io.bfq.weight accept 10..1000 (config-linux.md). 0 is "not set": Docker
  // writes blockIO.weight 0 into every config and runc writes nothing for it.
  if (w && *w != 0 && (*w < 10 || *w > 1000))
    return Invalid(path, std::to_string(*w) + " is outside [10, 1000]");
  return {};
}

Result<void> ValidateBlockIo(const LinuxBlockIo& b, const std::string& base) {
  BERTH_TRYV(Weight(b.weight, base + ".weight"));
  BERTH_TRYV(Weight(b.leaf_weight, base + ".leafWeight"));
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& d = b.weight_device[i];
    std::string path = Index(base + ".weightDevice", i);
    if (d.major < 0 || d.minor < 0) return Invalid(path, "major and minor must not be negative");
    BERTH_TRYV(Weight(d.weight, path + ".weight"));
    BERTH_TRYV(Weight(d.leaf_weight, path + ".leafWeight"));
  }
  const std::pair<const char*, const std::vector<LinuxThrottleDevice>*> throttles[] = {
      {".throttleReadBpsDevice", &b.throttle_read_bps_device},
      {".throttleWriteBpsDevice", &b.throttle_write_bps_device},
      {".throttleReadIOPSDevice", &b.throttle_read_iops_device},
      {".throttleWriteIOPSDevice", &b.throttle_write_iops_device}};
  for (const auto& [name, list] : throttles)
    for (size_t i = 0; i < list->size(); ++i)
      if ((*list)[i].major < 0 || (*list)[i].minor < 0)
        return Invalid(Index(base + name, i), "major and minor must not be negative");
  return {};
}

// "2MB", "1GB", "64KB": the hugetlb controller's file-name form of the page size.
bool IsPageSize(const std::string& s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0) return false;
  std::string_view unit = std::string_view(s).substr(digits);
  return unit == "KB" || unit == "MB" || unit == "GB" || unit == "TB" || unit == "PB";
}

}  // namespace

Result<void> ValidateResources(const LinuxResources& r, const std::string& base) {
  BERTH_TRYV(ValidateDeviceRules(r.devices, base + ".devices"));
  if (r.memory) BERTH_TRYV(ValidateMemory(*r.memory, base + ".memory"));
  if (r.cpu) BERTH_TRYV(ValidateCpu(*r.cpu, base + ".cpu"));
  // pids.limit: -1 (and, as in runc, 0) mean no limit; other negatives mean nothing.
  if (r.pids && r.pids->limit < -1)
    return Invalid(base + ".pids.limit",
                   std::to_string(r.pids->limit) + " is not a valid limit (-1 means unlimited)");
  if (r.block_io) BERTH_TRYV(ValidateBlockIo(*r.block_io, base + ".blockIO"));
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i)
    if (!IsPageSize(r.hugepage_limits[i].page_size))
      return Invalid(Index(base + ".hugepageLimits", i) + ".pageSize",
                     Quote(r.hugepage_limits[i].page_size) + " is not a page size such as \"2MB\"");
  if (r.network)
    for (size_t i = 0; i < r.network->priorities.size(); ++i)
      if (r.network->priorities[i].name.empty())
        return Invalid(Index(base + ".network.priorities", i) + ".name", "missing");
  for (const auto& [key, value] : r.unified) {
    // Keys are file names inside the container's cgroup directory: a '/' or ".." would
    // write outside it.
    auto dot = key.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == key.size() ||
        key.find('/') != std::string::npos || key.find("..") != std::string::npos)
      return Invalid(MapKey(base + ".unified", key),
                     "not a cgroup v2 interface file name such as \"memory.max\"");
  }
  return {};
}

Result<void> ValidateSeccomp(const Seccomp& s, const std::string& base) {
  constexpr const char* kActions[] = {
      "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
      "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
      "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};
  constexpr const char* kArchs[] = {
      "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
      "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
      "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
      "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
      "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
      "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB"};
  constexpr const char* kFlags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  constexpr const char* kOps[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                                  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
  auto takes_errno = [](const std::string& a) {
    return a == "SCMP_ACT_ERRNO" || a == "SCMP_ACT_TRACE";
  };

  if (s.default_action.empty()) return Invalid(base + ".defaultAction", "missing");
  if (!Contains(kActions, s.default_action))
    return Invalid(base + ".defaultAction", Quote(s.default_action) + " is not a seccomp action");
  // The runtime's own init still runs syscalls (execve) under the filter before the
  // listener fd reaches the agent; a NOTIFY default would block it forever.
  if (s.default_action == "SCMP_ACT_NOTIFY")
    return Invalid(base + ".defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
  if (s.default_errno_ret && !takes_errno(s.default_action))
    return Invalid(base + ".defaultErrnoRet",
                   "only applies to SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not " + s.default_action);
  for (size_t i = 0; i < s.architectures.size(); ++i)
    if (!Contains(kArchs, s.architectures[i]))
      return Invalid(Index(base + ".architectures", i),
                     Quote(s.architectures[i]) + " is not a seccomp architecture");
  for (size_t i = 0; i < s.flags.size(); ++i)
    if (!Contains(kFlags, s.flags[i]))
      return Invalid(Index(base + ".flags", i), Quote(s.flags[i]) + " is not a seccomp flag");

  bool notify = false;
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const SeccompSyscall& sc = s.syscalls[i];
    std::string path = Index(base + ".syscalls", i);
    if (sc.names.empty()) return Invalid(path + ".names", "must not be empty");
    for (size_t n = 0; n < sc.names.size(); ++n)
      if (sc.names[n].empty()) return Invalid(Index(path + ".names", n), "empty syscall name");
    if (!Contains(kActions, sc.action))
      return Invalid(path + ".action", Quote(sc.action) + " is not a seccomp action");
    if (sc.errno_ret && !takes_errno(sc.action))
      return Invalid(path + ".errnoRet",
                     "only applies to SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not " + sc.action);
    if (sc.action == "SCMP_ACT_NOTIFY") {
      notify = true;
      // The init reports the listener fd to the runtime with write(2) after loading
      // the filter; trapping write would deadlock that hand-off.
      if (Contains(sc.names, "write"))
        return Invalid(path + ".names", "SCMP_ACT_NOTIFY cannot be used for write");
    }
    for (size_t a = 0; a < sc.args.size(); ++a) {
      std::string apath = Index(path + ".args", a);
      if (sc.args[a].index >= 6)
        return Invalid(apath + ".index",
                       std::to_string(sc.args[a].index) + " is not a syscall argument (0-5)");
      if (!Contains(kOps, sc.args[a].op))
        return Invalid(apath + ".op", Quote(sc.args[a].op) + " is not a comparison operator");
    }
  }
  if (notify && s.listener_path.empty())
    return Invalid(base + ".listenerPath", "required when SCMP_ACT_NOTIFY is used");
  if (!notify && !s.listener_path.empty())
    return Invalid(base + ".listenerPath", "set, but no rule uses SCMP_ACT_NOTIFY");
  if (!s.listener_path.empty() && s.listener_path[0] != '/')
    return Invalid(base + ".listenerPath", Quote(s.listener_path) + " is not an absolute path");
  return {};
}

}  // namespace berth::spec::internal
