// berthd's CRI handlers (daemon::Daemon, below the gRPC edge) on requests decoded from the
// fuzz bytes: [request type][namespace selector][protobuf wire bytes of that request].
// The daemon is opened once, on a private temporary root and state directory with no pods,
// containers or images (shim_binary /bin/true: no shim is ever started, CNI has no config).
// Calls that would make things on the host — RunPodSandbox (namespaces, network, a shim),
// PullImage (a registry on the network) — are not fuzzed here: their request validation
// and the CRI → OCI spec layer are in container_spec_fuzz. Every other call runs for real:
// id and prefix lookups, list filters, image references against the store, runtime config,
// streaming URLs. Any error must become a gRPC status whose text is one printable line.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/log.h"
#include "daemon/daemon.h"
#include "daemon/server.h"
#include "fuzz_util.h"
#include "sys/fs.h"

namespace {

using namespace berth;
using namespace berth::daemon;

std::string g_dir;

// Never destroyed by a static destructor: the atexit handler shuts it down and deletes it.
Daemon& TheDaemon() {
  static Daemon* d = [] {
    char tmpl[] = "/tmp/berth-cri-fuzz.XXXXXX";
    if (!mkdtemp(tmpl)) fuzz::Fail("mkdtemp");
    g_dir = tmpl;
    log::Init("/dev/null", log::Format::kText, false);
    Config c;
    c.root = g_dir + "/root";
    c.state = g_dir + "/state";
    c.listen = "unix://" + g_dir + "/berth.sock";
    c.hosts_dir = g_dir + "/certs.d";
    c.cni_conf_dir = g_dir + "/net.d";
    c.cni_bin_dirs = {g_dir + "/cni-bin"};
    c.shim_binary = "/bin/true";
    c.stream_address = "127.0.0.1";
    c.stream_port = 0;
    auto opened = Daemon::Open(c);
    if (!opened) fuzz::Fail("Daemon::Open", opened.error().Message());
    atexit([] {
      Daemon* daemon = &TheDaemon();
      daemon->Shutdown();
      delete daemon;
      (void)sys::RemoveTree(g_dir);
    });
    return opened->release();
  }();
  return *d;
}

template <class Req, class Call>
void Run(std::string_view bytes, Call call, const char* name) {
  Req req;
  if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  auto r = call(req);
  // What kubelet gets: the status server.cc makes of the error.
  if (!r) fuzz::CheckText(ToStatus(r.error()).error_message(), name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t type = in.Byte();
  static const std::string kNamespaces[] = {"k8s.io", "default", "moby"};
  const std::string ns = kNamespaces[in.Byte() % 3];
  const std::string_view b = in.Rest();
  Daemon& d = TheDaemon();
#define CRI(Name)                                                                     \
  Run<v1::Name##Request>(b, [&](const auto& r) { return d.Name(ns, r); }, #Name); \
  break
#define CRI_NO_NS(Name)                                                           \
  Run<v1::Name##Request>(b, [&](const auto& r) { return d.Name(r); }, #Name); \
  break
  switch (type % 26) {
    case 0: CRI_NO_NS(Version);
    case 1: CRI_NO_NS(Status);
    case 2: CRI_NO_NS(UpdateRuntimeConfig);
    case 3: CRI(StopPodSandbox);
    case 4: CRI(RemovePodSandbox);
    case 5: CRI(PodSandboxStatus);
    case 6: CRI(ListPodSandbox);
    case 7: CRI(CreateContainer);
    case 8: CRI(StartContainer);
    case 9: CRI(StopContainer);
    case 10: CRI(RemoveContainer);
    case 11: CRI(ListContainers);
    case 12: CRI(ContainerStatus);
    case 13: CRI(ExecSync);
    case 14: CRI(ContainerStats);
    case 15: CRI(ListContainerStats);
    case 16: CRI(PodSandboxStats);
    case 17: CRI(ListPodSandboxStats);
    case 18: CRI(UpdateContainerResources);
    case 19: CRI(ReopenContainerLog);
    case 20: CRI(Exec);
    case 21: CRI(Attach);
    case 22: CRI(PortForward);
    case 23: CRI_NO_NS(ListImages);
    case 24: CRI_NO_NS(ImageStatus);
    default: CRI_NO_NS(RemoveImage);
  }
#undef CRI
#undef CRI_NO_NS
  return 0;
}
