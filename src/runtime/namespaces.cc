#include "runtime/namespaces.h"

#include <fcntl.h>
#include <sched.h>

#include <algorithm>

namespace berth::runtime {

int NamespaceFlag(const std::string& t) {
  if (t == "pid") return CLONE_NEWPID;
  if (t == "network") return CLONE_NEWNET;
  if (t == "mount") return CLONE_NEWNS;
  if (t == "ipc") return CLONE_NEWIPC;
  if (t == "uts") return CLONE_NEWUTS;
  if (t == "user") return CLONE_NEWUSER;
  if (t == "cgroup") return CLONE_NEWCGROUP;
  if (t == "time") return CLONE_NEWTIME;
  return 0;
}

const char* NamespaceProcName(const std::string& t) {
  if (t == "network") return "net";
  if (t == "mount") return "mnt";
  if (t == "pid") return "pid";
  if (t == "ipc") return "ipc";
  if (t == "uts") return "uts";
  if (t == "user") return "user";
  if (t == "cgroup") return "cgroup";
  if (t == "time") return "time";
  return "";
}

namespace {
int JoinRank(int flag) {
  if (flag == CLONE_NEWUSER) return 0;
  if (flag == CLONE_NEWNS) return 2;
  return 1;
}
}  // namespace

void SortJoins(std::vector<JoinedNamespace>& joins) {
  std::stable_sort(joins.begin(), joins.end(), [](const auto& a, const auto& b) {
    return JoinRank(a.flag) < JoinRank(b.flag);
  });
}

MountNamespace MountNamespaceOf(const NamespacePlan& plan) {
  if (plan.new_flags & CLONE_NEWNS) return MountNamespace::kNew;
  for (const auto& j : plan.joins)
    if (j.flag == CLONE_NEWNS) return MountNamespace::kJoined;
  return MountNamespace::kShared;
}

Result<void> CheckWithoutPrivateMounts(const spec::Spec& spec, const NamespacePlan& plan) {
  const MountNamespace mode = MountNamespaceOf(plan);
  if (mode == MountNamespace::kNew) return {};
  std::string why;
  if (mode == MountNamespace::kShared) {
    why = "without a \"mount\" entry in linux.namespaces the container shares the runtime's "
          "mount namespace, where a mount would change the host's mounts";
  } else {
    std::string path;
    for (const auto& j : plan.joins)
      if (j.flag == CLONE_NEWNS) path = j.path;
    why = "the container joins the mount namespace " + path +
          ", where a mount would change the mounts of every process in it";
  }
  auto refuse = [&why](const std::string& field) {
    return InvalidArgument("config.json", field, "needs a mount namespace of the container's own: " + why);
  };
  if (!spec.mounts.empty()) return refuse("mounts[0] (" + spec.mounts[0].destination + ")");
  if (spec.root && spec.root->readonly) return refuse("root.readonly");
  if (!spec.linux) return {};
  if (!spec.linux->masked_paths.empty()) return refuse("linux.maskedPaths");
  if (!spec.linux->readonly_paths.empty()) return refuse("linux.readonlyPaths");
  if (!spec.linux->rootfs_propagation.empty()) return refuse("linux.rootfsPropagation");
  if (!spec.linux->devices.empty()) return refuse("linux.devices");
  return {};
}

Result<NamespacePlan> PlanNamespaces(const spec::Spec& spec) {
  NamespacePlan plan;
  if (!spec.linux) return plan;
  const auto& nss = spec.linux->namespaces;
  for (size_t i = 0; i < nss.size(); ++i) {
    const auto& ns = nss[i];
    std::string field = "linux.namespaces[" + std::to_string(i) + "]";
    int flag = NamespaceFlag(ns.type);
    if (flag == 0) return Fail(field + ".type", "\"" + ns.type + "\"", "unknown namespace type");
    if (ns.path.empty()) {
      plan.new_flags |= flag;
      continue;
    }
    int fd = open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno(field + ".path: open", ns.path);
    JoinedNamespace j;
    j.flag = flag;
    j.type = ns.type;
    j.path = ns.path;
    j.fd = UniqueFd(fd);
    plan.joins.push_back(std::move(j));
  }
  SortJoins(plan.joins);
  return plan;
}

}  // namespace berth::runtime
