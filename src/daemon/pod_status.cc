// PodSandboxStatus and ListPodSandbox: from memory, no runtime or shim call.
#include <nlohmann/json.hpp>

#include "daemon/daemon.h"

namespace berth::daemon {

namespace {

v1::PodSandboxState StateOf(const SandboxRecord& r) {
  return r.state == "ready" ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY;
}

v1::NamespaceOption NamespacesOf(const Sandbox& pod) {
  v1::NamespaceOption o = pod.config.linux().security_context().namespace_options();
  return o;
}

}  // namespace

Result<v1::PodSandboxStatusResponse> Daemon::PodSandboxStatus(
    const std::string& ns, const v1::PodSandboxStatusRequest& req) {
  auto pod = BERTH_TRY(FindPod(ns, req.pod_sandbox_id()));
  v1::PodSandboxStatusResponse resp;
  std::lock_guard lock(pod->mu);
  auto* s = resp.mutable_status();
  s->set_id(pod->rec.id);
  *s->mutable_metadata() = pod->config.metadata();
  s->set_state(StateOf(pod->rec));
  s->set_created_at(pod->rec.created_at);
  // Set even without an address (host network), as containerd does.
  s->mutable_network()->set_ip(pod->rec.ip);
  for (const auto& ip : pod->rec.additional_ips) s->mutable_network()->add_additional_ips()->set_ip(ip);
  *s->mutable_linux()->mutable_namespaces()->mutable_options() = NamespacesOf(*pod);
  *s->mutable_labels() = pod->config.labels();
  *s->mutable_annotations() = pod->config.annotations();
  s->set_runtime_handler(pod->rec.runtime_handler);
  resp.set_timestamp(NowNs());
  if (req.verbose()) {
    nlohmann::json info = {{"pid", 0},  // no process holds the pod: namespaces are pinned
                           {"runtimeHandler", pod->rec.runtime_handler},
                           {"netNamespacePath", pod->rec.net_ns},
                           {"ipcNamespacePath", pod->rec.ipc_ns},
                           {"utsNamespacePath", pod->rec.uts_ns},
                           {"cgroupParent", pod->rec.cgroup_parent},
                           {"shimDir", pod->shim_dir},
                           {"runtimeRoot", pod->runtime_root},
                           {"namespace", ns}};
    auto cfg = nlohmann::json::parse(pod->rec.config_json, nullptr, false);
    if (!cfg.is_discarded()) info["config"] = cfg;
    (*resp.mutable_info())["info"] = info.dump();
  }
  return resp;
}

Result<v1::ListPodSandboxResponse> Daemon::ListPodSandbox(const std::string& ns,
                                                          const v1::ListPodSandboxRequest& req) {
  const auto& f = req.filter();
  std::vector<std::shared_ptr<Sandbox>> pods;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, p] : Ns(ns).pods)
      if (f.id().empty() || id.starts_with(f.id())) pods.push_back(p);
  }
  v1::ListPodSandboxResponse resp;
  for (auto& pod : pods) {
    std::lock_guard lock(pod->mu);
    if (f.has_state() && f.state().state() != StateOf(pod->rec)) continue;
    if (!LabelsMatch(pod->config.labels(), f.label_selector())) continue;
    auto* item = resp.add_items();
    item->set_id(pod->rec.id);
    *item->mutable_metadata() = pod->config.metadata();
    item->set_state(StateOf(pod->rec));
    item->set_created_at(pod->rec.created_at);
    *item->mutable_labels() = pod->config.labels();
    *item->mutable_annotations() = pod->config.annotations();
    item->set_runtime_handler(pod->rec.runtime_handler);
  }
  return resp;
}

}  // namespace berth::daemon
