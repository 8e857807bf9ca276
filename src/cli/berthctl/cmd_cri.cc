// CRI commands that change things: runp, stopp, rmp, create, start, stop, rmc, exec, and the
// image pulls and removals under `img`; plus the registration of the CRI commands (the
// monitoring ones are in cmd_cri_monitor.cc).
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/berthctl/commands.h"
#include "cli/berthctl/cri_util.h"

namespace berth::cli {

Result<void> LoadJsonFile(const std::string& path, google::protobuf::Message* msg) {
  std::ifstream in(path);
  if (!in) return Errno("open", path);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Errno("read", path);
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(text.str(), msg, opts);
  if (!st.ok())
    return InvalidArgument("parse", path,
                       "not a valid " + msg->GetTypeName() + " in JSON: " +
                           std::string(st.message()));
  return {};
}

namespace {

int CriRunPod(const CriCommands::Options& o, const std::string& path, const std::string& handler) {
  v1::RunPodSandboxRequest req;
  if (auto r = LoadJsonFile(path, req.mutable_config()); !r) return CriFail(r.error().Wrap("runp"));
  req.set_runtime_handler(handler);
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  auto resp = c->RunPodSandbox(req);
  if (!resp) return CriFail(resp.error());
  printf("%s\n", resp->pod_sandbox_id().c_str());
  return 0;
}

// Runs `op` on each id; goes on after a failure (as crictl) and fails if any did.
template <class F>
int ForEachId(const CriCommands::Options& o, const std::vector<std::string>& ids, F op) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  int rc = 0;
  for (auto& id : ids) {
    if (auto r = op(*c, id); !r) rc = CriFail(r.error());
  }
  return rc;
}

int CriStopPods(const CriCommands::Options& o, const std::vector<std::string>& ids) {
  return ForEachId(o, ids, [](cri::Client& c, const std::string& id) -> Result<void> {
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    BERTH_TRYV(c.StopPodSandbox(req));
    printf("Stopped sandbox %s\n", id.c_str());
    return {};
  });
}

int CriRemovePods(const CriCommands::Options& o, const std::vector<std::string>& ids,
                  bool force) {
  return ForEachId(o, ids, [force](cri::Client& c, const std::string& id) -> Result<void> {
    if (force) {  // RemovePodSandbox kills what runs; StopPodSandbox first also frees the network
      v1::StopPodSandboxRequest stop;
      stop.set_pod_sandbox_id(id);
      BERTH_TRYV(c.StopPodSandbox(stop));
    }
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    BERTH_TRYV(c.RemovePodSandbox(req));
    printf("Removed sandbox %s\n", id.c_str());
    return {};
  });
}

int CriCreate(const CriCommands::Options& o, const std::string& pod, const std::string& ctr_json,
              const std::string& pod_json) {
  v1::CreateContainerRequest req;
  req.set_pod_sandbox_id(pod);
  if (auto r = LoadJsonFile(ctr_json, req.mutable_config()); !r)
    return CriFail(r.error().Wrap("create"));
  if (auto r = LoadJsonFile(pod_json, req.mutable_sandbox_config()); !r)
    return CriFail(r.error().Wrap("create"));
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  auto resp = c->CreateContainer(req);
  if (!resp) return CriFail(resp.error());
  printf("%s\n", resp->container_id().c_str());
  return 0;
}

int CriStart(const CriCommands::Options& o, const std::vector<std::string>& ids) {
  return ForEachId(o, ids, [](cri::Client& c, const std::string& id) -> Result<void> {
    v1::StartContainerRequest req;
    req.set_container_id(id);
    BERTH_TRYV(c.StartContainer(req));
    printf("%s\n", id.c_str());
    return {};
  });
}

// Each container in the namespace that has it (FindContainerRef: run's by name too).
int CriStop(const CriCommands::Options& o, const std::vector<std::string>& ids, int64_t grace) {
  int rc = 0;
  for (auto& id : ids) {
    auto r = [&]() -> Result<void> {
      v1::StopContainerRequest req;
      req.set_container_id(id);
      req.set_timeout(grace);
      auto c = BERTH_TRY(CriConnect(o));
      auto stopped = c.StopContainer(req);
      if (!stopped && stopped.error().IsNotFound()) {
        // Not an id of this namespace: a name of run's, or one of the berthctl namespace.
        auto ref = FindContainerRef(o, id);
        if (!ref) {
          if (!ref.error().IsNotFound()) return std::unexpected(ref.error());
          Error e = stopped.error();
          if (o.ns.empty()) e.detail += " (nor in namespace " + std::string(kOwnNamespace) + ")";
          return std::unexpected(e);
        }
        c = BERTH_TRY(CriConnect(ref->opts));
        req.set_container_id(ref->status.id());
        stopped = c.StopContainer(req);
      }
      if (!stopped) return std::unexpected(stopped.error());
      printf("%s\n", id.c_str());
      return {};
    }();
    if (!r) rc = CriFail(r.error());
  }
  return rc;
}

int CriRemove(const CriCommands::Options& o, const std::vector<std::string>& ids, bool force) {
  return ForEachId(o, ids, [force](cri::Client& c, const std::string& id) -> Result<void> {
    if (force) {
      v1::StopContainerRequest stop;
      stop.set_container_id(id);
      BERTH_TRYV(c.StopContainer(stop));
    }
    v1::RemoveContainerRequest req;
    req.set_container_id(id);
    BERTH_TRYV(c.RemoveContainer(req));
    printf("%s\n", id.c_str());
    return {};
  });
}

struct ExecArgs {
  bool sync = false, interactive = false, tty = false;
  int64_t timeout = 0;
  std::string transport, ca;
  std::vector<std::string> words;  // CONTAINER COMMAND [ARG...]
};

int CriExec(const CriCommands::Options& o, ExecArgs a) {
  if (!a.words.empty() && a.words.front() == "--") a.words.erase(a.words.begin());
  if (a.words.size() < 2) {
    fprintf(stderr, "berthctl: exec: a container id and a command are required\n");
    return 1;
  }
  // As crictl: streaming (Exec) unless -s or --timeout ask for ExecSync.
  if (!a.sync && a.timeout == 0)
    return CriExecStream(o, a.words, a.interactive, a.tty, a.transport, a.ca);
  if (a.interactive || a.tty)
    return CriFail(Error{0, "exec", a.words[0],
                      "-i/-t need the streaming exec (Exec): drop -s/--timeout", {}});
  v1::ExecSyncRequest req;
  req.set_container_id(a.words[0]);
  for (size_t i = 1; i < a.words.size(); i++) req.add_cmd(a.words[i]);
  req.set_timeout(a.timeout);
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  auto resp = c->ExecSync(req);
  if (!resp) return CriFail(resp.error());
  fwrite(resp->stdout().data(), 1, resp->stdout().size(), stdout);
  fflush(stdout);
  fwrite(resp->stderr().data(), 1, resp->stderr().size(), stderr);
  return resp->exit_code();
}

int CriPull(const CriCommands::Options& o, const std::string& ref, const std::string& auth) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image(ref);
  if (!auth.empty()) {
    size_t colon = auth.find(':');
    if (colon == std::string::npos)
      return CriFail(Error{0, "--creds", "", "expected USER:PASS", {}});
    req.mutable_auth()->set_username(auth.substr(0, colon));
    req.mutable_auth()->set_password(auth.substr(colon + 1));
  }
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  auto resp = c->PullImage(req);
  if (!resp) return CriFail(resp.error());
  printf("Image is up to date for %s\n", resp->image_ref().c_str());
  return 0;
}

int CriRemoveImages(const CriCommands::Options& o, const std::vector<std::string>& refs) {
  return ForEachId(o, refs, [](cri::Client& c, const std::string& ref) -> Result<void> {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image(ref);
    BERTH_TRYV(c.RemoveImage(req));
    printf("Deleted: %s\n", ref.c_str());
    return {};
  });
}

}  // namespace

void CriCommands::Register(CLI::App& app) {
  given_.endpoint = app.add_option(
      "-r,--runtime-endpoint", opts_.endpoint,
      "CRI endpoint of the CRI commands (env CONTAINER_RUNTIME_ENDPOINT, runtime-endpoint in "
      "crictl.yaml; default " + std::string(cri::kDefaultEndpoint) + ")");
  given_.image_endpoint = app.add_option(
      "--image-endpoint", opts_.image_endpoint,
      "CRI endpoint of the ImageService (env IMAGE_SERVICE_ENDPOINT, image-endpoint in "
      "crictl.yaml; default: the runtime endpoint)");
  given_.timeout = app.add_option("--timeout", opts_.timeout_s,
                                  "seconds each CRI call may take (timeout in crictl.yaml)")
                       ->capture_default_str();
  given_.ns = app.add_option("-n,--namespace", opts_.ns,
                             "berthd namespace of the CRI commands (env BERTH_NAMESPACE; "
                             "default: berthd's k8s.io, kubelet's)");
  given_.crictl_config = app.add_option(
      "--crictl-config", opts_.crictl_config,
      "crictl's config file (env CRI_CONFIG_FILE; default /etc/crictl.yaml, may be missing)");
  given_.debug = app.add_flag("-D,--debug", opts_.debug,
                              "log each CRI call to stderr (debug in crictl.yaml)");
  const std::string group = "CRI (against --runtime-endpoint)";
  auto add = [&](const char* name, const char* help) {
    auto* sub = app.add_subcommand(name, help);
    sub->group(group);
    return sub;
  };
  Options& o = opts_;

  auto* version = add("version", "show the CRI runtime's name and versions");
  commands_.emplace_back(version, [&o] { return CriVersion(o); });

  auto* info = add("info", "show the CRI runtime's status and configuration (Status) as JSON");
  commands_.emplace_back(info, [&o] { return CriInfo(o); });

  auto runp = std::make_shared<std::pair<std::string, std::string>>();
  auto* c_runp = add("runp", "run a pod sandbox from a PodSandboxConfig JSON file");
  c_runp->add_option("--runtime", runp->second, "runtime handler (default: the runtime's)");
  c_runp->add_option("POD.json", runp->first, "pod sandbox config")->required();
  commands_.emplace_back(c_runp, [&o, runp] { return CriRunPod(o, runp->first, runp->second); });

  auto stopp = std::make_shared<std::vector<std::string>>();
  auto* c_stopp = add("stopp", "stop pod sandboxes");
  c_stopp->add_option("POD-ID", *stopp, "pod sandbox ids")->required();
  commands_.emplace_back(c_stopp, [&o, stopp] { return CriStopPods(o, *stopp); });

  auto rmp = std::make_shared<std::pair<std::vector<std::string>, bool>>();
  auto* c_rmp = add("rmp", "remove pod sandboxes");
  c_rmp->add_flag("-f,--force", rmp->second, "stop them first");
  c_rmp->add_option("POD-ID", rmp->first, "pod sandbox ids")->required();
  commands_.emplace_back(c_rmp, [&o, rmp] { return CriRemovePods(o, rmp->first, rmp->second); });

  auto pods = std::make_shared<CriListArgs>();
  auto* c_pods = add("pods", "list pod sandboxes");
  c_pods->add_flag("-q,--quiet", pods->quiet, "ids only");
  c_pods->add_option("-o,--output,--format", pods->output, "table, json or yaml")
      ->check(CLI::IsMember(kListFormats));
  c_pods->add_option("--id", pods->pod, "only this pod sandbox id");
  c_pods->add_option("--name", pods->name, "only pods whose name contains this");
  c_pods->add_option("-s,--state", pods->state, "ready or notready")
      ->check(CLI::IsMember({"ready", "notready"}, CLI::ignore_case));
  c_pods->add_flag("--no-trunc", pods->no_trunc, "full ids");
  commands_.emplace_back(c_pods, [&o, pods] { return CriPods(o, *pods); });

  auto create = std::make_shared<std::array<std::string, 3>>();
  auto* c_create = add("create", "create a container in a pod sandbox");
  c_create->add_option("POD-ID", (*create)[0], "pod sandbox id")->required();
  c_create->add_option("CTR.json", (*create)[1], "ContainerConfig JSON file")->required();
  c_create->add_option("POD.json", (*create)[2], "the pod's PodSandboxConfig JSON file")
      ->required();
  commands_.emplace_back(c_create, [&o, create] {
    return CriCreate(o, (*create)[0], (*create)[1], (*create)[2]);
  });

  auto start = std::make_shared<std::vector<std::string>>();
  auto* c_start = add("start", "start created containers");
  c_start->add_option("CONTAINER-ID", *start, "container ids")->required();
  commands_.emplace_back(c_start, [&o, start] { return CriStart(o, *start); });

  auto stop = std::make_shared<std::pair<std::vector<std::string>, int64_t>>();
  stop->second = 0;
  auto* c_stop = add("stop", "stop running containers");
  c_stop->add_option("-t,--timeout", stop->second,
                     "seconds between the stop signal and SIGKILL")
      ->capture_default_str();
  c_stop->add_option("CONTAINER-ID", stop->first, "container ids")->required();
  commands_.emplace_back(c_stop, [&o, stop] { return CriStop(o, stop->first, stop->second); });

  auto rmc = std::make_shared<std::pair<std::vector<std::string>, bool>>();
  auto* c_rmc = add("rmc", "remove CRI containers (`rm` removes containers of `run`)");
  c_rmc->add_flag("-f,--force", rmc->second, "stop them first");
  c_rmc->add_option("CONTAINER-ID", rmc->first, "container ids")->required();
  commands_.emplace_back(c_rmc, [&o, rmc] { return CriRemove(o, rmc->first, rmc->second); });

  auto ps = std::make_shared<CriListArgs>();
  auto* c_ps = add("ps", "list CRI containers (running ones unless -a)");
  c_ps->add_flag("-a,--all", ps->all, "containers in every state");
  c_ps->add_flag("-q,--quiet", ps->quiet, "ids only");
  c_ps->add_option("-o,--output,--format", ps->output, "table, json or yaml")
      ->check(CLI::IsMember(kListFormats));
  c_ps->add_option("-p,--pod", ps->pod, "only containers of this pod sandbox");
  c_ps->add_option("--name", ps->name, "only containers whose name contains this");
  c_ps->add_option("-s,--state", ps->state, "created, running, exited or unknown")
      ->check(CLI::IsMember({"created", "running", "exited", "unknown"}, CLI::ignore_case));
  c_ps->add_flag("--no-trunc", ps->no_trunc, "full ids");
  commands_.emplace_back(c_ps, [&o, ps] { return CriPs(o, *ps); });

  using IdsFormat = std::pair<std::vector<std::string>, std::string>;
  auto inspectc = std::make_shared<IdsFormat>(std::vector<std::string>{}, "json");
  auto* c_inspectc = add("inspectc", "a CRI container's status as JSON (`inspect` is for images)");
  c_inspectc->add_option("-o,--output", inspectc->second, "json or yaml")
      ->check(CLI::IsMember({"json", "yaml"}));
  c_inspectc->add_option("CONTAINER-ID", inspectc->first, "container ids")->required();
  commands_.emplace_back(c_inspectc,
                         [&o, inspectc] { return CriInspect(o, inspectc->first, inspectc->second); });

  auto inspectp = std::make_shared<IdsFormat>(std::vector<std::string>{}, "json");
  auto* c_inspectp = add("inspectp", "a pod sandbox's status as JSON");
  c_inspectp->add_option("-o,--output", inspectp->second, "json or yaml")
      ->check(CLI::IsMember({"json", "yaml"}));
  c_inspectp->add_option("POD-ID", inspectp->first, "pod sandbox ids")->required();
  commands_.emplace_back(c_inspectp, [&o, inspectp] {
    return CriInspectPod(o, inspectp->first, inspectp->second);
  });

  RegisterStreamCommands(app, group, o, commands_);  // attach, port-forward
  auto exec = std::make_shared<ExecArgs>();
  auto* c_exec = add("exec", "run a command in a running CRI container and wait for it");
  c_exec->add_flag("-s,--sync", exec->sync, "through ExecSync, not the streaming server (Exec)");
  c_exec->add_flag("-i,--interactive", exec->interactive, "send stdin");
  c_exec->add_flag("-t,--tty", exec->tty, "allocate a terminal (raw mode here, resizes sent)");
  c_exec->add_option("--transport", exec->transport,
                     "websocket or spdy (default: websocket, spdy when the server refuses it)")
      ->check(CLI::IsMember({"websocket", "spdy"}));
  c_exec->add_option("--ca", exec->ca, kStreamCaHelp)->check(CLI::ExistingFile);
  c_exec->add_option("--timeout", exec->timeout,
                     "seconds the command may run (0: no limit; implies -s)");
  c_exec->prefix_command();
  c_exec->footer("Usage: berthctl exec [OPTIONS] CONTAINER-ID COMMAND [ARG...]");
  commands_.emplace_back(c_exec, [&o, exec, c_exec] {
    exec->words = c_exec->remaining();
    return CriExec(o, *exec);
  });

  // Images through the CRI ImageService; `images`/`pull`/`rmi`/`inspect` work on the local store.
  auto* c_img = add("img", "the CRI runtime's images: ls, pull, rm, inspect");
  c_img->require_subcommand(1);
  auto imgs = std::make_shared<CriListArgs>();
  auto* c_img_ls = c_img->add_subcommand("ls", "list the runtime's images");
  c_img_ls->add_flag("-q,--quiet", imgs->quiet, "ids only");
  c_img_ls->add_option("-o,--output,--format", imgs->output, "table, json or yaml")
      ->check(CLI::IsMember(kListFormats));
  c_img_ls->add_flag("--no-trunc", imgs->no_trunc, "full ids");
  commands_.emplace_back(c_img_ls, [&o, imgs] { return CriImages(o, *imgs); });
  auto pull = std::make_shared<std::pair<std::string, std::string>>();
  auto* c_img_pull = c_img->add_subcommand("pull", "have the runtime pull an image");
  c_img_pull->add_option("--creds", pull->second, "USER:PASS for the registry");
  c_img_pull->add_option("IMAGE", pull->first, "image reference")->required();
  commands_.emplace_back(c_img_pull, [&o, pull] { return CriPull(o, pull->first, pull->second); });
  auto img_rm = std::make_shared<std::vector<std::string>>();
  auto* c_img_rm = c_img->add_subcommand("rm", "have the runtime remove images");
  c_img_rm->add_option("IMAGE", *img_rm, "image references or ids")->required();
  commands_.emplace_back(c_img_rm, [&o, img_rm] { return CriRemoveImages(o, *img_rm); });
  auto img_inspect = std::make_shared<IdsFormat>(std::vector<std::string>{}, "json");
  auto* c_img_inspect = c_img->add_subcommand("inspect", "an image's status as JSON (as inspecti)");
  c_img_inspect->add_option("-o,--output", img_inspect->second, "json or yaml")
      ->check(CLI::IsMember({"json", "yaml"}));
  c_img_inspect->add_option("IMAGE", img_inspect->first, "image references or ids")->required();
  commands_.emplace_back(c_img_inspect, [&o, img_inspect] {
    return CriInspectImage(o, img_inspect->first, img_inspect->second);
  });

  auto nss = std::make_shared<std::string>("table");
  auto* c_ns = add("namespaces", "berthd's namespaces with their pod and container counts");
  c_ns->alias("ns");
  c_ns->add_option("-o,--output", *nss, "table, json or yaml")->check(CLI::IsMember(kListFormats));
  commands_.emplace_back(c_ns, [&o, nss] { return CriNamespaces(o, *nss); });

  RegisterMonitorCommands(app, group, o, commands_);
}

std::optional<int> CriCommands::Run() {
  for (auto& [sub, run] : commands_) {
    if (!sub->parsed()) continue;
    if (auto r = ResolveOptions(opts_, given_); !r) return CriFail(r.error());
    return run();
  }
  return std::nullopt;
}

}  // namespace berth::cli
