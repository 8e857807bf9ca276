// berthctl's CRI commands: a crictl-style client of any CRI v1 runtime (berthd, containerd's
// CRI plugin, CRI-O) over --runtime-endpoint (and --image-endpoint for the ImageService).
// Kept apart from main.cc so that only cmd_cri*.cc pay for the generated CRI headers.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace berth::cli {

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

 private:
  Options opts_;
  Given given_;
  CommandList commands_;
};

}  // namespace berth::cli
