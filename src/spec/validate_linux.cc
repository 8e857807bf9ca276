// Semantic checks on the "linux" object (runtime-spec config-linux.md).
#include <algorithm>
#include <set>
#include <string>

#include "spec/validate_internal.h"

namespace berth::spec::internal {
namespace {

bool IsAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

template <class Range>
bool Contains(const Range& r, std::string_view s) {
  return std::find(std::begin(r), std::end(r), s) != std::end(r);
}

constexpr const char* kNamespaceTypes[] = {"pid", "network", "mount",  "ipc",
                                           "uts", "user",    "cgroup", "time"};

Result<void> ValidateNamespaces(const Linux& l, const HostProbe* host) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    const LinuxNamespace& ns = l.namespaces[i];
    std::string path = Index("linux.namespaces", i);
    if (!Contains(kNamespaceTypes, ns.type))
      return Invalid(path + ".type", Quote(ns.type) + " is not a namespace type (pid, network, " +
                                         "mount, ipc, uts, user, cgroup, time)");
    if (!seen.insert(ns.type).second)
      return Invalid(path + ".type", "duplicate " + Quote(ns.type) + " namespace");
    if (ns.path.empty()) continue;
    if (!IsAbsolute(ns.path))
      return Invalid(path + ".path", Quote(ns.path) + " is not an absolute path");
    if (host == nullptr) continue;
    if (auto kind = host->Stat(ns.path); !kind)
      return ErrnoCode(kind.error().code, path + ".path", "", ns.path);
  }
  return {};
}

Result<void> ValidateUserNamespace(const Spec& spec) {
  const Linux& l = *spec.linux;
  const LinuxNamespace* user = spec.FindNamespace("user");
  if (user == nullptr) {
    // Writing uid_map needs a user namespace of our own; without one the maps mean nothing.
    if (!l.uid_mappings.empty())
      return Invalid("linux.uidMappings", "requires a user namespace in linux.namespaces");
    if (!l.gid_mappings.empty())
      return Invalid("linux.gidMappings", "requires a user namespace in linux.namespaces");
    return {};
  }
  if (user->path.empty()) {
    // A new user namespace without maps leaves every id unmapped (nobody/65534).
    if (l.uid_mappings.empty())
      return Invalid("linux.uidMappings", "a new user namespace needs uid mappings");
    if (l.gid_mappings.empty())
      return Invalid("linux.gidMappings", "a new user namespace needs gid mappings");
  }
  BERTH_TRYV(ValidateLinuxIdMappings(l.uid_mappings, "linux.uidMappings"));
  BERTH_TRYV(ValidateLinuxIdMappings(l.gid_mappings, "linux.gidMappings"));
  return {};
}

Result<void> ValidateTimeOffsets(const Spec& spec) {
  const Linux& l = *spec.linux;
  if (l.time_offsets.empty()) return {};
  // Offsets can only be written before the first process enters a new time namespace.
  const LinuxNamespace* time = spec.FindNamespace("time");
  if (time == nullptr || !time->path.empty())
    return Invalid("linux.timeOffsets", "requires a new time namespace in linux.namespaces");
  for (const auto& [clock, off] : l.time_offsets) {
    std::string path = MapKey("linux.timeOffsets", clock);
    if (clock != "boottime" && clock != "monotonic")
      return Invalid(path, "not a clock with a time namespace offset (boottime, monotonic)");
    if (off.nanosecs >= 1000000000u)
      return Invalid(path + ".nanosecs", std::to_string(off.nanosecs) + " is not below 1e9");
  }
  return {};
}

Result<void> ValidateDevices(const std::vector<LinuxDevice>& devices) {
  for (size_t i = 0; i < devices.size(); ++i) {
    const LinuxDevice& d = devices[i];
    std::string path = Index("linux.devices", i);
    if (!IsAbsolute(d.path))
      return Invalid(path + ".path", Quote(d.path) + " is not an absolute path");
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
      return Invalid(path + ".type", Quote(d.type) + " is not a device type (c, b, u, p)");
    if (d.major < 0 || d.minor < 0)
      return Invalid(path, "major and minor numbers must not be negative");
    if (d.file_mode && *d.file_mode > 07777)
      return Invalid(path + ".fileMode",
                     std::to_string(*d.file_mode) + " has bits beyond the permission bits 07777");
  }
  return {};
}

// Namespaced sysctls and the namespace that owns each; everything else would write the
// host's value (runc refuses those too).
Result<void> ValidateSysctl(const Spec& spec, const HostProbe* host) {
  constexpr const char* kIpcSysctls[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                         "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                         "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (const auto& [key, value] : spec.linux->sysctl) {
    std::string path = MapKey("linux.sysctl", key);
    // sysctl(8) accepts "net/ipv4/ip_forward" as well as the dotted form.
    std::string name = key;
    if (name.find('.') == std::string::npos) std::replace(name.begin(), name.end(), '/', '.');
    const char* ns = nullptr;
    const char* ns_name = nullptr;
    if (name.starts_with("net.")) {
      ns = "network", ns_name = "network";
    } else if (Contains(kIpcSysctls, name) || name.starts_with("fs.mqueue.")) {
      ns = "ipc", ns_name = "IPC";
    } else if (name == "kernel.hostname" || name == "kernel.domainname") {
      ns = "uts", ns_name = "UTS";
    } else {
      return Invalid(path, "not a namespaced sysctl; setting it would change the host");
    }
    if (!HasPrivateNamespace(spec, ns, host))
      return Invalid(path, std::string("requires a private ") + ns_name + " namespace");
  }
  return {};
}

Result<void> ValidateCgroupsPath(const std::string& p) {
  // ".." would climb out of the cgroup parent the runtime was given (even after joining
  // with the mount point), so no component may be "..".
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find_first_of("/:", start);
    if (end == std::string::npos) end = p.size();
    if (p.compare(start, end - start, "..") == 0)
      return Invalid("linux.cgroupsPath", Quote(p) + " must not contain \"..\" components");
    start = end + 1;
  }
  return {};
}

Result<void> ValidatePathList(const std::vector<std::string>& paths, const std::string& field) {
  for (size_t i = 0; i < paths.size(); ++i)
    if (!IsAbsolute(paths[i]))
      return Invalid(Index(field, i), Quote(paths[i]) + " is not an absolute path");
  return {};
}

}  // namespace

Result<void> ValidateLinux(const Spec& spec, const ValidateOptions& opts) {
  const Linux& l = *spec.linux;
  BERTH_TRYV(ValidateNamespaces(l, opts.host));
  BERTH_TRYV(ValidateUserNamespace(spec));
  BERTH_TRYV(ValidateTimeOffsets(spec));
  BERTH_TRYV(ValidateDevices(l.devices));
  BERTH_TRYV(ValidateCgroupsPath(l.cgroups_path));
  if (l.resources) BERTH_TRYV(ValidateResources(*l.resources, "linux.resources"));
  constexpr const char* kPropagation[] = {"shared",  "slave",  "private",  "unbindable",
                                          "rshared", "rslave", "rprivate", "runbindable"};
  if (!l.rootfs_propagation.empty() && !Contains(kPropagation, l.rootfs_propagation))
    return Invalid("linux.rootfsPropagation",
                   Quote(l.rootfs_propagation) +
                       " is not a propagation mode (shared, slave, private, unbindable, or "
                       "their recursive r* forms)");
  if (l.seccomp) BERTH_TRYV(ValidateSeccomp(*l.seccomp, "linux.seccomp"));
  BERTH_TRYV(ValidateSysctl(spec, opts.host));
  BERTH_TRYV(ValidatePathList(l.masked_paths, "linux.maskedPaths"));
  BERTH_TRYV(ValidatePathList(l.readonly_paths, "linux.readonlyPaths"));
  if (opts.host && !l.mount_label.empty() && !opts.host->SelinuxEnabled())
    return FailedPrecondition("linux.mountLabel", "", "SELinux is not enabled on this host");
  if (l.personality && l.personality->domain != "LINUX" && l.personality->domain != "LINUX32")
    return Invalid("linux.personality.domain",
                   Quote(l.personality->domain) + " is not a personality domain (LINUX, LINUX32)");
  if (l.intel_rdt) {
    // closID names a directory under /sys/fs/resctrl.
    const std::string& id = l.intel_rdt->clos_id;
    if (id == "." || id == ".." || id.find('/') != std::string::npos)
      return Invalid("linux.intelRdt.closID", Quote(id) + " is not a valid resctrl group name");
  }
  return {};
}

}  // namespace berth::spec::internal
