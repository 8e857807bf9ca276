// OCI hooks: each hook is exec'd with the container state JSON on stdin, in order,
// with an optional timeout after which it is killed.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "spec/spec.h"

namespace berth::runtime {

// Runs hooks in order; stops at the first failure and returns an error naming the hook
// kind, its index and path: `createRuntime hook [0] /bin/false: exited with status 1`.
Result<void> RunHooks(const std::vector<spec::Hook>& hooks, const char* kind,
                      const std::string& state_json);

// poststart and poststop: runtime-spec says a failing hook is logged as a warning and the
// remaining hooks and the lifecycle continue as if it had succeeded. Runs every hook and
// logs each failure; returns how many failed.
size_t RunHooksWarnOnFailure(const std::vector<spec::Hook>& hooks, const char* kind,
                             const std::string& state_json);

}  // namespace berth::runtime
