// linux.cgroupsPath → cgroup path, and the Manager factory.
#include <algorithm>

#include "cgroups/cgroup_fs.h"
#include "cgroups/hybrid.h"
#include "cgroups/manager.h"
#include "cgroups/mounts.h"
#include "cgroups/v1.h"
#include "cgroups/v2.h"

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

}  // namespace

Result<std::string> ResolveCgroupsPath(const std::string& cgroups_path, const std::string& id) {
  const char* field = "linux.cgroupsPath";
  if (LooksLikeSystemd(cgroups_path))
    return Fail(field, "\"" + cgroups_path + "\"",
                "systemd-style \"slice:prefix:name\" paths need the systemd cgroup driver, "
                "which is not available yet; use a path like \"/berth/" +
                    (id.empty() ? std::string("<id>") : id) + "\"");
  std::string raw;
  if (cgroups_path.empty()) {
    if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos)
      return Fail(field, "container id \"" + id + "\"", "cannot name a cgroup");
    raw = std::string(kParent) + "/" + id;
  } else if (cgroups_path[0] == '/') {
    raw = cgroups_path;
  } else {
    raw = std::string(kParent) + "/" + cgroups_path;
  }
  std::string out;
  for (const auto& part : fs::SplitPath(raw)) {
    if (part == ".") continue;
    if (part == "..")
      return Fail(field, "\"" + cgroups_path + "\"", "\"..\" components are not allowed");
    out += "/" + part;
  }
  if (out.empty()) return Fail(field, "\"" + cgroups_path + "\"", "refers to the root cgroup");
  return out;
}

Result<std::unique_ptr<Manager>> Open(const std::string& cgroups_path, const std::string& id,
                                      Mode mode) {
  auto rel = BERTH_TRY(ResolveCgroupsPath(cgroups_path, id));
  const CgroupMounts& m = HostMounts();
  switch (mode) {
    case Mode::kV2:
      if (m.unified.empty()) return Fail("open cgroup", rel, "no cgroup2 hierarchy is mounted");
      // On a pure v2 host enable every available controller, as containers expect
      // stats and limits to work; on a hybrid host (tests) only what Set needs.
      return std::unique_ptr<Manager>(
          new V2Manager(m.unified, rel, /*enable_all=*/DetectMode() == Mode::kV2));
    case Mode::kHybrid:
      if (m.unified.empty()) return Fail("open cgroup", rel, "no cgroup2 hierarchy is mounted");
      if (m.v1.empty()) return Fail("open cgroup", rel, "no cgroup v1 hierarchy is mounted");
      return std::unique_ptr<Manager>(new HybridManager(m.v1, m.unified, rel));
    case Mode::kV1:
      if (m.v1.empty()) return Fail("open cgroup", rel, "no cgroup v1 hierarchy is mounted");
      return std::unique_ptr<Manager>(new V1Manager(m.v1, rel));
  }
  return Fail("open cgroup", rel, "unknown cgroup mode");
}

}  // namespace berth::cgroups
