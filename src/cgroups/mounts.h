// Private: where the host's cgroup hierarchies are mounted, from /proc/self/mountinfo.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace berth::cgroups {

struct V1Hierarchy {
  std::string mountpoint;                // "/sys/fs/cgroup/memory"
  std::vector<std::string> controllers;  // {"memory"}, {"cpu","cpuacct"}, {"name=systemd"}
  bool Has(const std::string& c) const;
};

struct CgroupMounts {
  std::vector<V1Hierarchy> v1;
  std::string unified;  // cgroup2 mountpoint, empty if none
};

// Parsed once per process; the layout does not change under a running runtime.
const CgroupMounts& HostMounts();

// Exposed for tests: parse mountinfo text; `known` lists the kernel's controller
// names (from /proc/cgroups) so that mount options like "rw" are not taken for one.
CgroupMounts ParseMountinfo(const std::string& text, const std::vector<std::string>& known);

// Decodes mountinfo's octal escapes ("\040" for a space).
std::string UnescapeMountField(const std::string& s);

}  // namespace berth::cgroups
