// Running one CNI plugin: posix_spawn (berthd is threaded) with the CNI_* environment, the
// config on stdin, stdout and stderr collected, and a deadline after which the plugin's
// whole process group (it runs in a session of its own, so the IPAM plugins it runs are in
// it too) is SIGKILLed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::cni::internal {

struct PluginRun {
  std::string path;                      // the plugin binary
  std::vector<std::string> env;          // the child's whole environment
  std::string input;                     // its stdin
  std::chrono::milliseconds timeout{0};  // 0: none
  // Names the call in a timeout's error: "CNI ADD bridge".
  std::string what;
  std::string subject;
};

struct PluginOutput {
  int wait_status = 0;
  std::string out;  // stdout, whole (up to 16 MiB)
  std::string err;  // the end of stderr (64 KiB)
};

// Spawns, feeds, collects and reaps. A spawn failure is its errno; the deadline passed is
// kDeadlineExceeded (the group killed and the plugin reaped first). A non-zero exit is not an
// error here: the caller reads the plugin's error JSON.
Result<PluginOutput> RunPlugin(const PluginRun& run);

// The caller's environment without CNI_* variables, plus `vars` (and a PATH when the caller
// has none: portmap and bridge run iptables from PATH).
std::vector<std::string> PluginEnv(const std::vector<std::string>& vars);

}  // namespace berth::cni::internal
