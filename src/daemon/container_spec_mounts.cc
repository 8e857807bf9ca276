// Mounts and devices of a CRI container: the runtime's default mounts, the pod's files
// (/etc/hosts, /etc/hostname, /etc/resolv.conf, /dev/shm), the CRI mounts with their
// propagation, and the CRI devices (plus every host device for a privileged container).
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>

#include "daemon/container_spec_internal.h"
#include "sys/fs.h"
#include "sys/path.h"

namespace berth::daemon::internal {
namespace {

// A bind mount to make: a CRI mount or one of the pod's files.
struct BindRequest {
  std::string container_path;  // clean, absolute
  std::string host_path;
  bool readonly = false;
  bool recursive_readonly = false;
  v1::MountPropagation propagation = v1::PROPAGATION_PRIVATE;
  std::vector<spec::LinuxIdMapping> uid_mappings, gid_mappings;
};

bool IsUnder(const std::string& path, const std::string& dir) {
  return path == dir || path.starts_with(dir == "/" ? dir : dir + "/");
}

std::vector<spec::LinuxIdMapping> Mappings(
    const google::protobuf::RepeatedPtrField<v1::IDMapping>& in) {
  std::vector<spec::LinuxIdMapping> out;
  for (const auto& m : in) out.push_back({m.container_id(), m.host_id(), m.length()});
  return out;
}

Result<BindRequest> FromCri(const v1::Mount& m, size_t i) {
  BindRequest r;
  if (m.has_image() && !m.image().image().empty())
    return Unimplemented(Field("mounts", i, "image"), {},
                         "image volumes are not supported yet (give a host_path)");
  if (m.container_path().empty() || m.container_path().front() != '/')
    return InvalidField(Field("mounts", i, "container_path"),
                        "\"" + m.container_path() + "\" is not an absolute path");
  r.container_path = sys::CleanPath(m.container_path());
  if (m.host_path().empty() || m.host_path().front() != '/')
    return InvalidField(Field("mounts", i, "host_path"),
                        "\"" + m.host_path() + "\" is not an absolute path");
  // As containerd, the host side must be there: the runtime would otherwise create an
  // empty directory in its place, hiding a typo behind an empty volume.
  struct stat st {};
  if (::stat(m.host_path().c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return InvalidField(Field("mounts", i, "host_path"),
                          "\"" + m.host_path() + "\" does not exist on the host");
    return Errno("stat", m.host_path(), "mounts[" + std::to_string(i) + "].host_path");
  }
  r.host_path = m.host_path();
  r.readonly = m.readonly();
  r.propagation = m.propagation();
  if (r.propagation != v1::PROPAGATION_PRIVATE && r.propagation != v1::PROPAGATION_HOST_TO_CONTAINER &&
      r.propagation != v1::PROPAGATION_BIDIRECTIONAL)
    return InvalidField(Field("mounts", i, "propagation"),
                        "unknown propagation " + std::to_string(r.propagation));
  if (m.recursive_read_only()) {
    // The api.proto's rule: a recursively read-only mount cannot receive new mounts.
    if (!m.readonly() || r.propagation != v1::PROPAGATION_PRIVATE)
      return InvalidField(Field("mounts", i, "recursive_read_only"),
                          "needs readonly and PROPAGATION_PRIVATE");
    r.recursive_readonly = true;
  }
  // selinux_relabel: relabelling is a property of the host path, not of the mount; with
  // SELinux off it means nothing and is ignored, as containerd does.
  r.uid_mappings = Mappings(m.uidmappings());
  r.gid_mappings = Mappings(m.gidmappings());
  return r;
}

spec::Mount ToOci(const BindRequest& r) {
  spec::Mount m;
  m.destination = r.container_path;
  m.type = "bind";
  m.source = r.host_path;
  m.options = {"rbind"};
  switch (r.propagation) {
    case v1::PROPAGATION_HOST_TO_CONTAINER:
      m.options.push_back("rslave");
      break;
    case v1::PROPAGATION_BIDIRECTIONAL:
      m.options.push_back("rshared");
      break;
    default:
      m.options.push_back("rprivate");
  }
  m.options.push_back(r.readonly ? "ro" : "rw");
  if (r.recursive_readonly) m.options.push_back("rro");
  m.uid_mappings = r.uid_mappings;
  m.gid_mappings = r.gid_mappings;
  return m;
}

// What a privileged container gets of the host's /dev: every character and block device,
// but not the directories the runtime mounts itself (pts, shm, mqueue) or /dev/console
// (the container's console is its own).
void ListHostDevices(const std::string& dir, std::vector<spec::LinuxDevice>& out, int depth) {
  if (depth > 8) return;
  auto names = sys::ListDir(dir);
  if (!names) return;  // unreadable: the devices in it are not granted
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    std::string path = dir + "/" + name;
    if (path == "/dev/pts" || path == "/dev/shm" || path == "/dev/mqueue" || path == "/dev/fd" ||
        path == "/dev/console")
      continue;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      ListHostDevices(path, out, depth + 1);
      continue;
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    spec::LinuxDevice d;
    d.path = path;
    d.type = S_ISCHR(st.st_mode) ? "c" : "b";
    d.major = major(st.st_rdev);
    d.minor = minor(st.st_rdev);
    d.file_mode = st.st_mode & 07777;
    d.uid = st.st_uid;
    d.gid = st.st_gid;
    out.push_back(std::move(d));
  }
}

}  // namespace

Result<void> ApplyMounts(spec::Spec& s, const v1::ContainerConfig& config,
                         const SandboxInputs& pod, const HostFeatures& host) {
  const auto& sc = config.linux().security_context();
  std::vector<BindRequest> cri;
  for (int i = 0; i < config.mounts_size(); ++i)
    cri.push_back(BERTH_TRY(FromCri(config.mounts(i), i)));
  auto in_cri = [&](const std::string& path) {
    return std::any_of(cri.begin(), cri.end(),
                       [&](const BindRequest& r) { return r.container_path == path; });
  };

  // The pod's files, unless the request mounts its own there (kubelet mounts its managed
  // /etc/hosts itself); read-only with a read-only rootfs, as containerd does.
  std::vector<BindRequest> binds;
  auto pod_file = [&](const std::string& host_path, const char* path, bool readonly) {
    if (host_path.empty() || in_cri(path)) return;
    BindRequest r;
    r.container_path = path;
    r.host_path = host_path;
    r.readonly = readonly;
    binds.push_back(std::move(r));
  };
  pod_file(pod.hostname_path, "/etc/hostname", sc.readonly_rootfs());
  pod_file(pod.resolv_conf_path, "/etc/resolv.conf", sc.readonly_rootfs());
  pod_file(pod.hosts_path, "/etc/hosts", sc.readonly_rootfs());
  pod_file(pod.shm_path, "/dev/shm", false);
  // Parents before children ("/a" before "/a/b"), else a later mount would hide an earlier.
  std::stable_sort(cri.begin(), cri.end(), [](const BindRequest& a, const BindRequest& b) {
    return sys::PathComponents(a.container_path).size() <
           sys::PathComponents(b.container_path).size();
  });
  binds.insert(binds.end(), cri.begin(), cri.end());

  // The defaults, less those a bind replaces (and all of /dev's when /dev itself is bound).
  bool dev_bound = std::any_of(binds.begin(), binds.end(),
                               [](const BindRequest& r) { return r.container_path == "/dev"; });
  std::vector<spec::Mount> mounts;
  for (spec::Mount m : s.mounts) {
    std::string dest = sys::CleanPath(m.destination);
    if (dev_bound && IsUnder(dest, "/dev")) continue;
    if (std::any_of(binds.begin(), binds.end(),
                    [&](const BindRequest& r) { return r.container_path == dest; }))
      continue;
    // Privileged: sysfs and the cgroup tree writable, as on the host.
    if (sc.privileged() && (dest == "/sys" || dest == "/sys/fs/cgroup"))
      std::replace(m.options.begin(), m.options.end(), std::string("ro"), std::string("rw"));
    mounts.push_back(std::move(m));
  }
  for (const BindRequest& r : binds) {
    mounts.push_back(ToOci(r));
    // runc needs the root's propagation to let a mount's events through: rshared for
    // Bidirectional, at least rslave for HostToContainer.
    if (r.propagation == v1::PROPAGATION_BIDIRECTIONAL)
      s.linux->rootfs_propagation = "rshared";
    else if (r.propagation == v1::PROPAGATION_HOST_TO_CONTAINER &&
             s.linux->rootfs_propagation != "rshared")
      s.linux->rootfs_propagation = "rslave";
  }
  s.mounts = std::move(mounts);
  (void)host;  // selinux_relabel would need it; see FromCri
  return {};
}

Result<void> ApplyDevices(spec::Spec& s, const v1::ContainerConfig& config) {
  spec::Linux& l = *s.linux;
  spec::LinuxResources& res = l.resources ? *l.resources : l.resources.emplace();
  l.devices.clear();
  // Ignoring them would start the container without the devices it was promised.
  if (config.cdi_devices_size() > 0)
    return Unimplemented("CDI_devices", "\"" + config.cdi_devices(0).name() + "\"",
                         "CDI devices are not supported yet; give the device nodes in devices");
  if (config.linux().security_context().privileged()) {
    ListHostDevices("/dev", l.devices, 0);
    res.devices.push_back({true, "", std::nullopt, std::nullopt, "rwm"});
  }
  for (int i = 0; i < config.devices_size(); ++i) {
    const v1::Device& d = config.devices(i);
    if (d.host_path().empty() || d.host_path().front() != '/')
      return InvalidField(Field("devices", i, "host_path"),
                          "\"" + d.host_path() + "\" is not an absolute path");
    std::string path = d.container_path().empty() ? d.host_path() : d.container_path();
    if (path.front() != '/')
      return InvalidField(Field("devices", i, "container_path"),
                          "\"" + path + "\" is not an absolute path");
    path = sys::CleanPath(path);
    std::string access = d.permissions().empty() ? "rwm" : d.permissions();
    if (access.find_first_not_of("rwm") != std::string::npos)
      return InvalidField(Field("devices", i, "permissions"),
                          "\"" + d.permissions() + "\" is not a subset of \"rwm\"");
    struct stat st {};
    if (::stat(d.host_path().c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        return InvalidField(Field("devices", i, "host_path"),
                            "\"" + d.host_path() + "\" does not exist on the host");
      return Errno("stat", d.host_path(), "devices[" + std::to_string(i) + "].host_path");
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
      return InvalidField(Field("devices", i, "host_path"),
                          "\"" + d.host_path() + "\" is not a character or block device");
    spec::LinuxDevice dev;
    dev.path = path;
    dev.type = S_ISCHR(st.st_mode) ? "c" : "b";
    dev.major = major(st.st_rdev);
    dev.minor = minor(st.st_rdev);
    dev.file_mode = st.st_mode & 07777;
    dev.uid = st.st_uid;
    dev.gid = st.st_gid;
    // One node per path: a request's device replaces a host one listed for privileged.
    std::erase_if(l.devices, [&](const spec::LinuxDevice& x) { return x.path == path; });
    res.devices.push_back({true, dev.type, dev.major, dev.minor, access});
    l.devices.push_back(std::move(dev));
  }
  return {};
}

}  // namespace berth::daemon::internal
