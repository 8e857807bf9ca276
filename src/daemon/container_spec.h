// CRI → OCI: the config.json of a CRI container (and of nothing else: sandboxes hold no
// process of their own unless the pod shares a PID namespace, see sandbox.h).
//
// BuildContainerSpec turns a CreateContainerRequest's ContainerConfig, the pod's
// PodSandboxConfig, the image's config and what berthd prepared for the pod (namespace
// paths, cgroup parent, resolv.conf/hostname/hosts files) into a spec::Spec. It changes
// nothing on the host: it only reads the rootfs's /etc/passwd and /etc/group (user names,
// supplemental groups), a Localhost seccomp profile, stat(2)s the host paths of mounts and
// devices, and for a privileged container lists the host's /dev; so it is unit-tested on
// its own. Every refusal is kInvalidArgument naming the CRI field
// ("linux.security_context.seccomp.localhost_ref") and why; a file that cannot be read for
// another reason than absence keeps its errno's kind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "cri/v1/api.pb.h"
#include "image/manifest.h"
#include "spec/spec.h"

namespace berth::daemon {

namespace v1 = ::runtime::v1;

// What the host can do, probed once by berthd (tests set it).
struct HostFeatures {
  bool seccomp = true;
  bool apparmor = false;  // /sys/module/apparmor/parameters/enabled is "Y"
  bool selinux = false;   // /sys/fs/selinux/enforce exists
  bool cgroup_v2 = true;
  std::vector<std::string> hugepage_sizes;  // "2MB", "1GB" (from /sys/kernel/mm/hugepages)
  int min_oom_score_adj = -1000;            // berthd's own oom_score_adj: never go below it
  // Added for the spec: the capabilities berthd holds (its bounding set, /proc/self/status
  // CapBnd). "ALL" and privileged grant these, as containerd grants its current set (a
  // capability the runtime lacks cannot be given: capset(2) would fail). Empty: every
  // capability of spec::kCapabilityNames, and add_capabilities is not checked against it.
  std::vector<std::string> capabilities;
  // Added: the AppArmor profile runtime/default maps to when host.apparmor: "docker-default"
  // when berthd finds it loaded (/sys/kernel/security/apparmor/profiles), else "" (none).
  std::string apparmor_default_profile;
  // Added: swap is accounted (cgroup v1 memory.memsw.*, v2 memory.swap.max). Then, as
  // containerd does, a memory limit without a swap limit gets swap = limit (no swapping).
  bool swap_accounting = false;
};

// What berthd made for the pod before any container of it is created.
struct SandboxInputs {
  std::string id;
  // Namespace files (bind mounts of /proc/<pid>/ns/*) the containers join; "" means the
  // host's (hostNetwork, hostIPC) or, for pid, see pid_ns_path.
  std::string net_ns_path, ipc_ns_path, uts_ns_path;
  // The pod's shared PID namespace (NamespaceMode POD): the holder's ns file, else "".
  std::string pid_ns_path;
  std::string cgroup_parent;  // absolute cgroupfs path, e.g. "/kubepods/besteffort/pod<uid>"
  // Files bind-mounted into every container of the pod ("" when not made).
  std::string resolv_conf_path, hostname_path, hosts_path;
  std::string shm_path;  // the pod's /dev/shm (a tmpfs mount), "" for a private one
  std::string hostname;
};

struct ContainerInputs {
  std::string id;
  std::string rootfs;  // the mounted rootfs (spec root.path is "rootfs", relative)
  // For NamespaceMode TARGET: the target container's pid ns file.
  std::string target_pid_ns_path;
  std::string cgroups_path;  // linux.cgroupsPath for this container
};

// Fills the HostFeatures fields added for the spec (capabilities from /proc/self/status
// CapBnd, apparmor_default_profile when "docker-default" is loaded, swap_accounting); the
// others are berthd's ProbeHost's. Reads /proc and /sys only.
void ProbeSpecFeatures(HostFeatures& host);

// The spec config.json gets. `base` is `berth spec`'s defaults (spec/default_spec.h):
// mounts, masked/readonly paths and the device cgroup's deny-all are taken from there and
// modified as the CRI fields say. Capabilities start from containerd's default set
// (image::DefaultCapabilities(), not runc's three of the template) and rlimits are cleared
// (a container inherits berthd's, as under containerd).
Result<spec::Spec> BuildContainerSpec(const spec::Spec& base, const v1::ContainerConfig& config,
                                      const v1::PodSandboxConfig& sandbox,
                                      const image::ImageConfig& image,
                                      const SandboxInputs& pod, const ContainerInputs& container,
                                      const HostFeatures& host);

// containerd's and CRI-O's RuntimeDefault seccomp profile equivalent (our own list): the
// profile a container gets for seccomp type RuntimeDefault. `caps` are the capabilities the
// process will have (some syscalls are allowed only with a capability, as in Docker's).
spec::Seccomp DefaultSeccompProfile(const std::vector<std::string>& caps);

}  // namespace berth::daemon
