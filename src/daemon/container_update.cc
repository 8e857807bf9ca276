// UpdateContainerResources: the CRI resources turned into a runtime-spec LinuxResources
// (the same code as at create), applied with the runtime's `update`, then recorded so a
// later ContainerStatus and a restart of berthd see them.
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "daemon/container_spec_internal.h"
#include "daemon/daemon.h"
#include "oci/runtime_client.h"
#include "spec/json_codec.h"
#include "sys/fs.h"

namespace berth::daemon {

Result<v1::UpdateContainerResourcesResponse> Daemon::UpdateContainerResources(
    const std::string& ns, const v1::UpdateContainerResourcesRequest& req) {
  auto c = BERTH_TRY(FindContainer(ns, req.container_id()));
  std::lock_guard op(c->op_mu);
  {
    std::lock_guard lock(c->mu);
    if (c->status.exited_at != 0 || (c->status.status != "running" && c->status.status != "created"))
      return FailedPrecondition("update container resources", c->rec.id,
                                "the container is " + c->status.status);
  }
  v1::ContainerConfig cfg;
  *cfg.mutable_linux()->mutable_resources() = req.linux();
  spec::Spec s;
  s.linux.emplace();
  auto applied = internal::ApplyResources(s, cfg, host_);
  if (!applied) return std::unexpected(applied.error().Wrap("update container resources"));
  auto doc = nlohmann::json::parse(spec::internal::Serialize(s, -1, ' '), nullptr, false);
  nlohmann::json res = nlohmann::json::object();
  if (!doc.is_discarded() && doc.contains("linux") && doc["linux"].contains("resources"))
    res = doc["linux"]["resources"];
  std::string file = c->rec.bundle + "/update.json";
  BERTH_TRYV(sys::WriteFileAtomic(file, res.dump(), 0600));
  oci::RuntimeClient::Config rc;
  rc.binary = c->pod->runtime_binary;
  rc.global.root = c->pod->runtime_root;
  rc.timeout = std::chrono::milliseconds(config_.runtime_timeout);
  rc.temp_dir = c->rec.bundle;
  auto r = oci::RuntimeClient(rc).Update(c->rec.id, file);
  ::unlink(file.c_str());
  if (!r) return std::unexpected(r.error().Wrap("update container resources " + c->rec.id));
  {
    std::lock_guard lock(c->mu);
    *c->config.mutable_linux()->mutable_resources() = req.linux();
    for (const auto& [k, v] : req.annotations()) (*c->config.mutable_annotations())[k] = v;
    c->rec.config_json = MessageToJson(c->config);
  }
  BERTH_TRYV(meta_.Save(c->rec));
  log::Info("UpdateContainerResources " + c->rec.id);
  return v1::UpdateContainerResourcesResponse{};
}

}  // namespace berth::daemon
