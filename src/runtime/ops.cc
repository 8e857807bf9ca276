// start, state, kill, delete, pause, resume, list, ps, update.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "base/log.h"
#include "cgroups/manager.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/lifecycle.h"
#include "spec/parse.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace berth::runtime {

namespace {

std::string Quote(const std::string& id) { return "\"" + id + "\""; }

// What runc prints for a container whose process is gone, and what its callers match to
// tell "already finished" from a failure: containerd's shim (kill of init and exec
// processes), CRI-O (every runtime command). A missing container says "does not exist"
// (StateStore::Load), which containerd (delete, kill) and podman (state) match.
constexpr const char* kNotRunning = "container not running";

Result<std::unique_ptr<cgroups::Manager>> OpenCgroup(const State& st) {
  auto mgr = cgroups::Open(st.cgroups_path, st.id);
  if (mgr) (*mgr)->AdoptCreated(st.cgroup_parents_created);
  return mgr;
}

// Waits up to timeout_ms for the process to exit (it is not our child: poll a pidfd).
bool WaitGone(pid_t pid, uint64_t start_time, int timeout_ms) {
  auto fd = sys::PidfdOpen(pid);
  if (!fd) return !sys::ProcessAlive(pid, start_time);
  pollfd p{fd->Get(), POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r > 0 || !sys::ProcessAlive(pid, start_time);
}

// Lets the init waiting on exec.fifo go, then waits until it has exec'd the user process
// (its O_CLOEXEC fifo fd closes) or died. The init holds the fifo O_RDWR; we open a read
// end first, so that our write end, opened after it, makes the pipe report POLLHUP on our
// read end once every writer is gone. What is left in the pipe then tells what happened:
// nothing (the init took our byte and exec'd), our own byte (the init was gone before it
// read it) or the error the init wrote before exiting (a startContainer hook or the
// final set-up failed).
Result<void> ReleaseInit(const std::string& id, const std::string& fifo) {
  int rfd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (rfd < 0) return Errno("start " + Quote(id) + ": open", fifo);
  UniqueFd reader(rfd);
  {
    int wfd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (wfd < 0) return Errno("start " + Quote(id) + ": open", fifo);
    UniqueFd writer(wfd);
    char b = '0';
    BERTH_TRYV(sys::WriteAll(wfd, &b, 1, fifo.c_str()));
  }
  unlink(fifo.c_str());
  struct pollfd p = {rfd, 0, 0};  // no events: wait for POLLHUP alone
  while (poll(&p, 1, -1) < 0) {
    if (errno != EINTR) return Errno("start " + Quote(id) + ": poll", fifo);
  }
  char buf[PIPE_BUF + 1];
  ssize_t n = read(rfd, buf, sizeof buf - 1);
  if (n <= 0) return {};
  if (n == 1 && buf[0] == '0')
    return FailedPrecondition("start", Quote(id),
                              "container not running: its init exited before it was started");
  std::string msg(buf, n);
  if (msg.starts_with("berth: ")) msg.erase(0, 7);
  return Fail("start", Quote(id), msg);
}

void RunPoststart(const State& st, const spec::Spec& spec) {
  if (spec.hooks.poststart.empty()) return;
  // runtime-spec: a failing poststart hook is logged; the lifecycle continues.
  RunHooksWarnOnFailure(spec.hooks.poststart, "poststart", OciStateJson(st, Status::kRunning));
}

}  // namespace

Result<spec::Spec> LoadContainerSpec(const std::string& root, const std::string& id) {
  StateStore store(root);
  auto text = sys::ReadFile(store.ConfigPath(id));
  if (!text) return std::unexpected(text.error());
  return spec::ParseSpec(*text, store.ConfigPath(id));
}

Result<State> GetState(const std::string& root, const std::string& id) {
  return StateStore(root).Load(id);
}

Result<void> Start(const std::string& root, const std::string& id) {
  StateStore store(root);
  auto st = store.Load(id);
  if (!st) return std::unexpected(st.error().Wrap("start"));
  if (st->status == Status::kStopped)
    return FailedPrecondition("start", Quote(id),
                              std::string("cannot start a container that is stopped (") +
                                  kNotRunning + ")");
  if (st->status != Status::kCreated)
    return FailedPrecondition("start", Quote(id), std::string("cannot start a container that is ") +
                                                      StatusName(st->status));
  BERTH_TRYV(ReleaseInit(id, store.FifoPath(id)));
  auto spec = LoadContainerSpec(root, id);
  if (spec) RunPoststart(*st, *spec);
  return {};
}

Result<void> StartLoaded(const StateStore& store, const State& st, const spec::Spec& spec) {
  BERTH_TRYV(ReleaseInit(st.id, store.FifoPath(st.id)));
  RunPoststart(st, spec);
  return {};
}

Result<void> Kill(const std::string& root, const std::string& id, int sig, bool all) {
  StateStore store(root);
  auto st = store.Load(id);
  if (!st) return std::unexpected(st.error().Wrap("kill"));
  if (all) {
    auto mgr = OpenCgroup(*st);
    if (!mgr) return std::unexpected(mgr.error());
    auto r = (*mgr)->KillAll(sig);
    if (!r) return std::unexpected(r.error().Wrap("kill --all " + Quote(id)));
    return {};
  }
  const std::string stopped = std::string(kNotRunning) + ": its process has exited";
  if (st->status == Status::kStopped) return FailedPrecondition("kill", Quote(id), stopped);
  auto pidfd = sys::PidfdOpen(st->pid);
  if (!pidfd) return FailedPrecondition("kill", Quote(id), stopped);
  // Re-check after taking the pidfd so a recycled pid is never signalled.
  if (!sys::ProcessAlive(st->pid, st->pid_start_time))
    return FailedPrecondition("kill", Quote(id), stopped);
  auto r = sys::PidfdSendSignal(*pidfd, sig);
  if (!r && r.error().code == ESRCH) return FailedPrecondition("kill", Quote(id), stopped);
  if (!r) return std::unexpected(r.error().Wrap("kill " + Quote(id)));
  return {};
}

Result<void> Delete(const std::string& root, const std::string& id, bool force) {
  StateStore store(root);
  auto st = store.Load(id);
  if (!st) {
    // A state dir without state.json is the leftover of a crashed create: remove it.
    // The dir holds config.json, so the cgroup it may have created can be found again.
    if (force && ValidateId(id) && access(store.Dir(id).c_str(), F_OK) == 0) {
      auto spec = LoadContainerSpec(root, id);
      auto mgr = cgroups::Open(spec && spec->linux ? spec->linux->cgroups_path : "", id);
      if (mgr) (void)(*mgr)->Destroy();
      return store.Remove(id);
    }
    // runc's callers clean up with `delete --force` even when the container is already
    // gone (containerd's shim after a failed create or on `shim delete`, podman after a
    // failed start) and log an error when it fails: like runc, a forced delete of a
    // container that does not exist succeeds.
    if (force && ValidateId(id) && access(store.Dir(id).c_str(), F_OK) < 0 && errno == ENOENT)
      return {};
    return std::unexpected(st.error().Wrap("delete"));
  }
  if (st->status == Status::kRunning || st->status == Status::kPaused) {
    if (!force)
      return FailedPrecondition("delete", Quote(id),
                                std::string("cannot delete a container that is ") +
                                    StatusName(st->status) + " (stop it first or use --force)");
  }
  auto mgr = OpenCgroup(*st);
  if (st->status != Status::kStopped) {
    // Everything in the cgroup dies, thawed so the kill is delivered.
    if (mgr) {
      (void)(*mgr)->KillAll(SIGKILL);
      if (st->status == Status::kPaused) (void)(*mgr)->Thaw();
    }
    kill(st->pid, SIGKILL);
    if (!WaitGone(st->pid, st->pid_start_time, 5000))
      return Fail("delete", Quote(id), "the container's init did not exit after SIGKILL");
  } else if (mgr) {
    // A container that joined a PID namespace (a pod's shared one) leaves its init's
    // children behind when the init exits: the kernel kills them only with the namespace's
    // pid 1. They are the container's (its cgroup), so they go with it, as with runc.
    auto left = (*mgr)->Pids();
    if (left && !left->empty()) (void)(*mgr)->KillAll(SIGKILL);
  }
  auto spec = LoadContainerSpec(root, id);
  return DeleteStopped(store, *st, spec ? &*spec : nullptr, mgr ? mgr->get() : nullptr);
}

Result<void> DeleteStopped(StateStore& store, const State& st, const spec::Spec* spec,
                           cgroups::Manager* mgr) {
  if (mgr) {
    auto r = mgr->Destroy();
    if (!r) return std::unexpected(r.error().Wrap("delete " + Quote(st.id)));
  }
  BERTH_TRYV(store.Remove(st.id));
  // runtime-spec: a failing poststop hook is logged; the container is gone anyway.
  if (spec && !spec->hooks.poststop.empty())
    RunHooksWarnOnFailure(spec->hooks.poststop, "poststop", OciStateJson(st, Status::kStopped));
  return {};
}

Result<void> Pause(const std::string& root, const std::string& id) {
  auto st = StateStore(root).Load(id);
  if (!st) return std::unexpected(st.error().Wrap("pause"));
  if (st->status == Status::kStopped)
    return FailedPrecondition("pause", Quote(id), std::string(kNotRunning) + ": it is stopped");
  if (st->status != Status::kRunning && st->status != Status::kCreated)
    return FailedPrecondition("pause", Quote(id), std::string("container is ") + StatusName(st->status));
  auto mgr = OpenCgroup(*st);
  if (!mgr) return std::unexpected(mgr.error());
  auto r = (*mgr)->Freeze();
  if (!r) return std::unexpected(r.error().Wrap("pause " + Quote(id)));
  return {};
}

Result<void> Resume(const std::string& root, const std::string& id) {
  auto st = StateStore(root).Load(id);
  if (!st) return std::unexpected(st.error().Wrap("resume"));
  if (st->status != Status::kPaused)
    return FailedPrecondition("resume", Quote(id), std::string("container is not paused but ") +
                                                       StatusName(st->status));
  auto mgr = OpenCgroup(*st);
  if (!mgr) return std::unexpected(mgr.error());
  auto r = (*mgr)->Thaw();
  if (!r) return std::unexpected(r.error().Wrap("resume " + Quote(id)));
  return {};
}

Result<std::vector<State>> List(const std::string& root) {
  StateStore store(root);
  auto ids = store.Ids();
  if (!ids) return std::unexpected(ids.error());
  std::vector<State> out;
  for (const auto& id : *ids) {
    auto st = store.Load(id);
    if (st) out.push_back(std::move(*st));
  }
  return out;
}

Result<std::vector<pid_t>> Pids(const std::string& root, const std::string& id) {
  auto st = StateStore(root).Load(id);
  if (!st) return std::unexpected(st.error().Wrap("ps"));
  auto mgr = OpenCgroup(*st);
  if (!mgr) return std::unexpected(mgr.error());
  return (*mgr)->Pids();
}

Result<void> Update(const std::string& root, const std::string& id,
                    const spec::LinuxResources& res) {
  auto st = StateStore(root).Load(id);
  if (!st) return std::unexpected(st.error().Wrap("update"));
  if (st->status == Status::kStopped)
    return FailedPrecondition("update", Quote(id), std::string(kNotRunning) + ": it is stopped");
  auto mgr = OpenCgroup(*st);
  if (!mgr) return std::unexpected(mgr.error());
  auto r = (*mgr)->Set(res);
  if (!r) return std::unexpected(r.error().Wrap("update " + Quote(id)));
  return {};
}

}  // namespace berth::runtime
