// Private: device cgroup rules (linux.resources.devices) for v1 files and v2 eBPF.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/spec.h"

namespace berth::cgroups {

// Access bits as the kernel's bpf_cgroup_dev_ctx encodes them.
inline constexpr uint32_t kAccMknod = BPF_DEVCG_ACC_MKNOD;
inline constexpr uint32_t kAccRead = BPF_DEVCG_ACC_READ;
inline constexpr uint32_t kAccWrite = BPF_DEVCG_ACC_WRITE;
inline constexpr uint32_t kAccAll = kAccMknod | kAccRead | kAccWrite;

struct DeviceRule {
  bool allow = false;
  char type = 'a';     // 'a' (all), 'c', 'b'
  int64_t major = -1;  // -1 = any
  int64_t minor = -1;
  uint32_t access = kAccAll;
};

// Validates the spec's list (type a/c/b, access from "rwm"); errors name the entry,
// e.g. `linux.resources.devices[2].access: "rwx": ...`.
Result<std::vector<DeviceRule>> ParseDeviceRules(const std::vector<spec::LinuxDeviceCgroup>& in);

// "c 1:3 rwm" / "a *:* rwm" for devices.allow / devices.deny.
std::string V1DeviceRule(const DeviceRule& r);

// The cgroup-device program for `rules`: default deny, later rules win, each access
// bit (r, w, m) decided by the last rule that matches the device and names that bit.
std::vector<struct bpf_insn> BuildDeviceProgram(const std::vector<DeviceRule>& rules);

// Loads the program and attaches it to the cgroup dir with BPF_F_ALLOW_MULTI, then
// detaches the programs that were attached before (an update replaces the old
// filter without a window where none is attached).
Result<void> ApplyDeviceProgram(const std::string& cgroup_dir,
                                const std::vector<struct bpf_insn>& prog);

}  // namespace berth::cgroups
