// Private: helpers shared by the v1 and v2 statistics readers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::cgroups::stats {

// Reads a counter; a missing file (controller not mounted/enabled, older kernel)
// leaves *out untouched and is not an error.
Result<void> ReadOpt(const std::string& path, uint64_t* out);
Result<std::map<std::string, uint64_t>> ReadKvOpt(const std::string& path);
uint64_t Get(const std::map<std::string, uint64_t>& m, const std::string& key);

// "hugepages-2048kB" (sysfs) → "2MB" (the cgroup file name's form).
std::string HugePageSizeName(uint64_t kib);
// Page sizes the kernel supports, in cgroup file-name form.
std::vector<std::string> HugePageSizes();

}  // namespace berth::cgroups::stats
