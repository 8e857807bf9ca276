// StartContainer, StopContainer, RemoveContainer (all through the pod's shim).
#include "base/fault.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "image/assembly.h"

namespace berth::daemon {

// <signal.h> cannot come before the CRI header (its enum Signal has the same names).
constexpr int kSigKill = 9;

Result<shim::ShimClient> Daemon::Shim(const Sandbox& pod) const {
  shim::ShimClient::Options o;
  o.call_timeout = std::chrono::milliseconds(config_.runtime_timeout) + std::chrono::seconds(30);
  auto c = shim::ShimClient::Connect(pod.shim_dir, o);
  if (!c) return std::unexpected(c.error().Wrap("shim of pod " + pod.rec.id));
  return c;
}

Result<v1::StartContainerResponse> Daemon::StartContainer(const std::string& ns,
                                                          const v1::StartContainerRequest& req) {
  auto c = BERTH_TRY(FindContainer(ns, req.container_id()));
  std::lock_guard op(c->op_mu);
  {
    std::lock_guard lock(c->mu);
    if (c->status.status != "created")
      return FailedPrecondition("start container", c->rec.id,
                                "it is " + c->status.status + ", not created");
  }
  auto shim = BERTH_TRY(Shim(*c->pod));
  fault::Reach("ctr.shim.start.before");
  auto st = shim.Start(c->rec.id);
  fault::Reach("ctr.shim.start.after");
  if (!st) {
    // A start that failed leaves the container exited with the runtime's message.
    if (auto now = shim.State(c->rec.id)) UpdateStatus(*c, *now);
    return std::unexpected(st.error().Wrap("start container " + c->rec.id));
  }
  UpdateStatus(*c, *st);
  PublishContainerEvent(*c, v1::CONTAINER_STARTED_EVENT);
  log::Info("StartContainer " + c->rec.id);
  return v1::StartContainerResponse{};
}

Result<void> Daemon::StopContainerLocked(Container& c, int64_t timeout_s) {
  {
    std::lock_guard lock(c.mu);
    if (c.status.exited_at != 0 || c.status.status == "stopped") return {};
  }
  auto shim = BERTH_TRY(Shim(*c.pod));
  auto wait = [&](std::chrono::milliseconds t) -> Result<bool> {
    auto s = shim.Wait(c.rec.id, t);
    if (s) {
      UpdateStatus(c, *s);
      return true;
    }
    if (s.error().IsDeadlineExceeded()) return false;
    return std::unexpected(s.error());
  };
  if (timeout_s > 0) {
    fault::Reach("ctr.shim.kill.before");
    auto k = shim.Kill(c.rec.id, c.rec.stop_signal);
    fault::Reach("ctr.shim.kill.after");
    if (!k && !k.error().IsNotFound() && !k.error().IsFailedPrecondition())
      return std::unexpected(k.error().Wrap("stop container " + c.rec.id));
    if (BERTH_TRY(wait(std::chrono::seconds(timeout_s)))) return {};
    log::Info("StopContainer " + c.rec.id + ": still running after " +
              std::to_string(timeout_s) + " s, SIGKILL");
  }
  fault::Reach("ctr.shim.kill.before");
  auto k = shim.Kill(c.rec.id, kSigKill, true);
  fault::Reach("ctr.shim.kill.after");
  if (!k && !k.error().IsNotFound() && !k.error().IsFailedPrecondition())
    return std::unexpected(k.error().Wrap("stop container " + c.rec.id));
  if (!BERTH_TRY(wait(std::chrono::seconds(30))))
    return DeadlineExceeded("stop container", c.rec.id, "no exit 30 s after SIGKILL");
  return {};
}

Result<v1::StopContainerResponse> Daemon::StopContainer(const std::string& ns,
                                                        const v1::StopContainerRequest& req) {
  // An unknown id is NOT_FOUND, as containerd answers (the differential test): the CRI's
  // idempotency is about a container already stopped, which succeeds below.
  auto c = FindContainer(ns, req.container_id());
  if (!c) return std::unexpected(c.error());
  std::lock_guard op((*c)->op_mu);
  if ((*c)->removed) return v1::StopContainerResponse{};
  BERTH_TRYV(StopContainerLocked(**c, req.timeout()));
  log::Info("StopContainer " + (*c)->rec.id);
  return v1::StopContainerResponse{};
}

Result<void> Daemon::RemoveContainerLocked(const std::string& ns, Container& c) {
  if (auto shim = Shim(*c.pod)) {
    fault::Reach("ctr.shim.delete.before");
    auto d = shim->Delete(c.rec.id, true);
    fault::Reach("ctr.shim.delete.after");
    if (!d && !d.error().IsNotFound())
      return std::unexpected(d.error().Wrap("remove container " + c.rec.id));
  }
  fault::Reach("ctr.snapshot.remove.before");
  BERTH_TRYV(image::RemoveAssembled(*images_, config_.state + "/bundles/" + ns, c.rec.id));
  fault::Reach("ctr.snapshot.remove.after");
  fault::Reach("ctr.record.remove.before");
  BERTH_TRYV(meta_.RemoveContainer(ns, c.rec.id));
  fault::Reach("ctr.record.remove.after");
  auto deleted = ContainerEvent(c, v1::CONTAINER_DELETED_EVENT);
  {
    std::lock_guard lock(mu_);
    Namespace& n = Ns(ns);
    n.containers.erase(c.rec.id);
    n.container_names.Release(c.rec.name);
  }
  c.removed = true;
  ForgetCpuSample(c.rec.id);
  events_.Publish(ns, deleted);
  log::Info("RemoveContainer " + c.rec.id);
  return {};
}

Result<v1::RemoveContainerResponse> Daemon::RemoveContainer(const std::string& ns,
                                                            const v1::RemoveContainerRequest& req) {
  auto c = FindContainer(ns, req.container_id());
  if (!c) {
    if (c.error().IsNotFound()) return v1::RemoveContainerResponse{};
    return std::unexpected(c.error());
  }
  std::lock_guard op((*c)->op_mu);
  if ((*c)->removed) return v1::RemoveContainerResponse{};
  BERTH_TRYV(RemoveContainerLocked(ns, **c));
  return v1::RemoveContainerResponse{};
}

}  // namespace berth::daemon
