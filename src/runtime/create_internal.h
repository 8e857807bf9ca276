// Pieces of create.cc reachable by unit tests; not part of the runtime's interface.
#pragma once

#include <vector>

#include "spec/spec.h"

namespace berth::runtime::create_internal {

// res with rules appended that let the container use the devices berth creates in it (the
// default devices, /dev/ptmx and /dev/pts/*, linux.devices), followed by the spec's denies
// of exact devices, which still win.
spec::LinuxResources WithDeviceDefaults(spec::LinuxResources res,
                                        const std::vector<spec::LinuxDevice>& devices);

}  // namespace berth::runtime::create_internal
