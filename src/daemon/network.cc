// Placeholder until src/cni lands this stop: pods get their own network namespace with no
// interface configured. Replaced by the CNI client.
#include "daemon/network.h"

namespace berth::daemon {

Result<PodNetwork> SetUpNetwork(const Config&, const std::string&, const std::string&,
                                const ::runtime::v1::PodSandboxConfig&, const std::string&,
                                const std::string&) {
  return PodNetwork{};
}

Result<void> TearDownNetwork(const Config&, const std::string&, const std::string&,
                             const ::runtime::v1::PodSandboxConfig&, const std::string&,
                             const std::string&) {
  return {};
}

std::string NetworkNotReadyReason(const Config&) { return {}; }

}  // namespace berth::daemon
