// `berth spec`: the template config.json. Content matches what `runc spec` writes (so
// tools and tutorials written against runc keep working), at runtime-spec 1.2.0.
#include "spec/default_spec.h"

#include <unistd.h>

#include "spec/json_codec.h"
#include "spec/spec.h"

namespace berth::spec {
namespace {

Mount MakeMount(std::string destination, std::string type, std::string source,
                std::vector<std::string> options) {
  Mount m;
  m.destination = std::move(destination);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  return m;
}

Spec DefaultSpec(bool rootless) {
  Spec s;
  s.oci_version = kOciVersion;

  Process& p = s.process.emplace();
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = "/";
  // Deliberately minimal; users widen it for their workload.
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  Capabilities& c = p.capabilities.emplace();
  c.bounding = c.effective = c.permitted = c.ambient = caps;
  p.rlimits = {Rlimit{"RLIMIT_NOFILE", 1024, 1024}};
  p.no_new_privileges = true;

  s.root = Root{"rootfs", true};
  s.hostname = "runc";

  s.mounts.push_back(MakeMount("/proc", "proc", "proc", {}));
  s.mounts.push_back(
      MakeMount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  std::vector<std::string> pts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  // gid=5 (tty) does not exist in a rootless user namespace that maps only one gid.
  if (!rootless) pts.push_back("gid=5");
  s.mounts.push_back(MakeMount("/dev/pts", "devpts", "devpts", std::move(pts)));
  s.mounts.push_back(MakeMount("/dev/shm", "tmpfs", "shm",
                               {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  s.mounts.push_back(MakeMount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (rootless) {
    // A fresh sysfs needs a private network namespace owned by our user namespace;
    // rootless keeps the host's network, so bind the host's /sys instead.
    s.mounts.push_back(
        MakeMount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  } else {
    s.mounts.push_back(MakeMount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  }
  s.mounts.push_back(MakeMount("/sys/fs/cgroup", "cgroup", "cgroup",
                               {"nosuid", "noexec", "nodev", "relatime", "ro"}));

  Linux& l = s.linux.emplace();
  if (rootless) {
    l.uid_mappings = {LinuxIdMapping{0, static_cast<uint32_t>(::geteuid()), 1}};
    l.gid_mappings = {LinuxIdMapping{0, static_cast<uint32_t>(::getegid()), 1}};
    l.namespaces = {{"pid", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}, {"user", ""}};
  } else {
    // Deny all device access; the runtime re-allows the default devices it creates.
    LinuxResources& r = l.resources.emplace();
    r.devices.push_back(LinuxDeviceCgroup{false, "", std::nullopt, std::nullopt, "rwm"});
    l.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}};
  }
  l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  return s;
}

}  // namespace

std::string DefaultSpecJson(bool rootless) {
  // Tab-indented like runc's output, so diffs against it are empty but for ociVersion.
  return internal::Serialize(DefaultSpec(rootless), 1, '\t');
}

}  // namespace berth::spec
