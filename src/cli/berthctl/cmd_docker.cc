// The docker-style commands beside run (cmd_docker_run.cc): rm of run's containers, the
// lookup of a container by id, prefix or name across k8s.io and berthctl's namespace (logs,
// stop, rm), and `namespaces`.
#include <unistd.h>

#include <cstdio>

#include "cli/berthctl/commands.h"
#include "cli/berthctl/cri_util.h"

namespace berth::cli {

Result<CriCommands::Options> CriCommands::DockerOptions() {
  BERTH_TRYV(ResolveOptions(opts_, given_));
  Options o = opts_;
  if (o.ns.empty()) o.ns = kOwnNamespace;
  return o;
}

namespace {

// ref in the namespace of `o`: as an id or a prefix (ContainerStatus), else as run's --name.
Result<v1::ContainerStatus> FindIn(const CriCommands::Options& o, const std::string& ref) {
  auto c = BERTH_TRY(CriConnect(o));
  v1::ContainerStatusRequest req;
  req.set_container_id(ref);
  auto s = c.ContainerStatus(req);
  if (s) return s->status();
  if (!s.error().IsNotFound()) return std::unexpected(s.error());
  v1::ListContainersRequest list;
  (*list.mutable_filter()->mutable_label_selector())[kRunNameLabel] = ref;
  auto named = c.ListContainers(list);
  if (!named || named->containers().empty()) return std::unexpected(s.error());
  req.set_container_id(named->containers(0).id());
  auto by_name = BERTH_TRY(c.ContainerStatus(req));
  return by_name.status();
}

}  // namespace

Result<ContainerRef> FindContainerRef(const CriCommands::Options& o, const std::string& ref) {
  auto found = FindIn(o, ref);
  if (found) return ContainerRef{o, std::move(*found)};
  // A namespace chosen (-n, BERTH_NAMESPACE) is the only one looked in.
  if (!o.ns.empty() || !found.error().IsNotFound()) return std::unexpected(found.error());
  CriCommands::Options own = o;
  own.ns = kOwnNamespace;
  auto there = FindIn(own, ref);
  if (there) return ContainerRef{own, std::move(*there)};
  Error e = found.error();
  if (there.error().IsNotFound()) e.detail += ", nor in namespace " + own.ns + " (run's)";
  return std::unexpected(e);
}

int DockerRm(const CriCommands::Options& o, const RmArgs& a) {
  if (!a.runtime.empty())
    return CriFail(InvalidArgument("rm", "--runtime",
                                   "names the OCI runtime of a container of `run --local`: "
                                   "use it with rm --local")
                       .error());
  int rc = 0;
  for (auto& ref : a.ids) {
    auto found = FindContainerRef(o, ref);
    if (!found) {
      rc = CriFail(found.error().Wrap("rm"));
      continue;
    }
    const v1::ContainerStatus& s = found->status;
    if (s.state() == v1::CONTAINER_RUNNING && !a.force) {
      rc = CriFail(FailedPrecondition("rm", ref,
                                      "the container is running: stop it first (berthctl stop " +
                                          ref + ") or rm -f it")
                       .error());
      continue;
    }
    auto c = CriConnect(found->opts);
    if (!c) return CriFail(c.error());
    Result<void> r;
    auto label = s.labels().find(kRunLabel);
    if (label != s.labels().end() && label->second == "run") {
      // run's pair: the pod goes, and the container with it.
      v1::ListContainersRequest list;
      list.mutable_filter()->set_id(s.id());
      auto listed = c->ListContainers(list);
      if (!listed) r = std::unexpected(listed.error());
      else if (listed->containers().empty()) r = Result<void>{};
      else r = RemoveRunPod(*c, listed->containers(0).pod_sandbox_id(), s.log_path());
    } else {
      // Another container of the namespace: only it (its pod is the CRI user's).
      if (a.force) {
        v1::StopContainerRequest stop;
        stop.set_container_id(s.id());
        if (auto st = c->StopContainer(stop); !st) r = std::unexpected(st.error());
      }
      if (r) {
        v1::RemoveContainerRequest req;
        req.set_container_id(s.id());
        if (auto rm = c->RemoveContainer(req); !rm) r = std::unexpected(rm.error());
      }
    }
    if (!r) {
      rc = CriFail(r.error().Wrap("rm " + ref));
      continue;
    }
    printf("%s\n", ref.c_str());
  }
  return rc;
}

int CriNamespaces(const CriCommands::Options& o, const std::string& output) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  v1::StatusRequest req;
  req.set_verbose(true);
  auto s = c->Status(req);
  if (!s) return CriFail(s.error());
  auto info = InfoJson(s->info());
  auto it = info.find("namespaces");
  if (it == info.end() || !it->is_array())
    return CriFail(FailedPrecondition("namespaces", "on " + c->endpoint(),
                                      "the runtime there does not list namespaces (Status "
                                      "info.namespaces): only berthd has them")
                       .error());
  if (output != "table") {
    PrintDocument({{"namespaces", *it}}, output);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"NAMESPACE", "PODS", "CONTAINERS"}};
  for (auto& n : *it)
    rows.push_back({n.value("name", ""), std::to_string(n.value("pods", 0)),
                    std::to_string(n.value("containers", 0))});
  PrintTable(rows);
  return 0;
}

}  // namespace berth::cli
