// berth's RuntimeDefault seccomp profile: the filter a CRI container gets for seccomp type
// RuntimeDefault (Kubernetes' `seccompProfile: {type: RuntimeDefault}`).
//
// An allowlist: the default action is SCMP_ACT_ERRNO (EPERM) and the syscalls an ordinary
// program uses are allowed, as in Docker's, containerd's and CRI-O's defaults. We chose it
// over a default-allow denylist because a syscall added to the kernel later (io_uring was
// one, with its long list of CVEs) starts denied instead of reachable, and because
// workloads are written against these runtimes' allowlists, so nothing that works under
// them breaks here. The price is the list below; a name this libseccomp does not know is
// skipped by the runtime (berth, runc, crun), so the list can name newer syscalls.
//
// The lists are our own, grouped as syscalls(2) groups them. Syscalls that act on the
// whole machine or on namespaces are allowed only with the capability that makes them
// meaningful (Docker's rule): a container granted CAP_SYS_ADMIN may mount, one granted
// CAP_SYS_PTRACE may ptrace. Never allowed, whatever the capabilities: the kernel keyring
// (keyctl, add_key, request_key: not namespaced), kexec, io_uring (its own syscall surface
// that seccomp cannot see into), modify_ldt/vm86 and the obsolete uselib, _sysctl, sysfs,
// ustat, nfsservctl.
#include <linux/sched.h>

#include <algorithm>
#include <cerrno>

#include "daemon/container_spec.h"

namespace berth::daemon {
namespace {

// Allowed for every container.
constexpr const char* kAllowed[] = {
    // Processes, threads, credentials.
    "arch_prctl", "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork",
    "vfork", "wait4", "waitid", "waitpid", "getpid", "getppid", "gettid", "getpgid",
    "getpgrp", "getsid", "setpgid", "setsid", "getuid", "geteuid", "getgid", "getegid",
    "getresuid", "getresgid", "getgroups", "setuid", "setgid", "setreuid", "setregid",
    "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid", "getuid32", "geteuid32",
    "getgid32", "getegid32", "getresuid32", "getresgid32", "getgroups32", "setuid32",
    "setgid32", "setreuid32", "setregid32", "setresuid32", "setresgid32", "setgroups32",
    "setfsuid32", "setfsgid32", "prctl", "set_tid_address", "set_robust_list",
    "get_robust_list", "rseq", "membarrier", "seccomp", "set_thread_area", "get_thread_area",
    "set_tls", "get_tls", "pidfd_open", "pidfd_send_signal", "process_mrelease",
    "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "umask",
    "uname", "sysinfo", "getcpu", "getrandom", "restart_syscall", "getrlimit", "setrlimit",
    "ugetrlimit", "prlimit64", "getrusage", "times", "getpriority", "setpriority", "nice",
    "ioprio_get", "ioprio_set", "sched_yield", "sched_getaffinity", "sched_setaffinity",
    "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
    "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_getattr", "sched_setattr", "chroot",
    // Signals.
    "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "rt_sigpending", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaction", "sigprocmask", "sigreturn",
    "sigpending", "sigsuspend", "signal", "sigaltstack", "signalfd", "signalfd4", "pause",
    // Futexes and time.
    "futex", "futex_time64", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
    "nanosleep", "clock_nanosleep", "clock_nanosleep_time64", "clock_gettime",
    "clock_gettime64", "clock_getres", "clock_getres_time64", "gettimeofday", "time",
    "adjtimex", "alarm", "getitimer", "setitimer", "timer_create", "timer_delete",
    "timer_settime", "timer_settime64", "timer_gettime", "timer_gettime64",
    "timer_getoverrun", "timerfd_create", "timerfd_settime", "timerfd_settime64",
    "timerfd_gettime", "timerfd_gettime64",
    // Files and directories.
    "open", "openat", "openat2", "creat", "close", "close_range", "read", "readv", "pread64",
    "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2", "lseek",
    "_llseek", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "fsync", "fdatasync",
    "sync", "syncfs", "sync_file_range", "sync_file_range2", "arm_sync_file_range",
    "truncate", "truncate64", "ftruncate", "ftruncate64", "fallocate", "fadvise64",
    "fadvise64_64", "arm_fadvise64_64", "readahead", "ioctl", "access", "faccessat",
    "faccessat2", "chdir", "fchdir", "getcwd", "getdents", "getdents64", "chmod", "fchmod",
    "fchmodat", "fchmodat2", "chown", "fchown", "fchownat", "lchown", "chown32", "fchown32",
    "lchown32", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat", "rename",
    "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "mknod", "mknodat", "readlink",
    "readlinkat", "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "newfstatat",
    "fstatat64", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "utime", "utimes",
    "utimensat", "utimensat_time64", "futimesat", "sendfile", "sendfile64", "splice", "tee",
    "vmsplice", "copy_file_range", "cachestat", "getxattr", "lgetxattr", "fgetxattr",
    "getxattrat", "listxattr", "llistxattr", "flistxattr", "listxattrat", "setxattr",
    "lsetxattr", "fsetxattr", "setxattrat", "removexattr", "lremovexattr", "fremovexattr",
    "removexattrat", "name_to_handle_at", "inotify_init", "inotify_init1",
    "inotify_add_watch", "inotify_rm_watch", "fanotify_mark", "memfd_create", "pipe",
    "pipe2",
    // Waiting on descriptors, asynchronous I/O.
    "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
    "epoll_pwait2", "eventfd", "eventfd2", "io_setup", "io_destroy", "io_submit",
    "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    // Memory.
    "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "pkey_mprotect", "pkey_alloc",
    "pkey_free", "madvise", "mincore", "mlock", "mlock2", "munlock", "mlockall",
    "munlockall", "msync", "remap_file_pages", "get_mempolicy", "set_mempolicy",
    "set_mempolicy_home_node", "mbind", "mseal", "map_shadow_stack", "cacheflush",
    "breakpoint",
    // System V and POSIX IPC (namespaced by the IPC namespace).
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "ipc", "mq_open",
    "mq_unlink", "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
    // Sockets (socket itself has a rule of its own below).
    "socketpair", "socketcall", "bind", "connect", "listen", "accept", "accept4",
    "getsockname", "getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom", "send",
    "recv", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "recvmmsg_time64", "shutdown",
};

// Allowed only with one of the capabilities (what the syscall needs to do anything).
struct Gated {
  std::vector<const char*> caps;  // any of these
  std::vector<const char*> names;
};

const Gated kGated[] = {
    {{"CAP_SYS_ADMIN"},
     {"mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
      "move_mount", "open_tree", "mount_setattr", "setns", "unshare", "clone3", "swapon",
      "swapoff", "quotactl", "quotactl_fd", "fanotify_init", "lookup_dcookie", "sethostname",
      "setdomainname"}},
    {{"CAP_SYS_ADMIN", "CAP_BPF"}, {"bpf"}},
    {{"CAP_SYS_ADMIN", "CAP_PERFMON"}, {"perf_event_open"}},
    {{"CAP_SYS_ADMIN", "CAP_SYSLOG"}, {"syslog"}},
    {{"CAP_SYS_PTRACE"},
     {"ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp",
      "pidfd_getfd", "userfaultfd"}},
    {{"CAP_SYS_MODULE"}, {"init_module", "finit_module", "delete_module"}},
    {{"CAP_SYS_BOOT"}, {"reboot"}},
    {{"CAP_SYS_PACCT"}, {"acct"}},
    {{"CAP_SYS_RAWIO"}, {"iopl", "ioperm"}},
    {{"CAP_SYS_TIME"},
     {"settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
      "clock_adjtime64"}},
    {{"CAP_SYS_NICE"}, {"move_pages", "migrate_pages"}},
    {{"CAP_DAC_READ_SEARCH"}, {"open_by_handle_at"}},
    {{"CAP_SYS_TTY_CONFIG"}, {"vhangup"}},
};

// Native and compat ABIs: 32-bit programs run in containers too (they would be killed as
// a foreign architecture otherwise).
#if defined(__x86_64__)
const std::vector<std::string> kArchitectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                                 "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
const std::vector<std::string> kArchitectures = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
const std::vector<std::string> kArchitectures = {};
#endif

// Every flag that makes clone(2) create a namespace (CLONE_NEWTIME is clone3/unshare-only).
constexpr uint64_t kCloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                          CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                          CLONE_NEWCGROUP;

// personality(2) values programs use: PER_LINUX, PER_LINUX32, UNAME26 with each, and
// 0xffffffff (query). Others turn on READ_IMPLIES_EXEC or ADDR_NO_RANDOMIZE, which weaken
// the process's own protections (Docker allows the same five).
constexpr uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

spec::SeccompSyscall Allow(std::vector<std::string> names) {
  spec::SeccompSyscall s;
  s.names = std::move(names);
  s.action = "SCMP_ACT_ALLOW";
  return s;
}

}  // namespace

spec::Seccomp DefaultSeccompProfile(const std::vector<std::string>& caps) {
  auto has = [&](const char* cap) { return std::find(caps.begin(), caps.end(), cap) != caps.end(); };
  spec::Seccomp sc;
  sc.default_action = "SCMP_ACT_ERRNO";
  sc.default_errno_ret = EPERM;
  sc.architectures = kArchitectures;

  sc.syscalls.push_back(Allow({std::begin(kAllowed), std::end(kAllowed)}));

  // socket: every family but AF_VSOCK (40), whose host-guest channel no namespace isolates.
  spec::SeccompSyscall socket = Allow({"socket"});
  socket.args.push_back({0, 40, 0, "SCMP_CMP_NE"});
  sc.syscalls.push_back(std::move(socket));

  // One rule per value (any may match), which every runtime reads the same way.
  for (uint64_t v : kPersonalities) {
    spec::SeccompSyscall p = Allow({"personality"});
    p.args.push_back({0, v, 0, "SCMP_CMP_EQ"});
    sc.syscalls.push_back(std::move(p));
  }

  std::vector<std::string> gated;
  for (const Gated& g : kGated)
    if (std::any_of(g.caps.begin(), g.caps.end(), has))
      gated.insert(gated.end(), g.names.begin(), g.names.end());
  if (!gated.empty()) sc.syscalls.push_back(Allow(std::move(gated)));

  if (has("CAP_SYS_ADMIN")) {
    sc.syscalls.push_back(Allow({"clone"}));
  } else {
    // clone without namespace flags (flags is argument 0 on x86 and arm; s390x, which
    // swaps the first two, is not a berth target).
    spec::SeccompSyscall clone = Allow({"clone"});
    clone.args.push_back({0, kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"});
    sc.syscalls.push_back(std::move(clone));
    // clone3 passes its flags in memory, which seccomp cannot read: ENOSYS makes glibc
    // and musl fall back to clone, which the rule above checks (EPERM would be fatal).
    spec::SeccompSyscall clone3;
    clone3.names = {"clone3"};
    clone3.action = "SCMP_ACT_ERRNO";
    clone3.errno_ret = ENOSYS;
    sc.syscalls.push_back(std::move(clone3));
  }
  return sc;
}

}  // namespace berth::daemon
