// Start-up: memory rebuilt from the records on disk and from the shims. What a crash left
// half-made ("creating" records) is undone; a record that cannot be read is set aside and
// reported, never a reason not to start.
#include <unistd.h>

#include "base/log.h"
#include "daemon/daemon.h"
#include "daemon/undo.h"
#include "image/assembly.h"

namespace berth::daemon {

namespace {

bool Exists(const std::string& p) { return !p.empty() && ::access(p.c_str(), F_OK) == 0; }

}  // namespace

Result<void> Daemon::Recover() {
  auto loaded = meta_.LoadAll();
  if (!loaded) return std::unexpected(loaded.error().Wrap("recover metadata"));
  for (const auto& e : loaded->skipped) log::Warn("recover: skipped " + e.Message());
  std::map<std::string, std::shared_ptr<Sandbox>> pods;
  int undone = 0;
  for (auto& rec : loaded->pods) {
    auto pod = std::make_shared<Sandbox>();
    pod->rec = rec;
    if (auto r = JsonToMessage(rec.config_json, &pod->config, meta_.PodPath(rec.ns, rec.id)); !r) {
      log::Warn("recover: skipped pod " + rec.id + ": " + r.error().Message());
      continue;
    }
    pod->pod_dir = config_.state + "/pods/" + rec.ns + "/" + rec.id;
    pod->shim_dir = ShimDir(rec.id);
    if (auto bin = RuntimeBinary(rec.runtime_handler)) pod->runtime_binary = *bin;
    else log::Warn("recover: pod " + rec.id + ": " + bin.error().Message());
    pod->runtime_root = RuntimeRoot(rec.runtime_handler, rec.ns);
    if (rec.state == "creating") {
      log::Info("recover: undoing pod " + rec.id + " (RunPodSandbox did not finish)");
      TearDownPod(*pod, true);
      (void)meta_.RemovePod(rec.ns, rec.id);
      ++undone;
      continue;
    }
    // After a reboot the pinned namespaces are gone with /run: the pod cannot be ready.
    if (rec.state == "ready" && ((!rec.net_ns.empty() && !Exists(rec.net_ns)) ||
                                 (!rec.ipc_ns.empty() && !Exists(rec.ipc_ns)) ||
                                 (!rec.pid_ns.empty() && !Exists(rec.pid_ns)))) {
      pod->rec.state = "notready";
      (void)meta_.Save(pod->rec);
    }
    // A StopPodSandbox cut short: the teardown is finished now, so that the pod is listed
    // as it is (not ready, nothing held), whether or not kubelet asks again.
    if (pod->rec.state == "notready" && HoldsPodResources(pod->rec)) {
      log::Info("recover: finishing the stop of pod " + rec.id);
      if (auto r = StopPodLocked(rec.ns, *pod); !r)
        log::Warn("recover: pod " + rec.id + ": " + r.error().Message());
    }
    pods[rec.id] = pod;
    std::lock_guard lock(mu_);
    Namespace& n = Ns(rec.ns);
    n.pods[rec.id] = pod;
    n.pod_names.Restore(rec.name, rec.id, rec.digest);
  }

  for (auto& rec : loaded->containers) {
    auto it = pods.find(rec.pod_id);
    std::string bundles = config_.state + "/bundles/" + rec.ns;
    if (it == pods.end() || rec.state == "creating") {
      log::Info("recover: undoing container " + rec.id +
                (it == pods.end() ? " (its pod is gone)" : " (CreateContainer did not finish)"));
      if (it != pods.end()) {
        if (auto shim = shim::ShimClient::Connect(it->second->shim_dir)) {
          if (auto r = ForceDeleteInShim(*shim, rec.id, config_.runtime_timeout + std::chrono::seconds(5)); !r)
            log::Warn("recover: container " + rec.id + ": " + r.error().Message());
        }
      }
      if (auto r = image::RemoveAssembled(*images_, bundles, rec.id); !r)
        log::Warn("recover: container " + rec.id + ": " + r.error().Message());
      (void)meta_.RemoveContainer(rec.ns, rec.id);
      ++undone;
      continue;
    }
    auto c = std::make_shared<Container>();
    c->rec = rec;
    c->pod = it->second;
    if (auto r = JsonToMessage(rec.config_json, &c->config, meta_.ContainerPath(rec.ns, rec.id)); !r) {
      log::Warn("recover: skipped container " + rec.id + ": " + r.error().Message());
      continue;
    }
    c->status.id = rec.id;
    c->status.status = "unknown";
    std::lock_guard lock(mu_);
    Namespace& n = Ns(rec.ns);
    n.containers[rec.id] = c;
    n.container_names.Restore(rec.name, rec.id, rec.digest);
  }

  // The shims: each tells what its containers did meanwhile. A shim that is gone (killed,
  // or the node rebooted) is started again on its work dir and adopts what its records say.
  size_t containers = 0;
  for (auto& [id, pod] : pods) {
    auto mine = PodContainers(pod->rec.ns, id);
    containers += mine.size();
    auto shim = shim::ShimClient::Connect(pod->shim_dir);
    if (!shim && (pod->rec.state == "ready" || !mine.empty()) && !pod->runtime_binary.empty()) {
      if (auto pid = StartShim(*pod)) {
        log::Info("recover: restarted the shim of pod " + id);
        shim = shim::ShimClient::Connect(pod->shim_dir);
      } else {
        log::Warn("recover: pod " + id + ": " + pid.error().Message());
      }
    }
    std::vector<shim::ContainerStatus> list;
    if (shim) {
      if (auto l = shim->List()) list = std::move(*l);
    }
    for (const auto& s : list) {
      bool claimed = false;
      for (const auto& c : mine) claimed = claimed || c->rec.id == s.id;
      if (!claimed && shim) {
        RemoveUnclaimedContainer(*shim, pod->rec.ns, s.id, "pod " + id + "'s shim runs it but no "
                                                       "readable record claims it");
        ++undone;
      }
    }
    for (auto& c : mine) {
      bool found = false;
      for (const auto& s : list) {
        if (s.id != c->rec.id) continue;
        UpdateStatus(*c, s);
        found = true;
      }
      if (!found) {
        // Neither the shim nor its records know it: it cannot be running.
        shim::ContainerStatus s;
        s.id = c->rec.id;
        s.status = "stopped";
        s.exit_code = 255;
        s.adopted = true;
        s.exited_at = NowNs();
        UpdateStatus(*c, s);
      }
    }
    if (shim) WatchShim(pod);
  }
  undone += RemoveOrphans(pods);
  log::Info("recovered " + std::to_string(pods.size()) + " pod sandboxes and " +
            std::to_string(containers) + " containers" +
            (undone ? ", undid " + std::to_string(undone) + " unfinished" : "") +
            (loaded->skipped.empty() ? "" : ", skipped " + std::to_string(loaded->skipped.size())));
  return {};
}

}  // namespace berth::daemon
