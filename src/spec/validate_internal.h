// Internal to src/spec: helpers shared by validate.cc and validate_linux.cc.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/text.h"
#include "spec/spec.h"
#include "spec/validate.h"

namespace berth::spec::internal {

// A config that is wrong on any host, on the field at `path` (`process.rlimits[0]`).
inline std::unexpected<Error> Invalid(std::string path, std::string detail) {
  return InvalidField(std::move(path), std::move(detail));
}

// `"text"`, for quoting user-supplied values in messages (escaped: a config's text must not
// break an error message into several lines, tests/fuzz/config_fuzz.cc checks it).
inline std::string Quote(std::string_view s) { return QuoteText(s, std::string_view::npos); }

inline std::string Index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// A member of a free-form map, `linux.sysctl["net.ipv4.ip_forward"]`.
inline std::string MapKey(std::string_view path, std::string_view key) {
  return std::string(path) + "[\"" + std::string(key) + "\"]";
}

// True when the container gets a namespace of `type` that is not the runtime's own:
// a new one, or (asked of `host`, when given) a joined path that is not the runtime's.
bool HasPrivateNamespace(const Spec& spec, const std::string& type, const HostProbe* host);

// Sizes > 0 and ranges inside the 32-bit id space (validate.cc).
Result<void> ValidateLinuxIdMappings(const std::vector<LinuxIdMapping>& maps,
                                     const std::string& path);

// The "linux" object (validate_linux.cc).
Result<void> ValidateLinux(const Spec& spec, const ValidateOptions& opts);
Result<void> ValidateResources(const LinuxResources& r, const std::string& path);
Result<void> ValidateSeccomp(const Seccomp& s, const std::string& path);

}  // namespace berth::spec::internal
