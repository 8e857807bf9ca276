// ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats: read from the
// cgroup files at the call (no cache of values, so a figure is never older than the call),
// usage_nano_cores from the previous sample of the same cgroup, as cadvisor computes it.
#include "cgroups/manager.h"
#include "daemon/daemon.h"
#include "image/snapshot.h"

namespace berth::daemon {

namespace {

uint64_t Raw(const cgroups::MemoryStats& m, const char* v2, const char* v1) {
  if (auto it = m.raw.find(v2); it != m.raw.end()) return it->second;
  if (auto it = m.raw.find(v1); it != m.raw.end()) return it->second;
  return 0;
}

}  // namespace

void Daemon::ForgetCpuSample(const std::string& key) {
  std::lock_guard lock(stats_mu_);
  cpu_samples_.erase(key);
}

void Daemon::FillCgroupStats(const std::string& key, const std::string& cgroups_path,
                             const std::atomic<bool>& removed, v1::CpuUsage* cpu,
                             v1::MemoryUsage* mem, v1::SwapUsage* swap, uint64_t* pids) {
  int64_t now = NowNs();
  cpu->set_timestamp(now);
  mem->set_timestamp(now);
  if (swap) swap->set_timestamp(now);
  auto m = cgroups::Open(cgroups_path, key);
  if (!m || !(*m)->Exists()) return;
  auto st = (*m)->GetStats();
  if (!st) return;
  cpu->mutable_usage_core_nano_seconds()->set_value(st->cpu.usage_total_ns);
  {
    std::lock_guard lock(stats_mu_);
    // The remover sets REMOVED before it takes stats_mu_ to forget the sample: checked under
    // the lock, a sample stored here is either forgotten after or never stored.
    if (removed) {
      cpu_samples_.erase(key);
    } else {
      auto& prev = cpu_samples_[key];
      if (prev.at != 0 && now > prev.at && st->cpu.usage_total_ns >= prev.usage_ns)
        cpu->mutable_usage_nano_cores()->set_value(uint64_t(
            double(st->cpu.usage_total_ns - prev.usage_ns) * 1e9 / double(now - prev.at)));
      prev = {now, st->cpu.usage_total_ns};
    }
  }
  const auto& mm = st->memory;
  // working set = usage - inactive file pages, as kubelet's eviction reads it.
  uint64_t inactive = Raw(mm, "inactive_file", "total_inactive_file");
  uint64_t ws = mm.usage > inactive ? mm.usage - inactive : 0;
  mem->mutable_working_set_bytes()->set_value(ws);
  mem->mutable_usage_bytes()->set_value(mm.usage);
  mem->mutable_rss_bytes()->set_value(mm.rss ? mm.rss : Raw(mm, "anon", "total_rss"));
  mem->mutable_page_faults()->set_value(Raw(mm, "pgfault", "total_pgfault"));
  mem->mutable_major_page_faults()->set_value(Raw(mm, "pgmajfault", "total_pgmajfault"));
  if (mm.limit > 0 && mm.limit < (uint64_t(1) << 62))
    mem->mutable_available_bytes()->set_value(mm.limit > ws ? mm.limit - ws : 0);
  if (swap) {
    swap->mutable_swap_usage_bytes()->set_value(mm.swap_usage);
    if (mm.swap_limit > 0 && mm.swap_limit < (uint64_t(1) << 62))
      swap->mutable_swap_available_bytes()->set_value(
          mm.swap_limit > mm.swap_usage ? mm.swap_limit - mm.swap_usage : 0);
  }
  if (pids) *pids = st->pids.current;
}

v1::ContainerStats Daemon::StatsOf(const Container& c) {
  v1::ContainerStats s;
  auto* a = s.mutable_attributes();
  a->set_id(c.rec.id);
  *a->mutable_metadata() = c.config.metadata();
  *a->mutable_labels() = c.config.labels();
  *a->mutable_annotations() = c.config.annotations();
  FillCgroupStats(c.rec.id, c.rec.cgroups_path, c.removed, s.mutable_cpu(), s.mutable_memory(),
                  s.mutable_swap(), nullptr);
  // The writable layer: the snapshot's upper dir, measured (it is usually small; a
  // container writing millions of files makes this call slower, never wrong).
  auto* wl = s.mutable_writable_layer();
  wl->set_timestamp(NowNs());
  std::string upper = images_->root + "/snapshots/active/" + c.rec.id + "/fs";
  wl->mutable_fs_id()->set_mountpoint(images_->root + "/snapshots");
  if (auto m = image::MeasureTree(upper)) {
    wl->mutable_used_bytes()->set_value(uint64_t(m->bytes));
    wl->mutable_inodes_used()->set_value(uint64_t(m->files + m->dirs));
  }
  return s;
}

Result<v1::ContainerStatsResponse> Daemon::ContainerStats(const std::string& ns,
                                                          const v1::ContainerStatsRequest& req) {
  auto c = BERTH_TRY(FindContainer(ns, req.container_id()));
  v1::ContainerStatsResponse resp;
  *resp.mutable_stats() = StatsOf(*c);
  return resp;
}

Result<v1::ListContainerStatsResponse> Daemon::ListContainerStats(
    const std::string& ns, const v1::ListContainerStatsRequest& req) {
  const auto& f = req.filter();
  std::vector<std::shared_ptr<Container>> cs;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : Ns(ns).containers) {
      if (!f.id().empty() && !id.starts_with(f.id())) continue;
      if (!f.pod_sandbox_id().empty() && !c->rec.pod_id.starts_with(f.pod_sandbox_id())) continue;
      if (!LabelsMatch(c->config.labels(), f.label_selector())) continue;
      cs.push_back(c);
    }
  }
  v1::ListContainerStatsResponse resp;
  for (auto& c : cs) *resp.add_stats() = StatsOf(*c);
  return resp;
}

namespace {

void PodAttributes(const Sandbox& pod, v1::PodSandboxAttributes* a) {
  a->set_id(pod.rec.id);
  *a->mutable_metadata() = pod.config.metadata();
  *a->mutable_labels() = pod.config.labels();
  *a->mutable_annotations() = pod.config.annotations();
}

}  // namespace

Result<v1::PodSandboxStatsResponse> Daemon::PodSandboxStats(const std::string& ns,
                                                            const v1::PodSandboxStatsRequest& req) {
  auto pod = BERTH_TRY(FindPod(ns, req.pod_sandbox_id()));
  v1::PodSandboxStatsResponse resp;
  auto* s = resp.mutable_stats();
  PodAttributes(*pod, s->mutable_attributes());
  auto* l = s->mutable_linux();
  // The pod's cgroup is kubelet's cgroup_parent; without one, the containers' sum.
  uint64_t procs = 0;
  if (!pod->rec.cgroup_parent.empty())
    FillCgroupStats(PodStatsKey(pod->rec.id), pod->rec.cgroup_parent, pod->removed,
                    l->mutable_cpu(), l->mutable_memory(), nullptr, &procs);
  for (auto& c : PodContainers(ns, pod->rec.id)) *l->add_containers() = StatsOf(*c);
  l->mutable_process()->set_timestamp(NowNs());
  l->mutable_process()->mutable_process_count()->set_value(procs);
  return resp;
}

Result<v1::ListPodSandboxStatsResponse> Daemon::ListPodSandboxStats(
    const std::string& ns, const v1::ListPodSandboxStatsRequest& req) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, p] : Ns(ns).pods) {
      if (!req.filter().id().empty() && !id.starts_with(req.filter().id())) continue;
      if (!LabelsMatch(p->config.labels(), req.filter().label_selector())) continue;
      ids.push_back(id);
    }
  }
  v1::ListPodSandboxStatsResponse resp;
  for (const auto& id : ids) {
    v1::PodSandboxStatsRequest r;
    r.set_pod_sandbox_id(id);
    if (auto one = PodSandboxStats(ns, r)) *resp.add_stats() = std::move(*one->mutable_stats());
  }
  return resp;
}

}  // namespace berth::daemon
