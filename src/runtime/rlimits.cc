// process.rlimits: names -> RLIMIT_* resources, checked against the host's hard limits in
// the parent, applied with setrlimit in the child.
#include <linux/capability.h>
#include <sys/resource.h>

#include <array>
#include <string_view>
#include <utility>

#include "runtime/process_setup_internal.h"
#include "spec/names.h"

namespace berth::runtime::internal {
namespace {

std::string_view NameOf(int resource) { return spec::RlimitNameOf(resource); }

std::string Limit(uint64_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); }

}  // namespace

std::optional<int> RlimitFromName(const std::string& name) {
  return spec::RlimitResource(name);
}

Result<std::vector<PreparedRlimit>> PrepareRlimits(const std::vector<spec::Rlimit>& rlimits) {
  // Raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace (rlimits
  // are not namespaced). Without it the child's setrlimit would fail with a bare EPERM
  // after the namespaces are built; check here and name the limit instead.
  bool can_raise = false;
  if (auto caps = CapGet()) can_raise = caps->effective & (uint64_t{1} << CAP_SYS_RESOURCE);

  std::vector<PreparedRlimit> out;
  out.reserve(rlimits.size());
  for (size_t i = 0; i < rlimits.size(); ++i) {
    const auto& r = rlimits[i];
    std::string field = "process.rlimits[" + std::to_string(i) + "]";
    auto res = RlimitFromName(r.type);
    if (!res) return InvalidField(field + ".type", "unknown rlimit \"" + r.type + "\"");
    for (const auto& prev : out)
      if (prev.resource == *res)
        return InvalidField(field + ".type", "duplicate rlimit \"" + r.type + "\"");
    if (r.soft > r.hard)
      return InvalidField(
          field,
          r.type + " soft limit " + Limit(r.soft) + " exceeds its hard limit " + Limit(r.hard));
    struct rlimit host {};
    if (getrlimit(static_cast<__rlimit_resource_t>(*res), &host) != 0)
      return Errno("getrlimit", field, r.type);
    if (!can_raise && r.hard > host.rlim_max)
      return InvalidField(field,
                  r.type + " hard limit " + Limit(r.hard) + " exceeds the host's hard limit " +
                      Limit(host.rlim_max) + " (raising it needs CAP_SYS_RESOURCE)");
    out.push_back({*res, r.soft, r.hard});
  }
  return out;
}

Result<void> ApplyRlimits(const std::vector<PreparedRlimit>& rlimits) {
  for (const auto& r : rlimits) {
    struct rlimit lim {
      r.soft, r.hard
    };
    if (setrlimit(static_cast<__rlimit_resource_t>(r.resource), &lim) != 0)
      return Errno("setrlimit", std::string(NameOf(r.resource)),
                   "soft " + Limit(r.soft) + ", hard " + Limit(r.hard));
  }
  return {};
}

}  // namespace berth::runtime::internal
