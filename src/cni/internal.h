// Helpers shared by the files of src/cni (not part of the API).
#pragma once

#include <optional>
#include <string_view>

#include "cni/cni.h"
#include "cni/exec.h"

namespace berth::cni::internal {

struct Version {
  int major, minor, patch;
};
std::optional<Version> ParseVersion(std::string_view v);
// The versions this client runs: 0.3.0, 0.3.1 (chained prevResult), 0.4.0 (CHECK, DEL with
// prevResult), 1.0.0 (no "version" in ips).
bool SupportedVersion(std::string_view v);
// v >= major.minor (false when v does not parse).
bool AtLeast(std::string_view v, int major, int minor);

// The capability args of rc, keyed by capability name ({"portMappings": [...], …}): what
// runtimeConfig draws from, and what the cache keeps for a DEL after a crash.
Json CapabilityArgs(const RuntimeConf& rc);
// The reverse, for a cache entry.
Result<void> CapabilityArgsFromJson(const Json& caps, RuntimeConf& rc);

}  // namespace berth::cni::internal

namespace berth::cni {
// A failed plugin's error: its error JSON's msg/details and code, or its exit status and the
// last line of its stderr; names command, plugin, container and network.
Error PluginFailure(const std::string& command, const std::string& type, const ConfigList& list,
                    const RuntimeConf& rc, const internal::PluginOutput& out);
}  // namespace berth::cni
