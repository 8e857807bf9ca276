// cgroup v1 manager: creation, membership, freezer, kill and removal.
// Limits are in v1_set.cc, statistics in v1_stats.cc.
#include "cgroups/v1.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "cgroups/cgroup_fs.h"
#include "sys/fs.h"

namespace berth::cgroups {

using namespace std::chrono_literals;

V1Manager::V1Manager(const std::vector<V1Hierarchy>& hierarchies, std::string rel)
    : rel_(std::move(rel)) {
  for (const auto& h : hierarchies) hiers_.push_back({h, h.mountpoint + rel_});
}

std::string V1Manager::Dir(const std::string& controller) const {
  for (const auto& h : hiers_) {
    if (h.mount.Has(controller)) return h.dir;
  }
  return {};
}

std::string V1Manager::Path(const std::string& controller) const {
  if (controller.empty()) return ProcsDir();
  if (controller == "systemd") return Dir("name=systemd");
  return Dir(controller);
}

std::string V1Manager::ProcsDir() const {
  for (const char* c : {"freezer", "pids", "memory"}) {
    auto d = Dir(c);
    if (!d.empty()) return d;
  }
  return hiers_.empty() ? std::string() : hiers_.front().dir;
}

bool V1Manager::Exists() const {
  return std::any_of(hiers_.begin(), hiers_.end(), [](const Hier& h) { return fs::IsDir(h.dir); });
}

Result<void> V1Manager::CopyCpusetFromParent(const std::string& dir) {
  // A new cpuset cgroup starts with empty cpus/mems and attaching a task fails
  // with ENOSPC until both are filled in; inherit the parent's.
  std::string parent = dir.substr(0, dir.rfind('/'));
  for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
    auto cur = BERTH_TRY(fs::ReadTrimmed(dir + "/" + f));
    if (!cur.empty()) continue;
    auto val = BERTH_TRY(fs::ReadTrimmed(parent + "/" + f));
    BERTH_TRYV(sys::WriteFile(dir + "/" + f, val));
  }
  return {};
}

Result<void> V1Manager::Create() {
  for (const auto& h : hiers_) {
    std::vector<std::string> made;
    auto r = sys::MkdirAll(h.mount.mountpoint + rel_, 0755, &made);
    created_.insert(created_.end(), made.begin(), made.end());
    if (!r) return r;
    if (h.mount.Has("cpuset")) {
      for (const auto& d : made) BERTH_TRYV(CopyCpusetFromParent(d));
    }
  }
  return {};
}

Result<void> V1Manager::AddProcess(pid_t pid) {
  for (const auto& h : hiers_) {
    auto r = sys::WriteFile(h.dir + "/cgroup.procs", std::to_string(pid));
    if (!r) return r;
  }
  return {};
}

Result<FreezerState> V1Manager::GetFreezerState() {
  std::string dir = Dir("freezer");
  if (dir.empty()) return FreezerState::kThawed;
  auto state = fs::ReadTrimmed(dir + "/freezer.state");
  if (!state) {
    if (state.error().code == ENOENT && fs::IsDir(dir)) return FreezerState::kThawed;
    return std::unexpected(state.error());
  }
  // FREEZING (some task has not stopped yet) is reported as frozen: the cgroup was
  // asked to freeze and is not running normally.
  return *state == "THAWED" ? FreezerState::kThawed : FreezerState::kFrozen;
}

Result<void> V1Manager::Freeze() {
  std::string dir = Dir("freezer");
  if (dir.empty()) return FailedPrecondition("freeze", rel_, "the freezer cgroup controller is not mounted");
  const std::string file = dir + "/freezer.state";
  std::string state;
  auto deadline = std::chrono::steady_clock::now() + 2s;
  for (int i = 0;; ++i) {
    // Re-writing FROZEN makes the kernel retry tasks that were busy (e.g. in vfork).
    if (i % 20 == 0) BERTH_TRYV(sys::WriteFile(file, "FROZEN"));
    state = BERTH_TRY(fs::ReadTrimmed(file));
    if (state == "FROZEN") return {};
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(i < 10 ? 1ms : 10ms);
  }
  (void)sys::WriteFile(file, "THAWED");
  return DeadlineExceeded("freeze", file, "timed out waiting for FROZEN (state " + state + ")");
}

Result<void> V1Manager::Thaw() {
  std::string dir = Dir("freezer");
  if (dir.empty()) return FailedPrecondition("thaw", rel_, "the freezer cgroup controller is not mounted");
  const std::string file = dir + "/freezer.state";
  auto deadline = std::chrono::steady_clock::now() + 2s;
  std::string state;
  for (int i = 0;; ++i) {
    if (i % 20 == 0) BERTH_TRYV(sys::WriteFile(file, "THAWED"));
    state = BERTH_TRY(fs::ReadTrimmed(file));
    if (state == "THAWED") return {};
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(1ms);
  }
  return DeadlineExceeded("thaw", file, "timed out waiting for THAWED (state " + state + ")");
}

Result<std::vector<pid_t>> V1Manager::Pids() {
  std::string dir = ProcsDir();
  if (dir.empty()) return FailedPrecondition("list pids", rel_, "no cgroup v1 hierarchy is mounted");
  return fs::ReadProcs(dir, /*recursive=*/true);
}

Result<void> V1Manager::KillAll(int sig) {
  // Freezing first keeps processes from forking between our reading cgroup.procs
  // and signalling. A cgroup that was already paused stays paused, except for
  // SIGKILL, which frozen tasks only act on once they run again.
  bool has_freezer = !Dir("freezer").empty();
  auto state = GetFreezerState();
  bool was_frozen = state && *state == FreezerState::kFrozen;
  bool froze = has_freezer && !was_frozen && Freeze().has_value();
  auto pids = Pids();
  if (pids) {
    for (pid_t p : *pids)
      if (p > 0) (void)::kill(p, sig);
  }
  if (froze || (was_frozen && sig == SIGKILL)) BERTH_TRYV(Thaw());
  if (!pids) return std::unexpected(pids.error());
  return {};
}

std::vector<std::string> V1Manager::CreatedParents() const {
  std::vector<std::string> out;
  for (const auto& d : created_) {
    if (std::none_of(hiers_.begin(), hiers_.end(), [&d](const Hier& h) { return h.dir == d; }))
      out.push_back(d);
  }
  return out;
}

void V1Manager::AdoptCreated(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    for (const auto& h : hiers_) {
      if (fs::IsAncestorInside(d, h.dir, h.mount.mountpoint)) {
        created_.push_back(d);
        break;
      }
    }
  }
}

Result<void> V1Manager::Destroy() {
  // The container's own dir goes in every hierarchy, even when the manager was
  // re-opened by a later command that was not told which parents it made.
  Result<void> first;
  for (const auto& h : hiers_) {
    auto r = fs::RemoveCgroup(h.dir);
    if (!r && first) first = r;
  }
  // Parents this manager created (or adopted) stay when other containers still use
  // them (rmdir fails with EBUSY).
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) fs::RemoveIfEmpty(*it);
  if (first) created_.clear();
  return first;
}

}  // namespace berth::cgroups
