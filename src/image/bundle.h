// An OCI runtime bundle from an image: the rootfs mounted from a snapshot and a
// config.json derived from the image config (Entrypoint + Cmd, or the user's command;
// Env; WorkingDir; User as uid[:gid] resolved through the rootfs's /etc/passwd and
// /etc/group; StopSignal as an annotation), on top of `berth spec`'s defaults.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "image/manifest.h"

namespace berth::image {

struct BundleOptions {
  std::vector<std::string> args;  // replaces Cmd (and Entrypoint when `entrypoint` is set)
  std::vector<std::string> entrypoint;
  std::vector<std::string> env;   // "K=V", appended (a K already set is replaced)
  std::string working_dir;
  std::string user;
  std::string hostname;
  bool terminal = false;
  bool readonly_rootfs = false;
};

// What Docker and containerd grant a container by default (bounding, effective, permitted).
const std::vector<std::string>& DefaultCapabilities();

// Writes <bundle>/config.json for a rootfs already at <bundle>/rootfs.
Result<void> WriteBundleConfig(const std::string& bundle, const ImageConfig& config,
                               const BundleOptions& opts);

}  // namespace berth::image
