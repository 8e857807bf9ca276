// process.* attributes: PrepareProcess turns names into numbers in the parent; ApplyEarly
// and ApplyFinal run in the forked child and make plain syscalls only (no libseccomp, no
// name lookups, no allocation on the success path).
#include "runtime/process_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "runtime/process_setup_internal.h"

namespace berth::runtime {
namespace {

using internal::CapSets;

constexpr uint64_t kSysAdmin = uint64_t{1} << CAP_SYS_ADMIN;

struct NamedInt {
  std::string_view name;
  uint64_t value;
};

// SCHED_ISO is listed by runtime-spec but not in mainline Linux; its number (4) is
// reserved and the kernel answers EINVAL, which the child reports.
constexpr std::array<NamedInt, 7> kSchedPolicies = {{
    {"SCHED_OTHER", SCHED_OTHER},
    {"SCHED_FIFO", SCHED_FIFO},
    {"SCHED_RR", SCHED_RR},
    {"SCHED_BATCH", SCHED_BATCH},
    {"SCHED_ISO", 4},
    {"SCHED_IDLE", SCHED_IDLE},
    {"SCHED_DEADLINE", 6},
}};

constexpr std::array<NamedInt, 7> kSchedFlags = {{
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},
    {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},
    {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},
    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
}};

constexpr std::array<NamedInt, 3> kIoClasses = {{
    {"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT},
    {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE},
    {"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE},
}};

template <size_t N>
std::optional<uint64_t> Lookup(const std::array<NamedInt, N>& table, const std::string& name) {
  for (const auto& e : table)
    if (e.name == name) return e.value;
  return std::nullopt;
}

// struct sched_attr, SCHED_ATTR_SIZE_VER0 layout; declared here because glibc 2.36 has
// no wrapper and <linux/sched/types.h> clashes with <sched.h>.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};
static_assert(sizeof(SchedAttr) == 48);

Result<void> PrepareScheduler(const spec::Scheduler& s, PreparedProcess& p) {
  auto policy = Lookup(kSchedPolicies, s.policy);
  if (!policy)
    return InvalidField("process.scheduler.policy", "unknown scheduling policy \"" + s.policy + "\"");
  p.has_scheduler = true;
  p.sched_policy = static_cast<uint32_t>(*policy);
  for (size_t i = 0; i < s.flags.size(); ++i) {
    auto f = Lookup(kSchedFlags, s.flags[i]);
    if (!f)
      return InvalidField("process.scheduler.flags[" + std::to_string(i) + "]",
                  "unknown scheduler flag \"" + s.flags[i] + "\"");
    p.sched_flags |= *f;
  }
  if (s.nice && (*s.nice < -20 || *s.nice > 19))
    return InvalidField("process.scheduler.nice", std::to_string(*s.nice) + " is outside -20..19");
  if (s.priority && *s.priority < 0)
    return InvalidField("process.scheduler.priority", "must not be negative");
  p.sched_nice = s.nice.value_or(0);
  p.sched_priority = static_cast<uint32_t>(s.priority.value_or(0));
  p.sched_runtime = s.runtime.value_or(0);
  p.sched_deadline = s.deadline.value_or(0);
  p.sched_period = s.period.value_or(0);
  return {};
}

// Writes a decimal int without allocating (the child side).
size_t FormatInt(int v, char* buf, size_t cap) {
  char tmp[16];
  size_t n = 0;
  unsigned int u = v < 0 ? 0u - static_cast<unsigned int>(v) : static_cast<unsigned int>(v);
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u && n < sizeof(tmp));
  size_t len = 0;
  if (v < 0 && len < cap) buf[len++] = '-';
  while (n && len < cap) buf[len++] = tmp[--n];
  return len;
}

Result<void> SetOomScoreAdj(int value) {
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", "/proc/self/oom_score_adj");
  char buf[16];
  size_t len = FormatInt(value, buf, sizeof(buf));
  ssize_t n;
  do {
    n = write(fd, buf, len);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (n == static_cast<ssize_t>(len)) return {};
  // The kernel refuses to go below oom_score_adj_min (the last value a privileged writer
  // set, inherited) without CAP_SYS_RESOURCE, which this host never grants.
  if (n < 0 && (err == EACCES || err == EPERM))
    return ErrnoCode(err, "process.oomScoreAdj", "",
                     "cannot set " + std::to_string(value) +
                         " (below the current value needs CAP_SYS_RESOURCE)");
  return ErrnoCode(n < 0 ? err : EIO, "write", "/proc/self/oom_score_adj",
                   "process.oomScoreAdj " + std::to_string(value));
}

// /proc/self/setgroups says "deny" in a user namespace whose gid map was written by an
// unprivileged parent; setgroups(2) then fails with EPERM whatever we hold.
bool SetgroupsDenied() {
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[8] = {};
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  return n >= 4 && std::memcmp(buf, "deny", 4) == 0;
}

Result<void> SetUser(const PreparedProcess& p) {
  if (setgroups(p.additional_gids.size(), p.additional_gids.data()) != 0) {
    int err = errno;
    bool denied = err == EPERM && SetgroupsDenied();
    // Nothing asked for and nothing allowed: keep the groups we have, as runc does.
    if (!(denied && p.additional_gids.empty())) {
      errno = err;
      if (denied)
        return Errno("setgroups", "process.user.additionalGids",
                     "setgroups is denied in this user namespace (/proc/self/setgroups is "
                     "\"deny\"); drop additionalGids or have a privileged helper write the gid "
                     "map");
      return Errno("setgroups", "process.user.additionalGids",
                   err == EINVAL ? "a gid is not mapped in the container's user namespace" : "");
    }
  }
  if (setresgid(p.gid, p.gid, p.gid) != 0)
    return Errno("setresgid", "process.user.gid " + std::to_string(p.gid),
                 errno == EINVAL ? "not mapped in the container's user namespace" : "");
  if (setresuid(p.uid, p.uid, p.uid) != 0)
    return Errno("setresuid", "process.user.uid " + std::to_string(p.uid),
                 errno == EINVAL ? "not mapped in the container's user namespace" : "");
  return {};
}

}  // namespace

Result<PreparedProcess> PrepareProcess(const spec::Process& proc,
                                       const std::optional<spec::Seccomp>& seccomp,
                                       const std::optional<spec::LinuxPersonality>& personality) {
  PreparedProcess p;
  p.uid = proc.user.uid;
  p.gid = proc.user.gid;
  p.additional_gids.assign(proc.user.additional_gids.begin(), proc.user.additional_gids.end());
  if (proc.user.umask) {
    if (*proc.user.umask > 0777)
      return InvalidField("process.user.umask", std::to_string(*proc.user.umask) + " is not a mode");
    p.umask = proc.user.umask;
  }
  p.rlimits = BERTH_TRY(internal::PrepareRlimits(proc.rlimits));
  p.caps = BERTH_TRY(internal::PrepareCaps(proc.capabilities));
  p.no_new_privileges = proc.no_new_privileges;

  if (proc.oom_score_adj) {
    if (*proc.oom_score_adj < -1000 || *proc.oom_score_adj > 1000)
      return InvalidField("process.oomScoreAdj",
                  std::to_string(*proc.oom_score_adj) + " is outside -1000..1000");
    p.oom_score_adj = proc.oom_score_adj;
  }

  if (personality) {
    if (personality->domain == "LINUX")
      p.personality = PER_LINUX;
    else if (personality->domain == "LINUX32")
      p.personality = PER_LINUX32;
    else
      return InvalidField("linux.personality.domain",
                  "unknown domain \"" + personality->domain + "\" (LINUX or LINUX32)");
    // runtime-spec: "Currently no flag values are supported."
    if (!personality->flags.empty())
      return InvalidField("linux.personality.flags[0]",
                  "unsupported personality flag \"" + personality->flags[0] + "\"");
  }

  if (proc.io_priority) {
    auto cls = Lookup(kIoClasses, proc.io_priority->io_class);
    if (!cls)
      return InvalidField("process.ioPriority.class",
                  "unknown I/O priority class \"" + proc.io_priority->io_class + "\"");
    int prio = proc.io_priority->priority;
    if (prio < 0 || prio > 7)
      return InvalidField("process.ioPriority.priority", std::to_string(prio) + " is outside 0..7");
    p.ioprio = static_cast<int>(IOPRIO_PRIO_VALUE(*cls, prio));
  }

  if (proc.scheduler) BERTH_TRYV(PrepareScheduler(*proc.scheduler, p));
  if (seccomp) p.seccomp = BERTH_TRY(internal::CompileSeccomp(*seccomp));
  return p;
}

Result<void> ApplyEarly(const PreparedProcess& p) {
  BERTH_TRYV(internal::ApplyRlimits(p.rlimits));
  if (p.oom_score_adj) BERTH_TRYV(SetOomScoreAdj(*p.oom_score_adj));
  if (p.personality && personality(*p.personality) == -1)
    return Errno("personality", "linux.personality.domain");
  if (p.has_scheduler) {
    SchedAttr attr{};
    attr.size = sizeof(attr);
    attr.sched_policy = p.sched_policy;
    attr.sched_flags = p.sched_flags;
    attr.sched_nice = p.sched_nice;
    attr.sched_priority = p.sched_priority;
    attr.sched_runtime = p.sched_runtime;
    attr.sched_deadline = p.sched_deadline;
    attr.sched_period = p.sched_period;
    if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0)
      return Errno("sched_setattr", "process.scheduler",
                   errno == EPERM ? "real-time and raised priorities need CAP_SYS_NICE" : "");
  }
  if (p.ioprio && syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, *p.ioprio) != 0)
    return Errno("ioprio_set", "process.ioPriority");
  return {};
}

// Order, and why:
//  1. umask, bounding set: PR_CAPBSET_DROP needs CAP_SETPCAP, so before anything drops it.
//  2. groups, gid, uid with PR_SET_KEEPCAPS: setgroups/setresgid need CAP_SETGID, and
//     keep-caps makes the kernel keep the permitted set across the switch to a non-zero
//     uid (it still clears effective and ambient, hence the capset and ambient after).
//  3. capset, ambient (ambient needs the caps permitted and inheritable first).
//  4. no_new_privs, then seccomp last of all, so the filter never judges our own setup
//     calls — only what the caller does before execve, and the container.
// Seccomp without no_new_privs needs CAP_SYS_ADMIN (in the current user namespace) at the
// moment of install. When the final effective set lacks it, step 3 is split: a first
// capset keeps every permitted capability effective, ambient is raised, the filter goes
// in, and a final capset drops to the requested sets. The cost: that one capset(2) runs
// under the filter, so a profile without noNewPrivileges must allow capset (Docker's
// default profile does); if it does not, we fail with an error naming capset rather than
// start a container with more capabilities than asked for.
Result<int> ApplyFinal(const PreparedProcess& p) {
  umask(p.umask.value_or(022));  // runc's default when process.user.umask is absent
  const PreparedCaps& caps = p.caps;
  if (caps.present) BERTH_TRYV(internal::DropBounding(caps));

  // Final sets. Without process.capabilities, do what the uid switch alone would do: uid 0
  // keeps everything; another uid ends with no permitted/effective/ambient capabilities
  // and its inheritable set untouched (capabilities(7), "Effect of user ID changes").
  CapSets current = BERTH_TRY(internal::CapGet());
  bool keep_all = !caps.present && p.uid == 0;
  CapSets final_sets;
  if (caps.present)
    final_sets = {caps.effective, caps.permitted, caps.inheritable};
  else if (!keep_all)
    final_sets = {0, 0, current.inheritable};

  if (p.uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return Errno("prctl(PR_SET_KEEPCAPS)", "process.user.uid");
  BERTH_TRYV(SetUser(p));

  uint64_t final_effective = keep_all ? current.effective : final_sets.effective;
  bool seccomp_first =
      p.seccomp.present && !p.no_new_privileges && !keep_all && !(final_effective & kSysAdmin);

  if (!keep_all) {
    if (seccomp_first) {
      // Re-read: the uid switch cleared effective; every permitted cap comes back.
      CapSets now = BERTH_TRY(internal::CapGet());
      BERTH_TRYV(internal::CapSet({now.permitted, now.permitted, final_sets.inheritable},
                                  "raising effective capabilities to install seccomp"));
    } else {
      BERTH_TRYV(internal::CapSet(final_sets, "setting the requested capability sets"));
    }
    PreparedCaps amb = caps;
    if (!caps.present) amb.ambient = 0;
    BERTH_TRYV(internal::SetAmbient(amb));
  }

  if (p.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return Errno("prctl(PR_SET_NO_NEW_PRIVS)", "process.noNewPrivileges");

  int listener = -1;
  if (p.seccomp.present) {
    listener = BERTH_TRY(internal::InstallSeccomp(p.seccomp));
    if (seccomp_first) {
      auto r = internal::CapSet(final_sets,
                                "dropping capabilities after installing seccomp (without "
                                "noNewPrivileges the profile must allow capset)");
      if (!r) {
        if (listener >= 0) close(listener);
        return std::unexpected(std::move(r.error()));
      }
    }
  }
  return listener;
}

}  // namespace berth::runtime
