#include "cri/client.h"

#include <grpcpp/grpcpp.h>

#include <optional>
#include <type_traits>

#include "cri/v1/api.grpc.pb.h"

namespace berth::cri {

namespace {

// ExecSync output may be 16 MiB per stream (servers cap it there) and a busy node's
// ListContainers passes gRPC's 4 MiB default.
constexpr int kMaxMessageBytes = 64 << 20;

using Deadline = std::optional<std::chrono::milliseconds>;

}  // namespace

Result<std::string> GrpcTarget(std::string_view endpoint) {
  if (endpoint.empty()) return InvalidArgument("endpoint", "\"\"", "empty; expected unix:///path/to/socket");
  std::string_view path = endpoint;
  if (endpoint.starts_with("unix://")) {
    path = endpoint.substr(7);
  } else if (endpoint.starts_with("unix:")) {
    path = endpoint.substr(5);
  } else if (endpoint.find("://") != std::string_view::npos) {
    return InvalidArgument("endpoint", std::string(endpoint),
                "unsupported scheme; CRI endpoints here are unix sockets (unix:///path)");
  }
  if (path.empty()) return InvalidArgument("endpoint", std::string(endpoint), "no socket path");
  // gRPC reads "unix:///abs" as an absolute and "unix:rel" as a relative path.
  if (path.front() == '/') return "unix://" + std::string(path);
  return "unix:" + std::string(path);
}

std::string_view StatusCodeName(int code) {
  static constexpr std::string_view kNames[] = {
      "OK",           "CANCELLED",         "UNKNOWN",          "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",    "ALREADY_EXISTS",   "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",  "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",      "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "CODE_UNKNOWN";
  return kNames[code];
}

struct Client::Stubs {
  std::unique_ptr<v1::RuntimeService::Stub> runtime;
  std::unique_ptr<v1::ImageService::Stub> image;
};

Client::Client(std::string endpoint, std::chrono::milliseconds timeout,
               std::unique_ptr<Stubs> stubs)
    : endpoint_(std::move(endpoint)), timeout_(timeout), stubs_(std::move(stubs)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<Client> Client::Connect(std::string endpoint, std::chrono::milliseconds timeout) {
  auto target = GrpcTarget(endpoint);
  if (!target) return std::unexpected(target.error().Wrap("cri"));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  auto channel = grpc::CreateCustomChannel(*target, grpc::InsecureChannelCredentials(), args);
  if (!channel) return Internal("cri: connect", endpoint, "gRPC refused to create a channel");
  auto stubs = std::make_unique<Stubs>();
  stubs->runtime = v1::RuntimeService::NewStub(channel);
  stubs->image = v1::ImageService::NewStub(channel);
  return Client(std::move(endpoint), timeout, std::move(stubs));
}

namespace {

// One unary call under a deadline (none: wait as long as the server takes), its status turned
// into an Error. Not wait_for_ready: an endpoint nobody listens on fails at once.
template <class Stub, class Req, class Resp>
Result<Resp> Call(Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const char* name, const std::string& endpoint, const Req& req,
                  Deadline deadline) {
  grpc::ClientContext ctx;
  if (deadline) ctx.set_deadline(std::chrono::system_clock::now() + *deadline);
  Resp resp;
  grpc::Status st = (stub->*method)(&ctx, req, &resp);
  if (st.ok()) return resp;
  std::string detail(StatusCodeName(st.error_code()));
  if (!st.error_message().empty()) detail += ": " + st.error_message();
  if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && deadline)
    detail += " (after " + std::to_string(deadline->count()) + " ms; raise --timeout)";
  Error e{0, name, "on " + endpoint, std::move(detail), {}};
  e.Wrap("cri");
  return std::unexpected(std::move(e));
}

}  // namespace

#define BERTH_CRI_CALL(service, Name, deadline)                                              \
  Call(stubs_->service.get(), &std::remove_reference_t<decltype(*stubs_->service)>::Name, \
       #Name, endpoint_, req, deadline)

Result<v1::VersionResponse> Client::Version(const v1::VersionRequest& req) {
  return BERTH_CRI_CALL(runtime, Version, timeout_);
}
Result<v1::StatusResponse> Client::Status(const v1::StatusRequest& req) {
  return BERTH_CRI_CALL(runtime, Status, timeout_);
}
Result<v1::RunPodSandboxResponse> Client::RunPodSandbox(const v1::RunPodSandboxRequest& req) {
  return BERTH_CRI_CALL(runtime, RunPodSandbox, timeout_);
}
Result<v1::StopPodSandboxResponse> Client::StopPodSandbox(const v1::StopPodSandboxRequest& req) {
  return BERTH_CRI_CALL(runtime, StopPodSandbox, timeout_);
}
Result<v1::RemovePodSandboxResponse> Client::RemovePodSandbox(
    const v1::RemovePodSandboxRequest& req) {
  return BERTH_CRI_CALL(runtime, RemovePodSandbox, timeout_);
}
Result<v1::PodSandboxStatusResponse> Client::PodSandboxStatus(
    const v1::PodSandboxStatusRequest& req) {
  return BERTH_CRI_CALL(runtime, PodSandboxStatus, timeout_);
}
Result<v1::ListPodSandboxResponse> Client::ListPodSandbox(const v1::ListPodSandboxRequest& req) {
  return BERTH_CRI_CALL(runtime, ListPodSandbox, timeout_);
}
Result<v1::CreateContainerResponse> Client::CreateContainer(
    const v1::CreateContainerRequest& req) {
  return BERTH_CRI_CALL(runtime, CreateContainer, timeout_);
}
Result<v1::StartContainerResponse> Client::StartContainer(const v1::StartContainerRequest& req) {
  return BERTH_CRI_CALL(runtime, StartContainer, timeout_);
}
Result<v1::StopContainerResponse> Client::StopContainer(const v1::StopContainerRequest& req) {
  auto grace = std::chrono::seconds(std::max<int64_t>(req.timeout(), 0));
  return BERTH_CRI_CALL(runtime, StopContainer, timeout_ + grace);
}
Result<v1::RemoveContainerResponse> Client::RemoveContainer(
    const v1::RemoveContainerRequest& req) {
  return BERTH_CRI_CALL(runtime, RemoveContainer, timeout_);
}
Result<v1::ListContainersResponse> Client::ListContainers(const v1::ListContainersRequest& req) {
  return BERTH_CRI_CALL(runtime, ListContainers, timeout_);
}
Result<v1::ContainerStatusResponse> Client::ContainerStatus(
    const v1::ContainerStatusRequest& req) {
  return BERTH_CRI_CALL(runtime, ContainerStatus, timeout_);
}
Result<v1::ExecSyncResponse> Client::ExecSync(const v1::ExecSyncRequest& req) {
  Deadline d;
  if (req.timeout() > 0) d = timeout_ + std::chrono::seconds(req.timeout());
  return BERTH_CRI_CALL(runtime, ExecSync, d);
}

Result<v1::ListImagesResponse> Client::ListImages(const v1::ListImagesRequest& req) {
  return BERTH_CRI_CALL(image, ListImages, timeout_);
}
Result<v1::ImageStatusResponse> Client::ImageStatus(const v1::ImageStatusRequest& req) {
  return BERTH_CRI_CALL(image, ImageStatus, timeout_);
}
Result<v1::PullImageResponse> Client::PullImage(const v1::PullImageRequest& req) {
  return BERTH_CRI_CALL(image, PullImage, std::nullopt);
}
Result<v1::RemoveImageResponse> Client::RemoveImage(const v1::RemoveImageRequest& req) {
  return BERTH_CRI_CALL(image, RemoveImage, timeout_);
}
Result<v1::ImageFsInfoResponse> Client::ImageFsInfo(const v1::ImageFsInfoRequest& req) {
  return BERTH_CRI_CALL(image, ImageFsInfo, timeout_);
}

#undef BERTH_CRI_CALL

}  // namespace berth::cri
