#include "daemon/network.h"

namespace berth::daemon {

namespace v1 = ::runtime::v1;

cni::RuntimeConf PodRuntimeConf(const std::string& pod_id, const v1::PodSandboxConfig& pod,
                                const std::string& netns) {
  cni::RuntimeConf rc;
  rc.container_id = pod_id;
  rc.netns = netns;
  rc.SetKubernetesArgs(pod.metadata().namespace_(), pod.metadata().name(), pod_id,
                       pod.metadata().uid());
  for (const auto& pm : pod.port_mappings()) {
    if (pm.host_port() <= 0) continue;  // containerPort only: nothing for portmap to do
    cni::PortMapping m;
    m.host_port = pm.host_port();
    m.container_port = pm.container_port();
    m.protocol = pm.protocol() == v1::UDP ? "udp" : pm.protocol() == v1::SCTP ? "sctp" : "tcp";
    m.host_ip = pm.host_ip();
    rc.port_mappings.push_back(m);
  }
  return rc;
}

Result<PodNetwork> SetUpNetwork(const cni::PodNetworking& net, const std::string& pod_id,
                                const v1::PodSandboxConfig& pod, const std::string& netns) {
  auto r = net.SetupPod(PodRuntimeConf(pod_id, pod, netns));
  if (!r) return std::unexpected(r.error());
  PodNetwork out;
  out.ip = r->PrimaryIp();
  out.additional_ips = r->AdditionalIps();
  return out;
}

Result<void> TearDownNetwork(const cni::PodNetworking& net, const std::string& pod_id,
                             const v1::PodSandboxConfig& pod, const std::string& netns) {
  // The port mappings go with the DEL too: without a cache entry portmap needs them.
  return net.TeardownPod(PodRuntimeConf(pod_id, pod, netns));
}

}  // namespace berth::daemon
