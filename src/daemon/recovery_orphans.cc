// Start-up, after the records are loaded: what runs or is mounted that no readable record
// claims. A pod whose record was set aside (unreadable) or whose record went before its
// directories (a crash inside RemovePodSandbox) is invisible to kubelet, which makes the pod
// again: its containers would run twice. A container whose record was lost is likewise
// unseen. Both are removed, with everything of theirs, and said so in the log.
#include <set>

#include "base/log.h"
#include "daemon/daemon.h"
#include "daemon/undo.h"
#include "image/assembly.h"
#include "sys/fs.h"

namespace berth::daemon {

namespace {

std::vector<std::string> Subdirs(const std::string& dir) {
  auto names = sys::ListSubdirs(dir);
  if (!names) {
    if (!names.error().IsNotFound()) log::Warn("recover: list " + dir + ": " + names.error().Message());
    return {};
  }
  return std::move(*names);
}

}  // namespace

void Daemon::RemoveUnclaimedContainer(const shim::ShimClient& shim, const std::string& ns,
                                      const std::string& id, const std::string& why) {
  log::Warn("recover: removing container " + id + " (" + why + ")");
  if (auto r = ForceDeleteInShim(shim, id, config_.runtime_timeout + std::chrono::seconds(5)); !r) {
    log::Warn("recover: container " + id + ": " + r.error().Message());
    return;  // its bundle may still be in use: leave it for the next start
  }
  if (auto r = image::RemoveAssembled(*images_, config_.state + "/bundles/" + ns, id); !r)
    log::Warn("recover: container " + id + ": " + r.error().Message());
}

int Daemon::RemoveOrphans(const std::map<std::string, std::shared_ptr<Sandbox>>& pods) {
  int removed = 0;
  std::set<std::string> claimed_shims;
  for (const auto& [id, pod] : pods) claimed_shims.insert(pod->shim_dir);

  // Every container of a shim that answers, then the shim itself.
  auto empty_shim = [&](const std::string& dir, const std::string& ns, const std::string& pod) {
    auto shim = shim::ShimClient::Connect(dir);
    if (!shim) return;
    if (auto list = shim->List()) {
      for (const auto& s : *list)
        RemoveUnclaimedContainer(*shim, ns, s.id, "its pod " + pod + " has no readable record");
    }
  };

  // <state>/pods/<ns>/<id>: the pinned namespaces, the PID holder, the shim of a pod.
  for (const auto& ns : Subdirs(config_.state + "/pods")) {
    for (const auto& id : Subdirs(config_.state + "/pods/" + ns)) {
      if (auto it = pods.find(id); it != pods.end() && it->second->rec.ns == ns) continue;
      log::Warn("recover: removing pod " + id + " in namespace " + ns +
                " (its directory is left but no readable record claims it)");
      Sandbox orphan;
      orphan.rec.id = id;
      orphan.rec.ns = ns;
      // As a RunPodSandbox cut short: what it made is found where SetUpPod makes it.
      orphan.rec.state = "creating";
      orphan.pod_dir = config_.state + "/pods/" + ns + "/" + id;
      orphan.shim_dir = ShimDir(id);
      empty_shim(orphan.shim_dir, ns, id);
      TearDownPod(orphan, true);
      claimed_shims.insert(orphan.shim_dir);
      ++removed;
    }
  }

  // <state>/shims/<prefix>: a shim dir no pod claims (its pod dir is gone as well).
  for (const auto& name : Subdirs(config_.state + "/shims")) {
    std::string dir = config_.state + "/shims/" + name;
    if (claimed_shims.count(dir)) continue;
    auto shim = shim::ShimClient::Connect(dir);
    if (shim) {
      const auto info = shim->Info();
      log::Warn("recover: stopping the shim of pod " + info.id + " in " + dir +
                " (no readable record claims it)");
      empty_shim(dir, info.ns, info.id);
      if (auto r = shim->Shutdown(); !r) {
        log::Warn("recover: shim " + dir + ": " + r.error().Message() + " (left)");
        continue;
      }
    } else if (!Subdirs(dir).empty()) {
      // No shim answers and it kept container records: what they name may still run, and
      // only these records say so. Left for an operator, said once per start.
      log::Warn("recover: " + dir + " holds container records, no shim answers there and no pod "
                "record claims it (left as it is)");
      continue;
    }
    if (auto r = sys::RemoveTree(dir); !r) log::Warn("recover: " + r.error().Message());
    ++removed;
  }
  return removed;
}

}  // namespace berth::daemon
