// Internal to container_spec*.cc: the parts of BuildContainerSpec, one file each.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "daemon/container_spec.h"

namespace berth::daemon::internal {

// "linux.security_context." — the prefix of the CRI fields errors name.
inline constexpr const char* kSecurityContext = "linux.security_context";

// CRI field of a repeated entry: Field("mounts", 2, "host_path") -> "mounts[2].host_path".
std::string Field(const std::string& list, size_t index, const std::string& member = {});

// container_spec_security.cc: capabilities, privileged, no_new_privs, readonly rootfs,
// masked/readonly paths, seccomp, AppArmor, SELinux. s.process and s.linux exist.
Result<void> ApplySecurity(spec::Spec& s, const v1::ContainerConfig& config,
                           const v1::PodSandboxConfig& sandbox, const HostFeatures& host);

// A Localhost seccomp profile: an OCI linux.seccomp object or a Docker profile (archMap,
// includes/excludes by caps, arches and minKernel, "name" for "names"). `caps` decides the
// Docker rules that depend on capabilities. `field` is the CRI field that named the file.
Result<spec::Seccomp> LoadSeccompProfile(const std::string& path, const std::string& field,
                                         const std::vector<std::string>& caps);

// container_spec_mounts.cc: default mounts, the pod's files, CRI mounts; CRI devices and,
// for a privileged container, the host's devices.
Result<void> ApplyMounts(spec::Spec& s, const v1::ContainerConfig& config,
                         const SandboxInputs& pod, const HostFeatures& host);
Result<void> ApplyDevices(spec::Spec& s, const v1::ContainerConfig& config);

// container_spec_resources.cc: linux.resources, process.oomScoreAdj, linux.sysctl.
Result<void> ApplyResources(spec::Spec& s, const v1::ContainerConfig& config,
                            const HostFeatures& host);
Result<void> ApplySysctls(spec::Spec& s, const v1::PodSandboxConfig& sandbox,
                          const SandboxInputs& pod);

}  // namespace berth::daemon::internal
