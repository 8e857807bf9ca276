// Process attributes of runtime-spec "process" (and linux.seccomp / linux.personality):
// converted to numbers in the parent (PrepareProcess: every name lookup, validation and
// seccomp compilation happens there), applied in the container's init or exec child with
// plain syscalls only (ApplyEarly / ApplyFinal) — no allocation-heavy work after fork.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/spec.h"

namespace berth::runtime {

struct PreparedRlimit {
  int resource = 0;
  uint64_t soft = 0, hard = 0;
};

struct PreparedCaps {
  bool present = false;  // process.capabilities given at all
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
  // /proc/sys/kernel/cap_last_cap, read in the parent: the bounding drop loop and the
  // capset masks stop there, so names berth knows but the kernel does not are skipped.
  int last_cap = 0;
};

struct PreparedSeccomp {
  bool present = false;
  std::vector<sock_filter> program;  // exported by libseccomp in the parent
  unsigned int flags = 0;            // SECCOMP_FILTER_FLAG_*
  bool wants_listener = false;       // some rule uses SCMP_ACT_NOTIFY
  std::string listener_path;
  std::string listener_metadata;
};

struct PreparedProcess {
  uint32_t uid = 0, gid = 0;
  std::vector<gid_t> additional_gids;
  std::optional<uint32_t> umask;
  std::vector<PreparedRlimit> rlimits;
  PreparedCaps caps;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::optional<unsigned long> personality;
  std::optional<int> ioprio;  // already encoded IOPRIO_PRIO_VALUE(class, prio)
  bool has_scheduler = false;
  // struct sched_attr fields
  uint32_t sched_policy = 0;
  uint64_t sched_flags = 0;
  int32_t sched_nice = 0;
  uint32_t sched_priority = 0;
  uint64_t sched_runtime = 0, sched_deadline = 0, sched_period = 0;
  PreparedSeccomp seccomp;
};

// Parent side. Fails with a field-named error for unknown capability/rlimit names, an
// rlimit above the host's hard limit (EPERM here without CAP_SYS_RESOURCE), an unknown
// seccomp action/arch/flag/syscall op, etc.
Result<PreparedProcess> PrepareProcess(const spec::Process& proc,
                                       const std::optional<spec::Seccomp>& seccomp,
                                       const std::optional<spec::LinuxPersonality>& personality);

// Child side, while still fully privileged: rlimits, oom_score_adj, personality,
// scheduler, ioprio.
Result<void> ApplyEarly(const PreparedProcess& p);

// Child side, the last step before execve: umask, supplementary groups, gid/uid (keeping
// capabilities across the switch), capability sets (bounding, then permitted/effective/
// inheritable, then ambient), no_new_privs and seccomp in the order that works both with
// and without no_new_privs. On success returns the seccomp listener fd if one was
// requested (else -1, O_CLOEXEC); the caller sends it to listener_path. Without
// process.capabilities, uid 0 keeps every capability and any other uid ends with none
// permitted/effective/ambient (the kernel's uid-switch rule). Without noNewPrivileges the
// profile must allow capset(2) when the final effective set lacks CAP_SYS_ADMIN (see the
// comment in process_setup.cc).
Result<int> ApplyFinal(const PreparedProcess& p);

// The "container process state" of config-linux.md#containerprocessstate:
// {"ociVersion","fds":["seccompFd"],"pid","metadata","state"}; `state_json` is the
// runtime.md state object, inserted as is.
std::string SeccompProcessStateJson(const std::string& state_json, int pid,
                                    const std::string& metadata);

// Capability name ("CAP_SYS_ADMIN") <-> number; for exec --cap and features.
std::optional<int> CapabilityFromName(const std::string& name);
std::vector<std::string> AllCapabilityNames();  // known to this kernel and to berth
// Known seccomp actions/archs/flags/ops for `berth features`.
std::vector<std::string> SeccompActions();
std::vector<std::string> SeccompArchs();
std::vector<std::string> SeccompFlags();
std::vector<std::string> SeccompOperators();

}  // namespace berth::runtime
