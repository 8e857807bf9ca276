// ExecSync (run by the pod's shim, in its loop: no runtime process kept per exec) and
// ReopenContainerLog.
#include "daemon/daemon.h"

namespace berth::daemon {

namespace {

bool NotRunning(const Container& c) {
  std::lock_guard lock(c.mu);
  return c.status.status != "running" || c.status.exited_at != 0;
}

// An exec that failed because its container stopped or went away meanwhile (the runtime's
// exec refused, the pod's shim shut down by RemovePodSandbox) says so with the code kubelet
// expects for it: NOT_FOUND once removed, FAILED_PRECONDITION once not running. SHIM_STATE
// asks the shim, whose view is newer than berthd's until the exit event arrives.
template <class ShimState>
Error ExecError(const Container& c, Error e, ShimState&& shim_state) {
  e.Wrap("exec sync in " + c.rec.id);
  if (e.IsDeadlineExceeded() || e.Is(ErrorKind::kInvalidArgument) ||
      e.Is(ErrorKind::kResourceExhausted))
    return e;
  bool stopped = c.removed || NotRunning(c);
  if (!stopped) {
    auto st = shim_state();
    stopped = !st ? st.error().IsNotFound() : st->status != "running" || st->exited_at != 0;
  }
  if (c.removed) return e.WithKind(ErrorKind::kNotFound);
  if (stopped) return e.WithKind(ErrorKind::kFailedPrecondition);
  return e;
}

}  // namespace

Result<v1::ExecSyncResponse> Daemon::ExecSync(const std::string& ns, const v1::ExecSyncRequest& req) {
  if (req.cmd().empty()) return InvalidArgument("exec sync", "cmd", "empty");
  auto c = BERTH_TRY(FindContainer(ns, req.container_id()));
  if (NotRunning(*c))
    return FailedPrecondition("exec sync", c->rec.id, "the container is not running");
  auto shim_state = [&]() -> Result<shim::ContainerStatus> {
    auto shim = BERTH_TRY(Shim(*c->pod));
    return shim.State(c->rec.id);
  };
  auto shim = Shim(*c->pod);
  if (!shim) return std::unexpected(ExecError(*c, shim.error(), shim_state));
  shim::ExecRequest er;
  er.id = c->rec.id;
  er.args.assign(req.cmd().begin(), req.cmd().end());
  er.timeout = std::chrono::seconds(req.timeout());
  auto r = shim->ExecSync(er);
  if (!r) return std::unexpected(ExecError(*c, r.error(), shim_state));
  if (r->timed_out)
    return DeadlineExceeded("exec sync", c->rec.id,
                            "command timed out after " + std::to_string(req.timeout()) + " s");
  v1::ExecSyncResponse resp;
  resp.set_stdout(std::move(r->out));
  resp.set_stderr(std::move(r->err));
  resp.set_exit_code(r->exit_code);
  return resp;
}

Result<v1::ReopenContainerLogResponse> Daemon::ReopenContainerLog(
    const std::string& ns, const v1::ReopenContainerLogRequest& req) {
  auto c = BERTH_TRY(FindContainer(ns, req.container_id()));
  if (NotRunning(*c))
    return FailedPrecondition("reopen container log", c->rec.id, "the container is not running");
  auto shim = BERTH_TRY(Shim(*c->pod));
  BERTH_TRYV(shim.ReopenLog(c->rec.id));
  return v1::ReopenContainerLogResponse{};
}

}  // namespace berth::daemon
