// A pod's network through CNI (src/cni): ADD when the sandbox starts, DEL when it stops
// (idempotent, also after a crash: the ADD result is cached under cache_dir), and the
// loopback interface brought up.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "cri/v1/api.pb.h"
#include "daemon/config.h"

namespace berth::daemon {

struct PodNetwork {
  std::string ip;  // the first IPv4 (else the first address)
  std::vector<std::string> additional_ips;
};

Result<PodNetwork> SetUpNetwork(const Config& config, const std::string& pod_id,
                                const std::string& ns, const ::runtime::v1::PodSandboxConfig& pod,
                                const std::string& netns, const std::string& cache_dir);
Result<void> TearDownNetwork(const Config& config, const std::string& pod_id,
                             const std::string& ns, const ::runtime::v1::PodSandboxConfig& pod,
                             const std::string& netns, const std::string& cache_dir);
// "" when a network config is there, else why not (NetworkReady's message).
std::string NetworkNotReadyReason(const Config& config);

}  // namespace berth::daemon
