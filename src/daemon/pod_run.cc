// RunPodSandbox, and the pod's set-up/tear-down that Stop, Remove and recovery share.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/fault.h"
#include "base/log.h"
#include "daemon/container_spec_internal.h"
#include "daemon/daemon.h"
#include "daemon/network.h"
#include "daemon/pinned_ns.h"
#include "sys/fs.h"
#include "sys/sealed_copy.h"
// After the CRI header: <signal.h>'s SIG* macros would break its enum Signal.
#include <signal.h>

namespace berth::daemon {

namespace {

Result<void> ValidateMetadata(const v1::PodSandboxMetadata& m) {
  if (m.name().empty()) return InvalidArgument("run pod sandbox", "metadata.name", "empty");
  if (m.namespace_().empty())
    return InvalidArgument("run pod sandbox", "metadata.namespace", "empty");
  if (m.uid().empty()) return InvalidArgument("run pod sandbox", "metadata.uid", "empty");
  for (const std::string* s : {&m.name(), &m.namespace_(), &m.uid()})
    if (s->find('_') != std::string::npos || s->find('/') != std::string::npos)
      return InvalidArgument("run pod sandbox", "metadata", "\"" + *s + "\" has '_' or '/'");
  return {};
}

std::string ResolvConf(const v1::DNSConfig& dns) {
  std::string out;
  if (!dns.searches().empty()) {
    out += "search";
    for (const auto& s : dns.searches()) out += " " + s;
    out += "\n";
  }
  for (const auto& s : dns.servers()) out += "nameserver " + s + "\n";
  if (!dns.options().empty()) {
    out += "options";
    for (const auto& o : dns.options()) out += " " + o;
    out += "\n";
  }
  return out;
}

bool HostNetwork(const v1::PodSandboxConfig& c) {
  return c.linux().security_context().namespace_options().network() == v1::NODE;
}
bool HostIpc(const v1::PodSandboxConfig& c) {
  return c.linux().security_context().namespace_options().ipc() == v1::NODE;
}

}  // namespace

std::string PodName(const v1::PodSandboxMetadata& m) {
  return m.name() + "_" + m.namespace_() + "_" + m.uid() + "_" + std::to_string(m.attempt());
}

Result<void> Daemon::SetUpPod(Sandbox& pod) {
  const v1::PodSandboxConfig& cfg = pod.config;
  const auto& nso = cfg.linux().security_context().namespace_options();
  bool host_net = HostNetwork(cfg), host_ipc = HostIpc(cfg);
  BERTH_TRYV(sys::MkdirAll(pod.pod_dir, 0711));
  std::string hostname = cfg.hostname();
  if (host_net) {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    hostname = buf;
  }
  // UTS goes with the network, as containerd does: a host-network pod has the host's name.
  fault::Reach("pod.netns.pin.before");
  auto pinned = PinNamespaces(pod.pod_dir + "/ns", !host_net, !host_ipc, !host_net, hostname);
  fault::Reach("pod.netns.pin.after");
  if (!pinned) return std::unexpected(pinned.error().Wrap("run pod sandbox"));
  pod.rec.net_ns = pinned->net;
  pod.rec.ipc_ns = pinned->ipc;
  pod.rec.uts_ns = pinned->uts;
  if (nso.pid() == v1::POD) {
    // NamespaceMode POD (0, so also a config that says nothing): one PID namespace for all
    // containers of the pod, held by a process of its own.
    fault::Reach("pod.pid_holder.start.before");
    auto holder = StartPidHolder(shim_binary_, pod.pod_dir + "/ns");
    fault::Reach("pod.pid_holder.start.after");
    if (!holder) return std::unexpected(holder.error().Wrap("run pod sandbox"));
    pod.rec.pid_ns = holder->first;
    pod.rec.pause_pid = holder->second;
  }

  // Files every container of the pod gets.
  std::string resolv;
  if (cfg.has_dns_config() && (cfg.dns_config().servers_size() || cfg.dns_config().searches_size()))
    resolv = ResolvConf(cfg.dns_config());
  else if (auto host = sys::ReadFile("/etc/resolv.conf"))
    resolv = *host;
  BERTH_TRYV(sys::WriteFileAtomic(pod.pod_dir + "/resolv.conf", resolv, 0644));
  BERTH_TRYV(sys::WriteFileAtomic(pod.pod_dir + "/hostname", hostname + "\n", 0644));
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (host_net) {
    if (auto h = sys::ReadFile("/etc/hosts")) hosts = *h;
  }
  BERTH_TRYV(sys::WriteFileAtomic(pod.pod_dir + "/hosts", hosts, 0644));
  if (!host_ipc) {
    std::string shm = pod.pod_dir + "/shm";
    BERTH_TRYV(sys::MkdirAll(shm, 0755));
    fault::Reach("pod.shm.mount.before");
    if (::mount("shm", shm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "mode=1777,size=65536k") < 0)
      return Errno("mount", shm, "the pod's /dev/shm");
    fault::Reach("pod.shm.mount.after");
  }

  if (!host_net) {
    if (!cni_->Current()) (void)cni_->Reload();  // a config written since start-up
    if (auto ready = cni_->Status(); !ready)
      return FailedPrecondition("run pod sandbox", "network",
                                "the pod needs a CNI network and none is ready: " +
                                    ready.error().Message());
    fault::Reach("pod.cni.add.before");
    auto net = SetUpNetwork(*cni_, pod.rec.id, cfg, pod.rec.net_ns);
    fault::Reach("pod.cni.add.after");
    if (!net) return std::unexpected(net.error().Wrap("run pod sandbox: network"));
    pod.rec.network_set_up = true;
    pod.rec.ip = net->ip;
    pod.rec.additional_ips = net->additional_ips;
  }

  fault::Reach("pod.shim.spawn.before");
  auto pid = StartShim(pod);
  fault::Reach("pod.shim.spawn.after");
  if (!pid) return std::unexpected(pid.error().Wrap("run pod sandbox"));
  return {};
}

Result<pid_t> Daemon::StartShim(const Sandbox& pod) const {
  shim::SpawnShimOptions so;
  so.shim_binary = shim_binary_;
  so.ns = pod.rec.ns;
  so.id = pod.rec.id;
  so.work_dir = pod.shim_dir;
  so.address = config_.listen;
  so.runtime = pod.runtime_binary;
  so.runtime_root = pod.runtime_root;
  so.log_level = config_.log_level == "debug" ? "debug" : "";
  auto [copy, copy_id] = RuntimeCopyFor(pod.runtime_binary);
  so.runtime_copy_fd = copy ? copy.Get() : -1;
  so.runtime_copy_id = copy_id;
  return shim::SpawnShim(so);
}

namespace {

// A shim refuses to shut down while an exec or a runtime command of its runs: an ExecSync
// that raced the pod's removal (berthd let it through while the container still ran). Its
// containers are deleted by now, so that ends soon: asked again for up to 10 s, then killed
// (its pid file, checked against /proc: it names the pod), or it would stay forever.
Result<void> StopShim(const Sandbox& pod, const shim::ShimClient& shim) {
  auto r = shim.Shutdown();
  for (int i = 0; !r && r.error().IsFailedPrecondition() && i < 200; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    r = shim.Shutdown();
  }
  if (r || !r.error().IsFailedPrecondition()) return r;
  auto text = sys::ReadFile(pod.shim_dir + "/shim.pid");
  pid_t pid = text ? static_cast<pid_t>(std::atoi(text->c_str())) : 0;
  if (pid <= 0) return r;
  auto cmdline = sys::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline || cmdline->find(pod.rec.id) == std::string::npos) return r;
  log::Warn("pod " + pod.rec.id + ": its shim (pid " + std::to_string(pid) +
            ") still refuses to shut down after 10 s (" + r.error().Message() + "): killed");
  if (::kill(pid, SIGKILL) < 0) return Errno("kill", "shim pid " + std::to_string(pid));
  return {};
}

}  // namespace

// Only berth takes the copy for one of its own: it skips its copy when /proc/self/exe has
// all of kRuntimeCopySeals. runc (1.1) asks for F_SEAL_WRITE as well and would copy again,
// so other runtimes get none. The copy is made again when the file changed (an upgrade);
// shims started before keep theirs and check the file's identity before each use.
// BERTHD_NO_RUNTIME_COPY=1 turns it off (to measure what it saves: bench/stream.sh).
std::pair<UniqueFd, std::string> Daemon::RuntimeCopyFor(const std::string& binary) const {
  const char* off = getenv("BERTHD_NO_RUNTIME_COPY");
  if ((off && std::string(off) == "1") || binary.empty() ||
      binary.substr(binary.rfind('/') + 1) != "berth")
    return {};
  UniqueFd src(open(binary.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!src || fstat(src.Get(), &st) != 0) {
    log::Warn("runtime copy: cannot open " + binary + ": " + strerror(errno) +
              " (berth exec copies itself)");
    return {};
  }
  std::string id = sys::FileIdentity(st);
  std::lock_guard lock(runtime_copies_mu_);
  RuntimeCopy& c = runtime_copies_[binary];
  if (!c.fd || c.id != id) {
    auto mem = sys::SealedCopy(src.Get(), binary);
    if (!mem) {
      log::Warn("runtime copy: " + mem.error().Message() + " (berth exec copies itself)");
      runtime_copies_.erase(binary);
      return {};
    }
    c.fd = std::move(*mem);
    c.id = id;
  }
  // Above 2: the shim's spawn keeps it at its number.
  UniqueFd dup(fcntl(c.fd.Get(), F_DUPFD_CLOEXEC, 3));
  if (!dup) return {};
  return {std::move(dup), c.id};
}

void Daemon::TearDownPod(Sandbox& pod, bool remove) {
  auto warn = [&](const char* what, const Result<void>& r) {
    if (!r) log::Warn("pod " + pod.rec.id + ": " + what + ": " + r.error().Message());
  };
  // A pod whose RunPodSandbox was cut short by a crash has a "creating" record saved before
  // any step: what it made is found where SetUpPod makes it (the same paths), and a network
  // that may have been added is deleted (DEL is idempotent, also without a cached result).
  bool unfinished = pod.rec.state == "creating";
  if (pod.rec.network_set_up || (unfinished && !HostNetwork(pod.config))) {
    fault::Reach("pod.cni.del.before");
    auto r = TearDownNetwork(*cni_, pod.rec.id, pod.config, pod.rec.net_ns);
    fault::Reach("pod.cni.del.after");
    warn("network teardown", r);
    if (r) pod.rec.network_set_up = false;
  }
  std::string shm = pod.pod_dir + "/shm";
  fault::Reach("pod.shm.umount.before");
  if (::umount2(shm.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    warn("unmount shm", Errno("umount", shm));
  fault::Reach("pod.shm.umount.after");
  std::string ns_dir = pod.pod_dir + "/ns";
  auto or_default = [&](const std::string& v, const char* file) {
    return !v.empty() || !unfinished ? v : ns_dir + "/" + file;
  };
  int pause_pid = pod.rec.pause_pid;
  if (pause_pid == 0 && unfinished) {
    if (auto t = sys::ReadFile(ns_dir + "/pause.pid")) pause_pid = std::atoi(t->c_str());
  }
  fault::Reach("pod.pid_holder.stop.before");
  warn("stop the PID namespace holder", StopPidHolder(or_default(pod.rec.pid_ns, "pid"), pause_pid,
                                                       ns_dir + "/pause.pid"));
  fault::Reach("pod.pid_holder.stop.after");
  fault::Reach("pod.netns.unpin.before");
  warn("unpin namespaces", UnpinNamespaces({or_default(pod.rec.net_ns, "net"),
                                            or_default(pod.rec.ipc_ns, "ipc"),
                                            or_default(pod.rec.uts_ns, "uts")}));
  fault::Reach("pod.netns.unpin.after");
  if (!remove) return;
  pod.shim_wanted = false;
  if (auto shim = shim::ShimClient::Connect(pod.shim_dir)) {
    fault::Reach("pod.shim.shutdown.before");
    warn("shim shutdown", StopShim(pod, *shim));
    fault::Reach("pod.shim.shutdown.after");
  }
  {
    std::lock_guard lock(watch_mu_);
    if (auto it = watchers_.find(pod.rec.id); it != watchers_.end()) {
      if (it->second.joinable()) it->second.detach();  // it ends when the shim's stream closes
      watchers_.erase(it);
    }
  }
  fault::Reach("pod.dirs.remove.before");
  warn("remove pod dir", sys::RemoveTree(pod.pod_dir));
  warn("remove shim dir", sys::RemoveTree(pod.shim_dir));
  fault::Reach("pod.dirs.remove.after");
}

Result<v1::RunPodSandboxResponse> Daemon::RunPodSandbox(const std::string& ns,
                                                        const v1::RunPodSandboxRequest& req) {
  const v1::PodSandboxConfig& cfg = req.config();
  BERTH_TRYV(ValidateMetadata(cfg.metadata()));
  {
    // A net.* sysctl of a host-network pod (an IPC one of a host-IPC pod) would fail every
    // CreateContainer of the pod: refuse the pod up front, with the same words.
    const auto& nso = cfg.linux().security_context().namespace_options();
    SandboxInputs probe;
    if (nso.network() != v1::NODE) probe.net_ns_path = "pod";
    if (nso.ipc() != v1::NODE) probe.ipc_ns_path = "pod";
    spec::Spec scratch;
    scratch.linux.emplace();
    if (auto r = internal::ApplySysctls(scratch, cfg, probe); !r)
      return std::unexpected(r.error().Wrap("run pod sandbox"));
  }
  std::string handler = req.runtime_handler().empty() ? config_.default_runtime
                                                      : req.runtime_handler();
  auto binary = RuntimeBinary(handler);
  if (!binary)
    return std::unexpected(binary.error().WithKind(ErrorKind::kInvalidArgument).Wrap(
        "run pod sandbox: runtime_handler"));
  std::string name = PodName(cfg.metadata());
  NameRegistry* names;
  {
    std::lock_guard lock(mu_);
    names = &Ns(ns).pod_names;
  }
  auto claim = names->Reserve(name, DigestOf(req), "pod sandbox", kRetryJoinWait);
  if (!claim) return std::unexpected(claim.error());
  v1::RunPodSandboxResponse resp;
  if (!claim->owner) {
    log::Info("RunPodSandbox " + name + ": the same request again, answered with " + claim->id);
    resp.set_pod_sandbox_id(claim->id);
    return resp;
  }

  auto pod = std::make_shared<Sandbox>();
  pod->config = cfg;
  pod->rec.id = NewId();
  pod->rec.ns = ns;
  pod->rec.name = name;
  pod->rec.digest = DigestOf(req);
  pod->rec.state = "creating";
  pod->rec.created_at = NowNs();
  pod->rec.config_json = MessageToJson(cfg);
  pod->rec.runtime_handler = handler;
  pod->rec.cgroup_parent = cfg.linux().cgroup_parent();
  pod->pod_dir = config_.state + "/pods/" + ns + "/" + pod->rec.id;
  pod->shim_dir = ShimDir(pod->rec.id);
  pod->runtime_binary = *binary;
  pod->runtime_root = RuntimeRoot(handler, ns);

  auto fail = [&](Error e) -> Result<v1::RunPodSandboxResponse> {
    TearDownPod(*pod, true);
    (void)meta_.RemovePod(ns, pod->rec.id);
    names->Release(name);
    return std::unexpected(e);
  };
  // The record first: a crash from here on leaves a "creating" record that recovery undoes.
  fault::Reach("pod.record.creating.before");
  if (auto r = meta_.Save(pod->rec); !r) {
    names->Release(name);
    return std::unexpected(r.error().Wrap("run pod sandbox").WithKind(
        r.error().Kind() == ErrorKind::kUnknown ? ErrorKind::kInternal : r.error().Kind()));
  }
  fault::Reach("pod.record.creating.after");
  if (auto r = SetUpPod(*pod); !r) return fail(r.error());
  pod->rec.state = "ready";
  fault::Reach("pod.record.ready.before");
  if (auto r = meta_.Save(pod->rec); !r) return fail(r.error().Wrap("run pod sandbox"));
  fault::Reach("pod.record.ready.after");
  {
    std::lock_guard lock(mu_);
    Ns(ns).pods[pod->rec.id] = pod;
  }
  names->Commit(name, pod->rec.id);
  WatchShim(pod);
  PublishPodEvent(*pod, v1::CONTAINER_CREATED_EVENT);
  PublishPodEvent(*pod, v1::CONTAINER_STARTED_EVENT);
  log::Info("RunPodSandbox " + name + " = " + pod->rec.id +
            (pod->rec.ip.empty() ? "" : " ip " + pod->rec.ip));
  resp.set_pod_sandbox_id(pod->rec.id);
  return resp;
}

}  // namespace berth::daemon
