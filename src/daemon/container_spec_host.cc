// What BuildContainerSpec needs to know of the host beyond berthd's own probe.
#include <unistd.h>

#include <cstdlib>

#include "daemon/container_spec.h"
#include "spec/names.h"
#include "sys/fs.h"

namespace berth::daemon {
namespace {

std::string FieldOf(const std::string& text, const std::string& key) {
  size_t at = text.find("\n" + key + ":");
  if (at == std::string::npos) return "";
  at += key.size() + 2;
  size_t end = text.find('\n', at);
  std::string v = text.substr(at, end == std::string::npos ? end : end - at);
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

}  // namespace

void ProbeSpecFeatures(HostFeatures& host) {
  // The bounding set, not the effective one: a capability berthd lacks there cannot reach
  // any container (capset would fail in the runtime).
  if (auto status = sys::ReadFile("/proc/self/status")) {
    std::string hex = FieldOf("\n" + *status, "CapBnd");
    if (!hex.empty()) {
      uint64_t mask = std::strtoull(hex.c_str(), nullptr, 16);
      host.capabilities.clear();
      for (size_t i = 0; i < spec::kCapabilityNames.size() && i < 64; ++i)
        if (mask & (uint64_t{1} << i)) host.capabilities.emplace_back(spec::kCapabilityNames[i]);
    }
  }
  // "docker-default (enforce)" lines; only root may read the list.
  host.apparmor_default_profile.clear();
  if (host.apparmor)
    if (auto profiles = sys::ReadFile("/sys/kernel/security/apparmor/profiles"))
      if (("\n" + *profiles).find("\ndocker-default (") != std::string::npos)
        host.apparmor_default_profile = "docker-default";
  // v1: the memory controller's memsw files; v2: memory.swap.max in berthd's own cgroup
  // (the root cgroup has none).
  host.swap_accounting = false;
  if (::access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0) {
    host.swap_accounting = true;
  } else if (auto cg = sys::ReadFile("/proc/self/cgroup")) {
    size_t at = ("\n" + *cg).find("\n0::");
    if (at != std::string::npos) {
      std::string path = cg->substr(at + 3, cg->find('\n', at) - at - 3);
      host.swap_accounting = ::access(("/sys/fs/cgroup" + path + "/memory.swap.max").c_str(), F_OK) == 0;
    }
  }
}

}  // namespace berth::daemon
