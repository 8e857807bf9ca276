// CreateContainer: image → snapshot + bundle (image/assembly.h), CRI config → config.json
// (container_spec.h), then the pod's shim creates it with the runtime.
#include <thread>

#include "base/fault.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "daemon/undo.h"
#include "image/assembly.h"
#include "spec/default_spec.h"
#include "spec/parse.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace berth::daemon {

namespace {

std::string ContainerName(const v1::ContainerMetadata& c, const v1::PodSandboxMetadata& p) {
  return c.name() + "_" + p.name() + "_" + p.namespace_() + "_" + p.uid() + "_" +
         std::to_string(c.attempt());
}

}  // namespace

Result<v1::CreateContainerResponse> Daemon::CreateContainer(const std::string& ns,
                                                            const v1::CreateContainerRequest& req) {
  const v1::ContainerConfig& cfg = req.config();
  if (cfg.metadata().name().empty())
    return InvalidArgument("create container", "config.metadata.name", "empty");
  if (cfg.image().image().empty())
    return InvalidArgument("create container", "config.image.image", "empty");
  auto pod = BERTH_TRY(FindPod(ns, req.pod_sandbox_id()));
  std::lock_guard pod_op(pod->op_mu);
  if (pod->rec.state != "ready")
    return FailedPrecondition("create container", pod->rec.id, "the pod sandbox is not ready");

  std::string name = ContainerName(cfg.metadata(), pod->config.metadata());
  std::string digest = DigestOf(req);
  NameRegistry* names;
  {
    std::lock_guard lock(mu_);
    names = &Ns(ns).container_names;
  }
  auto claim = BERTH_TRY(names->Reserve(name, digest, "container", kRetryJoinWait));
  v1::CreateContainerResponse resp;
  if (!claim.owner) {
    log::Info("CreateContainer " + name + ": the same request again, answered with " + claim.id);
    resp.set_container_id(claim.id);
    return resp;
  }

  auto image = image::ResolveImage(*images_, cfg.image().image(), image::HostPlatform());
  if (!image) {
    names->Release(name);
    Error e = image.error();
    e.Wrap("create container " + cfg.metadata().name() + ": image " + cfg.image().image());
    if (e.IsNotFound()) e.detail += " (pull it first)";
    return std::unexpected(e);
  }

  auto c = std::make_shared<Container>();
  c->pod = pod;
  c->config = cfg;
  ContainerRecord& rec = c->rec;
  rec.id = NewId();
  rec.ns = ns;
  rec.pod_id = pod->rec.id;
  rec.name = name;
  rec.digest = digest;
  rec.state = "creating";
  rec.created_at = NowNs();
  rec.config_json = MessageToJson(cfg);
  rec.image_ref = cfg.image().image();
  rec.image_name = image->record.name;
  rec.image_id = image->config_desc.digest;
  const std::string& log_dir = pod->config.log_directory();
  if (!log_dir.empty() && !cfg.log_path().empty()) rec.log_path = log_dir + "/" + cfg.log_path();
  if (!image->config.stop_signal.empty()) {
    if (auto sig = sys::ParseSignal(image->config.stop_signal)) rec.stop_signal = *sig;
  }
  std::string bundles = config_.state + "/bundles/" + ns;
  rec.bundle = bundles + "/" + rec.id;

  bool assembled = false, in_shim = false;
  auto fail = [&](Error e) -> Result<v1::CreateContainerResponse> {
    if (in_shim) {
      // A shim that died in the create may have made and recorded the container: the one
      // the watcher starts again (within a second or two) would run it unclaimed. Deleted
      // through whichever shim answers; the shim's NOT_FOUND is done.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      for (;;) {
        if (auto shim = Shim(*pod)) {
          if (auto r = ForceDeleteInShim(*shim, rec.id, config_.runtime_timeout + std::chrono::seconds(5)); !r)
            log::Warn("create container " + rec.id + ": undo: " + r.error().Message());
          break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
          log::Warn("create container " + rec.id + ": undo: no shim of pod " + pod->rec.id +
                    " answers: the container is left to berthd's next start");
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    if (assembled) {
      if (auto r = image::RemoveAssembled(*images_, bundles, rec.id); !r)
        log::Warn("create container " + rec.id + ": undo: " + r.error().Message());
    }
    (void)meta_.RemoveContainer(ns, rec.id);
    names->Release(name);
    return std::unexpected(e.Wrap("create container " + cfg.metadata().name()));
  };

  fault::Reach("ctr.record.creating.before");
  if (auto r = meta_.Save(rec); !r) return fail(r.error());
  fault::Reach("ctr.record.creating.after");
  image::AssembleOptions ao;
  ao.bundles_dir = bundles;
  ao.limits = config_.limits;
  fault::Reach("ctr.snapshot.before");
  auto a = image::AssembleContainer(*images_, *image, rec.id, ao);
  fault::Reach("ctr.snapshot.after");
  if (!a) return fail(a.error());
  assembled = true;

  auto base = spec::ParseSpec(spec::DefaultSpecJson(false), "berth's default spec");
  if (!base) return fail(base.error());
  SandboxInputs pin;
  pin.id = pod->rec.id;
  pin.net_ns_path = pod->rec.net_ns;
  pin.ipc_ns_path = pod->rec.ipc_ns;
  pin.uts_ns_path = pod->rec.uts_ns;
  pin.pid_ns_path = pod->rec.pid_ns;
  pin.cgroup_parent = pod->rec.cgroup_parent;
  pin.resolv_conf_path = pod->pod_dir + "/resolv.conf";
  pin.hostname_path = pod->pod_dir + "/hostname";
  pin.hosts_path = pod->pod_dir + "/hosts";
  if (!pod->rec.ipc_ns.empty()) pin.shm_path = pod->pod_dir + "/shm";
  pin.hostname = pod->config.hostname();
  ContainerInputs cin;
  cin.id = rec.id;
  cin.rootfs = a->rootfs;
  std::string parent = pod->rec.cgroup_parent.empty() ? "/berth/" + ns : pod->rec.cgroup_parent;
  cin.cgroups_path = parent + "/" + rec.id;
  rec.cgroups_path = cin.cgroups_path;
  auto target = cfg.linux().security_context().namespace_options().target_id();
  if (cfg.linux().security_context().namespace_options().pid() == v1::TARGET) {
    auto t = FindContainer(ns, target);
    if (!t) return fail(t.error().Wrap("namespace_options.target_id"));
    std::lock_guard tl((*t)->mu);
    // Running, not merely created (its init waits for start) or exited (its pid may be
    // another process's by now): the namespace joined must be the target's own.
    if ((*t)->status.status != "running" || (*t)->status.pid <= 0)
      return fail(FailedPrecondition("namespace_options.target_id", target,
                                     "the target container is not running (" +
                                         (*t)->status.status + ")").error());
    cin.target_pid_ns_path = "/proc/" + std::to_string((*t)->status.pid) + "/ns/pid";
  }
  auto spec = BuildContainerSpec(*base, cfg, pod->config, image->config, pin, cin, host_);
  if (!spec) return fail(spec.error());
  if (auto r = sys::WriteFileAtomic(rec.bundle + "/config.json", spec::ToJson(*spec), 0600); !r)
    return fail(r.error());

  auto shim = Shim(*pod);
  if (!shim) return fail(shim.error());
  shim::CreateRequest cr;
  cr.id = rec.id;
  cr.bundle = rec.bundle;
  cr.log_path = rec.log_path;
  cr.tty = cfg.tty();
  cr.stdin = cfg.stdin();
  cr.stdin_once = cfg.stdin_once();
  in_shim = true;
  fault::Reach("ctr.shim.create.before");
  auto st = shim->Create(cr);
  fault::Reach("ctr.shim.create.after");
  if (!st) return fail(st.error());
  rec.state = "created";
  fault::Reach("ctr.record.created.before");
  if (auto r = meta_.Save(rec); !r) return fail(r.error());
  fault::Reach("ctr.record.created.after");
  c->status = *st;
  {
    std::lock_guard lock(mu_);
    Ns(ns).containers[rec.id] = c;
  }
  names->Commit(name, rec.id);
  PublishContainerEvent(*c, v1::CONTAINER_CREATED_EVENT);
  log::Info("CreateContainer " + name + " = " + rec.id);
  resp.set_container_id(rec.id);
  return resp;
}

}  // namespace berth::daemon
