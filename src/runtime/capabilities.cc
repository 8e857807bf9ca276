// Capability names <-> numbers, and the raw capget/capset/prctl calls the child makes.
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <string_view>

#include "base/log.h"
#include "runtime/process_setup.h"
#include "runtime/process_setup_internal.h"
#include "spec/names.h"

namespace berth::runtime {
namespace {

using spec::kCapabilityNames;


constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

}  // namespace

std::optional<int> CapabilityFromName(const std::string& name) {
  for (size_t i = 0; i < kCapabilityNames.size(); ++i)
    if (kCapabilityNames[i] == name) return static_cast<int>(i);
  return std::nullopt;
}

std::vector<std::string> AllCapabilityNames() {
  int last = internal::KernelLastCap();
  std::vector<std::string> out;
  for (int i = 0; i <= last && i < static_cast<int>(kCapabilityNames.size()); ++i)
    out.emplace_back(kCapabilityNames[i]);
  return out;
}

namespace internal {

int KernelLastCap() {
  FILE* f = std::fopen("/proc/sys/kernel/cap_last_cap", "re");
  int last = CAP_LAST_CAP;
  if (f) {
    int v = 0;
    if (std::fscanf(f, "%d", &v) == 1 && v >= 0 && v < 64) last = v;
    std::fclose(f);
  }
  return last;
}

Result<PreparedCaps> PrepareCaps(const std::optional<spec::Capabilities>& caps) {
  PreparedCaps out;
  out.last_cap = KernelLastCap();
  if (!caps) return out;
  out.present = true;
  // A name berth knows but this kernel does not (newer than cap_last_cap) is skipped, as
  // runc does: a config written for a newer kernel still runs, without that capability.
  auto to_mask = [&](const std::vector<std::string>& names, const char* set) -> Result<uint64_t> {
    uint64_t mask = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      auto cap = CapabilityFromName(names[i]);
      if (!cap)
        return InvalidField("process.capabilities." + std::string(set) + "[" + std::to_string(i) + "]",
                    "unknown capability \"" + names[i] + "\"");
      if (*cap <= out.last_cap) mask |= Bit(*cap);
    }
    return mask;
  };
  out.bounding = BERTH_TRY(to_mask(caps->bounding, "bounding"));
  out.effective = BERTH_TRY(to_mask(caps->effective, "effective"));
  out.inheritable = BERTH_TRY(to_mask(caps->inheritable, "inheritable"));
  out.permitted = BERTH_TRY(to_mask(caps->permitted, "permitted"));
  out.ambient = BERTH_TRY(to_mask(caps->ambient, "ambient"));

  // capset(2) refuses an effective capability that is not permitted: say so here, with
  // the name, instead of a bare EPERM from the child.
  if (uint64_t extra = out.effective & ~out.permitted) {
    for (int c = 0; c <= out.last_cap; ++c)
      if (extra & Bit(c))
        return InvalidField("process.capabilities.effective",
                    std::string(kCapabilityNames[c]) +
                        " is not in the permitted set (effective must "
                        "be a subset of permitted)");
  }
  // The kernel only raises an ambient capability that is permitted and inheritable.
  // runc skips the others with a warning; podman relies on that (it sends ambient
  // capabilities without inheritable ones since CVE-2022-27652), so do the same.
  if (uint64_t skipped = out.ambient & ~(out.permitted & out.inheritable)) {
    for (int c = 0; c <= out.last_cap; ++c)
      if (skipped & Bit(c))
        log::Debug("process.capabilities.ambient: " + std::string(kCapabilityNames[c]) +
                  " skipped: an ambient capability must also be permitted and inheritable");
    out.ambient &= ~skipped;
  }
  return out;
}

Result<CapSets> CapGet() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return Errno("capget");
  CapSets s;
  s.effective = data[0].effective | (uint64_t{data[1].effective} << 32);
  s.permitted = data[0].permitted | (uint64_t{data[1].permitted} << 32);
  s.inheritable = data[0].inheritable | (uint64_t{data[1].inheritable} << 32);
  return s;
}

Result<void> CapSet(const CapSets& s, const char* when) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].effective = static_cast<uint32_t>(s.effective);
  data[1].effective = static_cast<uint32_t>(s.effective >> 32);
  data[0].permitted = static_cast<uint32_t>(s.permitted);
  data[1].permitted = static_cast<uint32_t>(s.permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(s.inheritable);
  data[1].inheritable = static_cast<uint32_t>(s.inheritable >> 32);
  if (syscall(SYS_capset, &hdr, data) != 0)
    return Errno("capset", "process.capabilities",
                 std::string(when) +
                     " (permitted can only shrink, inheritable must stay within the bounding set)");
  return {};
}

Result<void> DropBounding(const PreparedCaps& caps) {
  for (int c = 0; c <= caps.last_cap; ++c) {
    if (caps.bounding & Bit(c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0) continue;
    // Without CAP_SETPCAP a drop fails even for a capability that is already absent
    // (e.g. CAP_SYS_RESOURCE on this host), which needs no dropping: only then ask.
    const int err = errno;
    if (err == EPERM && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0) continue;
    return ErrnoCode(err, "prctl(PR_CAPBSET_DROP)", std::string(kCapabilityNames[c]),
                     "dropping from the bounding set needs CAP_SETPCAP");
  }
  return {};
}

Result<void> SetAmbient(const PreparedCaps& caps) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    // Kernels before 4.3 have no ambient set: fine unless some were asked for.
    if (errno == EINVAL && caps.ambient == 0) return {};
    return Errno("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", "process.capabilities.ambient");
  }
  for (int c = 0; c <= caps.last_cap; ++c) {
    if (!(caps.ambient & Bit(c))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0)
      return Errno("prctl(PR_CAP_AMBIENT_RAISE)", std::string(kCapabilityNames[c]));
  }
  return {};
}

}  // namespace internal
}  // namespace berth::runtime
