// Daemon: opening, lookups, handlers, Version/Status/UpdateRuntimeConfig, namespaces.
#include "daemon/daemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "base/log.h"
#include "oci/runtime_client.h"
#include "stream/server.h"
#include "sys/fs.h"

namespace berth::daemon {

namespace {

std::string SelfDir() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return ".";
  std::string p(self, size_t(n));
  return p.substr(0, p.rfind('/'));
}

bool FileIs(const std::string& path, std::string_view want) {
  auto t = sys::ReadFile(path);
  return t && t->starts_with(want);
}

HostFeatures ProbeHost() {
  HostFeatures h;
  h.apparmor = FileIs("/sys/module/apparmor/parameters/enabled", "Y");
  h.selinux = ::access("/sys/fs/selinux/enforce", F_OK) == 0;
  h.cgroup_v2 = ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  if (auto dirs = sys::ListSubdirs("/sys/kernel/mm/hugepages")) {
    for (const auto& d : *dirs) {  // hugepages-2048kB
      if (!d.starts_with("hugepages-") || !d.ends_with("kB")) continue;
      long kb = std::atol(d.c_str() + 10);
      h.hugepage_sizes.push_back(kb >= 1048576 ? std::to_string(kb / 1048576) + "GB"
                                 : kb >= 1024  ? std::to_string(kb / 1024) + "MB"
                                               : std::to_string(kb) + "KB");
    }
  }
  if (auto t = sys::ReadFile("/proc/self/oom_score_adj")) h.min_oom_score_adj = std::atoi(t->c_str());
  ProbeSpecFeatures(h);
  return h;
}

}  // namespace

Daemon::Daemon(Config config) : config_(std::move(config)), meta_(config_.root + "/meta") {}

Daemon::~Daemon() { Shutdown(); }

Result<std::unique_ptr<Daemon>> Daemon::Open(Config config) {
  auto d = std::unique_ptr<Daemon>(new Daemon(std::move(config)));
  BERTH_TRYV(sys::MkdirAll(d->config_.root, 0711));
  BERTH_TRYV(sys::MkdirAll(d->config_.state, 0711));
  // One berthd per root: a second one would recover (and undo) the first one's work.
  auto lock = sys::LockFile(d->config_.root + "/berthd.lock", LOCK_EX | LOCK_NB);
  if (!lock) {
    if (lock.error().code == EWOULDBLOCK)
      return FailedPrecondition("lock", d->config_.root + "/berthd.lock",
                                "another berthd uses this root");
    return std::unexpected(lock.error());
  }
  d->root_lock_ = std::move(*lock);
  auto store = image::Store::Open(d->config_.root + "/images");
  if (!store) return std::unexpected(store.error().Wrap("image store"));
  d->images_ = std::make_unique<image::Store>(std::move(*store));
  d->host_ = ProbeHost();
  cni::Options co;
  co.bin_dirs = d->config_.cni_bin_dirs;
  co.cache_dir = d->config_.root + "/cni/results";
  co.plugin_timeout = d->config_.cni_plugin_timeout;
  co.loopback_plugin = false;  // PinNamespaces brings lo up in the thread that makes the netns
  d->cni_ = std::make_unique<cni::PodNetworking>(d->config_.cni_conf_dir, co);
  d->self_dir_ = SelfDir();
  d->shim_binary_ = d->config_.shim_binary.empty() ? d->self_dir_ + "/berth-shim"
                                                   : d->config_.shim_binary;
  if (::access(d->shim_binary_.c_str(), X_OK) < 0)
    return Errno("find berth-shim", d->shim_binary_,
                 "berthd needs berth-shim (set shim_binary in berth.toml)");
  BERTH_TRYV(d->Recover());
  BERTH_TRYV(d->StartStreaming());
  return d;
}

void Daemon::Shutdown() {
  if (stopping_.exchange(true)) return;
  if (stream_) stream_->Stop();  // sessions end (execs killed, attachments dropped)
  events_.CloseAll();
  std::map<std::string, std::thread> watchers;
  {
    std::lock_guard lock(watch_mu_);
    watchers.swap(watchers_);
  }
  for (auto& [id, t] : watchers)
    if (t.joinable()) t.join();
}

Namespace& Daemon::Ns(const std::string& ns) {
  auto& slot = namespaces_[ns];
  if (!slot) {
    slot = std::make_unique<Namespace>();
    slot->name = ns;
  }
  return *slot;
}

namespace {

// An id or, as crictl and kubectl users type them, a unique prefix of one. `what` names the
// kind in messages ("pod sandbox", "container").
template <class T>
Result<std::shared_ptr<T>> FindById(const std::map<std::string, std::shared_ptr<T>>& objects,
                                    const std::string& id, const std::string& what,
                                    const std::string& field, const std::string& ns) {
  const std::string op = "find " + what;
  if (id.empty()) return InvalidArgument(op, field, "empty");
  if (auto it = objects.find(id); it != objects.end()) return it->second;
  std::shared_ptr<T> found;
  for (auto it = objects.lower_bound(id); it != objects.end() && it->first.starts_with(id); ++it) {
    if (found) return InvalidArgument(op, id, "the prefix names more than one " + what);
    found = it->second;
  }
  if (!found) return NotFound(op, id, "no such " + what + " in namespace " + ns);
  return found;
}

}  // namespace

Result<std::shared_ptr<Sandbox>> Daemon::FindPod(const std::string& ns, const std::string& id) {
  std::lock_guard lock(mu_);
  return FindById(Ns(ns).pods, id, "pod sandbox", "pod_sandbox_id", ns);
}

Result<std::shared_ptr<Container>> Daemon::FindContainer(const std::string& ns,
                                                         const std::string& id) {
  std::lock_guard lock(mu_);
  return FindById(Ns(ns).containers, id, "container", "container_id", ns);
}

std::vector<std::shared_ptr<Container>> Daemon::PodContainers(const std::string& ns,
                                                              const std::string& pod_id) {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Container>> out;
  for (auto& [id, c] : Ns(ns).containers)
    if (c->rec.pod_id == pod_id) out.push_back(c);
  return out;
}

Result<std::string> Daemon::RuntimeBinary(const std::string& handler) const {
  std::string h = handler.empty() ? config_.default_runtime : handler;
  auto it = config_.runtimes.find(h);
  if (it != config_.runtimes.end()) {
    auto bin = oci::FindRuntime(it->second);
    if (!bin) return std::unexpected(bin.error().Wrap("runtime handler \"" + h + "\""));
    return *bin;
  }
  if (h == "berth") {
    std::string beside = self_dir_ + "/berth";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
    return oci::FindRuntime("berth");
  }
  std::string known = "berth";
  for (const auto& [name, path] : config_.runtimes) known += ", " + name;
  return NotFound("runtime handler", h, "not configured (known: " + known + ")");
}

std::string Daemon::RuntimeRoot(const std::string& handler, const std::string& ns) const {
  std::string h = handler.empty() ? config_.default_runtime : handler;
  return config_.state + "/runtime/" + h + "/" + ns;
}

Result<v1::VersionResponse> Daemon::Version(const v1::VersionRequest&) {
  v1::VersionResponse r;
  r.set_version("0.1.0");
  r.set_runtime_name("berth");
  r.set_runtime_version("0.1.0");
  r.set_runtime_api_version("v1");
  return r;
}

Result<v1::StatusResponse> Daemon::Status(const v1::StatusRequest& req) {
  v1::StatusResponse r;
  auto* rt = r.mutable_status()->add_conditions();
  rt->set_type("RuntimeReady");
  rt->set_status(true);
  auto* net = r.mutable_status()->add_conditions();
  net->set_type("NetworkReady");
  // The conf dir is read again at each Status (kubelet asks every few seconds), so a
  // network config written after berthd started is found, as containerd's watcher does.
  (void)cni_->Reload();
  auto ready = cni_->Status();
  net->set_status(bool(ready));
  if (!ready) {
    net->set_reason("NetworkPluginNotReady");
    net->set_message(ready.error().Message());
  }
  if (req.verbose()) {
    std::string handlers = "\"berth\"";
    for (const auto& [name, path] : config_.runtimes) handlers += ",\"" + name + "\"";
    (*r.mutable_info())["config"] =
        "{\"root\":\"" + config_.root + "\",\"state\":\"" + config_.state +
        "\",\"cniConfDir\":\"" + config_.cni_conf_dir + "\",\"defaultRuntime\":\"" +
        config_.default_runtime + "\",\"runtimes\":[" + handlers + "],\"podCIDR\":\"" +
        pod_cidr_ + "\"}";
    // berthctl namespaces: k8s.io always, others while they hold something (a List call
    // alone makes an empty one). Names are [a-z0-9.-] (server.cc): nothing to escape.
    std::string list;
    bool cri_seen = false;
    for (const auto& n : Namespaces()) {
      cri_seen |= n.name == kCriNamespace;
      if (n.pods == 0 && n.containers == 0 && n.name != kCriNamespace) continue;
      list += (list.empty() ? "{\"name\":\"" : ",{\"name\":\"") + n.name + "\",\"pods\":" +
              std::to_string(n.pods) + ",\"containers\":" + std::to_string(n.containers) + "}";
    }
    if (!cri_seen)
      list = "{\"name\":\"" + std::string(kCriNamespace) + "\",\"pods\":0,\"containers\":0}" +
             (list.empty() ? "" : "," + list);
    (*r.mutable_info())["namespaces"] = "[" + list + "]";
  }
  for (const auto& [name, path] : config_.runtimes) {
    auto* h = r.add_runtime_handlers();
    h->set_name(name);
  }
  return r;
}

Result<v1::UpdateRuntimeConfigResponse> Daemon::UpdateRuntimeConfig(
    const v1::UpdateRuntimeConfigRequest& req) {
  std::lock_guard lock(mu_);
  pod_cidr_ = req.runtime_config().network_config().pod_cidr();
  return v1::UpdateRuntimeConfigResponse{};
}

std::vector<Daemon::NamespaceCount> Daemon::Namespaces() {
  std::lock_guard lock(mu_);
  std::vector<NamespaceCount> out;
  for (auto& [name, ns] : namespaces_) out.push_back({name, ns->pods.size(), ns->containers.size()});
  return out;
}

}  // namespace berth::daemon
