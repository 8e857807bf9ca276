// berthd's state and its CRI calls, free of gRPC: each call takes the request message and
// the namespace it came in ("k8s.io" for kubelet; berthctl's docker-style workflows use
// their own) and returns the response or an Error whose kind server.cc maps to a gRPC code.
// One file per call (or per pair of closely related calls), as CRI-O's server/.
//
// Locking: mu_ guards the maps of every namespace; a Sandbox's or Container's op_mu
// serialises lifecycle calls on that object (a slow stop of one pod never blocks another),
// mu guards its fields. Lock order: op_mu, then mu_, then mu; never a shim call under mu_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "cri/v1/api.pb.h"
#include "daemon/config.h"
#include "daemon/container_spec.h"
#include "cni/cni.h"
#include "daemon/names.h"
#include "daemon/records.h"
#include "image/store.h"
#include "shim/client.h"

namespace berth::stream {
class Backend;
class Server;
}  // namespace berth::stream

namespace berth::daemon {

namespace v1 = ::runtime::v1;

struct Sandbox {
  std::mutex op_mu;
  mutable std::mutex mu;
  SandboxRecord rec;
  v1::PodSandboxConfig config;
  std::string shim_dir;      // berth-shim's work dir
  std::string pod_dir;       // <state>/pods/<ns>/<id>: ns files, resolv.conf, shm
  std::string runtime_binary, runtime_root;
  // The shim should run: cleared when the pod is removed, so its watcher does not start a
  // shim again that RemovePodSandbox just shut down.
  std::atomic<bool> shim_wanted{true};
  // Set once RemovePodSandbox has taken it out of the maps (stats.cc keeps no sample of it).
  std::atomic<bool> removed{false};
};

struct Container {
  std::mutex op_mu;
  mutable std::mutex mu;
  ContainerRecord rec;
  v1::ContainerConfig config;
  std::shared_ptr<Sandbox> pod;
  shim::ContainerStatus status;  // the shim's, kept current by its responses and exit events
  // Written under op_mu; read also without it (stats.cc: no CPU sample kept for it once set).
  std::atomic<bool> removed{false};
};

struct Namespace {
  std::string name;
  NameRegistry pod_names, container_names;
  std::map<std::string, std::shared_ptr<Sandbox>> pods;
  std::map<std::string, std::shared_ptr<Container>> containers;
};

// The GetContainerEvents stream: every subscriber gets every event from its subscription on.
class EventBus {
 public:
  struct Subscription {
    std::string ns;  // only this namespace's events
    std::mutex mu;
    std::condition_variable cv;
    std::deque<v1::ContainerEventResponse> queue;
    bool closed = false;
  };
  std::shared_ptr<Subscription> Subscribe(const std::string& ns);
  void Unsubscribe(const std::shared_ptr<Subscription>& s);
  void Publish(const std::string& ns, const v1::ContainerEventResponse& e);
  void CloseAll();

 private:
  static constexpr size_t kMaxQueued = 4096;  // a subscriber that falls behind loses events
  std::mutex mu_;
  std::vector<std::shared_ptr<Subscription>> subs_;
};

class Daemon {
 public:
  // Opens the image store and the metadata, recovers pods and containers from disk and
  // their shims. Never fails because of one bad record (it is reported and skipped).
  static Result<std::unique_ptr<Daemon>> Open(Config config);
  ~Daemon();

  const Config& config() const { return config_; }
  EventBus& events() { return events_; }
  // Stops the event watchers (containers and shims keep running).
  void Shutdown();

  // RuntimeService.
  Result<v1::VersionResponse> Version(const v1::VersionRequest& req);
  Result<v1::StatusResponse> Status(const v1::StatusRequest& req);
  Result<v1::UpdateRuntimeConfigResponse> UpdateRuntimeConfig(
      const v1::UpdateRuntimeConfigRequest& req);
  Result<v1::RunPodSandboxResponse> RunPodSandbox(const std::string& ns,
                                                  const v1::RunPodSandboxRequest& req);
  Result<v1::StopPodSandboxResponse> StopPodSandbox(const std::string& ns,
                                                    const v1::StopPodSandboxRequest& req);
  Result<v1::RemovePodSandboxResponse> RemovePodSandbox(const std::string& ns,
                                                        const v1::RemovePodSandboxRequest& req);
  Result<v1::PodSandboxStatusResponse> PodSandboxStatus(const std::string& ns,
                                                        const v1::PodSandboxStatusRequest& req);
  Result<v1::ListPodSandboxResponse> ListPodSandbox(const std::string& ns,
                                                    const v1::ListPodSandboxRequest& req);
  Result<v1::CreateContainerResponse> CreateContainer(const std::string& ns,
                                                      const v1::CreateContainerRequest& req);
  Result<v1::StartContainerResponse> StartContainer(const std::string& ns,
                                                    const v1::StartContainerRequest& req);
  Result<v1::StopContainerResponse> StopContainer(const std::string& ns,
                                                  const v1::StopContainerRequest& req);
  Result<v1::RemoveContainerResponse> RemoveContainer(const std::string& ns,
                                                      const v1::RemoveContainerRequest& req);
  Result<v1::ListContainersResponse> ListContainers(const std::string& ns,
                                                    const v1::ListContainersRequest& req);
  Result<v1::ContainerStatusResponse> ContainerStatus(const std::string& ns,
                                                      const v1::ContainerStatusRequest& req);
  Result<v1::ExecSyncResponse> ExecSync(const std::string& ns, const v1::ExecSyncRequest& req);
  Result<v1::ContainerStatsResponse> ContainerStats(const std::string& ns,
                                                    const v1::ContainerStatsRequest& req);
  Result<v1::ListContainerStatsResponse> ListContainerStats(
      const std::string& ns, const v1::ListContainerStatsRequest& req);
  Result<v1::PodSandboxStatsResponse> PodSandboxStats(const std::string& ns,
                                                      const v1::PodSandboxStatsRequest& req);
  Result<v1::ListPodSandboxStatsResponse> ListPodSandboxStats(
      const std::string& ns, const v1::ListPodSandboxStatsRequest& req);
  Result<v1::UpdateContainerResourcesResponse> UpdateContainerResources(
      const std::string& ns, const v1::UpdateContainerResourcesRequest& req);
  Result<v1::ReopenContainerLogResponse> ReopenContainerLog(
      const std::string& ns, const v1::ReopenContainerLogRequest& req);
  // Streaming (streaming.cc): URLs of the streaming server, single use.
  Result<v1::ExecResponse> Exec(const std::string& ns, const v1::ExecRequest& req);
  Result<v1::AttachResponse> Attach(const std::string& ns, const v1::AttachRequest& req);
  Result<v1::PortForwardResponse> PortForward(const std::string& ns,
                                              const v1::PortForwardRequest& req);
  // The streaming server's base URL ("" when it is not running).
  std::string StreamUrl() const;

  // ImageService.
  Result<v1::ListImagesResponse> ListImages(const v1::ListImagesRequest& req);
  Result<v1::ImageStatusResponse> ImageStatus(const v1::ImageStatusRequest& req);
  Result<v1::PullImageResponse> PullImage(const v1::PullImageRequest& req);
  Result<v1::RemoveImageResponse> RemoveImage(const v1::RemoveImageRequest& req);
  Result<v1::ImageFsInfoResponse> ImageFsInfo(const v1::ImageFsInfoRequest& req);

  // Namespaces and what each holds (berthctl namespaces).
  struct NamespaceCount {
    std::string name;
    size_t pods = 0, containers = 0;
  };
  std::vector<NamespaceCount> Namespaces();

 private:
  friend class StreamBackend;  // stream_backend.cc: FindContainer, FindPod, Shim

  explicit Daemon(Config config);
  Result<void> Recover();
  // recovery_orphans.cc: pods, shims and containers no readable record claims are removed.
  int RemoveOrphans(const std::map<std::string, std::shared_ptr<Sandbox>>& pods);
  void RemoveUnclaimedContainer(const shim::ShimClient& shim, const std::string& ns,
                                const std::string& id, const std::string& why);

  Namespace& Ns(const std::string& ns);  // made on first use; caller holds mu_
  Result<std::shared_ptr<Sandbox>> FindPod(const std::string& ns, const std::string& id);
  Result<std::shared_ptr<Container>> FindContainer(const std::string& ns, const std::string& id);
  std::vector<std::shared_ptr<Container>> PodContainers(const std::string& ns,
                                                        const std::string& pod_id);

  // Handlers: name → binary, runtime root per namespace.
  Result<std::string> RuntimeBinary(const std::string& handler) const;
  std::string RuntimeRoot(const std::string& handler, const std::string& ns) const;
  // <state>/shims/<the pod id's first 20 hex digits>: the shim's socket path must stay under
  // 108 bytes (ids are random, so 80 bits keep them apart; the shim's --namespace and --id
  // flags say the whole name).
  std::string ShimDir(const std::string& pod_id) const {
    return config_.state + "/shims/" + pod_id.substr(0, 20);
  }

  // Pieces of the pod lifecycle (pod_*.cc).
  Result<void> SetUpPod(Sandbox& pod);   // namespaces, files, network, shim
  void TearDownPod(Sandbox& pod, bool remove);  // undo what SetUpPod made (best effort, logged)
  Result<void> StopPodLocked(const std::string& ns, Sandbox& pod);
  // Containers (container_*.cc).
  Result<void> StopContainerLocked(Container& c, int64_t timeout_s);
  Result<void> RemoveContainerLocked(const std::string& ns, Container& c);
  Result<shim::ShimClient> Shim(const Sandbox& pod) const;
  Result<std::shared_ptr<Container>> RunningContainer(const char* call, const std::string& ns,
                                                      const std::string& id);
  Result<void> StartStreaming();
  // Starts the pod's berth-shim on its work dir (a restarted shim adopts its containers).
  Result<pid_t> StartShim(const Sandbox& pod) const;
  // A dup of the sealed copy of runtime binary `binary` for a shim (pod_run.cc), with the
  // file's identity when copied; {} when the runtime gets none (not berth, disabled, failed).
  std::pair<UniqueFd, std::string> RuntimeCopyFor(const std::string& binary) const;
  void UpdateStatus(Container& c, const shim::ContainerStatus& s);
  // Events are built while the object is still listed (a DELETED event carries the last
  // status), then published.
  v1::ContainerEventResponse ContainerEvent(const Container& c, v1::ContainerEventType type);
  v1::ContainerEventResponse PodEvent(const Sandbox& pod, v1::ContainerEventType type);
  void PublishContainerEvent(const Container& c, v1::ContainerEventType type) {
    events_.Publish(c.rec.ns, ContainerEvent(c, type));
  }
  void PublishPodEvent(const Sandbox& pod, v1::ContainerEventType type) {
    events_.Publish(pod.rec.ns, PodEvent(pod, type));
  }

  // Stats (stats.cc): the last CPU sample of each cgroup, for usage_nano_cores. An object's
  // sample is dropped when it is removed, and a stats call that raced with the removal
  // (REMOVED already set) stores none.
  struct CpuSample {
    int64_t at = 0;
    uint64_t usage_ns = 0;
  };
  void FillCgroupStats(const std::string& key, const std::string& cgroups_path,
                       const std::atomic<bool>& removed, v1::CpuUsage* cpu,
                       v1::MemoryUsage* mem, v1::SwapUsage* swap, uint64_t* pids);
  void ForgetCpuSample(const std::string& key);
  static std::string PodStatsKey(const std::string& pod_id) { return "pod:" + pod_id; }
  v1::ContainerStats StatsOf(const Container& c);
  std::mutex stats_mu_;
  std::map<std::string, CpuSample> cpu_samples_;

  // Exit events of every shim, one thread per shim (events.cc).
  void WatchShim(std::shared_ptr<Sandbox> pod);
  void OnExit(const std::string& ns, const shim::ExitEvent& e);

  Config config_;
  MetaStore meta_;
  std::unique_ptr<image::Store> images_;
  // A RemoveImage's garbage that a running pull kept from being collected (images.cc).
  std::atomic<bool> image_gc_pending_{false};
  std::unique_ptr<cni::PodNetworking> cni_;
  HostFeatures host_;
  std::string shim_binary_;
  std::string self_dir_;  // the directory of berthd's binary
  // Sealed copies of the berth runtime binaries, one per path, shared by every shim started
  // here: `berth exec` runs from it instead of copying itself each time (sys/sealed_copy.h).
  struct RuntimeCopy {
    UniqueFd fd;
    std::string id;
  };
  mutable std::mutex runtime_copies_mu_;
  mutable std::map<std::string, RuntimeCopy> runtime_copies_;

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Namespace>> namespaces_;

  EventBus events_;
  std::mutex watch_mu_;
  std::map<std::string, std::thread> watchers_;  // by pod id
  std::atomic<bool> stopping_{false};
  std::string pod_cidr_;
  UniqueFd root_lock_;
  // Declared last: destroyed first, while everything their sessions use still exists.
  std::unique_ptr<stream::Backend> stream_backend_;
  std::unique_ptr<stream::Server> stream_;
};

// Helpers shared by the call files (util.cc).
int64_t NowNs();
std::string NewId();  // 64 hex characters from getrandom
std::string DigestOf(const google::protobuf::Message& m);
// A list filter's label_selector: every pair of `want` is in `have`.
bool LabelsMatch(const google::protobuf::Map<std::string, std::string>& have,
                 const google::protobuf::Map<std::string, std::string>& want);
std::string MessageToJson(const google::protobuf::Message& m);
Result<void> JsonToMessage(const std::string& json, google::protobuf::Message* m,
                           const std::string& what);

}  // namespace berth::daemon
