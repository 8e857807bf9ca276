// StopPodSandbox and RemovePodSandbox: both idempotent, as the CRI says.
#include "base/fault.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "daemon/undo.h"

namespace berth::daemon {

Result<void> Daemon::StopPodLocked(const std::string& ns, Sandbox& pod) {
  // kubelet stopped the containers with their grace periods already: what still runs is
  // killed now, as containerd does.
  for (auto& c : PodContainers(ns, pod.rec.id)) {
    std::lock_guard op(c->op_mu);
    if (c->removed) continue;
    BERTH_TRYV(StopContainerLocked(*c, 0));
  }
  // A not-ready pod whose record still names what it holds is a stop cut short (recovery
  // finishes it at start-up through here too): the teardown runs again.
  if (pod.rec.state == "notready" && !HoldsPodResources(pod.rec)) return {};
  if (pod.rec.state != "notready") {
    // Not ready, durably, before anything goes: a berthd killed in the middle of the
    // teardown then finds a not-ready pod whose record names what is left (and finishes
    // the stop at start-up), not a "ready" one with half its network gone.
    SandboxRecord stopping = pod.rec;
    stopping.state = "notready";
    fault::Reach("pod.record.stopping.before");
    BERTH_TRYV(meta_.Save(stopping));
    fault::Reach("pod.record.stopping.after");
    std::lock_guard lock(pod.mu);
    pod.rec.state = "notready";
  }
  TearDownPod(pod, false);
  {
    std::lock_guard lock(pod.mu);
    pod.rec.net_ns = pod.rec.ipc_ns = pod.rec.uts_ns = pod.rec.pid_ns = "";
    pod.rec.pause_pid = 0;
  }
  fault::Reach("pod.record.notready.before");
  BERTH_TRYV(meta_.Save(pod.rec));
  fault::Reach("pod.record.notready.after");
  PublishPodEvent(pod, v1::CONTAINER_STOPPED_EVENT);
  log::Info("StopPodSandbox " + pod.rec.id);
  return {};
}

Result<v1::StopPodSandboxResponse> Daemon::StopPodSandbox(const std::string& ns,
                                                          const v1::StopPodSandboxRequest& req) {
  auto pod = FindPod(ns, req.pod_sandbox_id());
  if (!pod) {
    if (pod.error().IsNotFound()) return v1::StopPodSandboxResponse{};  // already gone
    return std::unexpected(pod.error());
  }
  std::lock_guard op((*pod)->op_mu);
  auto r = StopPodLocked(ns, **pod);
  if (!r) return std::unexpected(r.error().Wrap("stop pod sandbox " + (*pod)->rec.id));
  return v1::StopPodSandboxResponse{};
}

Result<v1::RemovePodSandboxResponse> Daemon::RemovePodSandbox(
    const std::string& ns, const v1::RemovePodSandboxRequest& req) {
  auto found = FindPod(ns, req.pod_sandbox_id());
  if (!found) {
    if (found.error().IsNotFound()) return v1::RemovePodSandboxResponse{};
    return std::unexpected(found.error());
  }
  auto pod = *found;
  std::lock_guard op(pod->op_mu);
  // The CRI lets RemovePodSandbox stop a ready sandbox first.
  if (auto r = StopPodLocked(ns, *pod); !r)
    return std::unexpected(r.error().Wrap("remove pod sandbox " + pod->rec.id));
  for (auto& c : PodContainers(ns, pod->rec.id)) {
    std::lock_guard cop(c->op_mu);
    if (c->removed) continue;
    if (auto r = RemoveContainerLocked(ns, *c); !r)
      return std::unexpected(r.error().Wrap("remove pod sandbox " + pod->rec.id));
  }
  TearDownPod(*pod, true);
  fault::Reach("pod.record.remove.before");
  BERTH_TRYV(meta_.RemovePod(ns, pod->rec.id));
  fault::Reach("pod.record.remove.after");
  auto deleted = PodEvent(*pod, v1::CONTAINER_DELETED_EVENT);
  {
    std::lock_guard lock(mu_);
    Namespace& n = Ns(ns);
    n.pods.erase(pod->rec.id);
    n.pod_names.Release(pod->rec.name);
  }
  pod->removed = true;
  ForgetCpuSample(PodStatsKey(pod->rec.id));
  events_.Publish(ns, deleted);
  log::Info("RemovePodSandbox " + pod->rec.id);
  return v1::RemovePodSandboxResponse{};
}

}  // namespace berth::daemon
