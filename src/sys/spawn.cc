#include "sys/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include "base/unique_fd.h"

extern char** environ;

#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80  // glibc 2.26+
#endif

namespace berth::sys {

Result<pid_t> SpawnProcess(const std::string& binary, const std::vector<std::string>& argv,
                           const SpawnOptions& options) {
  if (argv.empty()) return InvalidArgument("spawn", binary, "empty argv");
  // dup2 actions run in order: a source among 0-2 could be overwritten by an earlier one,
  // so such a source is first copied above 2.
  int src[3] = {options.in, options.out, options.err};
  UniqueFd copies[3];
  for (int i = 0; i < 3; i++) {
    if (src[i] >= 0 && src[i] <= 2 && src[i] != i) {
      int d = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
      if (d < 0) return Errno("fcntl F_DUPFD_CLOEXEC", "fd " + std::to_string(src[i]));
      copies[i].Reset(d);
      src[i] = d;
    }
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  struct Guard {
    posix_spawn_file_actions_t* a;
    posix_spawnattr_t* t;
    ~Guard() {
      posix_spawn_file_actions_destroy(a);
      posix_spawnattr_destroy(t);
    }
  } guard{&actions, &attr};
  for (int i = 0; i < 3; i++) {
    // dup2 onto itself clears FD_CLOEXEC, which passes the fd on.
    int rc = src[i] < 0 ? posix_spawn_file_actions_addopen(&actions, i, "/dev/null",
                                                           i == 0 ? O_RDONLY : O_WRONLY, 0)
                        : posix_spawn_file_actions_adddup2(&actions, src[i], i);
    if (rc != 0) return ErrnoCode(rc, "posix_spawn_file_actions", binary);
  }
  if (options.keep > 2) {
    int rc = posix_spawn_file_actions_adddup2(&actions, options.keep, options.keep);
    if (rc != 0) return ErrnoCode(rc, "posix_spawn_file_actions", binary);
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.setsid) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    envp.reserve(options.env->size() + 1);
    for (auto& s : *options.env) envp.push_back(const_cast<char*>(s.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = -1;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, &attr, args.data(),
                       options.env ? envp.data() : environ);
  if (rc != 0) return ErrnoCode(rc, "spawn", binary);
  return pid;
}

}  // namespace berth::sys
