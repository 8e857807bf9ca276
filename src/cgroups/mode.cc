// Cgroup mode detection and the mount table of cgroup hierarchies.
#include <linux/magic.h>
#include <sys/statfs.h>

#include <algorithm>
#include <sstream>

#include "cgroups/cgroup_fs.h"
#include "cgroups/manager.h"
#include "cgroups/mounts.h"
#include "sys/fs.h"

namespace berth::cgroups {

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kV1:
      return "v1";
    case Mode::kHybrid:
      return "hybrid";
    case Mode::kV2:
      return "v2";
  }
  return "unknown";
}

static bool IsFs(const char* path, long magic) {
  struct statfs st;
  return ::statfs(path, &st) == 0 && static_cast<long>(st.f_type) == magic;
}

Mode DetectMode() {
  static const Mode mode = [] {
    if (IsFs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) return Mode::kV2;
    // systemd's "hybrid" layout: v1 controllers on a tmpfs plus a cgroup2 mount
    // (named "unified") that tracks processes and may hold v2-only controllers.
    if (IsFs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC)) return Mode::kHybrid;
    return Mode::kV1;
  }();
  return mode;
}

bool V1Hierarchy::Has(const std::string& c) const {
  return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
}

std::string UnescapeMountField(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](size_t k) { return s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

static std::vector<std::string> SplitOn(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

static bool UnderSysFsCgroup(const std::string& mp) { return mp.rfind("/sys/fs/cgroup", 0) == 0; }

CgroupMounts ParseMountinfo(const std::string& text, const std::vector<std::string>& known) {
  CgroupMounts m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string w; ls >> w;) f.push_back(w);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 7 || dash == f.end() || dash + 2 >= f.end()) continue;
    const std::string& fstype = *(dash + 1);
    std::string mp = UnescapeMountField(f[4]);
    if (fstype == "cgroup2") {
      // Prefer the canonical location if the hierarchy is also bind-mounted elsewhere.
      if (m.unified.empty() || (!UnderSysFsCgroup(m.unified) && UnderSysFsCgroup(mp)))
        m.unified = mp;
      continue;
    }
    if (fstype != "cgroup" || dash + 3 >= f.end()) continue;
    V1Hierarchy h;
    h.mountpoint = mp;
    const std::string& super = *(dash + 3);
    for (const auto& opt : SplitOn(super, ',')) {
      if (opt.rfind("name=", 0) == 0 || std::find(known.begin(), known.end(), opt) != known.end())
        h.controllers.push_back(opt);
    }
    if (h.controllers.empty()) continue;
    auto same = std::find_if(m.v1.begin(), m.v1.end(),
                             [&](const V1Hierarchy& o) { return o.controllers == h.controllers; });
    if (same == m.v1.end())
      m.v1.push_back(std::move(h));
    else if (!UnderSysFsCgroup(same->mountpoint) && UnderSysFsCgroup(h.mountpoint))
      *same = std::move(h);
  }
  return m;
}

static std::vector<std::string> KnownControllers() {
  // /proc/cgroups: "#subsys_name hierarchy num_cgroups enabled"
  std::vector<std::string> out;
  auto text = sys::ReadFile("/proc/cgroups");
  if (!text) return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name;
    ls >> name;
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

const CgroupMounts& HostMounts() {
  static const CgroupMounts mounts = [] {
    auto text = sys::ReadFile("/proc/self/mountinfo");
    return ParseMountinfo(text ? *text : std::string(), KnownControllers());
  }();
  return mounts;
}

}  // namespace berth::cgroups
