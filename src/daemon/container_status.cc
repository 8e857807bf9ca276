// ContainerStatus and ListContainers: from memory (the shim's last word), no shim call —
// kubelet's PLEG lists every second.
#include <nlohmann/json.hpp>

#include "daemon/daemon.h"

namespace berth::daemon {

namespace {

v1::ContainerState StateOf(const shim::ContainerStatus& s) {
  if (s.exited_at != 0 || s.status == "stopped") return v1::CONTAINER_EXITED;
  if (s.status == "running") return v1::CONTAINER_RUNNING;
  if (s.status == "created") return v1::CONTAINER_CREATED;
  return v1::CONTAINER_UNKNOWN;
}

// "docker.io/library/busybox@sha256:…" of the manifest is what containerd reports as
// image_ref; we keep the config digest (the image id) there, as CRI-O does.
void FillImage(const ContainerRecord& r, v1::ImageSpec* spec) {
  spec->set_image(r.image_name.empty() ? r.image_ref : r.image_name);
}

}  // namespace

Result<v1::ContainerStatusResponse> Daemon::ContainerStatus(const std::string& ns,
                                                            const v1::ContainerStatusRequest& req) {
  auto c = BERTH_TRY(FindContainer(ns, req.container_id()));
  v1::ContainerStatusResponse resp;
  std::lock_guard lock(c->mu);
  const auto& st = c->status;
  auto* s = resp.mutable_status();
  s->set_id(c->rec.id);
  *s->mutable_metadata() = c->config.metadata();
  s->set_state(StateOf(st));
  s->set_created_at(c->rec.created_at);
  s->set_started_at(st.started_at);
  s->set_finished_at(st.exited_at);
  s->set_exit_code(st.exit_code);
  FillImage(c->rec, s->mutable_image());
  s->set_image_ref(c->rec.image_id);
  s->set_image_id(c->rec.image_id);
  if (StateOf(st) == v1::CONTAINER_EXITED) {
    if (st.oom_killed) s->set_reason("OOMKilled");
    else if (st.exit_code == 0) s->set_reason("Completed");
    else s->set_reason("Error");
    if (st.adopted && st.exit_code == 255)
      s->set_message("the container's shim was restarted while it ran: its exit status was not "
                     "seen (255)");
  }
  *s->mutable_labels() = c->config.labels();
  *s->mutable_annotations() = c->config.annotations();
  for (const auto& m : c->config.mounts()) *s->add_mounts() = m;
  s->set_log_path(c->rec.log_path);
  // The resources in force: those of CreateContainer, or of the last UpdateContainerResources.
  *s->mutable_resources()->mutable_linux() = c->config.linux().resources();
  if (req.verbose()) {
    nlohmann::json info = {{"sandboxID", c->rec.pod_id}, {"pid", st.pid},
                           {"bundle", c->rec.bundle},    {"runtimeRoot", c->pod->runtime_root},
                           {"imageName", c->rec.image_name}, {"signal", st.signal}};
    auto cfg = nlohmann::json::parse(c->rec.config_json, nullptr, false);
    if (!cfg.is_discarded()) info["config"] = cfg;
    (*resp.mutable_info())["info"] = info.dump();
  }
  return resp;
}

Result<v1::ListContainersResponse> Daemon::ListContainers(const std::string& ns,
                                                          const v1::ListContainersRequest& req) {
  const auto& f = req.filter();
  std::vector<std::shared_ptr<Container>> cs;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : Ns(ns).containers) {
      if (!f.id().empty() && !id.starts_with(f.id())) continue;
      if (!f.pod_sandbox_id().empty() && !c->rec.pod_id.starts_with(f.pod_sandbox_id())) continue;
      cs.push_back(c);
    }
  }
  v1::ListContainersResponse resp;
  for (auto& c : cs) {
    std::lock_guard lock(c->mu);
    v1::ContainerState state = StateOf(c->status);
    if (f.has_state() && f.state().state() != state) continue;
    if (!LabelsMatch(c->config.labels(), f.label_selector())) continue;
    auto* item = resp.add_containers();
    item->set_id(c->rec.id);
    item->set_pod_sandbox_id(c->rec.pod_id);
    *item->mutable_metadata() = c->config.metadata();
    FillImage(c->rec, item->mutable_image());
    item->set_image_ref(c->rec.image_id);
    item->set_image_id(c->rec.image_id);
    item->set_state(state);
    item->set_created_at(c->rec.created_at);
    *item->mutable_labels() = c->config.labels();
    *item->mutable_annotations() = c->config.annotations();
  }
  return resp;
}

}  // namespace berth::daemon
