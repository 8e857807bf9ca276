// berthctl's CRI commands: a crictl-style client of any CRI v1 runtime (berthd, containerd's
// CRI plugin, CRI-O) over --runtime-endpoint (and --image-endpoint for the ImageService).
// Kept apart from main.cc so that only cmd_cri*.cc pay for the generated CRI headers.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::cli {

struct RunArgs;
struct RmArgs;

class CriCommands {
 public:
  // Adds -r/--runtime-endpoint, --image-endpoint, --timeout, -n/--namespace, -D/--debug,
  // --crictl-config and the CRI subcommands to `app`.
  void Register(CLI::App& app);
  // Runs the CRI subcommand that was parsed (after settling the options: flags, then the
  // environment, then crictl's config file, then defaults); nullopt when the command line
  // chose another.
  std::optional<int> Run();

  struct Options {
    std::string endpoint, image_endpoint;  // image_endpoint empty: the runtime's
    std::string ns;                        // berth-namespace; empty: none sent (k8s.io)
    std::string crictl_config;
    double timeout_s = 10;
    bool debug = false;
  };
  // What the command line said, before the environment and crictl.yaml fill the rest.
  struct Given {
    CLI::Option *endpoint = nullptr, *image_endpoint = nullptr, *timeout = nullptr,
                *ns = nullptr, *crictl_config = nullptr, *debug = nullptr;
  };
  using CommandList = std::vector<std::pair<CLI::App*, std::function<int()>>>;

  // For the docker-style commands (run, rm): the options settled as for the CRI commands,
  // in berthctl's own namespace unless -n or BERTH_NAMESPACE chose one.
  Result<Options> DockerOptions();

 private:
  Options opts_;
  Given given_;
  CommandList commands_;
};

// run and rm through berthd (cmd_docker_run.cc, cmd_docker.cc), with DockerOptions().
int DockerRun(const CriCommands::Options& o, const RunArgs& a);
int DockerRm(const CriCommands::Options& o, const RmArgs& a);

}  // namespace berth::cli
