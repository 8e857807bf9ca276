// CheckWithoutPrivateMounts: what a container without a mount namespace of its own (none,
// or one joined by path) may ask for. Pure logic, no root.
#include <gtest/gtest.h>
#include <sched.h>

#include "runtime/namespaces.h"

namespace berth::runtime {
namespace {

spec::Spec NoMounts() {
  spec::Spec s;
  s.root = spec::Root{};
  s.root->path = "rootfs";
  s.linux = spec::Linux{};
  return s;
}

NamespacePlan Plan(MountNamespace mode) {
  NamespacePlan p;
  p.new_flags = CLONE_NEWPID;
  if (mode == MountNamespace::kNew) p.new_flags |= CLONE_NEWNS;
  if (mode == MountNamespace::kJoined) {
    JoinedNamespace j;
    j.flag = CLONE_NEWNS;
    j.type = "mount";
    j.path = "/proc/42/ns/mnt";
    p.joins.push_back(std::move(j));
  }
  return p;
}

TEST(MountNamespace, ModeFollowsThePlan) {
  EXPECT_EQ(MountNamespaceOf(Plan(MountNamespace::kNew)), MountNamespace::kNew);
  EXPECT_EQ(MountNamespaceOf(Plan(MountNamespace::kJoined)), MountNamespace::kJoined);
  EXPECT_EQ(MountNamespaceOf(Plan(MountNamespace::kShared)), MountNamespace::kShared);
}

TEST(MountNamespace, AConfigThatMountsNothingNeedsNone) {
  EXPECT_TRUE(CheckWithoutPrivateMounts(NoMounts(), Plan(MountNamespace::kShared)));
  EXPECT_TRUE(CheckWithoutPrivateMounts(NoMounts(), Plan(MountNamespace::kJoined)));
}

TEST(MountNamespace, EachFieldThatMountsIsRefusedByName) {
  struct Case {
    const char* field;
    void (*edit)(spec::Spec&);
  } cases[] = {
      {"mounts[0] (/proc)",
       [](spec::Spec& s) {
         spec::Mount m;
         m.destination = "/proc";
         m.type = "proc";
         s.mounts.push_back(m);
       }},
      {"root.readonly", [](spec::Spec& s) { s.root->readonly = true; }},
      {"linux.maskedPaths", [](spec::Spec& s) { s.linux->masked_paths = {"/proc/kcore"}; }},
      {"linux.readonlyPaths", [](spec::Spec& s) { s.linux->readonly_paths = {"/proc/sys"}; }},
      {"linux.rootfsPropagation", [](spec::Spec& s) { s.linux->rootfs_propagation = "rslave"; }},
      {"linux.devices", [](spec::Spec& s) { s.linux->devices.push_back({}); }},
  };
  for (const auto& c : cases) {
    spec::Spec s = NoMounts();
    c.edit(s);
    EXPECT_TRUE(CheckWithoutPrivateMounts(s, Plan(MountNamespace::kNew))) << c.field;
    auto shared = CheckWithoutPrivateMounts(s, Plan(MountNamespace::kShared));
    ASSERT_FALSE(shared) << c.field;
    EXPECT_TRUE(shared.error().IsInvalidArgument()) << c.field;
    EXPECT_EQ(shared.error().subject, c.field);
    EXPECT_NE(shared.error().detail.find("shares the runtime's mount namespace"), std::string::npos);
    auto joined = CheckWithoutPrivateMounts(s, Plan(MountNamespace::kJoined));
    ASSERT_FALSE(joined) << c.field;
    EXPECT_NE(joined.error().detail.find("/proc/42/ns/mnt"), std::string::npos) << c.field;
  }
}

}  // namespace
}  // namespace berth::runtime
