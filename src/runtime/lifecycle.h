// The second halves of start and delete, for a caller that already holds the container's
// state, spec and cgroup manager: `run` has them from create, so it neither re-reads
// state.json and config.json nor detects the cgroup mode again (bench/README.md).
#pragma once

#include "base/error.h"
#include "cgroups/manager.h"
#include "runtime/state.h"
#include "spec/spec.h"

namespace berth::runtime {

// Releases the init of a "created" container (exec.fifo) and runs the poststart hooks.
Result<void> StartLoaded(const StateStore& store, const State& st, const spec::Spec& spec);

// Removes a stopped container: its cgroups (through mgr, when it has one), its state dir,
// then the poststop hooks.
Result<void> DeleteStopped(StateStore& store, const State& st, const spec::Spec* spec,
                           cgroups::Manager* mgr);

}  // namespace berth::runtime
