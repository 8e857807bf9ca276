// DefaultSeccompProfile (berth's RuntimeDefault): what it allows for which capabilities,
// compiled by berth's runtime and installed in a forked child; and ProbeSpecFeatures.
//
// First: the CRI's Signal enum has values named SIGKILL...; <signal.h> defines those as
// macros, so the generated header must be read before anything includes it.
#include "daemon/container_spec.h"

#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "runtime/process_setup.h"
#include "spec/names.h"

namespace berth::daemon {
namespace {

using Strings = std::vector<std::string>;

bool Has(const Strings& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// ------------------------------------------------------------------ RuntimeDefault seccomp

bool Allows(const spec::Seccomp& sc, const std::string& name) {
  for (const auto& r : sc.syscalls)
    if (r.action == "SCMP_ACT_ALLOW" && Has(r.names, name)) return true;
  return false;
}

TEST(DaemonSpecSeccompDefault, AllowlistGatedByCapabilities) {
  const Strings defaults = {"CAP_CHOWN", "CAP_NET_RAW", "CAP_SETUID", "CAP_SETGID"};
  spec::Seccomp sc = DefaultSeccompProfile(defaults);
  EXPECT_EQ(sc.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(sc.default_errno_ret, static_cast<uint32_t>(EPERM));
  // What a busybox shell, ls, cat, wget and ping use.
  for (const char* s : {"execve", "clone", "wait4", "openat", "read", "write", "getdents64",
                        "statx", "newfstatat", "ioctl", "socket", "connect", "sendto",
                        "recvfrom", "poll", "setsockopt", "rt_sigaction", "exit_group"})
    EXPECT_TRUE(Allows(sc, s)) << s;
  for (const char* s : {"mount", "umount2", "unshare", "setns", "ptrace", "reboot", "bpf",
                        "perf_event_open", "init_module", "finit_module", "delete_module",
                        "kexec_load", "keyctl", "add_key", "request_key", "open_by_handle_at",
                        "userfaultfd", "swapon", "io_uring_setup"})
    EXPECT_FALSE(Allows(sc, s)) << s;

  spec::Seccomp admin = DefaultSeccompProfile({"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_BPF"});
  for (const char* s : {"mount", "umount2", "unshare", "setns", "ptrace", "bpf", "clone3"})
    EXPECT_TRUE(Allows(admin, s)) << s;
  for (const char* s : {"keyctl", "kexec_load", "reboot"}) EXPECT_FALSE(Allows(admin, s)) << s;
}

TEST(DaemonSpecSeccompDefault, CompilesWithBerthsRuntime) {
  for (const Strings& caps : {Strings{}, Strings{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}}) {
    auto p = runtime::PrepareProcess(spec::Process{}, DefaultSeccompProfile(caps), std::nullopt);
    EXPECT_TRUE(p) << p.error().Message();
  }
}

// The filter installed in a forked child (no_new_privs, so no privilege is needed): the
// ordinary syscalls work, the gated ones fail with EPERM, clone3 with ENOSYS.
TEST(DaemonSpecSeccompDefault, InstalledFilterDeniesWhatItShould) {
  spec::Process proc;
  proc.no_new_privileges = true;
  auto prepared = runtime::PrepareProcess(proc, DefaultSeccompProfile({}), std::nullopt);
  ASSERT_TRUE(prepared) << prepared.error().Message();
  pid_t pid = fork();
  if (pid == 0) {
    if (!runtime::ApplyFinal(*prepared)) _exit(90);
    if (getppid() <= 0) _exit(91);
    errno = 0;
    if (::mount("none", "/tmp", "tmpfs", 0, nullptr) == 0 || errno != EPERM) _exit(92);
    if (::unshare(CLONE_NEWUTS) == 0 || errno != EPERM) _exit(93);
    if (syscall(SYS_keyctl, 0, 0, 0, 0, 0) == 0 || errno != EPERM) _exit(94);
    if (syscall(SYS_clone3, nullptr, 0) == 0 || errno != ENOSYS) _exit(95);
    // clone with namespace flags is refused, a plain fork works.
    if (syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0) == 0 || errno != EPERM) _exit(96);
    pid_t c = fork();
    if (c == 0) _exit(0);
    int st = 0;
    if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st)) _exit(97);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ProbeSpecFeatures reads the bounding set: it must agree with PR_CAPBSET_READ.
TEST(DaemonSpecHost, CapabilitiesAreTheBoundingSet) {
  HostFeatures h;
  ProbeSpecFeatures(h);
  for (size_t i = 0; i < spec::kCapabilityNames.size(); ++i) {
    int in = prctl(PR_CAPBSET_READ, i, 0, 0, 0);
    if (in < 0) continue;  // newer than this kernel
    EXPECT_EQ(in == 1, Has(h.capabilities, std::string(spec::kCapabilityNames[i])))
        << spec::kCapabilityNames[i];
  }
}

}  // namespace
}  // namespace berth::daemon
