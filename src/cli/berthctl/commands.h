// berthctl's commands. Each returns the process exit status; errors are printed by the
// command as "berthctl: <message>".
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "image/limits.h"
#include "image/registry.h"
#include "image/store.h"

namespace berth::cli {

struct Globals {
  std::string root = "/var/lib/berth/images";
  std::string hosts_dir = "/etc/berth/certs.d";
  std::string auth_file;
  std::vector<std::string> insecure;
  std::string user;  // USER:PASS for the registry of the reference (pull)
  std::string config = "/etc/berth/berth.toml";  // its [image] table: the limits
  image::Limits limits;  // from the config, then --max-* flags
};

int Fail(const Error& e);
Result<image::Store> OpenStore(const Globals& g);
Result<std::unique_ptr<image::RegistryClient>> NewClient(const Globals& g,
                                                         const image::Reference& ref);
Result<image::Platform> PlatformOrHost(const std::string& text);
// Pulls with the progress display on `out`: stdout for `pull` (as docker), stderr for
// `run` (whose stdout is the container's).
Result<image::ImageRecord> PullWithProgress(const Globals& g, image::Store& store,
                                            const image::Reference& ref,
                                            const image::Platform& platform, bool quiet,
                                            FILE* out);

struct PullArgs {
  std::string ref, platform;
  bool quiet = false;
};
int CmdPull(const Globals& g, const PullArgs& a);
int CmdImages(const Globals& g, bool quiet, bool digests);
int CmdRmi(const Globals& g, const std::vector<std::string>& refs);
int CmdInspect(const Globals& g, const std::string& ref, const std::string& platform);
int CmdGc(const Globals& g);
int CmdImport(const Globals& g, const std::string& path, const std::string& name);
int CmdExport(const Globals& g, const std::vector<std::string>& refs, const std::string& out,
              const std::string& format, const std::string& platform);

struct CheckArgs {
  bool repair = false, quick = false;
  std::string output;  // "" / "text" or "json"
};
int CmdCheck(const Globals& g, const CheckArgs& a);

// run: through berthd (DockerRun, cri_commands.h), or with --local without a daemon (CmdRun).
// `runtime` is a runtime handler of berthd's, or with --local an OCI runtime binary.
struct RunArgs {
  std::string image, name, workdir, user, entrypoint, runtime, platform, hostname;
  std::string network = "cni", cgroup_parent;  // through berthd
  std::vector<std::string> env, args, volumes, ports;
  bool rm = false, tty = false, interactive = false, read_only = false, detach = false,
       local = false;
};
int CmdRun(const Globals& g, const RunArgs& a);
struct RmArgs {
  std::vector<std::string> ids;
  std::string runtime;  // --local: the OCI runtime asked whether each container still exists
  bool local = false, force = false;
};
int CmdRm(const Globals& g, const RmArgs& a);

}  // namespace berth::cli
