// ExecSync (run by the pod's shim, in its loop: no runtime process kept per exec) and
// ReopenContainerLog.
#include "daemon/daemon.h"

namespace berth::daemon {

Result<v1::ExecSyncResponse> Daemon::ExecSync(const std::string& ns, const v1::ExecSyncRequest& req) {
  if (req.cmd().empty()) return InvalidArgument("exec sync", "cmd", "empty");
  auto c = BERTH_TRY(FindContainer(ns, req.container_id()));
  {
    std::lock_guard lock(c->mu);
    if (c->status.status != "running" || c->status.exited_at != 0)
      return FailedPrecondition("exec sync", c->rec.id, "the container is not running");
  }
  auto shim = BERTH_TRY(Shim(*c->pod));
  shim::ExecRequest er;
  er.id = c->rec.id;
  er.args.assign(req.cmd().begin(), req.cmd().end());
  er.timeout = std::chrono::seconds(req.timeout());
  auto r = shim.ExecSync(er);
  if (!r) return std::unexpected(r.error().Wrap("exec sync in " + c->rec.id));
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
  {
    std::lock_guard lock(c->mu);
    if (c->status.status != "running" || c->status.exited_at != 0)
      return FailedPrecondition("reopen container log", c->rec.id, "the container is not running");
  }
  auto shim = BERTH_TRY(Shim(*c->pod));
  BERTH_TRYV(shim.ReopenLog(c->rec.id));
  return v1::ReopenContainerLogResponse{};
}

}  // namespace berth::daemon
