// The child side of create and exec. Everything here runs in a process cloned from the
// runtime that never returns into the caller: each entry point ends in execve or _exit.
//
// The child is not limited to async-signal-safe calls, because the runtime is
// single-threaded when it clones (sys::ForkWithFlags refuses otherwise): no lock (malloc's,
// stdio's, any mutex) can be held by a thread missing from the child. So it allocates,
// builds the hooks' state JSON (HookState), formats errors for the sync socket, runs the
// createContainer and startContainer hooks (fork, execve, wait) and, in stage 1, clones
// the init. The parent prepares in InitConfig what can fail before anything is created
// (config, seccomp program, namespace fds) and what the child could not reach after
// pivot_root (the console and seccomp sockets, connected by path).
#pragma once

#include <string>
#include <vector>

#include "runtime/namespaces.h"
#include "runtime/process_setup.h"
#include "runtime/rootfs.h"
#include "runtime/state.h"
#include "spec/spec.h"

namespace berth::runtime {

struct InitConfig {
  const spec::Spec* spec = nullptr;
  const spec::Process* process = nullptr;
  PreparedProcess prepared;
  RootfsOptions rootfs;
  NamespacePlan ns;
  bool is_exec = false;         // exec into a running container: no rootfs/hooks/fifo
  bool stage1 = false;          // joins or time ns: setns/unshare then fork the init
  int sync_fd = -1;             // child end of the sync socketpair
  int fifo_fd = -1;             // exec.fifo opened O_RDWR (create only)
  int console_fd = -1;          // connected --console-socket, or -1
  int listener_fd = -1;         // connected seccomp listener socket, or -1
  int exec_root_fd = -1;        // exec: the init's root (/proc/<pid>/root) to chroot into,
                                // for a container without a mount namespace of its own
  int preserve_fds = 0;
  bool no_new_keyring = false;     // --no-new-keyring
  std::string id, bundle;
  pid_t host_pid = 0;               // the init's pid as the host sees it (child side)
  dev_t self_dev = 0;               // berth's own binary (/proc/self/exe in the parent):
  ino_t self_ino = 0;               // the init refuses to exec it (NeedsSealedRuntime)
  std::vector<std::string> env;     // process env as given
};

// Entry for the forked child. With cfg.stage1 it joins/unshares namespaces and forks the
// real init (CLONE_PARENT, so the runtime's parent process is its parent); otherwise it
// is the init already (created by clone with the namespace flags).
[[noreturn]] void ChildMain(InitConfig& cfg);

// Writes /proc/<pid>/{uid_map,gid_map} from the spec's mappings.
Result<void> WriteIdMaps(pid_t pid, const spec::Spec& spec);

// Rebuilds the hook/state JSON with the pid filled in.
std::string HookState(const InitConfig& cfg, Status status, pid_t pid);

}  // namespace berth::runtime
