// The runtime's operations, one per runc command. The CLI (src/cli/berth) only parses
// flags and prints; everything with kernel effects lives behind these functions.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/state.h"
#include "spec/spec.h"

namespace berth::runtime {

struct CreateOptions {
  std::string root = "/run/berth";
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  // Called once config.json is parsed and validated, before anything is created: the CLI
  // re-executes from a sealed copy here when NeedsSealedRuntime says so.
  std::function<Result<void>(const spec::Spec&)> before_launch;
};

// CVE-2019-5736: whether a process other than the init could reach berth's own binary
// through /proc/<init>/exe while the init still runs it (between clone and execve) — then
// berth must run from a sealed copy. It can when the init joins an existing PID namespace
// or shares the host's, when any namespace is joined by path, or when createContainer or
// startContainer hooks (programs of the container, in its PID namespace) run beside it.
// Otherwise the init is alone in a new PID namespace until it execs, and the copy (a
// re-exec, ~4 ms) is skipped; the init refuses to exec berth's own binary (see init.cc),
// and exec into a container that is still "created" is refused (exec.cc).
bool NeedsSealedRuntime(const spec::Spec& spec);

// berth create: returns once the init waits for start (state "created").
Result<void> Create(const CreateOptions& opts);
// berth run: create + start; unless detach, waits, forwards signals, deletes the
// container and returns the exit status (128+signal when killed).
Result<int> Run(const CreateOptions& opts, bool detach);

Result<void> Start(const std::string& root, const std::string& id);
Result<State> GetState(const std::string& root, const std::string& id);
Result<void> Kill(const std::string& root, const std::string& id, int sig, bool all);
Result<void> Delete(const std::string& root, const std::string& id, bool force);
Result<void> Pause(const std::string& root, const std::string& id);
Result<void> Resume(const std::string& root, const std::string& id);
Result<std::vector<State>> List(const std::string& root);
Result<std::vector<pid_t>> Pids(const std::string& root, const std::string& id);
// linux.resources of `update`; also recorded for later reads.
Result<void> Update(const std::string& root, const std::string& id,
                    const spec::LinuxResources& res);

struct ExecOptions {
  std::string root = "/run/berth";
  std::string id;
  std::string process_file;           // --process
  std::vector<std::string> args;
  bool tty = false;
  std::string console_socket;
  bool detach = false;
  std::string pid_file;
  std::string cwd;
  std::vector<std::string> env;
  std::string user;                   // uid[:gid]
  std::vector<std::string> additional_gids;
  std::vector<std::string> caps;
  bool no_new_privs = false;
  int preserve_fds = 0;
  std::string apparmor_profile;       // --apparmor
  std::string process_label;          // --process-label (SELinux)
};
// Returns the process's exit status (0 when detached).
Result<int> Exec(const ExecOptions& opts);

// Reads the config the container was created with (copied into its state dir).
Result<spec::Spec> LoadContainerSpec(const std::string& root, const std::string& id);

}  // namespace berth::runtime
