// stats, statsp, imagefsinfo, update: what the runtime says about resource use, and the
// one call that changes a running container's resources.
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "cli/berthctl/commands.h"
#include "cli/berthctl/cri_util.h"

namespace berth::cli {

namespace {

Result<std::map<std::string, std::string>> LabelMap(const std::vector<std::string>& labels) {
  std::map<std::string, std::string> m;
  for (auto& l : labels) {
    size_t eq = l.find('=');
    if (eq == std::string::npos || eq == 0)
      return InvalidArgument("--label", l, "expected KEY=VALUE");
    m[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return m;
}

// CPU % between two samples of the same cgroup (crictl's figure): the cumulative CPU time
// used over the wall time between them. Without a first sample, the runtime's own rate.
std::string CpuPercent(const v1::CpuUsage* before, const v1::CpuUsage& now) {
  double pct = 0;
  if (before && now.timestamp() > before->timestamp() &&
      now.usage_core_nano_seconds().value() >= before->usage_core_nano_seconds().value()) {
    pct = double(now.usage_core_nano_seconds().value() - before->usage_core_nano_seconds().value()) /
          double(now.timestamp() - before->timestamp()) * 100;
  } else {
    pct = double(now.usage_nano_cores().value()) / 1e7;
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%.2f", pct);
  return buf;
}

Result<v1::ListContainerStatsResponse> ContainerStatsSample(cri::Client& c, const StatsArgs& a) {
  v1::ListContainerStatsRequest req;
  auto* f = req.mutable_filter();
  f->set_id(a.id);
  f->set_pod_sandbox_id(a.pod);
  for (auto& [k, v] : BERTH_TRY(LabelMap(a.labels))) (*f->mutable_label_selector())[k] = v;
  auto resp = BERTH_TRY(c.ListContainerStats(req));
  if (a.all) return resp;
  // The stats filter has no state: crictl too asks which containers run.
  v1::ListContainersRequest lreq;
  lreq.mutable_filter()->mutable_state()->set_state(v1::CONTAINER_RUNNING);
  auto running = BERTH_TRY(c.ListContainers(lreq));
  std::set<std::string> ids;
  for (auto& x : running.containers()) ids.insert(x.id());
  v1::ListContainerStatsResponse kept;
  for (auto& s : resp.stats())
    if (ids.count(s.attributes().id())) *kept.add_stats() = s;
  return kept;
}

void Pause(double seconds) {
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
}

}  // namespace

int CriStats(const CriCommands::Options& o, StatsArgs a) {
  if (!a.positional.empty()) a.id = a.positional;
  if (!(a.seconds > 0)) return CriFail(InvalidArgument("stats", "--seconds", "must be more than 0").error());
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  auto first = ContainerStatsSample(*c, a);
  if (!first) return CriFail(first.error());
  if (a.output != "table") {
    PrintDocument(ToJson(*first), a.output);
    return 0;
  }
  std::map<std::string, v1::CpuUsage> before;
  for (auto& s : first->stats()) before[s.attributes().id()] = s.cpu();
  Pause(a.seconds);
  auto now = ContainerStatsSample(*c, a);
  if (!now) return CriFail(now.error());
  std::vector<std::vector<std::string>> rows{{"CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES"}};
  for (auto& s : now->stats()) {
    auto it = before.find(s.attributes().id());
    rows.push_back({ShortId(s.attributes().id(), a.no_trunc), s.attributes().metadata().name(),
                    CpuPercent(it == before.end() ? nullptr : &it->second, s.cpu()),
                    HumanSize(s.memory().working_set_bytes().value()),
                    HumanSize(s.writable_layer().used_bytes().value()),
                    std::to_string(s.writable_layer().inodes_used().value())});
  }
  PrintTable(rows);
  return 0;
}

int CriPodStats(const CriCommands::Options& o, StatsArgs a) {
  if (!a.positional.empty()) a.id = a.positional;
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  auto labels = LabelMap(a.labels);
  if (!labels) return CriFail(labels.error());
  v1::ListPodSandboxStatsRequest req;
  req.mutable_filter()->set_id(a.id);
  for (auto& [k, v] : *labels) (*req.mutable_filter()->mutable_label_selector())[k] = v;
  auto first = c->ListPodSandboxStats(req);
  if (!first) return CriFail(first.error());
  if (a.output != "table") {
    PrintDocument(ToJson(*first), a.output);
    return 0;
  }
  std::map<std::string, v1::CpuUsage> before;
  for (auto& s : first->stats()) before[s.attributes().id()] = s.linux().cpu();
  Pause(a.seconds);
  auto now = c->ListPodSandboxStats(req);
  if (!now) return CriFail(now.error());
  std::vector<std::vector<std::string>> rows{{"POD", "POD ID", "CPU %", "MEM", "CONTAINERS"}};
  for (auto& s : now->stats()) {
    auto it = before.find(s.attributes().id());
    rows.push_back({s.attributes().metadata().name(), ShortId(s.attributes().id(), a.no_trunc),
                    CpuPercent(it == before.end() ? nullptr : &it->second, s.linux().cpu()),
                    HumanSize(s.linux().memory().working_set_bytes().value()),
                    std::to_string(s.linux().containers_size())});
  }
  PrintTable(rows);
  return 0;
}

int CriImageFsInfo(const CriCommands::Options& o, const std::string& output) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  auto resp = c->ImageFsInfo({});
  if (!resp) return CriFail(resp.error());
  if (output != "table") {
    PrintDocument({{"status", ToJson(*resp)}}, output);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"FILESYSTEM", "MOUNTPOINT", "USED", "INODES"}};
  auto add = [&rows](const char* kind, const v1::FilesystemUsage& u) {
    rows.push_back({kind, u.fs_id().mountpoint(), HumanSize(u.used_bytes().value()),
                    std::to_string(u.inodes_used().value())});
  };
  for (auto& u : resp->image_filesystems()) add("image", u);
  for (auto& u : resp->container_filesystems()) add("container", u);
  PrintTable(rows);
  return 0;
}

int CriUpdate(const CriCommands::Options& o, const UpdateArgs& a) {
  v1::UpdateContainerResourcesRequest req;
  auto* r = req.mutable_linux();
  r->set_memory_limit_in_bytes(a.memory);
  r->set_cpu_quota(a.cpu_quota);
  r->set_cpu_period(a.cpu_period);
  r->set_cpu_shares(a.cpu_shares);
  r->set_cpuset_cpus(a.cpuset_cpus);
  r->set_cpuset_mems(a.cpuset_mems);
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  int rc = 0;
  for (auto& id : a.ids) {
    req.set_container_id(id);
    auto resp = c->UpdateContainerResources(req);
    if (resp) {
      printf("%s\n", id.c_str());
      continue;
    }
    rc = CriFail(resp.error());
    if (resp.error().IsUnimplemented()) {
      fprintf(stderr,
              "berthctl: update: the runtime on %s does not implement UpdateContainerResources: "
              "%s's resources were not changed\n",
              c->endpoint().c_str(), id.c_str());
      return 1;  // the same answer for every other id
    }
  }
  return rc;
}

}  // namespace berth::cli
