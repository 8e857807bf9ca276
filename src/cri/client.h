// A client of the Kubernetes CRI v1 API (runtime.v1.RuntimeService and ImageService) over
// a unix socket: what berthctl's CRI commands use, against containerd, CRI-O or berthd.
//
// Every call has a deadline (the client's timeout unless the call says otherwise) and turns a
// failed grpc::Status into an Error that names the call, the endpoint, the gRPC code and the
// server's message: "cri: RunPodSandbox on unix:///run/x.sock: NOT_FOUND: ...".
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

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

class Client {
 public:
  // Opens the channel; no connection is made until the first call (gRPC connects lazily),
  // so a dead endpoint shows up as UNAVAILABLE on that call.
  static Result<Client> Connect(std::string endpoint, std::chrono::milliseconds timeout);

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  const std::string& endpoint() const { return endpoint_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

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

  // ImageService. PullImage has no deadline of the client's: a pull takes what it takes.
  Result<v1::ListImagesResponse> ListImages(const v1::ListImagesRequest& req);
  Result<v1::ImageStatusResponse> ImageStatus(const v1::ImageStatusRequest& req);
  Result<v1::PullImageResponse> PullImage(const v1::PullImageRequest& req);
  Result<v1::RemoveImageResponse> RemoveImage(const v1::RemoveImageRequest& req);
  Result<v1::ImageFsInfoResponse> ImageFsInfo(const v1::ImageFsInfoRequest& req);

 private:
  struct Stubs;
  Client(std::string endpoint, std::chrono::milliseconds timeout, std::unique_ptr<Stubs> stubs);

  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Stubs> stubs_;
};

}  // namespace berth::cri
