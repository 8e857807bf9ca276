// linux.cgroupsPath → cgroup path, and the Manager factory.
#include <algorithm>

#include "cgroups/cgroup_fs.h"
#include "cgroups/hybrid.h"
#include "cgroups/manager.h"
#include "cgroups/mounts.h"
#include "cgroups/v1.h"
#include "cgroups/v2.h"
#include "sys/path.h"

namespace berth::cgroups {

namespace {

// Relative paths (and the default) go under one parent of berth's own instead of
// runc's "relative to the caller's cgroup": berth is started by shims, daemons and
// shells whose own cgroups differ per hierarchy on v1 (and on v2 may hold processes,
// which forbids enabling controllers below them). A fixed parent keeps containers
// out of the caller's accounting and makes the layout predictable on every host.
constexpr const char* kParent = "/berth";

bool LooksLikeSystemd(const std::string& p) {
  // "system.slice:docker:abc" — the systemd driver's form.
  return !p.empty() && p[0] != '/' && std::count(p.begin(), p.end(), ':') == 2;
}

// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", as systemd nests slices.
Result<std::string> ExpandSlice(const std::string& slice, const std::string& whole) {
  const std::string suffix = ".slice";
  if (slice == "-.slice") return std::string();
  if (slice.size() <= suffix.size() || slice.compare(slice.size() - suffix.size(), suffix.size(), suffix) != 0 ||
      slice.find('/') != std::string::npos)
    return InvalidArgument("linux.cgroupsPath", "\"" + whole + "\"", "\"" + slice + "\" is not a slice name (x.slice)");
  std::string stem = slice.substr(0, slice.size() - suffix.size());
  if (stem.empty() || stem.front() == '-' || stem.back() == '-' || stem.find("--") != std::string::npos)
    return InvalidArgument("linux.cgroupsPath", "\"" + whole + "\"", "\"" + slice + "\" is not a valid slice name");
  std::string out, prefix;
  size_t start = 0;
  for (;;) {
    size_t dash = stem.find('-', start);
    prefix = stem.substr(0, dash);
    out += "/" + prefix + suffix;
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  return out;
}

// The systemd driver's "slice:prefix:name" names the cgroup <slice path>/<prefix>-<name>.scope.
// There is no systemd driver (these hosts have no systemd as PID 1), so berth manages that
// same directory through cgroupfs: podman and CRI-O configured for systemd find their
// containers where they expect them, though systemd itself does not track the scope.
Result<std::string> SystemdPath(const std::string& p) {
  size_t a = p.find(':'), b = p.find(':', a + 1);
  std::string slice = p.substr(0, a), prefix = p.substr(a + 1, b - a - 1), name = p.substr(b + 1);
  if (name.empty() || name.find('/') != std::string::npos || prefix.find('/') != std::string::npos)
    return InvalidArgument("linux.cgroupsPath", "\"" + p + "\"", "expected slice:prefix:name");
  auto dir = BERTH_TRY(ExpandSlice(slice.empty() ? "system.slice" : slice, p));
  const std::string sl = ".slice";
  bool is_slice = name.size() > sl.size() && name.compare(name.size() - sl.size(), sl.size(), sl) == 0;
  std::string unit = is_slice ? name : (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  return dir + "/" + unit;
}

}  // namespace

Result<std::string> ResolveCgroupsPath(const std::string& cgroups_path, const std::string& id) {
  const char* field = "linux.cgroupsPath";
  std::string raw;
  if (LooksLikeSystemd(cgroups_path)) {
    raw = BERTH_TRY(SystemdPath(cgroups_path));
  } else if (cgroups_path.empty()) {
    if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos)
      return InvalidArgument(field, "container id \"" + id + "\"", "cannot name a cgroup");
    raw = std::string(kParent) + "/" + id;
  } else if (cgroups_path[0] == '/') {
    raw = cgroups_path;
  } else {
    raw = std::string(kParent) + "/" + cgroups_path;
  }
  std::string out;
  for (const auto& part : sys::PathComponents(raw)) {
    if (part == ".") continue;
    if (part == "..")
      return InvalidArgument(field, "\"" + cgroups_path + "\"", "\"..\" components are not allowed");
    out += "/" + part;
  }
  if (out.empty()) return InvalidArgument(field, "\"" + cgroups_path + "\"", "refers to the root cgroup");
  return out;
}

Result<std::unique_ptr<Manager>> Open(const std::string& cgroups_path, const std::string& id,
                                      Mode mode) {
  auto rel = BERTH_TRY(ResolveCgroupsPath(cgroups_path, id));
  const CgroupMounts& m = HostMounts();
  switch (mode) {
    case Mode::kV2:
      if (m.unified.empty()) return FailedPrecondition("open cgroup", rel, "no cgroup2 hierarchy is mounted");
      // On a pure v2 host enable every available controller, as containers expect
      // stats and limits to work; on a hybrid host (tests) only what Set needs.
      return std::unique_ptr<Manager>(
          new V2Manager(m.unified, rel, /*enable_all=*/DetectMode() == Mode::kV2));
    case Mode::kHybrid:
      if (m.unified.empty()) return FailedPrecondition("open cgroup", rel, "no cgroup2 hierarchy is mounted");
      if (m.v1.empty()) return FailedPrecondition("open cgroup", rel, "no cgroup v1 hierarchy is mounted");
      return std::unique_ptr<Manager>(new HybridManager(m.v1, m.unified, rel));
    case Mode::kV1:
      if (m.v1.empty()) return FailedPrecondition("open cgroup", rel, "no cgroup v1 hierarchy is mounted");
      return std::unique_ptr<Manager>(new V1Manager(m.v1, rel));
  }
  return FailedPrecondition("open cgroup", rel, "unknown cgroup mode");
}

}  // namespace berth::cgroups
