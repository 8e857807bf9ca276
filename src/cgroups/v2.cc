// cgroup v2 manager: creation, controller enabling, membership, freezer, kill and
// removal. Limits are in v2_set.cc, statistics in v2_stats.cc.
#include "cgroups/v2.h"

#include <signal.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "cgroups/cgroup_fs.h"
#include "sys/fs.h"
#include "sys/path.h"

namespace berth::cgroups {

using namespace std::chrono_literals;

namespace {

bool ListContains(const std::string& list, const std::string& word) {
  std::istringstream in(list);
  for (std::string w; in >> w;)
    if (w == word) return true;
  return false;
}

std::unexpected<Error> WithField(Error e, const std::string& field) {
  e.Wrap(field);
  return std::unexpected(std::move(e));
}

}  // namespace

V2Manager::V2Manager(std::string mountpoint, std::string rel, bool enable_all)
    : mountpoint_(std::move(mountpoint)),
      rel_(std::move(rel)),
      dir_(mountpoint_ + rel_),
      enable_all_(enable_all) {}

std::string V2Manager::Path(const std::string&) const { return dir_; }

bool V2Manager::Exists() const { return fs::IsDir(dir_); }

std::vector<std::string> V2Manager::Ancestors() const {
  std::vector<std::string> out{mountpoint_};
  auto parts = sys::PathComponents(rel_);
  std::string cur = mountpoint_;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    cur += "/" + parts[i];
    out.push_back(cur);
  }
  return out;
}

Result<void> V2Manager::EnableController(const std::string& controller, const std::string& field) {
  // Fast path: already offered to our cgroup.
  if (auto mine = sys::ReadFile(dir_ + "/cgroup.controllers");
      mine && ListContains(*mine, controller))
    return {};
  for (const auto& anc : Ancestors()) {
    auto offered = sys::ReadFile(anc + "/cgroup.controllers");
    if (!offered) return WithField(offered.error(), field);
    if (!ListContains(*offered, controller))
      return WithField(Error{0,
                             "controller \"" + controller + "\"",
                             "is not enabled in " + anc + "/cgroup.subtree_control",
                             "it is not offered by " + anc + "/cgroup.controllers",
                             {}},
                       field);
    auto enabled = sys::ReadFile(anc + "/cgroup.subtree_control");
    if (!enabled) return WithField(enabled.error(), field);
    if (ListContains(*enabled, controller)) continue;
    auto w = sys::WriteFile(anc + "/cgroup.subtree_control", "+" + controller);
    if (!w) {
      // Name the controller: the bare write error does not say which one was refused.
      Error e = w.error();
      e.op = "enable controller \"" + controller + "\" in";
      // EBUSY: the "no internal processes" rule — anc holds processes itself.
      // EOPNOTSUPP: anc is (part of) a threaded subtree, e.g. it holds processes and
      // enables threaded controllers; only those (cpu, cpuset, pids, perf_event) fit there.
      if (e.code == EBUSY)
        e.detail = "cgroup " + anc + " has processes of its own";
      else if (e.code == EOPNOTSUPP)
        e.detail = "cgroup " + anc +
                   " is in a threaded subtree, where domain controllers cannot be enabled";
      return WithField(std::move(e), field);
    }
  }
  return {};
}

Result<void> V2Manager::Create() {
  BERTH_TRYV(sys::MkdirAll(mountpoint_ + rel_, 0755, &created_));
  if (enable_all_) {
    auto offered = sys::ReadFile(mountpoint_ + "/cgroup.controllers");
    if (offered) {
      std::istringstream in(*offered);
      // Best effort: a controller an ancestor cannot enable only matters if a
      // limit asks for it, and then Set reports it.
      for (std::string c; in >> c;) (void)EnableController(c, "create");
    }
  }
  return {};
}

Result<void> V2Manager::AddProcess(pid_t pid) {
  return sys::WriteFile(dir_ + "/cgroup.procs", std::to_string(pid));
}

Result<FreezerState> V2Manager::GetFreezerState() {
  auto v = fs::ReadTrimmed(dir_ + "/cgroup.freeze");
  if (!v) {
    if (v.error().code == ENOENT && Exists()) return FreezerState::kThawed;  // kernel < 5.2
    return std::unexpected(v.error());
  }
  return *v == "1" ? FreezerState::kFrozen : FreezerState::kThawed;
}

Result<void> V2Manager::WaitFrozen(bool frozen) {
  // cgroup.freeze is the wish; cgroup.events' "frozen" turns 1 once every task
  // has stopped.
  auto deadline = std::chrono::steady_clock::now() + 2s;
  for (int i = 0;; ++i) {
    auto ev = BERTH_TRY(fs::ReadKeyValues(dir_ + "/cgroup.events"));
    if ((ev["frozen"] == 1) == frozen) return {};
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(i < 10 ? 1ms : 10ms);
  }
  return DeadlineExceeded(frozen ? "freeze" : "thaw", dir_ + "/cgroup.events",
              std::string("timed out waiting for \"frozen ") + (frozen ? "1" : "0") + "\"");
}

Result<void> V2Manager::Freeze() {
  const std::string f = dir_ + "/cgroup.freeze";
  if (!fs::PathExists(f) && Exists())
    return Unimplemented("freeze", f, "does not exist (the cgroup v2 freezer needs kernel 5.2)");
  BERTH_TRYV(sys::WriteFile(f, "1"));
  auto r = WaitFrozen(true);
  if (!r) (void)sys::WriteFile(f, "0");
  return r;
}

Result<void> V2Manager::Thaw() {
  const std::string f = dir_ + "/cgroup.freeze";
  if (!fs::PathExists(f) && Exists())
    return Unimplemented("thaw", f, "does not exist (the cgroup v2 freezer needs kernel 5.2)");
  BERTH_TRYV(sys::WriteFile(f, "0"));
  return WaitFrozen(false);
}

Result<std::vector<pid_t>> V2Manager::Pids() { return fs::ReadProcs(dir_, /*recursive=*/true); }

Result<void> V2Manager::KillAll(int sig) {
  // cgroup.kill (5.14) kills the whole subtree atomically, frozen tasks included,
  // and cannot miss a task forked meanwhile.
  if (sig == SIGKILL && fs::PathExists(dir_ + "/cgroup.kill"))
    return sys::WriteFile(dir_ + "/cgroup.kill", "1");
  // Otherwise freeze so nothing forks between reading cgroup.procs and signalling;
  // a cgroup that was already paused stays paused, except for SIGKILL, which is
  // only delivered once the tasks run again.
  auto state = GetFreezerState();
  bool was_frozen = state && *state == FreezerState::kFrozen;
  bool froze = !was_frozen && fs::PathExists(dir_ + "/cgroup.freeze") && Freeze().has_value();
  auto pids = Pids();
  if (pids) {
    for (pid_t p : *pids)
      if (p > 0) (void)::kill(p, sig);
  }
  if (froze || (was_frozen && sig == SIGKILL)) BERTH_TRYV(Thaw());
  if (!pids) return std::unexpected(pids.error());
  return {};
}

std::vector<std::string> V2Manager::CreatedParents() const {
  std::vector<std::string> out;
  for (const auto& d : created_)
    if (d != dir_) out.push_back(d);
  return out;
}

void V2Manager::AdoptCreated(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs)
    if (fs::IsAncestorInside(d, dir_, mountpoint_)) created_.push_back(d);
}

Result<void> V2Manager::Destroy() {
  auto r = fs::RemoveCgroup(dir_);
  // Shared parents (e.g. /berth) stay while other containers use them.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) fs::RemoveIfEmpty(*it);
  if (r) created_.clear();
  return r;
}

}  // namespace berth::cgroups
