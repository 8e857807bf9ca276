#include "cgroups/hybrid.h"

namespace berth::cgroups {

HybridManager::HybridManager(const std::vector<V1Hierarchy>& v1, const std::string& unified_mount,
                             std::string rel)
    : rel_(rel), v1_(v1, rel), v2_(unified_mount, rel, /*enable_all=*/false) {}

Result<void> HybridManager::Create() {
  BERTH_TRYV(v1_.Create());
  return v2_.Create();
}

Result<void> HybridManager::AddProcess(pid_t pid) {
  BERTH_TRYV(v1_.AddProcess(pid));
  return v2_.AddProcess(pid);
}

Result<void> HybridManager::Set(const spec::LinuxResources& res) {
  // A key of a controller that this host runs on v1 cannot be honoured: the cgroup2
  // tree never offers that controller. Refuse before writing anything, so that
  // `update` does not apply half a resources file; the cgroup2 tree would only say
  // "not offered", which hides why.
  for (const auto& [key, value] : res.unified) {
    std::string controller = key.substr(0, key.find('.'));
    if (controller == "cgroup") continue;
    std::string dir = v1_.Dir(controller == "io" ? "blkio" : controller);  // v2's io is v1's blkio
    if (dir.empty()) continue;
    std::string mount = dir.substr(0, dir.size() - rel_.size());
    return InvalidArgument("linux.resources.unified[\"" + key + "\"]", "",
                "the \"" + controller + "\" controller is on a cgroup v1 hierarchy (" + mount +
                    ") on this hybrid host; unified keys need it on cgroup v2");
  }
  spec::LinuxResources v1_part = res;
  v1_part.unified.clear();
  // hugetlb lives in the unified tree unless the host also mounts it as v1.
  bool hugetlb_v2 = v1_.Dir("hugetlb").empty();
  if (hugetlb_v2) v1_part.hugepage_limits.clear();
  BERTH_TRYV(v1_.Set(v1_part));
  if (hugetlb_v2) BERTH_TRYV(v2_.SetHugetlb(res.hugepage_limits));
  // Unified keys go to the cgroup2 dir; only the controllers it offers (and the
  // core cgroup.* files) can be written there.
  return v2_.SetUnified(res.unified);
}

Result<Stats> HybridManager::GetStats() {
  Stats s = BERTH_TRY(v1_.GetStats());
  if (v1_.Dir("hugetlb").empty()) BERTH_TRYV(v2_.ReadHugetlbStats(&s));
  return s;
}

std::vector<std::string> HybridManager::CreatedParents() const {
  auto all = v1_.CreatedParents();
  auto v2 = v2_.CreatedParents();
  all.insert(all.end(), v2.begin(), v2.end());
  return all;
}

Result<void> HybridManager::Destroy() {
  auto r1 = v1_.Destroy();
  auto r2 = v2_.Destroy();
  return r1 ? r2 : r1;
}

std::string HybridManager::Path(const std::string& controller) const {
  if (controller == "unified") return v2_.Path();
  if (controller == "hugetlb" && v1_.Dir("hugetlb").empty()) return v2_.Path();
  return v1_.Path(controller);
}

}  // namespace berth::cgroups
