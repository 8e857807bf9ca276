#include "cgroups/stats_util.h"

#include <cstdlib>
#include <vector>

#include "cgroups/cgroup_fs.h"

namespace berth::cgroups::stats {

Result<void> ReadOpt(const std::string& path, uint64_t* out) {
  auto v = fs::ReadUint(path);
  if (!v) {
    if (v.error().code == ENOENT) return {};
    return std::unexpected(v.error());
  }
  *out = *v;
  return {};
}

Result<std::map<std::string, uint64_t>> ReadKvOpt(const std::string& path) {
  auto v = fs::ReadKeyValues(path);
  if (!v && v.error().code == ENOENT) return std::map<std::string, uint64_t>{};
  return v;
}

uint64_t Get(const std::map<std::string, uint64_t>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

std::string HugePageSizeName(uint64_t kib) {
  if (kib >= 1024 * 1024 && kib % (1024 * 1024) == 0) return std::to_string(kib >> 20) + "GB";
  if (kib >= 1024 && kib % 1024 == 0) return std::to_string(kib >> 10) + "MB";
  return std::to_string(kib) + "KB";
}

std::vector<std::string> HugePageSizes() {
  std::vector<std::string> out;
  for (const auto& d : fs::ChildDirs("/sys/kernel/mm/hugepages")) {
    // "hugepages-2048kB"
    if (d.rfind("hugepages-", 0) != 0) continue;
    uint64_t kib = std::strtoull(d.c_str() + 10, nullptr, 10);
    if (kib) out.push_back(HugePageSizeName(kib));
  }
  return out;
}

}  // namespace berth::cgroups::stats
