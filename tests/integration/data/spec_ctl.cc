// berth-spec-ctl: daemon::BuildContainerSpec from CRI JSON, for
// tests/integration/test_daemon_spec.sh. Writes BUNDLE/config.json for the rootfs already at
// BUNDLE/rootfs, with this host's features (as berthd probes them).
//
//   berth-spec-ctl --bundle DIR --container CONTAINER_CONFIG.json [--sandbox SANDBOX.json]
//                  [--image IMAGE_CONFIG.json]
//
// CONTAINER_CONFIG.json is a runtime.v1.ContainerConfig and SANDBOX.json a PodSandboxConfig
// in protobuf's JSON mapping (crictl's file format); IMAGE_CONFIG.json an OCI image config.
// The pod uses the host's network, IPC and UTS (no SandboxInputs paths). An error is printed
// as "berth-spec-ctl: KIND: message" with exit status 1.
#include "daemon/container_spec.h"

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "spec/default_spec.h"
#include "spec/parse.h"
#include "sys/fs.h"

using namespace berth;

namespace {

int Die(const Error& e) {
  std::fprintf(stderr, "berth-spec-ctl: %s: %s\n", KindName(e.Kind()), e.Message().c_str());
  return 1;
}

int Usage() {
  std::fprintf(stderr,
               "usage: berth-spec-ctl --bundle DIR --container FILE [--sandbox FILE] "
               "[--image FILE]\n");
  return 2;
}

Result<void> ReadMessage(const std::string& path, google::protobuf::Message& msg) {
  auto text = BERTH_TRY(sys::ReadFile(path));
  auto st = google::protobuf::util::JsonStringToMessage(text, &msg);
  if (!st.ok()) return InvalidArgument("parse", path, st.ToString());
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  std::string bundle, container_file, sandbox_file, image_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    if (a == "--bundle")
      bundle = argv[++i];
    else if (a == "--container")
      container_file = argv[++i];
    else if (a == "--sandbox")
      sandbox_file = argv[++i];
    else if (a == "--image")
      image_file = argv[++i];
    else
      return Usage();
  }
  if (bundle.empty() || container_file.empty()) return Usage();

  daemon::v1::ContainerConfig config;
  daemon::v1::PodSandboxConfig sandbox;
  if (auto r = ReadMessage(container_file, config); !r) return Die(r.error());
  if (!sandbox_file.empty())
    if (auto r = ReadMessage(sandbox_file, sandbox); !r) return Die(r.error());
  image::ImageConfig image;
  if (!image_file.empty()) {
    auto text = sys::ReadFile(image_file);
    if (!text) return Die(text.error());
    auto parsed = image::ParseImageConfig(*text, image_file);
    if (!parsed) return Die(parsed.error());
    image = std::move(*parsed);
  }

  daemon::HostFeatures host;
  host.cgroup_v2 = ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  if (auto t = sys::ReadFile("/proc/self/oom_score_adj")) host.min_oom_score_adj = std::atoi(t->c_str());
  daemon::ProbeSpecFeatures(host);

  daemon::SandboxInputs pod;
  pod.id = "spec-ctl-sandbox";
  pod.hostname = sandbox.hostname();
  daemon::ContainerInputs container;
  container.id = "spec-ctl";
  container.rootfs = bundle + "/rootfs";

  auto base = spec::ParseSpec(spec::DefaultSpecJson(false), "default spec");
  if (!base) return Die(base.error());
  auto s = daemon::BuildContainerSpec(*base, config, sandbox, image, pod, container, host);
  if (!s) return Die(s.error());
  if (auto r = sys::WriteFileAtomic(bundle + "/config.json", spec::ToJson(*s), 0644); !r)
    return Die(r.error());
  return 0;
}
