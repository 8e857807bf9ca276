// Building the container's filesystem view inside its new mount namespace (container
// init, after fork; the parent has validated everything). Mount destinations are resolved
// inside the rootfs without following symlinks out of it (openat2 RESOLVE_IN_ROOT, with a
// component-by-component fallback) and mounted through the resolved fd (CVE-2021-30465).
#pragma once

#include <string>

#include "base/error.h"
#include "spec/spec.h"

namespace berth::runtime {

struct RootfsOptions {
  std::string rootfs;        // absolute root.path: canonical on the host, unless the mount
                             // namespace is joined (then it is resolved in that namespace)
  bool no_pivot = false;     // --no-pivot: MS_MOVE + chroot instead of pivot_root
  bool user_namespace = false;  // new user ns: devices are bind-mounted, not mknod'ed
  bool new_cgroup_namespace = false;
};

// Step 1, before createContainer hooks: make "/" rslave/rprivate so nothing propagates to
// the host, bind rootfs onto itself, perform spec.mounts in order (bind/rbind with
// propagation and ro remounts, tmpfs, proc, sysfs, devpts, mqueue, cgroup v1/v2),
// create linux.devices and the default devices (/dev/null zero full random urandom tty,
// /dev/ptmx -> pts/ptmx, /dev/fd /dev/stdin /dev/stdout /dev/stderr, /dev/core).
Result<void> PrepareRootfs(const spec::Spec& spec, const RootfsOptions& opts);

// Step 2: pivot_root into the rootfs (and detach the old root), or MS_MOVE + chroot.
Result<void> EnterRootfs(const RootfsOptions& opts);

// Without a mount namespace of the container's own (none, or one joined by path): no mount
// is made, the init only chroots into opts.rootfs, resolved in the mount namespace it is in
// (for a joined one, "/" is that namespace's root). pivot_root would move the root of every
// process sharing the namespace. `joined` names that namespace's path in errors.
Result<void> ChrootRootfs(const RootfsOptions& opts, const std::string& joined);

// Step 3, after pivot: maskedPaths (checked to be on real procfs/sysfs before masking),
// readonlyPaths, readonly root, final rootfsPropagation.
Result<void> FinalizeRootfs(const spec::Spec& spec, const RootfsOptions& opts);

}  // namespace berth::runtime
