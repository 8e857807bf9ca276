// The CRI → OCI layer of CreateContainer: daemon::BuildContainerSpec on a ContainerConfig
// and a PodSandboxConfig decoded from the fuzz bytes — [host flags][2-byte length]
// [ContainerConfig wire bytes][PodSandboxConfig wire bytes] — against a rootfs with an
// /etc/passwd and /etc/group, an image config and the pod's prepared paths. It only reads
// the host (passwd/group in the rootfs, a Localhost seccomp profile, stat of mount and device
// paths, /dev for a privileged container). A spec it builds must pass spec::Validate, as
// berth would run it; every refusal must become a gRPC status of one printable line.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "daemon/container_spec.h"
#include "daemon/server.h"
#include "fuzz_util.h"
#include "spec/default_spec.h"
#include "spec/parse.h"
#include "spec/validate.h"
#include "sys/fs.h"

namespace {

using namespace berth;

std::string g_dir;

const std::string& Rootfs() {
  static const std::string rootfs = [] {
    char tmpl[] = "/tmp/berth-spec-fuzz.XXXXXX";
    if (!mkdtemp(tmpl)) fuzz::Fail("mkdtemp");
    g_dir = tmpl;
    std::string r = g_dir + "/rootfs";
    if (mkdir(r.c_str(), 0755) < 0 || mkdir((r + "/etc").c_str(), 0755) < 0)
      fuzz::Fail("mkdir rootfs");
    std::ofstream(r + "/etc/passwd")
        << "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n";
    std::ofstream(r + "/etc/group") << "root:x:0:\nwww:x:33:\nextra:x:1000:www,root\n";
    atexit([] { (void)sys::RemoveTree(g_dir); });
    return r;
  }();
  return rootfs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t flags = in.Byte();
  size_t n = in.Byte();
  n = n << 8 | in.Byte();
  daemon::v1::ContainerConfig config;
  daemon::v1::PodSandboxConfig sandbox;
  std::string_view cbytes = in.Take(n);
  if (!config.ParseFromArray(cbytes.data(), static_cast<int>(cbytes.size()))) return 0;
  std::string_view sbytes = in.Rest();
  if (!sandbox.ParseFromArray(sbytes.data(), static_cast<int>(sbytes.size()))) return 0;

  static const auto base = spec::ParseSpec(spec::DefaultSpecJson(false), "default spec");
  if (!base) fuzz::Fail("default spec", base.error().Message());
  daemon::HostFeatures host;
  host.cgroup_v2 = flags & 1;
  host.seccomp = flags & 2;
  host.swap_accounting = flags & 4;
  host.hugepage_sizes = {"2MB", "1GB"};
  host.min_oom_score_adj = (flags & 8) ? 0 : -1000;
  if (flags & 16) host.capabilities = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  image::ImageConfig image;
  image.user = (flags & 32) ? "www" : "";
  image.env = {"PATH=/usr/bin:/bin"};
  image.cmd = {"/bin/sh"};
  image.working_dir = "/";
  daemon::SandboxInputs pod;
  pod.id = "pod0123";
  pod.net_ns_path = "/proc/self/ns/net";
  pod.cgroup_parent = "/kubepods/pod0123";
  pod.hostname = sandbox.hostname();
  daemon::ContainerInputs container;
  container.id = "ctr0123";
  container.rootfs = Rootfs();
  container.cgroups_path = "/kubepods/pod0123/ctr0123";

  auto s = daemon::BuildContainerSpec(*base, config, sandbox, image, pod, container, host);
  if (!s) {
    // What kubelet gets: the status server.cc makes of CreateContainer's error.
    fuzz::CheckText(daemon::ToStatus(s.error()).error_message(), "BuildContainerSpec");
    return 0;
  }
  spec::ValidateOptions opts;
  if (auto v = spec::Validate(*s, opts); !v)
    fuzz::Fail("BuildContainerSpec made a spec that does not validate", v.error().Message());
  return 0;
}
