// A client for an OCI runtime binary with runc's command line (berth, runc, crun): builds
// each command's argv from typed options, runs it with posix_spawn (usable from a threaded
// daemon: see spawn.h), and turns its failure into an Error with a kind (runtime_errors.h).
// The runtime-spec (runtime.md) names the operations; runc's CLI is what the binaries
// share: `[global flags] create|start|state|kill|delete|run [flags] <id> [signal]`.
//
// A RuntimeClient holds only its configuration: calls from several threads are fine.
// Children are reaped with waitpid(pid): a caller must not reap all children itself
// (waitpid(-1) or SIGCHLD set to SIG_IGN) while a call is running.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/spawn.h"

namespace berth::oci {

// The flags runc takes before the command.
struct GlobalOptions {
  std::string root;        // --root: the runtime's state directory
  std::string log;         // --log: the runtime writes its log (and errors) there
  std::string log_format;  // --log-format: text or json
  bool debug = false;      // --debug
  bool systemd_cgroup = false;  // --systemd-cgroup
};

struct CreateOptions {
  std::string bundle;          // --bundle (required)
  std::string pid_file;        // --pid-file
  std::string console_socket;  // --console-socket
  bool no_pivot = false;       // --no-pivot
  bool no_new_keyring = false;  // --no-new-keyring
  int preserve_fds = 0;        // --preserve-fds
  // The container's stdio: the runtime passes its own fds 0-2 on to the container's init,
  // so they are given here (-1: /dev/null). The runtime's errors are read from a log file
  // instead (GlobalOptions::log, or a temporary one of the client's).
  Stdio stdio;
};

struct KillOptions {
  std::string signal = "TERM";  // a name ("KILL", "SIGKILL") or a number
  bool all = false;             // --all: every process of the container
};

struct DeleteOptions {
  bool force = false;  // --force: kill a running container first
};

// The state of a container (runtime-spec runtime.md "State"), as `state` prints it.
struct ContainerState {
  std::string oci_version;
  std::string id;
  std::string status;  // "creating", "created", "running", "stopped" (or "paused")
  int pid = 0;         // 0 when the runtime gives none (stopped)
  std::string bundle;
  std::map<std::string, std::string> annotations;
};

// Parses the JSON `state` prints; fields other than the spec's are ignored.
Result<ContainerState> ParseState(std::string_view json);

// Finds the runtime binary: `explicit_binary` when given (a path, or a name looked up in
// PATH); else `berth` in the directory of the calling binary (/proc/self/exe); else
// `berth` in PATH. kNotFound names what was looked for and where.
Result<std::string> FindRuntime(const std::string& explicit_binary);

class RuntimeClient {
 public:
  struct Config {
    std::string binary;  // a path (FindRuntime's result)
    GlobalOptions global;
    // Limit for each command but a foreground `run` (0: none): a hung runtime is killed
    // and the call fails with kDeadlineExceeded.
    std::chrono::milliseconds timeout{0};
    // Where the temporary log files of create/run go (TMPDIR, else /tmp, when empty).
    std::string temp_dir;
  };

  explicit RuntimeClient(Config config) : config_(std::move(config)) {}
  // FindRuntime(explicit_binary) and a client for it.
  static Result<RuntimeClient> Find(const std::string& explicit_binary, GlobalOptions global = {});

  const std::string& Binary() const { return config_.binary; }
  const Config& GetConfig() const { return config_; }

  Result<void> Create(const std::string& id, const CreateOptions& options) const;
  Result<void> Start(const std::string& id) const;
  Result<ContainerState> State(const std::string& id) const;
  Result<void> Kill(const std::string& id, const KillOptions& options = {}) const;
  Result<void> Delete(const std::string& id, const DeleteOptions& options = {}) const;
  // `update --resources FILE`: FILE holds a runtime-spec LinuxResources object.
  Result<void> Update(const std::string& id, const std::string& resources_file) const;
  // `run --detach`: returns once the container runs.
  Result<void> RunDetached(const std::string& id, const CreateOptions& options) const;
  // `run` in the foreground with options.stdio (Stdio::Inherit() for a terminal's): the
  // runtime's exit status is the container's. The caller waits (Process::Wait) and may
  // forward signals to it meanwhile; the runtime prints its own errors.
  Result<Process> SpawnRun(const std::string& id, const CreateOptions& options) const;

  // The argv of each command, argv[0] included (for tests and logs).
  std::vector<std::string> CreateArgv(const std::string& id, const CreateOptions& o) const;
  std::vector<std::string> RunArgv(const std::string& id, const CreateOptions& o,
                                   bool detach) const;
  std::vector<std::string> StartArgv(const std::string& id) const;
  std::vector<std::string> StateArgv(const std::string& id) const;
  std::vector<std::string> KillArgv(const std::string& id, const KillOptions& o) const;
  std::vector<std::string> DeleteArgv(const std::string& id, const DeleteOptions& o) const;
  std::vector<std::string> UpdateArgv(const std::string& id, const std::string& file) const;

 private:
  std::vector<std::string> Base(std::string_view command, const std::string& log_override = {},
                                const std::string& log_format_override = {}) const;
  std::vector<std::string> CreatingArgv(std::string_view command, const std::string& id,
                                        const CreateOptions& o, bool detach,
                                        const std::string& log,
                                        const std::string& log_format) const;
  // Runs a command whose stdio is ours (start/state/kill/delete): stderr is the error text.
  Result<Captured> RunCaptured(std::string_view command, const std::string& id,
                               const std::vector<std::string>& argv, bool want_stdout) const;
  // Runs a command that starts a container (create, run -d): errors come from a log file.
  Result<void> RunCreating(std::string_view command, const std::string& id,
                           const CreateOptions& o, bool run) const;

  Config config_;
};

}  // namespace berth::oci
