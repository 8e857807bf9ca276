// A client of the Kubernetes CRI v1 API (runtime.v1.RuntimeService and ImageService) over
// a unix socket: what berthctl's CRI commands use, against containerd, CRI-O or berthd.
//
// Every call has a deadline (the client's timeout unless the call says otherwise) and turns a
// failed grpc::Status into an Error that names the call, the endpoint, the gRPC code and the
// server's message: "cri: RunPodSandbox on unix:///run/x.sock: NOT_FOUND: ...", of the kind
// the gRPC code says (the codes are ErrorKind's values).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "cri/v1/api.pb.h"

namespace berth::cri {

namespace v1 = ::runtime::v1;

// The default endpoint of berthd, as crictl's --runtime-endpoint.
inline constexpr std::string_view kDefaultEndpoint = "unix:///run/berth/berth.sock";

// "unix:///abs/path", "unix:relative" or a bare path → the gRPC target ("unix:///abs",
// "unix:rel"). Other schemes (tcp://, npipe://) are refused: CRI runtimes listen on unix sockets.
Result<std::string> GrpcTarget(std::string_view endpoint);

// "OK", "NOT_FOUND", ... for a grpc::StatusCode value.
std::string_view StatusCodeName(int code);

// The gRPC metadata key naming berthd's namespace of a call (absent: k8s.io, kubelet's).
inline constexpr const char* kNamespaceMetadata = "berth-namespace";

struct ClientOptions {
  std::string endpoint;        // the RuntimeService
  std::string image_endpoint;  // the ImageService; empty: the runtime's endpoint
  std::chrono::milliseconds timeout{10000};
  std::string ns;              // sent as berth-namespace on every call; empty: not sent
};

// crictl's config file (/etc/crictl.yaml): a flat YAML mapping. The keys berthctl uses are
// parsed; crictl's others (pull-image-on-create, ...) and unknown ones are listed, not errors.
struct CrictlConfig {
  std::optional<std::string> runtime_endpoint, image_endpoint;
  std::optional<double> timeout_s;
  std::optional<bool> debug;
  std::vector<std::string> other_keys;
};
Result<CrictlConfig> ParseCrictlConfig(std::string_view text, const std::string& path);

class EventStream;

class Client {
 public:
  // Opens the channel(s); no connection is made until the first call (gRPC connects lazily),
  // so a dead endpoint shows up as UNAVAILABLE on that call.
  static Result<Client> Connect(ClientOptions options);
  static Result<Client> Connect(std::string endpoint, std::chrono::milliseconds timeout);

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  const std::string& endpoint() const { return endpoint_; }
  const std::string& image_endpoint() const { return image_endpoint_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  const std::string& ns() const { return ns_; }

  // RuntimeService.
  Result<v1::VersionResponse> Version(const v1::VersionRequest& req);
  Result<v1::StatusResponse> Status(const v1::StatusRequest& req);
  Result<v1::RunPodSandboxResponse> RunPodSandbox(const v1::RunPodSandboxRequest& req);
  Result<v1::StopPodSandboxResponse> StopPodSandbox(const v1::StopPodSandboxRequest& req);
  Result<v1::RemovePodSandboxResponse> RemovePodSandbox(const v1::RemovePodSandboxRequest& req);
  Result<v1::PodSandboxStatusResponse> PodSandboxStatus(const v1::PodSandboxStatusRequest& req);
  Result<v1::ListPodSandboxResponse> ListPodSandbox(const v1::ListPodSandboxRequest& req);
  Result<v1::CreateContainerResponse> CreateContainer(const v1::CreateContainerRequest& req);
  Result<v1::StartContainerResponse> StartContainer(const v1::StartContainerRequest& req);
  // The deadline is the client's timeout plus the request's grace period.
  Result<v1::StopContainerResponse> StopContainer(const v1::StopContainerRequest& req);
  Result<v1::RemoveContainerResponse> RemoveContainer(const v1::RemoveContainerRequest& req);
  Result<v1::ListContainersResponse> ListContainers(const v1::ListContainersRequest& req);
  Result<v1::ContainerStatusResponse> ContainerStatus(const v1::ContainerStatusRequest& req);
  // The deadline is the client's timeout plus the command's own timeout; with none (0),
  // the call waits for the command however long it runs.
  Result<v1::ExecSyncResponse> ExecSync(const v1::ExecSyncRequest& req);
  // Exec, Attach, PortForward: the URL of the runtime's streaming server (src/stream/client.h
  // follows it).
  Result<v1::ExecResponse> Exec(const v1::ExecRequest& req);
  Result<v1::AttachResponse> Attach(const v1::AttachRequest& req);
  Result<v1::PortForwardResponse> PortForward(const v1::PortForwardRequest& req);
  Result<v1::ContainerStatsResponse> ContainerStats(const v1::ContainerStatsRequest& req);
  Result<v1::ListContainerStatsResponse> ListContainerStats(
      const v1::ListContainerStatsRequest& req);
  Result<v1::PodSandboxStatsResponse> PodSandboxStats(const v1::PodSandboxStatsRequest& req);
  Result<v1::ListPodSandboxStatsResponse> ListPodSandboxStats(
      const v1::ListPodSandboxStatsRequest& req);
  Result<v1::ReopenContainerLogResponse> ReopenContainerLog(
      const v1::ReopenContainerLogRequest& req);
  Result<v1::UpdateContainerResourcesResponse> UpdateContainerResources(
      const v1::UpdateContainerResourcesRequest& req);
  Result<v1::UpdateRuntimeConfigResponse> UpdateRuntimeConfig(
      const v1::UpdateRuntimeConfigRequest& req);
  // The GetContainerEvents server stream, without a deadline: read it with Next until it
  // ends or another thread calls Cancel.
  Result<std::unique_ptr<EventStream>> GetContainerEvents(const v1::GetEventsRequest& req);

  // ImageService. PullImage has no deadline of the client's: a pull takes what it takes.
  Result<v1::ListImagesResponse> ListImages(const v1::ListImagesRequest& req);
  Result<v1::ImageStatusResponse> ImageStatus(const v1::ImageStatusRequest& req);
  Result<v1::PullImageResponse> PullImage(const v1::PullImageRequest& req);
  Result<v1::RemoveImageResponse> RemoveImage(const v1::RemoveImageRequest& req);
  Result<v1::ImageFsInfoResponse> ImageFsInfo(const v1::ImageFsInfoRequest& req);

 private:
  struct Stubs;
  Client(ClientOptions o, std::unique_ptr<Stubs> stubs);

  std::string endpoint_, image_endpoint_;
  std::chrono::milliseconds timeout_;
  std::string ns_;
  std::unique_ptr<Stubs> stubs_;
};

// One GetContainerEvents call. Next and Finish from one thread; Cancel from any.
class EventStream {
 public:
  ~EventStream();
  // Blocks for the next event; false when the stream has ended (Finish says why).
  bool Next(v1::ContainerEventResponse* event);
  // Ends the call: a blocked Next returns false.
  void Cancel();
  // After Next returned false: OK when the server closed the stream or Cancel ended it,
  // else the error (UNAVAILABLE when nothing answers on the endpoint).
  Result<void> Finish();

 private:
  friend class Client;
  struct Impl;
  explicit EventStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::cri
