// spec::HostProbe for the host the runtime runs on.
#include "runtime/host_probe.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "base/unique_fd.h"
#include "runtime/process_setup_internal.h"

namespace berth::runtime {
namespace {

constexpr const char* kOomScoreAdj = "/proc/self/oom_score_adj";

// 0 or the errno of writing `value` to our own oom_score_adj.
int WriteOwnOomScoreAdj(int value) {
  UniqueFd fd(::open(kOomScoreAdj, O_WRONLY | O_CLOEXEC));
  if (!fd) return errno;
  std::string text = std::to_string(value);
  return ::write(fd.Get(), text.data(), text.size()) < 0 ? errno : 0;
}

bool Exists(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0;
}

}  // namespace

Result<spec::PathKind> SystemHostProbe::Stat(const std::string& path) const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Errno("stat", path);
  return S_ISDIR(st.st_mode) ? spec::PathKind::kDirectory : spec::PathKind::kOther;
}

bool SystemHostProbe::IsOwnNamespace(const std::string& proc_name, const std::string& path) const {
  struct stat joined {}, own{};
  // A path that cannot be looked at is reported by the path check, not as ours.
  if (::stat(path.c_str(), &joined) != 0) return false;
  if (::stat(("/proc/self/ns/" + proc_name).c_str(), &own) != 0) return false;
  return joined.st_dev == own.st_dev && joined.st_ino == own.st_ino;
}

Result<std::optional<uint64_t>> SystemHostProbe::HardRlimit(int resource) const {
  struct rlimit lim {};
  if (::getrlimit(resource, &lim) != 0) return Errno("getrlimit", std::to_string(resource));
  if (lim.rlim_max == RLIM_INFINITY) return std::optional<uint64_t>{};
  return std::optional<uint64_t>{lim.rlim_max};
}

bool SystemHostProbe::HasCapSysResource() const {
  auto caps = internal::CapGet();
  return caps && (caps->effective & (uint64_t{1} << CAP_SYS_RESOURCE));
}

std::optional<int> SystemHostProbe::OwnOomScoreAdj() const {
  std::ifstream f(kOomScoreAdj);
  int v = 0;
  if (!(f >> v)) return std::nullopt;
  return v;
}

Result<bool> SystemHostProbe::MaySetOomScoreAdj(int adj) const {
  std::optional<int> own = OwnOomScoreAdj();
  int err = WriteOwnOomScoreAdj(adj);
  if (err == EACCES) return false;
  if (err != 0) return ErrnoCode(err, "write", kOomScoreAdj);
  if (own) WriteOwnOomScoreAdj(*own);
  return true;
}

bool SystemHostProbe::AppArmorEnabled() const {
  if (Exists("/sys/kernel/security/apparmor")) return true;
  // securityfs may not be mounted; the module parameter says it as well.
  std::ifstream f("/sys/module/apparmor/parameters/enabled");
  char c = 0;
  return f.get(c) && c == 'Y';
}

bool SystemHostProbe::SelinuxEnabled() const { return Exists("/sys/fs/selinux/enforce"); }

}  // namespace berth::runtime
