// A pod's network through CNI (src/cni, docs/cni.md): lo and the conf dir's network ADDed
// when the sandbox starts, DELed when it stops (idempotent, also after a crash: the ADD's
// result is cached under <root>/cni/results). CHECK is not called (as containerd; Debian's
// portmap 1.1.1 fails it on IPv4-only pods, containernetworking/plugins#819).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "cni/cni.h"
#include "cri/v1/api.pb.h"

namespace berth::daemon {

struct PodNetwork {
  std::string ip;  // the first IPv4 (else the first address)
  std::vector<std::string> additional_ips;
};

// The runtime conf of a pod: its id as CNI_CONTAINERID, kubelet's K8S_* args, the pod's
// port mappings as the portMappings capability.
cni::RuntimeConf PodRuntimeConf(const std::string& pod_id, const ::runtime::v1::PodSandboxConfig& pod,
                                const std::string& netns);
Result<PodNetwork> SetUpNetwork(const cni::PodNetworking& net, const std::string& pod_id,
                                const ::runtime::v1::PodSandboxConfig& pod, const std::string& netns);
Result<void> TearDownNetwork(const cni::PodNetworking& net, const std::string& pod_id,
                             const ::runtime::v1::PodSandboxConfig& pod, const std::string& netns);

}  // namespace berth::daemon
