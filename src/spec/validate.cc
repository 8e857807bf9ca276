// Semantic checks on a parsed Spec (runtime-spec config.md), before anything is created:
// a bad config fails here with the field's path instead of half-way through `create`.
#include "spec/validate.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "spec/names.h"
#include "spec/validate_internal.h"

namespace berth::spec {
namespace internal {

bool HasPrivateNamespace(const Spec& spec, const std::string& type, const HostProbe* host) {
  const LinuxNamespace* ns = spec.FindNamespace(type);
  if (ns == nullptr) return false;
  if (ns->path.empty() || host == nullptr) return true;
  std::string proc_name = type == "network" ? "net" : type == "mount" ? "mnt" : type;
  return !host->IsOwnNamespace(proc_name, ns->path);
}

}  // namespace internal

namespace {

using internal::Index;
using internal::Invalid;
using internal::Quote;

bool IsAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

template <class Range>
bool Contains(const Range& r, std::string_view s) {
  return std::find(std::begin(r), std::end(r), s) != std::end(r);
}

Result<void> ValidateOciVersion(const std::string& v) {
  if (v.empty())
    return Invalid("ociVersion", "missing (expected a runtime-spec version such as \"1.2.0\")");
  size_t i = 0;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
  if (i == 0 || i >= v.size() || v[i] != '.')
    return Invalid("ociVersion", Quote(v) + " is not a semantic version");
  if (v.substr(0, i) != "1")
    return Invalid("ociVersion",
                   Quote(v) + " is not supported (berth implements runtime-spec 1.x)");
  return {};
}

Result<void> ValidateRoot(const Spec& spec, const ValidateOptions& opts) {
  if (!spec.root) return Invalid("root", "missing (Linux containers need a root filesystem)");
  const std::string& path = spec.root->path;
  if (path.empty()) return Invalid("root.path", "missing");
  if (opts.host == nullptr) return {};
  // Relative to the bundle (config.md), not to our working directory.
  std::string abs =
      IsAbsolute(path) || opts.bundle_dir.empty() ? path : opts.bundle_dir + "/" + path;
  auto kind = opts.host->Stat(abs);
  if (!kind) return ErrnoCode(kind.error().code, "root.path", "", abs);
  if (*kind != PathKind::kDirectory)
    return FailedPrecondition("root.path", "", abs + " is not a directory");
  return {};
}

Result<void> ValidateRlimits(const std::vector<Rlimit>& rlimits, const HostProbe* host) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < rlimits.size(); ++i) {
    const Rlimit& r = rlimits[i];
    std::string path = Index("process.rlimits", i);
    auto resource = RlimitResource(r.type);
    if (!resource)
      return Invalid(path + ".type", Quote(r.type) + " is not a known rlimit (RLIMIT_NOFILE, ...)");
    if (!seen.insert(r.type).second)
      return Invalid(path + ".type", r.type + " is set more than once");
    if (r.soft > r.hard)
      return Invalid(path, r.type + " soft limit " + std::to_string(r.soft) +
                               " is above its hard limit " + std::to_string(r.hard));
    if (host == nullptr) continue;
    auto max = host->HardRlimit(*resource);
    if (!max) return ErrnoCode(max.error().code, "getrlimit", r.type);
    // The kernel refuses to raise a hard limit without CAP_SYS_RESOURCE (setrlimit(2));
    // fail now with the reason instead of EPERM inside the container's init.
    if (*max && r.hard > **max && !host->HasCapSysResource())
      return PermissionDenied(path, "",
                              r.type + " hard limit " + std::to_string(r.hard) +
                                  " exceeds the host's hard limit " + std::to_string(**max) +
                                  " (raising it needs CAP_SYS_RESOURCE)");
  }
  return {};
}

Result<void> ValidateOomScoreAdj(int adj, const HostProbe* host) {
  if (adj < -1000 || adj > 1000)
    return Invalid("process.oomScoreAdj", std::to_string(adj) + " is outside [-1000, 1000]");
  if (host == nullptr) return {};
  // Raising is always allowed. Without CAP_SYS_RESOURCE the kernel refuses values below
  // oom_score_adj_min, which /proc does not show; anything from there up to the current
  // value is allowed. containerd's shim runs at containerd's score + 1 and asks the score of
  // containerd for its containers: fine for the kernel (and runc), so it must be for berth.
  std::optional<int> own = host->OwnOomScoreAdj();
  if (!own || adj >= *own || host->HasCapSysResource()) return {};
  bool allowed = BERTH_TRY(host->MaySetOomScoreAdj(adj));
  if (allowed) return {};
  return PermissionDenied("process.oomScoreAdj", "",
                          std::to_string(adj) +
                              " is below the lowest value this runtime may set (its own is " +
                              std::to_string(*own) + "; going lower needs CAP_SYS_RESOURCE)");
}

Result<void> ValidateCapabilities(const Capabilities& caps) {
  const std::pair<const char*, const std::vector<std::string>*> sets[] = {
      {"bounding", &caps.bounding},
      {"effective", &caps.effective},
      {"inheritable", &caps.inheritable},
      {"permitted", &caps.permitted},
      {"ambient", &caps.ambient}};
  for (const auto& [name, list] : sets) {
    for (size_t i = 0; i < list->size(); ++i) {
      if (!CapabilityNumber((*list)[i]))
        return Invalid(Index(std::string("process.capabilities.") + name, i),
                       Quote((*list)[i]) + " is not a known capability (CAP_CHOWN, ...)");
    }
  }
  return {};
}

Result<void> ValidateScheduler(const Scheduler& s) {
  constexpr const char* kPolicies[] = {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",      "SCHED_BATCH",
                                       "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE"};
  constexpr const char* kFlags[] = {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",
                                    "SCHED_FLAG_DL_OVERRUN",    "SCHED_FLAG_KEEP_POLICY",
                                    "SCHED_FLAG_KEEP_PARAMS",   "SCHED_FLAG_UTIL_CLAMP_MIN",
                                    "SCHED_FLAG_UTIL_CLAMP_MAX"};
  if (!Contains(kPolicies, s.policy))
    return Invalid("process.scheduler.policy", Quote(s.policy) + " is not a known policy");
  if (s.nice && (*s.nice < -20 || *s.nice > 19))
    return Invalid("process.scheduler.nice", std::to_string(*s.nice) + " is outside [-20, 19]");
  bool realtime = s.policy == "SCHED_FIFO" || s.policy == "SCHED_RR";
  if (s.priority && realtime && (*s.priority < 1 || *s.priority > 99))
    return Invalid("process.scheduler.priority",
                   std::to_string(*s.priority) + " is outside [1, 99] for " + s.policy);
  if (s.priority && !realtime && *s.priority != 0)
    return Invalid("process.scheduler.priority", s.policy + " needs priority 0 (sched(7))");
  for (size_t i = 0; i < s.flags.size(); ++i)
    if (!Contains(kFlags, s.flags[i]))
      return Invalid(Index("process.scheduler.flags", i),
                     Quote(s.flags[i]) + " is not a known flag");
  if (s.policy == "SCHED_DEADLINE") {
    // sched_setattr(2): runtime <= deadline <= period, with period 0 meaning "= deadline".
    uint64_t runtime = s.runtime.value_or(0), deadline = s.deadline.value_or(0),
             period = s.period.value_or(0);
    if (runtime == 0 || deadline == 0 || runtime > deadline || (period != 0 && deadline > period))
      return Invalid("process.scheduler", "SCHED_DEADLINE needs 0 < runtime <= deadline <= period");
  }
  return {};
}

Result<void> ValidateHooks(const std::vector<Hook>& hooks, const std::string& path) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string p = Index(path, i);
    if (!IsAbsolute(hooks[i].path))
      return Invalid(p + ".path", Quote(hooks[i].path) + " is not an absolute path");
    if (hooks[i].timeout && *hooks[i].timeout <= 0)
      return Invalid(p + ".timeout", std::to_string(*hooks[i].timeout) + " is not > 0 seconds");
  }
  return {};
}

Result<void> ValidateIdMappings(const std::vector<LinuxIdMapping>& maps, const std::string& path) {
  for (size_t i = 0; i < maps.size(); ++i) {
    const auto& m = maps[i];
    if (m.size == 0) return Invalid(Index(path, i) + ".size", "must be greater than 0");
    // Ranges past 2^32 wrap in the kernel's u32 arithmetic; uid_map(5) rejects them.
    if (uint64_t{m.container_id} + m.size > (uint64_t{1} << 32) ||
        uint64_t{m.host_id} + m.size > (uint64_t{1} << 32))
      return Invalid(Index(path, i), "range extends past the 32-bit id space");
  }
  return {};
}

Result<void> ValidateMounts(const std::vector<Mount>& mounts) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    const Mount& m = mounts[i];
    std::string path = Index("mounts", i);
    // A relative destination is accepted and taken relative to "/": runtime-spec 1.2
    // (PR #1225) allows it on Linux and runc only warns, because Docker and containerd
    // have long sent such paths. An empty one names no mount point at all.
    if (m.destination.empty()) return Invalid(path + ".destination", "missing");
    if (m.uid_mappings.empty() != m.gid_mappings.empty())
      return Invalid(path, "an idmapped mount needs both uidMappings and gidMappings");
    BERTH_TRYV(ValidateIdMappings(m.uid_mappings, path + ".uidMappings"));
    BERTH_TRYV(ValidateIdMappings(m.gid_mappings, path + ".gidMappings"));
  }
  return {};
}

}  // namespace

Result<void> ValidateProcess(const Process& p, const ValidateOptions& opts) {
  if (p.args.empty()) return Invalid("process.args", "must not be empty");
  if (!IsAbsolute(p.cwd)) return Invalid("process.cwd", Quote(p.cwd) + " is not an absolute path");
  for (size_t i = 0; i < p.env.size(); ++i) {
    auto eq = p.env[i].find('=');
    if (eq == std::string::npos || eq == 0)
      return Invalid(Index("process.env", i), Quote(p.env[i]) + " is not in KEY=VALUE form");
  }
  if (p.user.umask && *p.user.umask > 0777)
    return Invalid("process.user.umask", std::to_string(*p.user.umask) + " is above 0777");
  if (p.capabilities) BERTH_TRYV(ValidateCapabilities(*p.capabilities));
  BERTH_TRYV(ValidateRlimits(p.rlimits, opts.host));
  if (p.oom_score_adj) BERTH_TRYV(ValidateOomScoreAdj(*p.oom_score_adj, opts.host));
  if (p.scheduler) BERTH_TRYV(ValidateScheduler(*p.scheduler));
  if (p.io_priority) {
    constexpr const char* kClasses[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"};
    if (!Contains(kClasses, p.io_priority->io_class))
      return Invalid("process.ioPriority.class",
                     Quote(p.io_priority->io_class) + " is not a known I/O class");
    if (p.io_priority->priority < 0 || p.io_priority->priority > 7)
      return Invalid("process.ioPriority.priority",
                     std::to_string(p.io_priority->priority) + " is outside [0, 7]");
  }
  // Without the LSM the label would be silently ignored: the container would run
  // unconfined while its owner believes otherwise.
  if (opts.host && !p.apparmor_profile.empty() && !opts.host->AppArmorEnabled())
    return FailedPrecondition("process.apparmorProfile", "", "AppArmor is not enabled on this host");
  if (opts.host && !p.selinux_label.empty() && !opts.host->SelinuxEnabled())
    return FailedPrecondition("process.selinuxLabel", "", "SELinux is not enabled on this host");
  return {};
}

Result<void> Validate(const Spec& spec, const ValidateOptions& opts) {
  auto r = [&]() -> Result<void> {
    BERTH_TRYV(ValidateOciVersion(spec.oci_version));
    BERTH_TRYV(ValidateRoot(spec, opts));
    if (spec.process) BERTH_TRYV(ValidateProcess(*spec.process, opts));
    // runc's wording; without a private UTS namespace sethostname would rename the host.
    if (!spec.hostname.empty() && !internal::HasPrivateNamespace(spec, "uts", opts.host))
      return Invalid("hostname", "unable to set hostname without a private UTS namespace");
    if (!spec.domainname.empty() && !internal::HasPrivateNamespace(spec, "uts", opts.host))
      return Invalid("domainname", "unable to set domainname without a private UTS namespace");
    BERTH_TRYV(ValidateMounts(spec.mounts));
    const std::pair<const char*, const std::vector<Hook>*> hooks[] = {
        {"hooks.prestart", &spec.hooks.prestart},
        {"hooks.createRuntime", &spec.hooks.create_runtime},
        {"hooks.createContainer", &spec.hooks.create_container},
        {"hooks.startContainer", &spec.hooks.start_container},
        {"hooks.poststart", &spec.hooks.poststart},
        {"hooks.poststop", &spec.hooks.poststop}};
    for (const auto& [path, list] : hooks) BERTH_TRYV(ValidateHooks(*list, path));
    for (const auto& [key, value] : spec.annotations)
      if (key.empty()) return Invalid("annotations", "keys must not be empty (config.md)");
    if (spec.linux) BERTH_TRYV(internal::ValidateLinux(spec, opts));
    return {};
  }();
  if (!r) r.error().Wrap("config.json");
  return r;
}

namespace internal {

Result<void> ValidateLinuxIdMappings(const std::vector<LinuxIdMapping>& maps,
                                     const std::string& path) {
  return ValidateIdMappings(maps, path);
}

}  // namespace internal

}  // namespace berth::spec
