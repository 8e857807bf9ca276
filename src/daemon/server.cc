#include "daemon/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/text.h"
#include "cri/v1/api.grpc.pb.h"
#include "sys/fs.h"

namespace berth::daemon {

grpc::Status ToStatus(const Error& e) {
  // Messages quote request text (names, paths, env keys): escaped here, once for every call,
  // so what kubelet records and shows in events is one line without control characters.
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(e.Kind())),
                      EscapeText(e.Message()));
}

namespace {

Result<std::string> RequestNamespace(const grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(kNamespaceMetadata);
  if (it == md.end()) return std::string(kCriNamespace);
  std::string ns(it->second.data(), it->second.size());
  bool ok = !ns.empty() && ns.size() <= 64 && ns[0] != '.' && ns[0] != '-';
  for (char c : ns) ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  if (!ok)
    return InvalidArgument("namespace", ns.substr(0, 64),
                           "a namespace is 1-64 of [a-z0-9.-], not starting with . or -");
  return ns;
}

template <class Resp>
grpc::Status Answer(const char* call, Result<Resp> r, Resp* out) {
  if (!r) {
    log::Debug(std::string(call) + ": " + r.error().Message());
    return ToStatus(r.error());
  }
  *out = std::move(*r);
  return grpc::Status::OK;
}

// A handler taking the namespace.
#define BERTH_NS_CALL(Name, Req, Resp)                                                 \
  grpc::Status Name(grpc::ServerContext* ctx, const v1::Req* req, v1::Resp* resp) override { \
    auto ns = RequestNamespace(ctx);                                                   \
    if (!ns) return ToStatus(ns.error());                                              \
    return Answer(#Name, d_.Name(*ns, *req), resp);                                    \
  }
#define BERTH_CALL(Name, Req, Resp)                                                    \
  grpc::Status Name(grpc::ServerContext*, const v1::Req* req, v1::Resp* resp) override { \
    return Answer(#Name, d_.Name(*req), resp);                                         \
  }

class RuntimeServiceImpl final : public v1::RuntimeService::Service {
 public:
  explicit RuntimeServiceImpl(Daemon& d) : d_(d) {}
  BERTH_CALL(Version, VersionRequest, VersionResponse)
  BERTH_CALL(Status, StatusRequest, StatusResponse)
  BERTH_CALL(UpdateRuntimeConfig, UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponse)
  BERTH_NS_CALL(RunPodSandbox, RunPodSandboxRequest, RunPodSandboxResponse)
  BERTH_NS_CALL(StopPodSandbox, StopPodSandboxRequest, StopPodSandboxResponse)
  BERTH_NS_CALL(RemovePodSandbox, RemovePodSandboxRequest, RemovePodSandboxResponse)
  BERTH_NS_CALL(PodSandboxStatus, PodSandboxStatusRequest, PodSandboxStatusResponse)
  BERTH_NS_CALL(ListPodSandbox, ListPodSandboxRequest, ListPodSandboxResponse)
  BERTH_NS_CALL(CreateContainer, CreateContainerRequest, CreateContainerResponse)
  BERTH_NS_CALL(StartContainer, StartContainerRequest, StartContainerResponse)
  BERTH_NS_CALL(StopContainer, StopContainerRequest, StopContainerResponse)
  BERTH_NS_CALL(RemoveContainer, RemoveContainerRequest, RemoveContainerResponse)
  BERTH_NS_CALL(ListContainers, ListContainersRequest, ListContainersResponse)
  BERTH_NS_CALL(ContainerStatus, ContainerStatusRequest, ContainerStatusResponse)
  BERTH_NS_CALL(ExecSync, ExecSyncRequest, ExecSyncResponse)
  BERTH_NS_CALL(ContainerStats, ContainerStatsRequest, ContainerStatsResponse)
  BERTH_NS_CALL(ListContainerStats, ListContainerStatsRequest, ListContainerStatsResponse)
  BERTH_NS_CALL(PodSandboxStats, PodSandboxStatsRequest, PodSandboxStatsResponse)
  BERTH_NS_CALL(ListPodSandboxStats, ListPodSandboxStatsRequest, ListPodSandboxStatsResponse)
  BERTH_NS_CALL(UpdateContainerResources, UpdateContainerResourcesRequest,
                UpdateContainerResourcesResponse)
  BERTH_NS_CALL(ReopenContainerLog, ReopenContainerLogRequest, ReopenContainerLogResponse)
  BERTH_NS_CALL(Exec, ExecRequest, ExecResponse)
  BERTH_NS_CALL(Attach, AttachRequest, AttachResponse)
  BERTH_NS_CALL(PortForward, PortForwardRequest, PortForwardResponse)

  grpc::Status CheckpointContainer(grpc::ServerContext*, const v1::CheckpointContainerRequest*,
                                   v1::CheckpointContainerResponse*) override {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "CheckpointContainer: berthd does not checkpoint containers");
  }

  grpc::Status GetContainerEvents(grpc::ServerContext* ctx, const v1::GetEventsRequest*,
                                  grpc::ServerWriter<v1::ContainerEventResponse>* w) override {
    auto ns = RequestNamespace(ctx);
    if (!ns) return ToStatus(ns.error());
    auto sub = d_.events().Subscribe(*ns);
    // Tells the client the stream is live: events from here on reach it.
    w->SendInitialMetadata();
    while (!ctx->IsCancelled()) {
      std::unique_lock lock(sub->mu);
      sub->cv.wait_for(lock, std::chrono::milliseconds(500),
                       [&] { return sub->closed || !sub->queue.empty(); });
      if (sub->closed) break;
      while (!sub->queue.empty()) {
        v1::ContainerEventResponse e = std::move(sub->queue.front());
        sub->queue.pop_front();
        lock.unlock();
        bool ok = w->Write(e);
        lock.lock();
        if (!ok) {
          lock.unlock();
          d_.events().Unsubscribe(sub);
          return grpc::Status::OK;
        }
      }
    }
    d_.events().Unsubscribe(sub);
    return grpc::Status::OK;
  }

 private:
  Daemon& d_;
};

class ImageServiceImpl final : public v1::ImageService::Service {
 public:
  explicit ImageServiceImpl(Daemon& d) : d_(d) {}
  BERTH_CALL(ListImages, ListImagesRequest, ListImagesResponse)
  BERTH_CALL(ImageStatus, ImageStatusRequest, ImageStatusResponse)
  BERTH_CALL(PullImage, PullImageRequest, PullImageResponse)
  BERTH_CALL(RemoveImage, RemoveImageRequest, RemoveImageResponse)
  BERTH_CALL(ImageFsInfo, ImageFsInfoRequest, ImageFsInfoResponse)

 private:
  Daemon& d_;
};

#undef BERTH_NS_CALL
#undef BERTH_CALL
#undef BERTH_STREAMING_LATER

Result<std::string> SocketPath(const std::string& listen) {
  std::string p = listen;
  if (p.starts_with("unix://")) p = p.substr(7);
  else if (p.starts_with("unix:")) p = p.substr(5);
  if (p.empty() || p[0] != '/')
    return InvalidArgument("listen", listen, "expected unix:///ABSOLUTE/PATH");
  return p;
}

}  // namespace

struct Server::Impl {
  explicit Impl(Daemon& d) : runtime(d), images(d) {}
  RuntimeServiceImpl runtime;
  ImageServiceImpl images;
  std::unique_ptr<grpc::Server> server;
  std::string socket;
};

Result<std::unique_ptr<Server>> Server::Start(Daemon& daemon) {
  std::string socket = BERTH_TRY(SocketPath(daemon.config().listen));
  std::string dir = socket.substr(0, socket.rfind('/'));
  BERTH_TRYV(sys::MkdirAll(dir, 0755));
  // A socket left by a berthd killed earlier: nobody can be listening (berthd holds its
  // root's lock), so it is replaced. Anything that is not a socket is left and refused.
  struct stat st;
  if (::lstat(socket.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return AlreadyExists("listen", socket, "exists and is not a socket");
    ::unlink(socket.c_str());
  }
  auto s = std::unique_ptr<Server>(new Server);
  s->impl_ = std::make_unique<Impl>(daemon);
  grpc::ServerBuilder b;
  b.AddListeningPort("unix://" + socket, grpc::InsecureServerCredentials());
  b.RegisterService(&s->impl_->runtime);
  b.RegisterService(&s->impl_->images);
  b.SetMaxReceiveMessageSize(16 << 20);
  b.SetMaxSendMessageSize(16 << 20);
  s->impl_->server = b.BuildAndStart();
  if (!s->impl_->server) return Unavailable("listen", socket, "gRPC could not serve there");
  if (::chmod(socket.c_str(), 0660) < 0) return Errno("chmod", socket);
  s->impl_->socket = socket;
  return s;
}

Server::~Server() = default;

void Server::Wait() { impl_->server->Wait(); }

void Server::Stop() {
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  ::unlink(impl_->socket.c_str());
}

}  // namespace berth::daemon
