// CRI commands that only look: version, info, pods, ps, inspectc, inspectp, img ls,
// img inspect / inspecti; and the JSON helpers of cri_util.h.
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "cli/berthctl/commands.h"
#include "cli/berthctl/cri_util.h"

namespace berth::cli {

nlohmann::json ToJson(const google::protobuf::Message& msg) {
  std::string text;
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;
  auto st = google::protobuf::util::MessageToJsonString(msg, &text, opts);
  if (!st.ok()) return nlohmann::json{{"error", std::string(st.message())}};
  return nlohmann::json::parse(text, nullptr, false);
}

nlohmann::json InfoJson(const google::protobuf::Map<std::string, std::string>& info) {
  nlohmann::json j = nlohmann::json::object();
  for (auto& [k, v] : info) {
    auto parsed = nlohmann::json::parse(v, nullptr, false);
    j[k] = parsed.is_discarded() ? nlohmann::json(v) : parsed;
  }
  return j;
}

std::string ContainerStateName(v1::ContainerState s) {
  switch (s) {
    case v1::CONTAINER_CREATED: return "Created";
    case v1::CONTAINER_RUNNING: return "Running";
    case v1::CONTAINER_EXITED: return "Exited";
    default: return "Unknown";
  }
}

std::string PodStateName(v1::PodSandboxState s) {
  return s == v1::SANDBOX_READY ? "Ready" : "NotReady";
}

std::string Ago(int64_t unix_nanos) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  int64_t s = std::max<int64_t>(0, now - unix_nanos / 1000000000);
  auto unit = [](int64_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s") + " ago";
  };
  if (s < 60) return unit(s, "second");
  if (s < 3600) return unit(s / 60, "minute");
  if (s < 86400) return unit(s / 3600, "hour");
  return unit(s / 86400, "day");
}

std::string ShortId(const std::string& id, bool no_trunc) {
  std::string_view v = id;
  if (v.starts_with("sha256:")) v.remove_prefix(7);
  return std::string(no_trunc ? v : v.substr(0, 13));
}

int CriVersion(const CriCommands::Options& o) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  v1::VersionRequest req;
  req.set_version("v1");
  auto v = c->Version(req);
  if (!v) return CriFail(v.error());
  printf("Version:  %s\nRuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  %s\n",
         v->version().c_str(), v->runtime_name().c_str(), v->runtime_version().c_str(),
         v->runtime_api_version().c_str());
  return 0;
}

int CriInfo(const CriCommands::Options& o) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  v1::StatusRequest req;
  req.set_verbose(true);
  auto s = c->Status(req);
  if (!s) return CriFail(s.error());
  // crictl's layout: the conditions under "status", the runtime's info keys beside them.
  nlohmann::json j = InfoJson(s->info());
  j["status"] = ToJson(s->status());
  if (s->runtime_handlers_size() > 0) j["runtimeHandlers"] = ToJson(*s)["runtimeHandlers"];
  PrintJson(j);
  return 0;
}

int CriPods(const CriCommands::Options& o, const CriListArgs& a) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  v1::ListPodSandboxRequest req;
  if (!a.pod.empty()) req.mutable_filter()->set_id(a.pod);
  if (!a.state.empty())
    req.mutable_filter()->mutable_state()->set_state(
        a.state == "ready" ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY);
  auto resp = c->ListPodSandbox(req);
  if (!resp) return CriFail(resp.error());
  std::vector<const v1::PodSandbox*> pods;
  for (auto& p : resp->items())
    if (a.name.empty() || p.metadata().name().find(a.name) != std::string::npos)
      pods.push_back(&p);
  std::sort(pods.begin(), pods.end(),
            [](auto* x, auto* y) { return x->created_at() > y->created_at(); });
  if (a.quiet) {
    for (auto* p : pods) printf("%s\n", p->id().c_str());
  } else if (a.output != "table") {
    nlohmann::json items = nlohmann::json::array();
    for (auto* p : pods) items.push_back(ToJson(*p));
    PrintDocument({{"items", items}}, a.output);
  } else {
    std::vector<std::vector<std::string>> rows{
        {"POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"}};
    for (auto* p : pods)
      rows.push_back({ShortId(p->id(), a.no_trunc), Ago(p->created_at()),
                      PodStateName(p->state()), p->metadata().name(), p->metadata().namespace_(),
                      std::to_string(p->metadata().attempt()),
                      p->runtime_handler().empty() ? "(default)" : p->runtime_handler()});
    PrintTable(rows);
  }
  return 0;
}

int CriPs(const CriCommands::Options& o, const CriListArgs& a) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  v1::ListContainersRequest req;
  auto* f = req.mutable_filter();
  if (!a.pod.empty()) f->set_pod_sandbox_id(a.pod);
  static const std::map<std::string, v1::ContainerState> kStates{
      {"created", v1::CONTAINER_CREATED}, {"running", v1::CONTAINER_RUNNING},
      {"exited", v1::CONTAINER_EXITED}, {"unknown", v1::CONTAINER_UNKNOWN}};
  std::string state = a.state;
  std::transform(state.begin(), state.end(), state.begin(), ::tolower);
  if (!state.empty())
    f->mutable_state()->set_state(kStates.at(state));
  else if (!a.all)
    f->mutable_state()->set_state(v1::CONTAINER_RUNNING);
  auto resp = c->ListContainers(req);
  if (!resp) return CriFail(resp.error());
  std::vector<const v1::Container*> ctrs;
  for (auto& x : resp->containers())
    if (a.name.empty() || x.metadata().name().find(a.name) != std::string::npos)
      ctrs.push_back(&x);
  std::sort(ctrs.begin(), ctrs.end(),
            [](auto* x, auto* y) { return x->created_at() > y->created_at(); });
  if (a.quiet) {
    for (auto* x : ctrs) printf("%s\n", x->id().c_str());
    return 0;
  }
  if (a.output != "table") {
    nlohmann::json items = nlohmann::json::array();
    for (auto* x : ctrs) items.push_back(ToJson(*x));
    PrintDocument({{"containers", items}}, a.output);
    return 0;
  }
  // The POD column needs the pods' names: one more call.
  std::map<std::string, std::string> pod_names;
  if (auto pods = c->ListPodSandbox({}); pods)
    for (auto& p : pods->items()) pod_names[p.id()] = p.metadata().name();
  std::vector<std::vector<std::string>> rows{
      {"CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD"}};
  for (auto* x : ctrs)
    rows.push_back({ShortId(x->id(), a.no_trunc), ShortId(x->image_ref(), a.no_trunc),
                    Ago(x->created_at()), ContainerStateName(x->state()), x->metadata().name(),
                    std::to_string(x->metadata().attempt()),
                    ShortId(x->pod_sandbox_id(), a.no_trunc), pod_names[x->pod_sandbox_id()]});
  PrintTable(rows);
  return 0;
}

namespace {

// Prints one JSON document for one id, an array for several (as crictl).
template <class F>
int InspectEach(const CriCommands::Options& o, const std::vector<std::string>& ids,
                const std::string& format, F get) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  int rc = 0;
  nlohmann::json all = nlohmann::json::array();
  for (auto& id : ids) {
    auto j = get(*c, id);
    if (!j) {
      rc = CriFail(j.error());
      continue;
    }
    all.push_back(std::move(*j));
  }
  if (all.size() == 1) PrintDocument(all[0], format);
  else if (!all.empty()) PrintDocument(all, format);
  return rc;
}

}  // namespace

int CriInspect(const CriCommands::Options& o, const std::vector<std::string>& ids,
               const std::string& format) {
  return InspectEach(o, ids, format, [](cri::Client& c, const std::string& id) -> Result<nlohmann::json> {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    req.set_verbose(true);
    auto s = BERTH_TRY(c.ContainerStatus(req));
    return nlohmann::json{{"status", ToJson(s.status())}, {"info", InfoJson(s.info())}};
  });
}

int CriInspectPod(const CriCommands::Options& o, const std::vector<std::string>& ids,
                  const std::string& format) {
  return InspectEach(o, ids, format, [](cri::Client& c, const std::string& id) -> Result<nlohmann::json> {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    req.set_verbose(true);
    auto s = BERTH_TRY(c.PodSandboxStatus(req));
    return nlohmann::json{{"status", ToJson(s.status())}, {"info", InfoJson(s.info())}};
  });
}

int CriInspectImage(const CriCommands::Options& o, const std::vector<std::string>& refs,
                    const std::string& format) {
  return InspectEach(o, refs, format, [](cri::Client& c, const std::string& ref) -> Result<nlohmann::json> {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(ref);
    req.set_verbose(true);
    auto s = BERTH_TRY(c.ImageStatus(req));
    if (!s.has_image()) return NotFound("img inspect", ref, "no such image in the runtime");
    return nlohmann::json{{"status", ToJson(s.image())}, {"info", InfoJson(s.info())}};
  });
}

int CriImages(const CriCommands::Options& o, const CriListArgs& a) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  auto resp = c->ListImages({});
  if (!resp) return CriFail(resp.error());
  if (a.quiet) {
    for (auto& i : resp->images()) printf("%s\n", i.id().c_str());
    return 0;
  }
  if (a.output != "table") {
    PrintDocument(ToJson(*resp), a.output);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"IMAGE", "TAG", "IMAGE ID", "SIZE"}};
  for (auto& i : resp->images()) {
    auto split = [](const std::string& ref, char sep) {
      size_t slash = ref.rfind('/');
      size_t at = ref.rfind(sep);
      if (at == std::string::npos || (slash != std::string::npos && at < slash))
        return std::pair<std::string, std::string>{ref, "<none>"};
      return std::pair<std::string, std::string>{ref.substr(0, at), ref.substr(at + 1)};
    };
    std::string size = std::to_string(i.size() / 1024) + "kB";
    if (i.size() >= 1024 * 1024) size = std::to_string(i.size() / (1024 * 1024)) + "MB";
    if (i.repo_tags().empty()) {
      auto [repo, _] = split(i.repo_digests().empty() ? "<none>" : i.repo_digests(0), '@');
      rows.push_back({repo, "<none>", ShortId(i.id(), a.no_trunc), size});
    }
    for (auto& t : i.repo_tags()) {
      auto [repo, tag] = split(t, ':');
      rows.push_back({repo, tag, ShortId(i.id(), a.no_trunc), size});
    }
  }
  PrintTable(rows);
  return 0;
}

}  // namespace berth::cli
