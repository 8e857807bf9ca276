// berthctl's CRI commands: a crictl-style client of any CRI v1 runtime (containerd's CRI
// plugin, CRI-O, later berthd) over --runtime-endpoint. Kept apart from main.cc so that only
// cmd_cri*.cc pay for the generated CRI headers.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace berth::cli {

class CriCommands {
 public:
  // Adds -r/--runtime-endpoint, --timeout and the CRI subcommands to `app`.
  void Register(CLI::App& app);
  // Runs the CRI subcommand that was parsed; nullopt when the command line chose another.
  std::optional<int> Run();

  struct Options {
    std::string endpoint;
    double timeout_s = 10;
  };

 private:
  Options opts_;
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
};

}  // namespace berth::cli
