// Exit events from the shims, the cached container status, and GetContainerEvents.
// One thread per shim holds its subscription; an exit updates memory and is published.
#include "base/log.h"
#include "daemon/daemon.h"

namespace berth::daemon {

void Daemon::UpdateStatus(Container& c, const shim::ContainerStatus& s) {
  bool exited = false;
  {
    std::lock_guard lock(c.mu);
    // The exit event may overtake the reply of the call that started the container.
    if (c.status.exited_at != 0 && s.exited_at == 0) return;
    exited = c.status.exited_at == 0 && s.exited_at != 0;
    c.status = s;
  }
  // Whoever learns of the exit first — a reply here (StopContainer's wait) or the shim's
  // exit event (OnExit) — publishes STOPPED, once.
  if (exited) PublishContainerEvent(c, v1::CONTAINER_STOPPED_EVENT);
}

void Daemon::OnExit(const std::string& ns, const shim::ExitEvent& e) {
  std::shared_ptr<Container> c;
  {
    std::lock_guard lock(mu_);
    auto& cs = Ns(ns).containers;
    if (auto it = cs.find(e.id); it != cs.end()) c = it->second;
  }
  if (!c) return;  // an exec's or a container being created: the call itself handles it
  {
    std::lock_guard lock(c->mu);
    if (c->status.exited_at != 0) return;
    c->status.status = "stopped";
    c->status.exit_code = e.exit_code;
    c->status.signal = e.signal;
    c->status.oom_killed = e.oom_killed;
    c->status.exited_at = e.exited_at;
  }
  log::Info("container " + e.id + " exited " + std::to_string(e.exit_code) +
            (e.oom_killed ? " (OOM killed)" : ""));
  PublishContainerEvent(*c, v1::CONTAINER_STOPPED_EVENT);
}

void Daemon::WatchShim(std::shared_ptr<Sandbox> pod) {
  std::string id = pod->rec.id;
  std::lock_guard lock(watch_mu_);
  if (stopping_ || watchers_.contains(id)) return;
  watchers_[id] = std::thread([this, pod] {
    const std::string& ns = pod->rec.ns;
    const std::string& id = pod->rec.id;
    int failures = 0;
    while (!stopping_ && pod->shim_wanted) {
      auto client = shim::ShimClient::Connect(pod->shim_dir);
      auto stream = client ? client->Subscribe()
                           : Result<shim::EventStream>(std::unexpected(client.error()));
      if (!stream) {
        if (!pod->shim_wanted || stopping_) return;
        // The shim is gone (killed, crashed): start it again on its work dir; it adopts
        // the containers its records name. A few tries, then the pod is left to the next
        // restart of berthd (logged).
        if (++failures > 5) {
          log::Warn("pod " + id + ": its shim cannot be reached or restarted: " +
                    stream.error().Message());
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200 * failures));
        if (!pod->shim_wanted || stopping_) return;
        if (shim::ShimClient::Connect(pod->shim_dir)) continue;
        if (auto pid = StartShim(*pod))
          log::Warn("pod " + id + ": its shim was gone; started it again (pid " +
                    std::to_string(*pid) + ")");
        continue;
      }
      failures = 0;
      // Exits that happened while nobody listened (berthd or the shim down) come from the
      // shim's list, then the stream.
      if (auto list = client->List()) {
        for (const auto& s : *list) {
          std::shared_ptr<Container> c;
          {
            std::lock_guard lock(mu_);
            auto& cs = Ns(ns).containers;
            if (auto it = cs.find(s.id); it != cs.end()) c = it->second;
          }
          if (!c) continue;
          // The whole status, running or exited: after a shim restart it is "adopted" (an
          // exit the new shim did not see has no known code), which ContainerStatus says.
          // An exit event alone would drop that (a container killed with its shim).
          if (s.exited_at != 0)
            log::Info("container " + s.id + " exited " + std::to_string(s.exit_code) +
                      (s.adopted ? " (while its shim was down)" : ""));
          UpdateStatus(*c, s);
        }
      }
      while (!stopping_) {
        auto e = stream->WaitEvent(std::chrono::milliseconds(500));
        if (e) {
          OnExit(ns, *e);
          continue;
        }
        if (e.error().IsDeadlineExceeded()) continue;
        break;  // the shim closed the stream (shutdown, or it died)
      }
    }
  });
}

namespace {

v1::ContainerEventResponse Event(const std::string& id, v1::ContainerEventType type) {
  v1::ContainerEventResponse e;
  e.set_container_id(id);
  e.set_container_event_type(type);
  e.set_created_at(NowNs());
  return e;
}

}  // namespace

v1::ContainerEventResponse Daemon::ContainerEvent(const Container& c, v1::ContainerEventType type) {
  auto e = Event(c.rec.id, type);
  // Evented PLEG reads the pod's status and all its containers' from the event.
  v1::PodSandboxStatusRequest preq;
  preq.set_pod_sandbox_id(c.rec.pod_id);
  if (auto ps = PodSandboxStatus(c.rec.ns, preq)) *e.mutable_pod_sandbox_status() = ps->status();
  for (auto& other : PodContainers(c.rec.ns, c.rec.pod_id)) {
    v1::ContainerStatusRequest creq;
    creq.set_container_id(other->rec.id);
    if (auto cs = ContainerStatus(c.rec.ns, creq)) *e.add_containers_statuses() = cs->status();
  }
  return e;
}

v1::ContainerEventResponse Daemon::PodEvent(const Sandbox& pod, v1::ContainerEventType type) {
  auto e = Event(pod.rec.id, type);
  v1::PodSandboxStatusRequest preq;
  preq.set_pod_sandbox_id(pod.rec.id);
  if (auto ps = PodSandboxStatus(pod.rec.ns, preq)) *e.mutable_pod_sandbox_status() = ps->status();
  return e;
}

}  // namespace berth::daemon
