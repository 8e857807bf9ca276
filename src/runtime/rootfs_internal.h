// Pieces shared by the rootfs_*.cc files; not part of the runtime's interface.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "runtime/rootfs.h"
#include "spec/spec.h"

namespace berth::runtime::rootfs_internal {

// spec.mounts[i].options split into what mount(2) and mount_setattr(2) take.
struct MountOptions {
  unsigned long flags = 0;                 // MS_* without propagation
  std::vector<unsigned long> propagation;  // MS_SHARED, MS_SLAVE|MS_REC ..., applied in order
  uint64_t rec_attr_set = 0;               // MOUNT_ATTR_* from "rro", "rnosuid" ...: recursive
  uint64_t rec_attr_clr = 0;
  std::string data;  // unknown options, comma-joined: "mode=755,size=65536k"
  bool tmpcopyup = false;
  bool idmap = false;  // idmap or ridmap
};

MountOptions ParseMountOptions(const std::vector<std::string>& options);

// "private" -> MS_PRIVATE, "rshared" -> MS_SHARED|MS_REC ...; 0 for an unknown name.
unsigned long PropagationFlag(const std::string& name);

// State of PrepareRootfs: the canonical rootfs path and an O_PATH fd of its top mount.
struct Context {
  const spec::Spec& spec;
  const RootfsOptions& opts;
  std::string root_real;
  UniqueFd root_fd;
};

// Bind `source` (a host path) onto the already resolved and checked `target_fd`, then apply
// `flags` (ro, nosuid ...) with a bind remount that keeps the flags the kernel locked on the
// source mount. Recursive when flags has MS_REC. Returns the fd of the new mount's root.
Result<UniqueFd> BindMount(Context& ctx, const std::string& source, const UniqueFd& target_fd,
                           const std::string& dest, unsigned long flags, const std::string& what);

// Re-resolves `dest` after a mount so the fd names the new mount's root, and checks it is
// still inside the rootfs.
Result<UniqueFd> ReopenTarget(Context& ctx, const std::string& dest, const std::string& what);

// type "cgroup": see rootfs_cgroup.cc.
Result<void> MountCgroup(Context& ctx, const spec::Mount& m, const MountOptions& mo,
                         const std::string& dest, const std::string& what);

// linux.devices, the default devices and the /dev symlinks: see rootfs_devices.cc.
Result<void> SetupDevices(Context& ctx);

// config-linux.md "Default Devices": created in every container, unless linux.devices has an
// entry for the path.
struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
std::span<const DefaultDevice> DefaultDevices();

// True when the config bind-mounts the host's /dev: no device node is created then.
bool DevIsHostBind(const spec::Spec& spec);

}  // namespace berth::runtime::rootfs_internal
