// berthd's configuration: TOML file (default /etc/berth/berth.toml, the same file berthctl
// reads its [image] limits from) and flags; flags win over the file. docs/berthd.md lists
// every key with its default.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "image/limits.h"

namespace berth::daemon {

inline constexpr std::string_view kCriNamespace = "k8s.io";
inline constexpr std::string_view kDefaultConfigFile = "/etc/berth/berth.toml";

struct Config {
  std::string listen = "unix:///run/berth/berth.sock";
  std::string root = "/var/lib/berth";  // images/, meta/ (durable)
  std::string state = "/run/berth";     // shims, runtime state, bundles, pod files (volatile)
  std::string hosts_dir = "/etc/berth/certs.d";
  std::vector<std::string> insecure_registries;
  std::string auth_file;  // docker-style config.json of registry credentials ("" none)
  std::string cni_conf_dir = "/etc/cni/net.d";
  std::vector<std::string> cni_bin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  // Runtime handlers: name → binary (a path or a name in PATH). "berth" is always there
  // (the berth next to berthd unless configured).
  std::map<std::string, std::string> runtimes;
  std::string default_runtime = "berth";
  std::string shim_binary;  // "" = berth-shim next to berthd
  std::string pause_image = "registry.k8s.io/pause:3.9";  // accepted; see docs/berthd.md
  std::string log_level = "info";
  std::string cgroup_driver = "cgroupfs";  // the only one here (systemd: a clear error)
  // A pull whose download moves less than 1 byte/s for this long fails.
  std::chrono::seconds pull_stall_timeout{60};
  // Timeout of each runtime/shim call (not of a container's run).
  std::chrono::seconds runtime_timeout{60};
  // Each CNI plugin run (ADD, DEL): a plugin that hangs is killed and RunPodSandbox fails.
  std::chrono::seconds cni_plugin_timeout{60};
  // The streaming server (Exec, Attach, PortForward URLs; docs/streaming.md), as
  // containerd's stream_server_address/port: loopback and a free port by default.
  std::string stream_address = "127.0.0.1";
  int stream_port = 0;
  std::string stream_tls_cert, stream_tls_key;  // both or neither: https URLs
  std::chrono::seconds stream_token_ttl{60};    // an unused URL expires
  int stream_max_sessions = 128;                // connections at once
  image::Limits limits;
};

// Reads `path` into config (keys documented in docs/berthd.md, [image] as berthctl's). A
// missing file is fine unless must_exist. Unknown keys are an error naming file and key.
Result<void> LoadConfigFile(Config& config, const std::string& path, bool must_exist);
Result<void> ParseConfigToml(Config& config, std::string_view text, const std::string& file);

// Checks what the flags and the file gave together: absolute dirs, a known default runtime,
// the cgroup driver. kInvalidArgument naming the key.
Result<void> ValidateConfig(const Config& config);

}  // namespace berth::daemon
