// Semantic validation: one test per rule, each asserting the field path and the reason.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "runtime/host_probe.h"
#include "spec/parse.h"
#include "spec/validate.h"
#include "test_util.h"

namespace berth::spec {
namespace {

namespace fs = std::filesystem;

// The smallest config that validates without host checks; each test breaks one thing.
constexpr const char* kBase = R"({
  "ociVersion": "1.2.0",
  "root": {"path": "rootfs"},
  "process": {"args": ["sh"], "cwd": "/", "env": ["PATH=/bin"]},
  "hostname": "box",
  "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}]}
})";

Spec Base() {
  auto r = ParseSpec(kBase);
  if (!r) ADD_FAILURE() << r.error().Message();
  return *r;
}

// The config alone: no host is asked anything.
ValidateOptions NoHost() { return ValidateOptions{}; }

// This host, as the runtime sees it (create/run/exec).
ValidateOptions OnThisHost(const std::string& bundle) {
  static const runtime::SystemHostProbe host;
  return ValidateOptions{.host = &host, .bundle_dir = bundle};
}

// Applies `mutate` to the base spec and expects Validate to fail on `subject` with
// a message containing `detail`.
void ExpectInvalid(const std::function<void(Spec&)>& mutate, const std::string& subject,
                   const std::string& detail, const ValidateOptions& opts = NoHost()) {
  Spec s = Base();
  mutate(s);
  auto r = Validate(s, opts);
  ASSERT_FALSE(r) << "expected failure on " << subject;
  EXPECT_EQ(r.error().op, subject) << r.error().Message();
  EXPECT_NE(r.error().Message().find(detail), std::string::npos) << r.error().Message();
  EXPECT_TRUE(r.error().Message().starts_with("config.json: " + subject + ": "))
      << r.error().Message();
  // Without a host, every failure is the config's own.
  if (opts.host == nullptr) {
    EXPECT_EQ(r.error().Kind(), ErrorKind::kInvalidArgument) << KindName(r.error().Kind());
  }
}

using testutil::TempDir;

bool HaveCapSysResource() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with("CapEff:")) return (std::stoull(line.substr(7), nullptr, 16) >> 24) & 1;
  return false;
}

LinuxResources& Resources(Spec& s) {
  if (!s.linux->resources) s.linux->resources.emplace();
  return *s.linux->resources;
}

TEST(SpecValidate, BaseIsValid) {
  auto r = Validate(Base(), NoHost());
  EXPECT_TRUE(r) << r.error().Message();
}

TEST(SpecValidate, OciVersionMissing) {
  ExpectInvalid([](Spec& s) { s.oci_version.clear(); }, "ociVersion", "missing");
}

TEST(SpecValidate, OciVersionMajorTwo) {
  ExpectInvalid([](Spec& s) { s.oci_version = "2.0.0"; }, "ociVersion",
                "\"2.0.0\" is not supported");
}

TEST(SpecValidate, OciVersionNotSemver) {
  ExpectInvalid([](Spec& s) { s.oci_version = "latest"; }, "ociVersion",
                "is not a semantic version");
}

TEST(SpecValidate, OciVersionPrereleaseAccepted) {
  Spec s = Base();
  s.oci_version = "1.0.2-dev";
  EXPECT_TRUE(Validate(s, NoHost()));
}

TEST(SpecValidate, RootMissing) {
  ExpectInvalid([](Spec& s) { s.root.reset(); }, "root", "missing");
  ExpectInvalid([](Spec& s) { s.root->path.clear(); }, "root.path", "missing");
}

TEST(SpecValidate, RootfsRelativeToBundle) {
  TempDir bundle;
  fs::create_directory(bundle.path() + "/rootfs");
  ValidateOptions opts = OnThisHost(bundle.path());
  Spec s = Base();
  auto r = Validate(s, opts);
  EXPECT_TRUE(r) << r.error().Message();
}

TEST(SpecValidate, RootfsMissingOnHost) {
  TempDir bundle;
  ValidateOptions opts = OnThisHost(bundle.path());
  ExpectInvalid([](Spec&) {}, "root.path", bundle.path() + "/rootfs: No such file or directory",
                opts);
}

TEST(SpecValidate, RootfsNotADirectory) {
  TempDir bundle;
  std::ofstream(bundle.path() + "/rootfs") << "x";
  ValidateOptions opts = OnThisHost(bundle.path());
  ExpectInvalid([](Spec&) {}, "root.path", "is not a directory", opts);
}

TEST(SpecValidate, ProcessArgsEmpty) {
  ExpectInvalid([](Spec& s) { s.process->args.clear(); }, "process.args", "must not be empty");
}

TEST(SpecValidate, ProcessCwdRelative) {
  ExpectInvalid([](Spec& s) { s.process->cwd = "srv"; }, "process.cwd",
                "\"srv\" is not an absolute path");
}

TEST(SpecValidate, ProcessEnvWithoutEquals) {
  ExpectInvalid([](Spec& s) { s.process->env.push_back("NOVALUE"); }, "process.env[1]",
                "is not in KEY=VALUE form");
}

TEST(SpecValidate, UmaskTooLarge) {
  ExpectInvalid([](Spec& s) { s.process->user.umask = 01000; }, "process.user.umask", "above 0777");
}

TEST(SpecValidate, MountDestinationEmpty) {
  ExpectInvalid([](Spec& s) { s.mounts.push_back(Mount{}); }, "mounts[0].destination", "missing");
}

// runtime-spec 1.2 allows relative destinations on Linux (relative to "/"), as runc does.
TEST(SpecValidate, MountDestinationRelativeAccepted) {
  Spec s = Base();
  Mount m;
  m.destination = "data";
  m.type = "tmpfs";
  s.mounts.push_back(m);
  auto r = Validate(s, NoHost());
  EXPECT_TRUE(r) << r.error().Message();
}

TEST(SpecValidate, IdmappedMountNeedsBothMaps) {
  ExpectInvalid(
      [](Spec& s) {
        Mount m;
        m.destination = "/data";
        m.uid_mappings.push_back({0, 1000, 1});
        s.mounts.push_back(m);
      },
      "mounts[0]", "needs both uidMappings and gidMappings");
}

TEST(SpecValidate, NamespaceTypeUnknown) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->namespaces.push_back({"net", ""});
      },
      "linux.namespaces[5].type", "\"net\" is not a namespace type");
}

TEST(SpecValidate, NamespaceDuplicated) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->namespaces.push_back({"pid", ""});
      },
      "linux.namespaces[5].type", "duplicate \"pid\" namespace");
}

TEST(SpecValidate, NamespacePathRelative) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->namespaces.push_back({"cgroup", "ns/cgroup"});
      },
      "linux.namespaces[5].path", "is not an absolute path");
}

TEST(SpecValidate, NamespacePathMissingOnHost) {
  TempDir bundle;
  fs::create_directory(bundle.path() + "/rootfs");
  ValidateOptions opts = OnThisHost(bundle.path());
  ExpectInvalid(
      [](Spec& s) {
        s.linux->namespaces.push_back({"cgroup", "/nonexistent/ns/cgroup"});
      },
      "linux.namespaces[5].path", "/nonexistent/ns/cgroup: No such file or directory", opts);
}

TEST(SpecValidate, UidMappingsWithoutUserNamespace) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->uid_mappings.push_back({0, 1000, 1});
      },
      "linux.uidMappings", "requires a user namespace");
}

TEST(SpecValidate, GidMappingsWithoutUserNamespace) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->gid_mappings.push_back({0, 1000, 1});
      },
      "linux.gidMappings", "requires a user namespace");
}

TEST(SpecValidate, NewUserNamespaceNeedsMappings) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->namespaces.push_back({"user", ""});
      },
      "linux.uidMappings", "a new user namespace needs uid mappings");
}

TEST(SpecValidate, IdMappingSizeZero) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->namespaces.push_back({"user", ""});
        s.linux->uid_mappings.push_back({0, 1000, 0});
        s.linux->gid_mappings.push_back({0, 1000, 1});
      },
      "linux.uidMappings[0].size", "must be greater than 0");
}

TEST(SpecValidate, IdMappingOverflow) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->namespaces.push_back({"user", ""});
        s.linux->uid_mappings.push_back({0, 1000, 1});
        s.linux->gid_mappings.push_back({0, 4294967295u, 2});
      },
      "linux.gidMappings[0]", "past the 32-bit id space");
}

TEST(SpecValidate, TimeOffsetsWithoutTimeNamespace) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->time_offsets["monotonic"] = {10, 0};
      },
      "linux.timeOffsets", "requires a new time namespace");
}

TEST(SpecValidate, TimeOffsetUnknownClock) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->namespaces.push_back({"time", ""});
        s.linux->time_offsets["realtime"] = {10, 0};
      },
      "linux.timeOffsets[\"realtime\"]", "not a clock with a time namespace offset");
}

TEST(SpecValidate, HostnameWithoutUts) {
  ExpectInvalid(
      [](Spec& s) { std::erase_if(s.linux->namespaces, [](auto& n) { return n.type == "uts"; }); },
      "hostname", "unable to set hostname without a private UTS namespace");
}

TEST(SpecValidate, DomainnameWithoutUts) {
  ExpectInvalid(
      [](Spec& s) {
        s.hostname.clear();
        s.domainname = "example.org";
        std::erase_if(s.linux->namespaces, [](auto& n) { return n.type == "uts"; });
      },
      "domainname", "without a private UTS namespace");
}

// Joining the runtime's own UTS namespace is not private: sethostname would rename the host.
TEST(SpecValidate, HostnameWithHostUtsPath) {
  TempDir bundle;
  fs::create_directory(bundle.path() + "/rootfs");
  ValidateOptions opts = OnThisHost(bundle.path());
  ExpectInvalid(
      [](Spec& s) {
        for (auto& n : s.linux->namespaces)
          if (n.type == "uts") n.path = "/proc/self/ns/uts";
      },
      "hostname", "without a private UTS namespace", opts);
}

TEST(SpecValidate, SysctlNetWithoutNetworkNamespace) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->sysctl["net.ipv4.ip_forward"] = "1";
        std::erase_if(s.linux->namespaces, [](auto& n) { return n.type == "network"; });
      },
      "linux.sysctl[\"net.ipv4.ip_forward\"]", "requires a private network namespace");
}

TEST(SpecValidate, SysctlIpcWithoutIpcNamespace) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->sysctl["kernel.shmmax"] = "1";
        std::erase_if(s.linux->namespaces, [](auto& n) { return n.type == "ipc"; });
      },
      "linux.sysctl[\"kernel.shmmax\"]", "requires a private IPC namespace");
  ExpectInvalid(
      [](Spec& s) {
        s.linux->sysctl["fs.mqueue.msg_max"] = "1";
        std::erase_if(s.linux->namespaces, [](auto& n) { return n.type == "ipc"; });
      },
      "linux.sysctl[\"fs.mqueue.msg_max\"]", "requires a private IPC namespace");
}

TEST(SpecValidate, SysctlKernelDomainnameWithoutUts) {
  ExpectInvalid(
      [](Spec& s) {
        s.hostname.clear();
        s.linux->sysctl["kernel.domainname"] = "x";
        std::erase_if(s.linux->namespaces, [](auto& n) { return n.type == "uts"; });
      },
      "linux.sysctl[\"kernel.domainname\"]", "requires a private UTS namespace");
}

TEST(SpecValidate, SysctlNotNamespaced) {
  ExpectInvalid([](Spec& s) { s.linux->sysctl["vm.swappiness"] = "10"; },
                "linux.sysctl[\"vm.swappiness\"]", "not a namespaced sysctl");
}

TEST(SpecValidate, SysctlSlashFormAccepted) {
  Spec s = Base();
  s.linux->sysctl["net/ipv4/ip_forward"] = "1";
  s.linux->sysctl["kernel.msgmax"] = "8192";
  auto r = Validate(s, NoHost());
  EXPECT_TRUE(r) << r.error().Message();
}

TEST(SpecValidate, RlimitTypeUnknown) {
  ExpectInvalid(
      [](Spec& s) {
        s.process->rlimits.push_back({"RLIMIT_FOO", 1, 1});
      },
      "process.rlimits[0].type", "\"RLIMIT_FOO\" is not a known rlimit");
}

TEST(SpecValidate, RlimitDuplicated) {
  ExpectInvalid(
      [](Spec& s) {
        s.process->rlimits.push_back({"RLIMIT_NOFILE", 10, 10});
        s.process->rlimits.push_back({"RLIMIT_NOFILE", 20, 20});
      },
      "process.rlimits[1].type", "RLIMIT_NOFILE is set more than once");
}

TEST(SpecValidate, RlimitSoftAboveHard) {
  ExpectInvalid(
      [](Spec& s) {
        s.process->rlimits.push_back({"RLIMIT_NOFILE", 1024, 2048});
      },
      "process.rlimits[0]", "RLIMIT_NOFILE soft limit 2048 is above its hard limit 1024");
}

// Without CAP_SYS_RESOURCE (this project's hosts) a hard limit cannot be raised.
TEST(SpecValidate, RlimitAboveHostHardLimit) {
  struct rlimit host {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &host), 0);
  if (host.rlim_max == RLIM_INFINITY || HaveCapSysResource())
    GTEST_SKIP() << "this process may raise RLIMIT_NOFILE";
  TempDir bundle;
  fs::create_directory(bundle.path() + "/rootfs");
  ValidateOptions opts = OnThisHost(bundle.path());
  uint64_t want = host.rlim_max + 10000;
  ExpectInvalid(
      [&](Spec& s) {
        s.process->rlimits.push_back({"RLIMIT_NOFILE", want, 1024});
      },
      "process.rlimits[0]",
      "RLIMIT_NOFILE hard limit " + std::to_string(want) + " exceeds the host's hard limit " +
          std::to_string(host.rlim_max) + " (raising it needs CAP_SYS_RESOURCE)",
      opts);
  // At the host's limit is fine.
  Spec s = Base();
  s.process->rlimits.push_back({"RLIMIT_NOFILE", host.rlim_max, 1024});
  auto r = Validate(s, opts);
  EXPECT_TRUE(r) << r.error().Message();
}

TEST(SpecValidate, OomScoreAdjOutOfRange) {
  ExpectInvalid([](Spec& s) { s.process->oom_score_adj = 1001; }, "process.oomScoreAdj",
                "1001 is outside [-1000, 1000]");
  ExpectInvalid([](Spec& s) { s.process->oom_score_adj = -1001; }, "process.oomScoreAdj",
                "-1001 is outside [-1000, 1000]");
}

namespace {

int OwnOomScoreAdj() {
  int v = 0;
  std::ifstream("/proc/self/oom_score_adj") >> v;
  return v;
}

bool SetOwnOomScoreAdj(int v) {
  std::ofstream f("/proc/self/oom_score_adj");
  f << v;
  f.flush();
  return static_cast<bool>(f);
}

}  // namespace

TEST(SpecValidate, OomScoreAdjBelowKernelMinimum) {
  int current = OwnOomScoreAdj();
  if (current <= -1000 || HaveCapSysResource())
    GTEST_SKIP() << "this process may lower oom_score_adj";
  if (SetOwnOomScoreAdj(-1000)) {
    SetOwnOomScoreAdj(current);
    GTEST_SKIP() << "this process's oom_score_adj_min is -1000";
  }
  TempDir bundle;
  fs::create_directory(bundle.path() + "/rootfs");
  ValidateOptions opts = OnThisHost(bundle.path());
  ExpectInvalid([&](Spec& s) { s.process->oom_score_adj = -1000; }, "process.oomScoreAdj",
                "going lower needs CAP_SYS_RESOURCE", opts);
  EXPECT_EQ(current, OwnOomScoreAdj()) << "validation changed the runtime's own score";
}

// Below the current value but not below oom_score_adj_min: what containerd's shim (running
// at containerd's score + 1) asks for its containers. The kernel allows it without the cap.
TEST(SpecValidate, OomScoreAdjBelowOwnValueButAboveMinimum) {
  int current = OwnOomScoreAdj();
  if (current >= 1000) GTEST_SKIP() << "cannot raise oom_score_adj above " << current;
  ASSERT_TRUE(SetOwnOomScoreAdj(current + 1));
  TempDir bundle;
  fs::create_directory(bundle.path() + "/rootfs");
  ValidateOptions opts = OnThisHost(bundle.path());
  Spec s = Base();
  s.process->oom_score_adj = current;
  auto r = Validate(s, opts);
  EXPECT_TRUE(r) << r.error().Message();
  EXPECT_EQ(current + 1, OwnOomScoreAdj()) << "validation did not restore the runtime's score";
  EXPECT_TRUE(SetOwnOomScoreAdj(current));
}

TEST(SpecValidate, CapabilityUnknown) {
  ExpectInvalid(
      [](Spec& s) {
        s.process->capabilities.emplace().effective = {"CAP_KILL", "CAP_FLY"};
      },
      "process.capabilities.effective[1]", "\"CAP_FLY\" is not a known capability");
}

TEST(SpecValidate, SchedulerPolicyUnknown) {
  ExpectInvalid([](Spec& s) { s.process->scheduler.emplace().policy = "SCHED_FAST"; },
                "process.scheduler.policy", "\"SCHED_FAST\" is not a known policy");
}

TEST(SpecValidate, SchedulerNiceOutOfRange) {
  ExpectInvalid(
      [](Spec& s) {
        auto& sc = s.process->scheduler.emplace();
        sc.policy = "SCHED_OTHER";
        sc.nice = 20;
      },
      "process.scheduler.nice", "20 is outside [-20, 19]");
}

TEST(SpecValidate, SchedulerDeadlineOrder) {
  ExpectInvalid(
      [](Spec& s) {
        auto& sc = s.process->scheduler.emplace();
        sc.policy = "SCHED_DEADLINE";
        sc.runtime = 20;
        sc.deadline = 10;
      },
      "process.scheduler", "runtime <= deadline <= period");
}

TEST(SpecValidate, IoPriorityInvalid) {
  ExpectInvalid(
      [](Spec& s) {
        s.process->io_priority = IoPriority{"IOPRIO_CLASS_FAST", 0};
      },
      "process.ioPriority.class", "is not a known I/O class");
  ExpectInvalid(
      [](Spec& s) {
        s.process->io_priority = IoPriority{"IOPRIO_CLASS_BE", 8};
      },
      "process.ioPriority.priority", "8 is outside [0, 7]");
}

TEST(SpecValidate, RootfsPropagationUnknown) {
  ExpectInvalid([](Spec& s) { s.linux->rootfs_propagation = "recursive"; },
                "linux.rootfsPropagation", "\"recursive\" is not a propagation mode");
}

TEST(SpecValidate, RootfsPropagationKnownValues) {
  for (const char* mode : {"shared", "slave", "private", "unbindable", "rshared", "rslave",
                           "rprivate", "runbindable"}) {
    Spec s = Base();
    s.linux->rootfs_propagation = mode;
    EXPECT_TRUE(Validate(s, NoHost())) << mode;
  }
}

TEST(SpecValidate, DeviceTypeUnknown) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->devices.push_back({"/dev/x", "x", 1, 1, {}, {}, {}});
      },
      "linux.devices[0].type", "\"x\" is not a device type");
}

TEST(SpecValidate, DevicePathRelative) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->devices.push_back({"dev/x", "c", 1, 1, {}, {}, {}});
      },
      "linux.devices[0].path", "is not an absolute path");
}

TEST(SpecValidate, DeviceCgroupRuleType) {
  ExpectInvalid(
      [](Spec& s) {
        Resources(s).devices.push_back({true, "p", {}, {}, "rwm"});
      },
      "linux.resources.devices[0].type", "\"p\" is not a device rule type");
}

TEST(SpecValidate, DeviceCgroupRuleAccess) {
  ExpectInvalid(
      [](Spec& s) {
        Resources(s).devices.push_back({true, "c", 1, 3, "rwx"});
      },
      "linux.resources.devices[0].access", "\"rwx\" is not a subset of \"rwm\"");
}

Seccomp& SeccompOf(Spec& s) {
  if (!s.linux->seccomp) s.linux->seccomp.emplace().default_action = "SCMP_ACT_ALLOW";
  return *s.linux->seccomp;
}

TEST(SpecValidate, SeccompDefaultActionUnknown) {
  ExpectInvalid([](Spec& s) { SeccompOf(s).default_action = "SCMP_ACT_MAYBE"; },
                "linux.seccomp.defaultAction", "\"SCMP_ACT_MAYBE\" is not a seccomp action");
  ExpectInvalid([](Spec& s) { SeccompOf(s).default_action.clear(); }, "linux.seccomp.defaultAction",
                "missing");
}

TEST(SpecValidate, SeccompRuleActionUnknown) {
  ExpectInvalid(
      [](Spec& s) {
        SeccompOf(s).syscalls.push_back({{"mount"}, "SCMP_ACT_DENY", {}, {}});
      },
      "linux.seccomp.syscalls[0].action", "\"SCMP_ACT_DENY\" is not a seccomp action");
}

TEST(SpecValidate, SeccompAllActionsKnown) {
  for (const char* action :
       {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"}) {
    Spec s = Base();
    SeccompOf(s).default_action = action;
    SeccompOf(s).syscalls.push_back({{"getpid"}, action, {}, {}});
    auto r = Validate(s, NoHost());
    EXPECT_TRUE(r) << action << ": " << r.error().Message();
  }
}

TEST(SpecValidate, SeccompNotifyNeedsListenerPath) {
  ExpectInvalid(
      [](Spec& s) {
        SeccompOf(s).syscalls.push_back({{"mount"}, "SCMP_ACT_NOTIFY", {}, {}});
      },
      "linux.seccomp.listenerPath", "required when SCMP_ACT_NOTIFY is used");
}

TEST(SpecValidate, SeccompListenerPathWithoutNotify) {
  ExpectInvalid([](Spec& s) { SeccompOf(s).listener_path = "/run/agent.sock"; },
                "linux.seccomp.listenerPath", "no rule uses SCMP_ACT_NOTIFY");
}

TEST(SpecValidate, SeccompNotifyWithListenerPathAccepted) {
  Spec s = Base();
  SeccompOf(s).listener_path = "/run/agent.sock";
  SeccompOf(s).syscalls.push_back({{"mount"}, "SCMP_ACT_NOTIFY", {}, {}});
  auto r = Validate(s, NoHost());
  EXPECT_TRUE(r) << r.error().Message();
}

TEST(SpecValidate, SeccompNotifyAsDefault) {
  ExpectInvalid(
      [](Spec& s) {
        SeccompOf(s).default_action = "SCMP_ACT_NOTIFY";
        SeccompOf(s).listener_path = "/run/agent.sock";
      },
      "linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
}

TEST(SpecValidate, SeccompErrnoRetNeedsErrnoAction) {
  ExpectInvalid(
      [](Spec& s) {
        SeccompOf(s).syscalls.push_back({{"mount"}, "SCMP_ACT_KILL", 1u, {}});
      },
      "linux.seccomp.syscalls[0].errnoRet", "only applies to SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
}

TEST(SpecValidate, SeccompArgOperatorAndIndex) {
  ExpectInvalid(
      [](Spec& s) {
        SeccompOf(s).syscalls.push_back(
            {{"clone"}, "SCMP_ACT_ALLOW", {}, {{6, 0, 0, "SCMP_CMP_EQ"}}});
      },
      "linux.seccomp.syscalls[0].args[0].index", "6 is not a syscall argument");
  ExpectInvalid(
      [](Spec& s) {
        SeccompOf(s).syscalls.push_back({{"clone"}, "SCMP_ACT_ALLOW", {}, {{0, 0, 0, "EQ"}}});
      },
      "linux.seccomp.syscalls[0].args[0].op", "\"EQ\" is not a comparison operator");
}

TEST(SpecValidate, SeccompArchitectureAndFlag) {
  ExpectInvalid([](Spec& s) { SeccompOf(s).architectures = {"SCMP_ARCH_Z80"}; },
                "linux.seccomp.architectures[0]", "is not a seccomp architecture");
  ExpectInvalid([](Spec& s) { SeccompOf(s).flags = {"SECCOMP_FILTER_FLAG_FAST"}; },
                "linux.seccomp.flags[0]", "is not a seccomp flag");
}

TEST(SpecValidate, PersonalityDomain) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->personality = LinuxPersonality{"BSD", {}};
      },
      "linux.personality.domain", "\"BSD\" is not a personality domain");
}

TEST(SpecValidate, AppArmorProfileWithoutAppArmor) {
  struct stat st {};
  if (::stat("/sys/kernel/security/apparmor", &st) == 0 || ::stat("/sys/module/apparmor", &st) == 0)
    GTEST_SKIP() << "AppArmor present";
  TempDir bundle;
  fs::create_directory(bundle.path() + "/rootfs");
  ValidateOptions opts = OnThisHost(bundle.path());
  ExpectInvalid([](Spec& s) { s.process->apparmor_profile = "docker-default"; },
                "process.apparmorProfile", "AppArmor is not enabled on this host", opts);
  // Without host checks the label is accepted (e.g. `berth spec` on a build machine).
  Spec s = Base();
  s.process->apparmor_profile = "docker-default";
  EXPECT_TRUE(Validate(s, NoHost()));
}

TEST(SpecValidate, SelinuxLabelsWithoutSelinux) {
  struct stat st {};
  if (::stat("/sys/fs/selinux/enforce", &st) == 0) GTEST_SKIP() << "SELinux present";
  TempDir bundle;
  fs::create_directory(bundle.path() + "/rootfs");
  ValidateOptions opts = OnThisHost(bundle.path());
  ExpectInvalid([](Spec& s) { s.process->selinux_label = "system_u:system_r:container_t:s0"; },
                "process.selinuxLabel", "SELinux is not enabled on this host", opts);
  ExpectInvalid([](Spec& s) { s.linux->mount_label = "system_u:object_r:container_file_t:s0"; },
                "linux.mountLabel", "SELinux is not enabled on this host", opts);
}

TEST(SpecValidate, HookPathRelative) {
  ExpectInvalid(
      [](Spec& s) {
        s.hooks.poststart.push_back({"hook.sh", {}, {}, {}});
      },
      "hooks.poststart[0].path", "\"hook.sh\" is not an absolute path");
}

TEST(SpecValidate, HookTimeoutNotPositive) {
  ExpectInvalid(
      [](Spec& s) {
        s.hooks.create_runtime.push_back({"/bin/hook", {}, {}, 0});
      },
      "hooks.createRuntime[0].timeout", "0 is not > 0 seconds");
}

TEST(SpecValidate, MemoryLimitNegative) {
  ExpectInvalid([](Spec& s) { Resources(s).memory.emplace().limit = -5; },
                "linux.resources.memory.limit", "-5 is not a valid byte count");
  Spec s = Base();
  Resources(s).memory.emplace().limit = -1;  // unlimited
  EXPECT_TRUE(Validate(s, NoHost()));
}

TEST(SpecValidate, MemoryFullMessage) {
  Spec s = Base();
  Resources(s).memory.emplace().limit = -5;
  auto r = Validate(s, NoHost());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().Message(),
            "config.json: linux.resources.memory.limit: -5 is not a valid byte count");
}

TEST(SpecValidate, MemoryReservationAndSwapNegative) {
  ExpectInvalid([](Spec& s) { Resources(s).memory.emplace().reservation = -2; },
                "linux.resources.memory.reservation", "-2 is not a valid byte count");
  ExpectInvalid([](Spec& s) { Resources(s).memory.emplace().swap = -3; },
                "linux.resources.memory.swap", "-3 is not a valid byte count");
}

TEST(SpecValidate, MemorySwapBelowLimit) {
  ExpectInvalid(
      [](Spec& s) {
        auto& m = Resources(s).memory.emplace();
        m.limit = 2 << 20;
        m.swap = 1 << 20;
      },
      "linux.resources.memory.swap", "is below memory.limit 2097152");
}

TEST(SpecValidate, MemorySwapUnlimitedAccepted) {
  Spec s = Base();
  auto& m = Resources(s).memory.emplace();
  m.limit = 2 << 20;
  m.swap = -1;
  EXPECT_TRUE(Validate(s, NoHost()));
}

TEST(SpecValidate, MemorySwappiness) {
  ExpectInvalid([](Spec& s) { Resources(s).memory.emplace().swappiness = 101; },
                "linux.resources.memory.swappiness", "101 is outside [0, 100]");
}

TEST(SpecValidate, CpuPeriodOutOfRange) {
  ExpectInvalid([](Spec& s) { Resources(s).cpu.emplace().period = 500; },
                "linux.resources.cpu.period", "500 is outside the kernel's range");
}

TEST(SpecValidate, CpuQuotaTooSmall) {
  ExpectInvalid([](Spec& s) { Resources(s).cpu.emplace().quota = 10; }, "linux.resources.cpu.quota",
                "10 is neither -1 (unlimited) nor >= 1000");
  ExpectInvalid([](Spec& s) { Resources(s).cpu.emplace().quota = -2; }, "linux.resources.cpu.quota",
                "-2 is neither");
}

TEST(SpecValidate, CpuListSyntax) {
  ExpectInvalid([](Spec& s) { Resources(s).cpu.emplace().cpus = "0-"; }, "linux.resources.cpu.cpus",
                "is not a CPU list");
  ExpectInvalid([](Spec& s) { Resources(s).cpu.emplace().mems = "3-1"; },
                "linux.resources.cpu.mems", "is not a node list");
  Spec s = Base();
  Resources(s).cpu.emplace().cpus = "0-3,5,7-8";
  EXPECT_TRUE(Validate(s, NoHost()));
}

TEST(SpecValidate, PidsLimitNegative) {
  ExpectInvalid([](Spec& s) { Resources(s).pids = LinuxPids{-2}; }, "linux.resources.pids.limit",
                "-2 is not a valid limit");
  Spec s = Base();
  Resources(s).pids = LinuxPids{-1};
  EXPECT_TRUE(Validate(s, NoHost()));
}

TEST(SpecValidate, BlockIoWeightRange) {
  ExpectInvalid([](Spec& s) { Resources(s).block_io.emplace().weight = 5; },
                "linux.resources.blockIO.weight", "5 is outside [10, 1000]");
}

TEST(SpecValidate, HugepageSizeFormat) {
  ExpectInvalid(
      [](Spec& s) {
        Resources(s).hugepage_limits.push_back({"2M", 0});
      },
      "linux.resources.hugepageLimits[0].pageSize", "is not a page size");
}

TEST(SpecValidate, UnifiedKeyEscapes) {
  ExpectInvalid([](Spec& s) { Resources(s).unified["../../memory.max"] = "1"; },
                "linux.resources.unified[\"../../memory.max\"]",
                "not a cgroup v2 interface file name");
}

TEST(SpecValidate, CgroupsPathDotDot) {
  ExpectInvalid([](Spec& s) { s.linux->cgroups_path = "/berth/../../escape"; }, "linux.cgroupsPath",
                "must not contain \"..\" components");
  Spec s = Base();
  s.linux->cgroups_path = "system.slice:berth:ctr..1";  // ".." inside a name is fine
  EXPECT_TRUE(Validate(s, NoHost()));
}

TEST(SpecValidate, MaskedPathRelative) {
  ExpectInvalid([](Spec& s) { s.linux->masked_paths = {"proc/kcore"}; }, "linux.maskedPaths[0]",
                "is not an absolute path");
  ExpectInvalid(
      [](Spec& s) {
        s.linux->readonly_paths = {"/proc/sys", "sys"};
      },
      "linux.readonlyPaths[1]", "is not an absolute path");
}

TEST(SpecValidate, IntelRdtClosIdEscapes) {
  ExpectInvalid(
      [](Spec& s) {
        s.linux->intel_rdt = LinuxIntelRdt{"../x", "", ""};
      },
      "linux.intelRdt.closID", "is not a valid resctrl group name");
}

TEST(SpecValidate, AnnotationKeyEmpty) {
  ExpectInvalid([](Spec& s) { s.annotations[""] = "x"; }, "annotations", "must not be empty");
}

TEST(SpecValidate, ValidateProcessAlone) {
  Process p;
  p.args = {"sh"};
  p.cwd = "relative";
  auto r = ValidateProcess(p, NoHost());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().Message(), "process.cwd: \"relative\" is not an absolute path");
}

}  // namespace
}  // namespace berth::spec
