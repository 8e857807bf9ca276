// Cgroup managers behind one interface: v1, v2 (unified) and hybrid hosts.
// The runtime creates a Manager from the spec's cgroupsPath at create time and
// re-opens it from the same path (saved in state.json) for later commands.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/spec.h"

namespace berth::cgroups {

enum class Mode { kV1, kHybrid, kV2 };
const char* ModeName(Mode m);  // "v1" "hybrid" "v2"

// Reads /sys/fs/cgroup's layout once (statfs + mounts). Cheap; cached per process.
Mode DetectMode();

struct MemoryStats {
  uint64_t usage = 0, max_usage = 0, limit = 0, swap_usage = 0, swap_limit = 0;
  uint64_t cache = 0, rss = 0, failcnt = 0, oom_events = 0;
  std::map<std::string, uint64_t> raw;  // memory.stat as the kernel reports it
};
struct CpuStats {
  uint64_t usage_total_ns = 0, usage_user_ns = 0, usage_kernel_ns = 0;
  std::vector<uint64_t> percpu_ns;
  uint64_t throttling_periods = 0, throttled_periods = 0, throttled_time_ns = 0;
};
struct PidsStats {
  uint64_t current = 0, limit = 0;  // limit 0 = max
};
struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // Read Write Sync Async Total (v1) / rbytes wbytes rios wios (v2 mapped)
  uint64_t value = 0;
};
struct Stats {
  MemoryStats memory;
  CpuStats cpu;
  PidsStats pids;
  std::vector<BlkioEntry> io_service_bytes, io_serviced;
  std::map<std::string, uint64_t> hugetlb_usage;  // page size -> bytes
};

// Freezer states as the runtime reports them.
enum class FreezerState { kThawed, kFrozen };

class Manager {
 public:
  virtual ~Manager() = default;

  // Creates the cgroup directories (every v1 controller hierarchy, or the v2 dir, enabling
  // the needed controllers in the parents' cgroup.subtree_control). Records which directories
  // it created so that Destroy removes exactly those.
  virtual Result<void> Create() = 0;
  // Moves pid into the cgroup(s).
  virtual Result<void> AddProcess(pid_t pid) = 0;
  // Applies (or updates) limits. Errors name the resource and the file:
  // `linux.resources.memory.limit: write memory.limit_in_bytes: Device or resource busy`.
  virtual Result<void> Set(const spec::LinuxResources& res) = 0;
  virtual Result<void> Freeze() = 0;
  virtual Result<void> Thaw() = 0;
  virtual Result<FreezerState> GetFreezerState() = 0;
  // PIDs in the cgroup (and its descendants), as seen from the host.
  virtual Result<std::vector<pid_t>> Pids() = 0;
  // Sends sig to every process in the cgroup (freezes first on v1 to avoid races;
  // uses cgroup.kill on v2 for SIGKILL when available).
  virtual Result<void> KillAll(int sig) = 0;
  virtual Result<Stats> GetStats() = 0;
  // Removes the cgroup directories (retrying while processes exit). Safe to call twice.
  virtual Result<void> Destroy() = 0;
  // Path of this cgroup for controller `ctrl` (v1), or the unified path (v2); for
  // tests and `berth ps`.
  virtual std::string Path(const std::string& controller = "") const = 0;
  // True if the cgroup exists on disk.
  virtual bool Exists() const = 0;
  // The parent directories Create made (e.g. /sys/fs/cgroup/memory/berth for
  // /berth/<id>), outermost first. A later command re-opens the cgroup with a new manager
  // that does not know them: the container's state keeps this list and hands it back
  // through AdoptCreated, so that `delete` also removes the parents its container made
  // (those no other cgroup uses by then).
  virtual std::vector<std::string> CreatedParents() const = 0;
  // Takes only ancestors of this manager's own dirs inside its hierarchies.
  virtual void AdoptCreated(const std::vector<std::string>& dirs) = 0;
};

// cgroups_path: spec's linux.cgroupsPath. Absolute paths are taken relative to each
// hierarchy's root; relative paths (and empty = "/berth/<id>"-like default) are placed
// under the runtime's own parent "berth". `id` names the container for defaults.
// Does not touch the filesystem; call Create() for that.
Result<std::unique_ptr<Manager>> Open(const std::string& cgroups_path, const std::string& id,
                                      Mode mode = DetectMode());

// The cgroup path (relative to each hierarchy's root, starting with '/') that Open uses
// for (cgroups_path, id): "/a/b" as given, "a/b" -> "/berth/a/b", "" -> "/berth/<id>".
// Rejects ".." components and the root cgroup itself; systemd's "slice:prefix:name" maps to
// "<slice path>/<prefix>-<name>.scope" (see path.cc).
Result<std::string> ResolveCgroupsPath(const std::string& cgroups_path, const std::string& id);

// Mount root of the cgroup filesystem ("/sys/fs/cgroup"); tests may override via
// BERTH_CGROUP_ROOT is NOT supported — cgroups are always the host's.

}  // namespace berth::cgroups
