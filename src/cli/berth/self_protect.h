// CVE-2019-5736: a container process that gets to execute the runtime's own binary (via
// /proc/self/exe of the init or of an exec'd process) could reopen it for writing and
// replace berth on the host. Before any process enters a container, berth re-executes
// itself from a sealed memfd copy, so /proc/<pid>/exe of every berth process that touches
// a container is an immutable anonymous file, never the host binary.
#pragma once

#include "base/error.h"

namespace berth::cli {

// Returns normally when already running from the sealed copy (or when the copy is
// disabled by BERTH_UNSAFE_NO_SELF_PROTECT=1 for measurements); otherwise execs and only
// returns on failure.
Result<void> ProtectSelf(int argc, char** argv);

}  // namespace berth::cli
