// The gRPC edge of berthd: RuntimeService and ImageService of CRI v1 on a unix socket. The
// only place where Error kinds become gRPC codes; every handler is a thin call into Daemon.
// A request's namespace is the `berth-namespace` metadata (berthctl's workflows set it),
// else k8s.io, as kubelet sends none.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "base/error.h"
#include "daemon/daemon.h"

namespace berth::daemon {

inline constexpr const char* kNamespaceMetadata = "berth-namespace";

grpc::Status ToStatus(const Error& e);

class Server {
 public:
  // Listens on config.listen (unix socket, mode 0660; a stale socket file is replaced).
  static Result<std::unique_ptr<Server>> Start(Daemon& daemon);
  ~Server();
  void Wait();
  void Stop();  // stops serving; in-flight calls get a short grace

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::daemon
