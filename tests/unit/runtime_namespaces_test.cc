// Namespace planning (which namespaces a container creates, which it joins, in what order)
// and NeedsSealedRuntime (CVE-2019-5736: when berth must run from a sealed copy). Joins use
// this process's own /proc/self/ns files, so no privileges are needed.
#include "runtime/namespaces.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <vector>

#include "runtime/container.h"

namespace berth::runtime {
namespace {

spec::Spec WithNamespaces(std::vector<spec::LinuxNamespace> nss) {
  spec::Spec s;
  s.linux.emplace();
  s.linux->namespaces = std::move(nss);
  return s;
}

TEST(RuntimeNamespaces, NamesAndFlags) {
  struct {
    const char* type;
    int flag;
    const char* proc;
  } cases[] = {
      {"pid", CLONE_NEWPID, "pid"},       {"network", CLONE_NEWNET, "net"},
      {"mount", CLONE_NEWNS, "mnt"},      {"ipc", CLONE_NEWIPC, "ipc"},
      {"uts", CLONE_NEWUTS, "uts"},       {"user", CLONE_NEWUSER, "user"},
      {"cgroup", CLONE_NEWCGROUP, "cgroup"}, {"time", CLONE_NEWTIME, "time"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(NamespaceFlag(c.type), c.flag) << c.type;
    EXPECT_STREQ(NamespaceProcName(c.type), c.proc) << c.type;
    // The proc name is the kernel's own: /proc/self/ns/<name> exists for each.
    struct stat st;
    EXPECT_EQ(stat((std::string("/proc/self/ns/") + c.proc).c_str(), &st), 0) << c.proc;
  }
  for (const char* bad : {"", "net", "mnt", "PID", "bogus"}) {
    EXPECT_EQ(NamespaceFlag(bad), 0) << bad;
    EXPECT_STREQ(NamespaceProcName(bad), "") << bad;
  }
}

TEST(RuntimeNamespaces, NewNamespacesBecomeCloneFlags) {
  auto plan = PlanNamespaces(
      WithNamespaces({{"pid", ""}, {"network", ""}, {"mount", ""}, {"ipc", ""}, {"uts", ""}}));
  ASSERT_TRUE(plan) << plan.error().Message();
  EXPECT_EQ(plan->new_flags, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC |
                                 CLONE_NEWUTS);
  EXPECT_TRUE(plan->joins.empty());

  auto none = PlanNamespaces(spec::Spec{});  // no linux section: the host's namespaces
  ASSERT_TRUE(none) << none.error().Message();
  EXPECT_EQ(none->new_flags, 0);
  EXPECT_TRUE(none->joins.empty());
}

TEST(RuntimeNamespaces, JoinsAreOpenedAndOrderedUserFirstMountLast) {
  auto plan = PlanNamespaces(WithNamespaces({{"mount", "/proc/self/ns/mnt"},
                                             {"pid", ""},
                                             {"network", "/proc/self/ns/net"},
                                             {"user", "/proc/self/ns/user"},
                                             {"uts", "/proc/self/ns/uts"}}));
  ASSERT_TRUE(plan) << plan.error().Message();
  EXPECT_EQ(plan->new_flags, CLONE_NEWPID);
  ASSERT_EQ(plan->joins.size(), 4u);
  // user first (joining the others needs its capabilities), mount last (it changes the
  // root); the rest keep the config's order.
  EXPECT_EQ(plan->joins[0].type, "user");
  EXPECT_EQ(plan->joins[1].type, "network");
  EXPECT_EQ(plan->joins[2].type, "uts");
  EXPECT_EQ(plan->joins[3].type, "mount");
  for (const auto& j : plan->joins) {
    EXPECT_EQ(j.flag, NamespaceFlag(j.type)) << j.type;
    EXPECT_EQ(j.path, std::string("/proc/self/ns/") + NamespaceProcName(j.type));
    // Opened now, in the parent: the fd is the namespace the path named.
    ASSERT_TRUE(j.fd) << j.type;
    struct stat by_fd, by_path;
    ASSERT_EQ(fstat(j.fd.Get(), &by_fd), 0);
    ASSERT_EQ(stat(j.path.c_str(), &by_path), 0);
    EXPECT_EQ(by_fd.st_ino, by_path.st_ino) << j.type;
  }
}

TEST(RuntimeNamespaces, SortJoinsIsStable) {
  std::vector<JoinedNamespace> joins;
  for (auto [flag, type] : std::vector<std::pair<int, const char*>>{{CLONE_NEWNS, "mount"},
                                                                  {CLONE_NEWIPC, "ipc"},
                                                                  {CLONE_NEWUSER, "user"},
                                                                  {CLONE_NEWNET, "network"},
                                                                  {CLONE_NEWUTS, "uts"}}) {
    JoinedNamespace j;
    j.flag = flag;
    j.type = type;
    joins.push_back(std::move(j));
  }
  SortJoins(joins);
  std::vector<std::string> order;
  for (const auto& j : joins) order.push_back(j.type);
  EXPECT_EQ(order, (std::vector<std::string>{"user", "ipc", "network", "uts", "mount"}));
}

TEST(RuntimeNamespaces, ErrorsNameTheField) {
  auto bad = PlanNamespaces(WithNamespaces({{"pid", ""}, {"bogus", ""}}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().Message().find("linux.namespaces[1].type"), std::string::npos)
      << bad.error().Message();
  EXPECT_NE(bad.error().Message().find("\"bogus\""), std::string::npos) << bad.error().Message();

  const std::string missing = "/proc/self/ns/does-not-exist";
  auto gone = PlanNamespaces(WithNamespaces({{"network", missing}}));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ENOENT);
  EXPECT_TRUE(gone.error().IsNotFound());
  EXPECT_NE(gone.error().Message().find("linux.namespaces[0].path"), std::string::npos)
      << gone.error().Message();
  EXPECT_NE(gone.error().Message().find(missing), std::string::npos) << gone.error().Message();
}

// ----------------------------------------------------------------- NeedsSealedRuntime

TEST(RuntimeSealed, AloneInANewPidNamespaceNeedsNoCopy) {
  EXPECT_FALSE(NeedsSealedRuntime(WithNamespaces({{"pid", ""}})));
  EXPECT_FALSE(NeedsSealedRuntime(
      WithNamespaces({{"pid", ""}, {"mount", ""}, {"network", ""}, {"user", ""}})));
  // Hooks that run in the runtime's namespaces do not reach the init.
  spec::Spec s = WithNamespaces({{"pid", ""}, {"mount", ""}});
  s.hooks.prestart.push_back({"/bin/true", {}, {}, {}});
  s.hooks.create_runtime.push_back({"/bin/true", {}, {}, {}});
  s.hooks.poststart.push_back({"/bin/true", {}, {}, {}});
  s.hooks.poststop.push_back({"/bin/true", {}, {}, {}});
  EXPECT_FALSE(NeedsSealedRuntime(s));
}

TEST(RuntimeSealed, AnotherProcessCouldReachTheInit) {
  // The host's PID namespace (no linux section, or no pid entry).
  EXPECT_TRUE(NeedsSealedRuntime(spec::Spec{}));
  EXPECT_TRUE(NeedsSealedRuntime(WithNamespaces({{"mount", ""}, {"network", ""}})));
  // An existing PID namespace, or any namespace joined by path.
  EXPECT_TRUE(NeedsSealedRuntime(WithNamespaces({{"pid", "/proc/1/ns/pid"}})));
  EXPECT_TRUE(NeedsSealedRuntime(WithNamespaces({{"pid", ""}, {"network", "/run/netns/x"}})));
  // Programs of the container that run beside the init.
  for (bool start : {false, true}) {
    spec::Spec s = WithNamespaces({{"pid", ""}, {"mount", ""}});
    (start ? s.hooks.start_container : s.hooks.create_container)
        .push_back({"/bin/true", {}, {}, {}});
    EXPECT_TRUE(NeedsSealedRuntime(s)) << (start ? "startContainer" : "createContainer");
  }
}

}  // namespace
}  // namespace berth::runtime
