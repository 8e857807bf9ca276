// Mount type "cgroup": give the container a /sys/fs/cgroup that shows its own cgroup.
//
// The layout copies the host's, read from /proc/self/mountinfo (our mount namespace is still
// a copy of the host's here): a cgroup2 hierarchy mounted at the destination on a pure v2
// host; otherwise (v1 or hybrid) a tmpfs at the destination holding one directory per host
// hierarchy (cpu, memory, "cpu,cpuacct" plus cpu and cpuacct symlinks, unified ...).
// - With a new cgroup namespace each hierarchy is mounted afresh; the kernel roots it at the
//   namespace's cgroup, which is the container's own.
// - Without one, a fresh mount would show the host's whole tree, so the container's own
//   directory of each hierarchy (from /proc/self/cgroup) is bind-mounted instead.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "runtime/rootfs_internal.h"
#include "sys/mounts.h"
#include "sys/path.h"

namespace berth::runtime::rootfs_internal {
namespace {

struct HostCgroupMount {
  std::string root;        // the mount's root inside its hierarchy, usually "/"
  std::string mountpoint;  // e.g. /sys/fs/cgroup/memory
  bool v2 = false;
  std::set<std::string> controllers;  // v1: "memory", "name=systemd" ...
  std::string data;                   // v1: "cpu,cpuacct" as mount(2) data
};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool IsV1Controller(const std::string& opt) {
  static const char* kNotControllers[] = {
      "rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods", "none"};
  for (const char* n : kNotControllers)
    if (opt == n) return false;
  return opt.rfind("release_agent=", 0) != 0;
}

// Cgroup mounts of the host (not under our own rootfs), one per hierarchy.
Result<std::vector<HostCgroupMount>> ReadHostCgroupMounts(const std::string& root_real) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return Errno("open", "/proc/self/mountinfo");
  std::vector<HostCgroupMount> out;
  std::set<std::string> seen_devs;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string w; ls >> w;) f.push_back(w);
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 3 >= f.size()) continue;
    const std::string& type = f[dash + 1];
    if (type != "cgroup" && type != "cgroup2") continue;
    HostCgroupMount m;
    m.root = Unescape(f[3]);
    m.mountpoint = Unescape(f[4]);
    if (root_real != "/" &&
        (m.mountpoint == root_real || m.mountpoint.rfind(root_real + "/", 0) == 0))
      continue;
    if (!seen_devs.insert(f[2]).second) continue;  // the same hierarchy mounted twice
    m.v2 = type == "cgroup2";
    if (!m.v2) {
      std::istringstream os(f[dash + 3]);
      for (std::string o; std::getline(os, o, ',');) {
        if (!IsV1Controller(o)) continue;
        m.controllers.insert(o);
        if (!m.data.empty()) m.data += ',';
        m.data += o;
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

struct OwnCgroup {
  std::set<std::string> controllers;  // empty for the v2 line "0::/path"
  std::string path;
};

Result<std::vector<OwnCgroup>> ReadOwnCgroups() {
  std::ifstream in("/proc/self/cgroup");
  if (!in) return Errno("open", "/proc/self/cgroup");
  std::vector<OwnCgroup> out;
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    OwnCgroup c;
    std::istringstream cs(line.substr(a + 1, b - a - 1));
    for (std::string o; std::getline(cs, o, ',');)
      if (!o.empty()) c.controllers.insert(o);
    c.path = line.substr(b + 1);
    out.push_back(std::move(c));
  }
  return out;
}

// Host directory of our own cgroup in hierarchy `m`, or "" when /proc/self/cgroup has none.
std::string OwnDirectory(const HostCgroupMount& m, const std::vector<OwnCgroup>& own) {
  for (const auto& c : own) {
    if (m.v2 ? !c.controllers.empty() : c.controllers != m.controllers) continue;
    std::string rel = c.path;
    // The path is relative to the hierarchy's root; the mount may show only a subtree.
    if (m.root != "/") {
      if (rel.rfind(m.root, 0) != 0) return "";
      rel = rel.substr(m.root.size());
    }
    return sys::CleanPath(m.mountpoint + "/" + rel);
  }
  return "";
}

std::string BaseName(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// One hierarchy at `dest` (a directory already created and checked).
Result<void> MountHierarchy(Context& ctx, const HostCgroupMount& h,
                            const std::vector<OwnCgroup>& own, const std::string& dest,
                            unsigned long flags, const std::string& what) {
  UniqueFd fd = BERTH_TRY(ReopenTarget(ctx, dest, what));
  if (ctx.opts.new_cgroup_namespace) {
    return sys::Mount("cgroup", sys::FdPath(fd.Get()), h.v2 ? "cgroup2" : "cgroup", flags,
                      h.v2 ? "" : h.data, what + ": " + (h.v2 ? "cgroup2" : h.data));
  }
  std::string src = OwnDirectory(h, own);
  if (src.empty()) return {};  // not a member of this hierarchy: leave the directory empty
  auto r = BindMount(ctx, src, fd, dest, flags | MS_BIND | MS_REC, what);
  if (!r) return std::unexpected(std::move(r.error()));
  return {};
}

}  // namespace

Result<void> MountCgroup(Context& ctx, const spec::Mount& m, const MountOptions& mo,
                         const std::string& dest, const std::string& what) {
  auto fail = [&](Error e) { return std::unexpected(std::move(e.Wrap("mount " + what))); };
  auto hosts = ReadHostCgroupMounts(ctx.root_real);
  if (!hosts) return fail(std::move(hosts.error()));
  std::vector<OwnCgroup> own;
  if (!ctx.opts.new_cgroup_namespace) {
    auto o = ReadOwnCgroups();
    if (!o) return fail(std::move(o.error()));
    own = std::move(*o);
  }
  const unsigned long flags = mo.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);

  bool any_v1 = false;
  const HostCgroupMount* v2 = nullptr;
  for (const auto& h : *hosts) {
    if (h.v2 && !v2) v2 = &h;
    any_v1 |= !h.v2;
  }
  if (!any_v1 && v2 == nullptr)
    return Fail("mount", what, "the host has no cgroup hierarchy mounted");
  if (!any_v1 || m.type == "cgroup2") {
    if (!v2) return Fail("mount", what, "the host has no cgroup2 hierarchy");
    return MountHierarchy(ctx, *v2, own, dest, flags, what);
  }

  // v1 or hybrid: a tmpfs to hold the hierarchies, read-only (if asked) only once filled.
  UniqueFd top = BERTH_TRY(ReopenTarget(ctx, dest, what));
  BERTH_TRYV(sys::Mount("tmpfs", sys::FdPath(top.Get()), "tmpfs", flags & ~MS_RDONLY, "mode=755",
                        what + ": tmpfs"));
  top = BERTH_TRY(ReopenTarget(ctx, dest, what));
  for (const auto& h : *hosts) {
    std::string name = BaseName(h.mountpoint);
    std::string sub = dest + "/" + name;
    auto dir = sys::MkdirAllInRoot(ctx.root_fd.Get(), sub, 0755);
    if (!dir) return fail(std::move(dir.error()));
    BERTH_TRYV(MountHierarchy(ctx, h, own, sub, flags, what));
    // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name, as on hosts.
    if (name.find(',') != std::string::npos) {
      for (const auto& c : h.controllers) {
        if (c == name || c.rfind("name=", 0) == 0) continue;
        if (symlinkat(name.c_str(), top.Get(), c.c_str()) < 0 && errno != EEXIST)
          return fail(Errno("symlink", dest + "/" + c).error());
      }
    }
  }
  if (flags & MS_RDONLY) {
    BERTH_TRYV(sys::Mount("", sys::FdPath(top.Get()), "", MS_BIND | MS_REMOUNT | flags, "",
                          what + ": remount tmpfs read-only"));
  }
  return {};
}

}  // namespace berth::runtime::rootfs_internal
