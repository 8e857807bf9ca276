#include "cri/client.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <type_traits>

#include "base/log.h"
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

Client::Client(ClientOptions o, std::unique_ptr<Stubs> stubs)
    : endpoint_(std::move(o.endpoint)),
      image_endpoint_(std::move(o.image_endpoint)),
      timeout_(o.timeout),
      ns_(std::move(o.ns)),
      stubs_(std::move(stubs)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

namespace {

Result<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& endpoint) {
  auto target = GrpcTarget(endpoint);
  if (!target) return std::unexpected(target.error().Wrap("cri"));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  auto channel = grpc::CreateCustomChannel(*target, grpc::InsecureChannelCredentials(), args);
  if (!channel) return Internal("cri: connect", endpoint, "gRPC refused to create a channel");
  return channel;
}

}  // namespace

Result<Client> Client::Connect(ClientOptions o) {
  if (o.image_endpoint.empty()) o.image_endpoint = o.endpoint;
  auto runtime = BERTH_TRY(OpenChannel(o.endpoint));
  auto image = runtime;
  if (o.image_endpoint != o.endpoint) image = BERTH_TRY(OpenChannel(o.image_endpoint));
  auto stubs = std::make_unique<Stubs>();
  stubs->runtime = v1::RuntimeService::NewStub(runtime);
  stubs->image = v1::ImageService::NewStub(image);
  return Client(std::move(o), std::move(stubs));
}

Result<Client> Client::Connect(std::string endpoint, std::chrono::milliseconds timeout) {
  ClientOptions o;
  o.endpoint = std::move(endpoint);
  o.timeout = timeout;
  return Connect(std::move(o));
}

namespace {

// The Error for a failed call: named call and endpoint, the code's name and the server's
// message, of the kind the code is.
Error StatusError(const grpc::Status& st, const char* name, const std::string& endpoint,
                  Deadline deadline) {
  std::string detail(StatusCodeName(st.error_code()));
  if (!st.error_message().empty()) detail += ": " + st.error_message();
  if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && deadline)
    detail += " (after " + std::to_string(deadline->count()) + " ms; raise --timeout)";
  Error e{0, name, "on " + endpoint, std::move(detail), {}};
  e.WithKind(KindFromInt(st.error_code()));
  e.Wrap("cri");
  return e;
}

void Prepare(grpc::ClientContext& ctx, const std::string& ns, Deadline deadline) {
  if (deadline) ctx.set_deadline(std::chrono::system_clock::now() + *deadline);
  if (!ns.empty()) ctx.AddMetadata(kNamespaceMetadata, ns);
}

// One unary call under a deadline (none: wait as long as the server takes), its status turned
// into an Error. Not wait_for_ready: an endpoint nobody listens on fails at once.
template <class Stub, class Req, class Resp>
Result<Resp> Call(Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const char* name, const std::string& endpoint, const std::string& ns,
                  const Req& req, Deadline deadline) {
  grpc::ClientContext ctx;
  Prepare(ctx, ns, deadline);
  auto t0 = std::chrono::steady_clock::now();
  Resp resp;
  grpc::Status st = (stub->*method)(&ctx, req, &resp);
  if (log::DebugEnabled()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0).count();
    log::Debug("cri: " + std::string(name) + " on " + endpoint +
               (ns.empty() ? "" : " (namespace " + ns + ")") + ": " +
               std::string(StatusCodeName(st.error_code())) + " in " + std::to_string(ms) +
               " ms");
  }
  if (st.ok()) return resp;
  return std::unexpected(StatusError(st, name, endpoint, deadline));
}

}  // namespace

#define BERTH_CRI_CALL(service, Name, deadline)                                              \
  Call(stubs_->service.get(), &std::remove_reference_t<decltype(*stubs_->service)>::Name, \
       #Name, BERTH_CRI_ENDPOINT_##service, ns_, req, deadline)
#define BERTH_CRI_ENDPOINT_runtime endpoint_
#define BERTH_CRI_ENDPOINT_image image_endpoint_

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
Result<v1::ExecResponse> Client::Exec(const v1::ExecRequest& req) {
  return BERTH_CRI_CALL(runtime, Exec, timeout_);
}
Result<v1::AttachResponse> Client::Attach(const v1::AttachRequest& req) {
  return BERTH_CRI_CALL(runtime, Attach, timeout_);
}
Result<v1::PortForwardResponse> Client::PortForward(const v1::PortForwardRequest& req) {
  return BERTH_CRI_CALL(runtime, PortForward, timeout_);
}
Result<v1::ContainerStatsResponse> Client::ContainerStats(const v1::ContainerStatsRequest& req) {
  return BERTH_CRI_CALL(runtime, ContainerStats, timeout_);
}
Result<v1::ListContainerStatsResponse> Client::ListContainerStats(
    const v1::ListContainerStatsRequest& req) {
  return BERTH_CRI_CALL(runtime, ListContainerStats, timeout_);
}
Result<v1::PodSandboxStatsResponse> Client::PodSandboxStats(
    const v1::PodSandboxStatsRequest& req) {
  return BERTH_CRI_CALL(runtime, PodSandboxStats, timeout_);
}
Result<v1::ListPodSandboxStatsResponse> Client::ListPodSandboxStats(
    const v1::ListPodSandboxStatsRequest& req) {
  return BERTH_CRI_CALL(runtime, ListPodSandboxStats, timeout_);
}
Result<v1::ReopenContainerLogResponse> Client::ReopenContainerLog(
    const v1::ReopenContainerLogRequest& req) {
  return BERTH_CRI_CALL(runtime, ReopenContainerLog, timeout_);
}
Result<v1::UpdateContainerResourcesResponse> Client::UpdateContainerResources(
    const v1::UpdateContainerResourcesRequest& req) {
  return BERTH_CRI_CALL(runtime, UpdateContainerResources, timeout_);
}
Result<v1::UpdateRuntimeConfigResponse> Client::UpdateRuntimeConfig(
    const v1::UpdateRuntimeConfigRequest& req) {
  return BERTH_CRI_CALL(runtime, UpdateRuntimeConfig, timeout_);
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
#undef BERTH_CRI_ENDPOINT_runtime
#undef BERTH_CRI_ENDPOINT_image

struct EventStream::Impl {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::ContainerEventResponse>> reader;
  std::string endpoint;
  std::atomic<bool> cancelled{false};
};

EventStream::EventStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStream::~EventStream() {
  // A reader must be finished before it goes; cancel first so Finish does not wait.
  if (impl_ && impl_->reader) {
    Cancel();
    v1::ContainerEventResponse skip;
    while (impl_->reader->Read(&skip)) {
    }
    (void)impl_->reader->Finish();
  }
}

bool EventStream::Next(v1::ContainerEventResponse* event) { return impl_->reader->Read(event); }

void EventStream::Cancel() {
  impl_->cancelled = true;
  impl_->ctx.TryCancel();
}

Result<void> EventStream::Finish() {
  grpc::Status st = impl_->reader->Finish();
  impl_->reader.reset();
  if (st.ok() || (impl_->cancelled && st.error_code() == grpc::StatusCode::CANCELLED)) return {};
  return std::unexpected(StatusError(st, "GetContainerEvents", impl_->endpoint, std::nullopt));
}

Result<std::unique_ptr<EventStream>> Client::GetContainerEvents(const v1::GetEventsRequest& req) {
  auto impl = std::make_unique<EventStream::Impl>();
  impl->endpoint = endpoint_;
  Prepare(impl->ctx, ns_, std::nullopt);
  impl->reader = stubs_->runtime->GetContainerEvents(&impl->ctx, req);
  if (!impl->reader) return Internal("cri: GetContainerEvents", "on " + endpoint_, "no stream");
  return std::unique_ptr<EventStream>(new EventStream(std::move(impl)));
}

namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// A scalar of the flat mapping: quotes removed, a trailing comment dropped.
Result<std::string> Scalar(std::string_view raw, const std::string& where) {
  std::string v = Trim(raw);
  if (v.empty()) return v;
  if (v[0] == '"' || v[0] == '\'') {
    size_t close = v.find(v[0], 1);
    if (close == std::string::npos) return InvalidArgument("parse", where, "unterminated quote");
    std::string rest = Trim(std::string_view(v).substr(close + 1));
    if (!rest.empty() && rest[0] != '#')
      return InvalidArgument("parse", where, "text after the quoted value");
    return v.substr(1, close - 1);
  }
  if (size_t hash = v.find(" #"); hash != std::string::npos) v = Trim(v.substr(0, hash));
  if (v[0] == '{' || v[0] == '[' || v[0] == '|' || v[0] == '>' || v[0] == '&' || v[0] == '*')
    return InvalidArgument("parse", where, "only plain scalars are read (a flat key: value file)");
  return v;
}

}  // namespace

Result<CrictlConfig> ParseCrictlConfig(std::string_view text, const std::string& path) {
  CrictlConfig c;
  size_t lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    lineno++;
    std::string where = path + ":" + std::to_string(lineno);
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t == "---" || t == "...") continue;
    if (line[0] == ' ' || line[0] == '\t')
      return InvalidArgument("parse", where, "nested values are not crictl's format (key: value)");
    size_t colon = t.find(':');
    if (colon == std::string::npos || colon == 0)
      return InvalidArgument("parse", where, "expected key: value");
    std::string key = Trim(std::string_view(t).substr(0, colon));
    std::string value = BERTH_TRY(Scalar(std::string_view(t).substr(colon + 1), where));
    if (key == "runtime-endpoint") {
      c.runtime_endpoint = value;
    } else if (key == "image-endpoint") {
      c.image_endpoint = value;
    } else if (key == "timeout") {
      char* end = nullptr;
      double v = strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0')
        return InvalidArgument("parse", where, "timeout: \"" + value + "\" is not a number of seconds");
      c.timeout_s = v;
    } else if (key == "debug") {
      if (value == "true" || value == "True" || value == "TRUE") c.debug = true;
      else if (value == "false" || value == "False" || value == "FALSE") c.debug = false;
      else return InvalidArgument("parse", where, "debug: \"" + value + "\" is not true or false");
    } else {
      c.other_keys.push_back(key);
    }
  }
  return c;
}

}  // namespace berth::cri
