// Names the runtime-spec uses for kernel constants: capabilities(7) and setrlimit(2)
// resources. One table each, shared by validation (spec) and application (runtime).
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace berth::spec {

// Indexed by capability number (the numbers are kernel ABI): CAP_CHOWN (0) …
// CAP_CHECKPOINT_RESTORE (40).
extern const std::array<std::string_view, 41> kCapabilityNames;
std::optional<int> CapabilityNumber(std::string_view name);

struct RlimitName {
  std::string_view name;
  int resource;
};
extern const std::array<RlimitName, 16> kRlimitNames;
std::optional<int> RlimitResource(std::string_view name);
std::string_view RlimitNameOf(int resource);  // "RLIMIT_?" when unknown

}  // namespace berth::spec
