// Validation against a host it is told about (spec::HostProbe): a fake host that refuses
// what a real one would, the same config with no host at all (pure: accepted), and the
// kinds each refusal carries. The real host's answers are in spec_validate_test.cc.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <map>
#include <set>
#include <string>

#include "spec/parse.h"
#include "spec/validate.h"

namespace berth::spec {
namespace {

// A host described by its fields. Records what it was asked, so a test can tell that
// validation asked (or did not).
class FakeHost final : public HostProbe {
 public:
  std::set<std::string> dirs{"/bundle/rootfs"}, files, own_namespaces;
  std::map<int, uint64_t> hard_limits;  // absent: unlimited
  bool cap_sys_resource = false;
  std::optional<int> own_oom = 0;
  int oom_min = -1000;  // the kernel's oom_score_adj_min: lower values are refused
  bool oom_write_fails = false;
  bool apparmor = true, selinux = true;
  mutable int oom_trials = 0;

  Result<PathKind> Stat(const std::string& path) const override {
    if (dirs.count(path)) return PathKind::kDirectory;
    if (files.count(path) || own_namespaces.count(path)) return PathKind::kOther;
    return ErrnoCode(ENOENT, "stat", path);
  }
  bool IsOwnNamespace(const std::string&, const std::string& path) const override {
    return own_namespaces.count(path) > 0;
  }
  Result<std::optional<uint64_t>> HardRlimit(int resource) const override {
    auto it = hard_limits.find(resource);
    if (it == hard_limits.end()) return std::optional<uint64_t>{};
    return std::optional<uint64_t>{it->second};
  }
  bool HasCapSysResource() const override { return cap_sys_resource; }
  std::optional<int> OwnOomScoreAdj() const override { return own_oom; }
  Result<bool> MaySetOomScoreAdj(int adj) const override {
    ++oom_trials;
    if (oom_write_fails) return ErrnoCode(EIO, "write", "/proc/self/oom_score_adj");
    return adj >= oom_min;
  }
  bool AppArmorEnabled() const override { return apparmor; }
  bool SelinuxEnabled() const override { return selinux; }
};

constexpr const char* kBase = R"({
  "ociVersion": "1.2.0",
  "root": {"path": "rootfs"},
  "process": {"args": ["sh"], "cwd": "/"},
  "hostname": "box",
  "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "uts"},
                           {"type": "mount"}]}
})";

Spec Base() {
  auto r = ParseSpec(kBase);
  if (!r) ADD_FAILURE() << r.error().Message();
  return *r;
}

ValidateOptions On(const FakeHost& host) {
  return ValidateOptions{.host = &host, .bundle_dir = "/bundle"};
}

// `s` is refused on `host` with `kind`, on `subject`, saying `detail` — and accepted when
// no host is asked (the same config is valid in itself).
void ExpectRefusedOnHostOnly(const Spec& s, const FakeHost& host, ErrorKind kind,
                             const std::string& subject, const std::string& detail) {
  auto r = Validate(s, On(host));
  ASSERT_FALSE(r) << "expected " << subject << " refused";
  EXPECT_EQ(r.error().Kind(), kind) << KindName(r.error().Kind()) << ": " << r.error().Message();
  EXPECT_EQ(r.error().op, subject) << r.error().Message();
  EXPECT_NE(r.error().Message().find(detail), std::string::npos) << r.error().Message();
  EXPECT_TRUE(r.error().Message().starts_with("config.json: " + subject + ": "))
      << r.error().Message();
  auto pure = Validate(s, {.bundle_dir = "/bundle"});
  EXPECT_TRUE(pure) << "without a host: " << pure.error().Message();
}

TEST(SpecHostProbe, BaseValidOnFakeHost) {
  FakeHost host;
  auto r = Validate(Base(), On(host));
  EXPECT_TRUE(r) << r.error().Message();
}

TEST(SpecHostProbe, OomScoreAdjBelowKernelMinimum) {
  FakeHost host;
  host.own_oom = 0;
  host.oom_min = -100;
  Spec s = Base();
  s.process->oom_score_adj = -500;
  ExpectRefusedOnHostOnly(s, host, ErrorKind::kPermissionDenied, "process.oomScoreAdj",
                          "-500 is below the lowest value this runtime may set (its own is 0; "
                          "going lower needs CAP_SYS_RESOURCE)");
  // Between the minimum and the runtime's own value: the kernel allows it (containerd's
  // shim runs one above the score it asks for its containers).
  s.process->oom_score_adj = -100;
  auto r = Validate(s, On(host));
  EXPECT_TRUE(r) << r.error().Message();
}

TEST(SpecHostProbe, OomScoreAdjRaisingNeedsNoTrial) {
  FakeHost host;
  host.own_oom = -500;
  host.oom_min = 1000;  // would refuse anything: must not be asked
  Spec s = Base();
  s.process->oom_score_adj = -500;
  EXPECT_TRUE(Validate(s, On(host)));
  s.process->oom_score_adj = 200;
  EXPECT_TRUE(Validate(s, On(host)));
  EXPECT_EQ(host.oom_trials, 0);
}

TEST(SpecHostProbe, OomScoreAdjWithCapSysResource) {
  FakeHost host;
  host.oom_min = 0;
  host.cap_sys_resource = true;
  Spec s = Base();
  s.process->oom_score_adj = -1000;
  EXPECT_TRUE(Validate(s, On(host)));
  EXPECT_EQ(host.oom_trials, 0);
}

TEST(SpecHostProbe, OomScoreAdjTrialErrorIsReported) {
  FakeHost host;
  host.oom_write_fails = true;
  Spec s = Base();
  s.process->oom_score_adj = -10;
  auto r = Validate(s, On(host));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EIO);
  EXPECT_NE(r.error().Message().find("write /proc/self/oom_score_adj"), std::string::npos)
      << r.error().Message();
}

TEST(SpecHostProbe, OomScoreAdjOwnValueUnknown) {
  FakeHost host;
  host.own_oom.reset();
  host.oom_min = 1000;
  Spec s = Base();
  s.process->oom_score_adj = -10;
  EXPECT_TRUE(Validate(s, On(host)));  // nothing to compare with: create will tell
}

TEST(SpecHostProbe, RlimitAboveHardLimit) {
  FakeHost host;
  host.hard_limits[RLIMIT_NOFILE] = 20000;
  Spec s = Base();
  s.process->rlimits.push_back({"RLIMIT_NOFILE", 30000, 1024});
  ExpectRefusedOnHostOnly(s, host, ErrorKind::kPermissionDenied, "process.rlimits[0]",
                          "RLIMIT_NOFILE hard limit 30000 exceeds the host's hard limit 20000 "
                          "(raising it needs CAP_SYS_RESOURCE)");
  host.cap_sys_resource = true;
  EXPECT_TRUE(Validate(s, On(host)));
  host.cap_sys_resource = false;
  s.process->rlimits[0].hard = 20000;  // at the limit
  EXPECT_TRUE(Validate(s, On(host)));
  host.hard_limits.clear();  // unlimited
  s.process->rlimits[0].hard = 1u << 30;
  EXPECT_TRUE(Validate(s, On(host)));
}

TEST(SpecHostProbe, RootfsMissingOrNotADirectory) {
  FakeHost host;
  host.dirs.clear();
  ExpectRefusedOnHostOnly(Base(), host, ErrorKind::kNotFound, "root.path",
                          "/bundle/rootfs: No such file or directory");
  host.files.insert("/bundle/rootfs");
  ExpectRefusedOnHostOnly(Base(), host, ErrorKind::kFailedPrecondition, "root.path",
                          "/bundle/rootfs is not a directory");
}

TEST(SpecHostProbe, NamespacePathMissing) {
  FakeHost host;
  Spec s = Base();
  s.linux->namespaces.push_back({"ipc", "/run/ns/ipc"});
  ExpectRefusedOnHostOnly(s, host, ErrorKind::kNotFound, "linux.namespaces[4].path",
                          "/run/ns/ipc: No such file or directory");
  host.files.insert("/run/ns/ipc");
  EXPECT_TRUE(Validate(s, On(host)));
}

// Only the host knows that a joined path is the runtime's own namespace, where a
// hostname or a namespaced sysctl would change the host's.
TEST(SpecHostProbe, JoinedNamespaceIsTheRuntimes) {
  FakeHost host;
  host.own_namespaces = {"/proc/1/ns/uts", "/proc/1/ns/net"};
  Spec s = Base();
  for (auto& n : s.linux->namespaces)
    if (n.type == "uts") n.path = "/proc/1/ns/uts";
  ExpectRefusedOnHostOnly(s, host, ErrorKind::kInvalidArgument, "hostname",
                          "unable to set hostname without a private UTS namespace");

  Spec t = Base();
  t.linux->sysctl["net.ipv4.ip_forward"] = "1";
  for (auto& n : t.linux->namespaces)
    if (n.type == "network") n.path = "/proc/1/ns/net";
  ExpectRefusedOnHostOnly(t, host, ErrorKind::kInvalidArgument,
                          "linux.sysctl[\"net.ipv4.ip_forward\"]",
                          "requires a private network namespace");
  host.own_namespaces.clear();
  host.files = {"/proc/1/ns/net"};  // another process's: private to the container
  EXPECT_TRUE(Validate(t, On(host)));
}

TEST(SpecHostProbe, LsmLabelsWithoutTheLsm) {
  FakeHost host;
  host.apparmor = false;
  host.selinux = false;
  Spec s = Base();
  s.process->apparmor_profile = "docker-default";
  ExpectRefusedOnHostOnly(s, host, ErrorKind::kFailedPrecondition, "process.apparmorProfile",
                          "AppArmor is not enabled on this host");
  Spec t = Base();
  t.process->selinux_label = "system_u:system_r:container_t:s0";
  ExpectRefusedOnHostOnly(t, host, ErrorKind::kFailedPrecondition, "process.selinuxLabel",
                          "SELinux is not enabled on this host");
  Spec u = Base();
  u.linux->mount_label = "system_u:object_r:container_file_t:s0";
  ExpectRefusedOnHostOnly(u, host, ErrorKind::kFailedPrecondition, "linux.mountLabel",
                          "SELinux is not enabled on this host");
  host.apparmor = host.selinux = true;
  EXPECT_TRUE(Validate(s, On(host)));
  EXPECT_TRUE(Validate(t, On(host)));
  EXPECT_TRUE(Validate(u, On(host)));
}

// ValidateProcess (exec --process) asks the same host.
TEST(SpecHostProbe, ValidateProcessAsksTheHost) {
  FakeHost host;
  host.oom_min = 0;
  Process p;
  p.args = {"sh"};
  p.cwd = "/";
  p.oom_score_adj = -10;
  auto r = ValidateProcess(p, {.host = &host});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().Kind(), ErrorKind::kPermissionDenied);
  EXPECT_EQ(r.error().Message().rfind("process.oomScoreAdj: -10 is below", 0), 0u)
      << r.error().Message();
  EXPECT_TRUE(ValidateProcess(p));
}

// A config wrong on any host is refused the same with and without one, as kInvalidArgument.
TEST(SpecHostProbe, ConfigErrorsAreInvalidArgumentEitherWay) {
  FakeHost host;
  Spec s = Base();
  s.process->oom_score_adj = 1001;
  for (const ValidateOptions& opts : {On(host), ValidateOptions{}}) {
    auto r = Validate(s, opts);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().Kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(r.error().Message(), "config.json: process.oomScoreAdj: 1001 is outside [-1000, 1000]");
  }
  EXPECT_EQ(host.oom_trials, 0);
}

}  // namespace
}  // namespace berth::spec
