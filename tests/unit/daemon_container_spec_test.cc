// BuildContainerSpec: every CRI ContainerConfig field it maps, asserted on the spec it
// produces, with a temporary rootfs holding /etc/passwd and /etc/group. The RuntimeDefault
// profile and the host probe: daemon_container_spec_seccomp_test.cc.
//
// First: the CRI's Signal enum has values named SIGKILL...; <signal.h> defines those as
// macros, so the generated header must be read before anything includes it.
#include "daemon/container_spec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "spec/default_spec.h"
#include "spec/names.h"
#include "spec/parse.h"
#include "test_util.h"

// The deprecated string fields are tested on purpose: older kubelets still send them.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace berth::daemon {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;
using Gids = std::vector<uint32_t>;

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
    "bob:x:1001:100::/home/bob:/bin/sh\n";

constexpr const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,alice\n"
    "alice:x:1000:\n"
    "users:x:100:\n"
    "staff:x:50:bob,alice\n"
    "audio:x:63:alice\n";

std::string Testdata(const std::string& name) {
  return std::string(BERTH_TESTDATA_DIR) + "/daemon/" + name;
}

class DaemonSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(rootfs_ + "/etc");
    std::ofstream(rootfs_ + "/etc/passwd") << kPasswd;
    std::ofstream(rootfs_ + "/etc/group") << kGroup;
    fs::create_directories(dir_.path() + "/data");
    std::ofstream(dir_.path() + "/file") << "x";
    image_.cmd = {"sh"};
    image_.env = {"PATH=/usr/bin:/bin", "LANG=C"};
    config_.mutable_metadata()->set_name("web");
    config_.mutable_image()->set_image("sha256:abc");
    sandbox_.mutable_metadata()->set_name("pod");
    sandbox_.mutable_metadata()->set_namespace_("default");
    sandbox_.mutable_metadata()->set_uid("uid-1");
    pod_.id = "sandbox1";
    pod_.net_ns_path = "/run/netns/pod";
    pod_.ipc_ns_path = "/run/ipcns/pod";
    pod_.uts_ns_path = "/run/utsns/pod";
    pod_.hostname = "pod-host";
    // kubelet always says; the proto3 default (POD) needs the pod's PID namespace.
    config_.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::CONTAINER);
    container_.id = "ctr1";
    container_.rootfs = rootfs_;
    container_.cgroups_path = "/kubepods/pod1/ctr1";
    host_.capabilities = {spec::kCapabilityNames.begin(), spec::kCapabilityNames.end()};
    // As on this machine: the bounding set lacks CAP_SYS_RESOURCE.
    std::erase(host_.capabilities, "CAP_SYS_RESOURCE");
  }

  v1::LinuxContainerSecurityContext* Sc() {
    return config_.mutable_linux()->mutable_security_context();
  }
  v1::LinuxContainerResources* Res() { return config_.mutable_linux()->mutable_resources(); }

  Result<spec::Spec> Build() {
    auto base = spec::ParseSpec(spec::DefaultSpecJson(false), "default");
    EXPECT_TRUE(base) << base.error().Message();
    return BuildContainerSpec(*base, config_, sandbox_, image_, pod_, container_, host_);
  }
  spec::Spec Ok() {
    auto s = Build();
    EXPECT_TRUE(s) << s.error().Message();
    return s ? *s : spec::Spec{};
  }
  // The error's message, after checking its kind.
  std::string Err(ErrorKind kind = ErrorKind::kInvalidArgument) {
    auto s = Build();
    if (s) {
      ADD_FAILURE() << "built a spec, expected an error";
      return "";
    }
    EXPECT_EQ(s.error().Kind(), kind) << s.error().Message();
    return s.error().Message();
  }

  testutil::TempDir dir_{"berth-daemon-spec"};
  std::string rootfs_ = dir_.path() + "/rootfs";
  v1::ContainerConfig config_;
  v1::PodSandboxConfig sandbox_;
  image::ImageConfig image_;
  SandboxInputs pod_;
  ContainerInputs container_;
  HostFeatures host_;
};

bool Has(const Strings& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const std::string* FindEnv(const spec::Spec& s, const std::string& key) {
  for (const auto& e : s.process->env)
    if (e.starts_with(key + "=")) return &e;
  return nullptr;
}

const spec::Mount* FindMount(const spec::Spec& s, const std::string& dest) {
  for (const auto& m : s.mounts)
    if (m.destination == dest) return &m;
  return nullptr;
}

const spec::LinuxNamespace* Ns(const spec::Spec& s, const std::string& type) {
  return s.FindNamespace(type);
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// ------------------------------------------------------------------ process

using DaemonSpecProcess = DaemonSpecTest;

TEST_F(DaemonSpecProcess, CommandAndArgsMergeWithTheImage) {
  image_.entrypoint = {"/entry"};
  image_.cmd = {"--serve"};
  EXPECT_EQ(Ok().process->args, (Strings{"/entry", "--serve"}));
  // args alone replace Cmd and keep the Entrypoint.
  config_.add_args("--debug");
  EXPECT_EQ(Ok().process->args, (Strings{"/entry", "--debug"}));
  // command replaces the Entrypoint, with the request's args.
  config_.add_command("/bin/other");
  EXPECT_EQ(Ok().process->args, (Strings{"/bin/other", "--debug"}));
  // command alone drops the image's Cmd too.
  config_.clear_args();
  EXPECT_EQ(Ok().process->args, (Strings{"/bin/other"}));
}

TEST_F(DaemonSpecProcess, NoCommandAnywhereIsRefused) {
  image_.cmd.clear();
  EXPECT_CONTAINS(Err(), "command: no command");
}

TEST_F(DaemonSpecProcess, EnvIsImageThenRequest) {
  auto* e = config_.add_envs();
  e->set_key("LANG");
  e->set_value("de_DE");
  e = config_.add_envs();
  e->set_key("EXTRA");
  e->set_value("a=b");
  spec::Spec s = Ok();
  EXPECT_EQ(s.process->env, (Strings{"HOSTNAME=pod-host", "PATH=/usr/bin:/bin", "LANG=de_DE",
                                     "EXTRA=a=b", "HOME=/root"}));
  // Without a PATH in the image, the default one; a terminal gets TERM.
  image_.env = {"A=1"};
  config_.set_tty(true);
  s = Ok();
  EXPECT_EQ(s.process->env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  EXPECT_EQ(*FindEnv(s, "TERM"), "TERM=xterm");
  EXPECT_TRUE(s.process->terminal);
}

TEST_F(DaemonSpecProcess, BadEnvIsRefusedNamingIt) {
  config_.add_envs()->set_value("v");
  EXPECT_CONTAINS(Err(), "envs[0].key: \"\" is not an environment variable name");
  config_.clear_envs();
  image_.env = {"NOEQUALS"};
  EXPECT_CONTAINS(Err(), "image config Env: \"NOEQUALS\" is not KEY=VALUE");
}

TEST_F(DaemonSpecProcess, WorkingDirRequestThenImageThenRoot) {
  EXPECT_EQ(Ok().process->cwd, "/");
  image_.working_dir = "/srv";
  EXPECT_EQ(Ok().process->cwd, "/srv");
  config_.set_working_dir("/work");
  EXPECT_EQ(Ok().process->cwd, "/work");
  config_.set_working_dir("rel");
  EXPECT_CONTAINS(Err(), "working_dir: \"rel\" is not an absolute path");
}

TEST_F(DaemonSpecProcess, TerminalRlimitsRootAndCgroupsPath) {
  spec::Spec s = Ok();
  EXPECT_FALSE(s.process->terminal);  // the template's terminal: true is not kept
  EXPECT_TRUE(s.process->rlimits.empty());
  EXPECT_EQ(s.root->path, "rootfs");
  EXPECT_FALSE(s.root->readonly);
  EXPECT_EQ(s.linux->cgroups_path, "/kubepods/pod1/ctr1");
  // stdin fields change nothing in the spec.
  config_.set_stdin(true);
  config_.set_stdin_once(true);
  EXPECT_EQ(Ok(), s);
}

// ------------------------------------------------------------------ user

using DaemonSpecUser = DaemonSpecTest;

TEST_F(DaemonSpecUser, RunAsUserTakesGroupsFromTheImage) {
  Sc()->mutable_run_as_user()->set_value(1000);
  spec::Spec s = Ok();
  EXPECT_EQ(s.process->user.uid, 1000u);
  EXPECT_EQ(s.process->user.gid, 1000u);
  // The primary gid first, then the groups listing alice.
  EXPECT_EQ(s.process->user.additional_gids, (Gids{1000, 10, 50, 63}));
  EXPECT_EQ(*FindEnv(s, "HOME"), "HOME=/home/alice");
  // A uid without a passwd entry: gid 0, no image groups.
  Sc()->mutable_run_as_user()->set_value(4242);
  s = Ok();
  EXPECT_EQ(s.process->user.uid, 4242u);
  EXPECT_EQ(s.process->user.gid, 0u);
  EXPECT_EQ(s.process->user.additional_gids, (Gids{0}));
}

TEST_F(DaemonSpecUser, RunAsGroupReplacesThePrimaryGroup) {
  Sc()->mutable_run_as_user()->set_value(1001);
  Sc()->mutable_run_as_group()->set_value(2000);
  spec::Spec s = Ok();
  EXPECT_EQ(s.process->user.uid, 1001u);
  EXPECT_EQ(s.process->user.gid, 2000u);
  EXPECT_EQ(s.process->user.additional_gids, (Gids{2000, 50}));
}

TEST_F(DaemonSpecUser, RunAsUsernameResolvesInTheImage) {
  Sc()->set_run_as_username("bob");
  spec::Spec s = Ok();
  EXPECT_EQ(s.process->user.uid, 1001u);
  EXPECT_EQ(s.process->user.gid, 100u);
  EXPECT_EQ(s.process->user.additional_gids, (Gids{100, 50}));
  Sc()->mutable_run_as_group()->set_value(63);
  s = Ok();
  EXPECT_EQ(s.process->user.gid, 63u);
  EXPECT_EQ(s.process->user.additional_gids, (Gids{63, 50}));

  Sc()->set_run_as_username("mallory");
  std::string m = Err();
  EXPECT_CONTAINS(m, "linux.security_context.run_as_username");
  EXPECT_CONTAINS(m, "unknown user \"mallory\"");
}

TEST_F(DaemonSpecUser, ImageUserForms) {
  struct Case {
    const char* user;
    uint32_t uid, gid;
    Gids groups;
  } cases[] = {
      {"", 0, 0, {0, 10}},
      {"alice", 1000, 1000, {1000, 10, 50, 63}},
      {"1000", 1000, 1000, {1000, 10, 50, 63}},
      {"1000:50", 1000, 50, {50, 10, 63}},
      {"alice:staff", 1000, 50, {50, 10, 63}},
      {"77:88", 77, 88, {88}},
  };
  for (const Case& c : cases) {
    image_.user = c.user;
    spec::Spec s = Ok();
    EXPECT_EQ(s.process->user.uid, c.uid) << c.user;
    EXPECT_EQ(s.process->user.gid, c.gid) << c.user;
    EXPECT_EQ(s.process->user.additional_gids, c.groups) << c.user;
  }
  image_.user = "alice:nogroup";
  std::string m = Err();
  EXPECT_CONTAINS(m, "the image's User");
  EXPECT_CONTAINS(m, "unknown group \"nogroup\"");
}

TEST_F(DaemonSpecUser, RunAsGroupAloneKeepsTheImageUser) {
  image_.user = "alice:staff";
  Sc()->mutable_run_as_group()->set_value(63);
  spec::Spec s = Ok();
  EXPECT_EQ(s.process->user.uid, 1000u);
  EXPECT_EQ(s.process->user.gid, 63u);
}

TEST_F(DaemonSpecUser, SupplementalGroupsMergedOrStrict) {
  Sc()->mutable_run_as_user()->set_value(1000);
  Sc()->add_supplemental_groups(50);  // already an image group: listed once
  Sc()->add_supplemental_groups(3000);
  EXPECT_EQ(Ok().process->user.additional_gids, (Gids{1000, 10, 50, 63, 3000}));
  Sc()->set_supplemental_groups_policy(v1::Strict);
  EXPECT_EQ(Ok().process->user.additional_gids, (Gids{1000, 50, 3000}));
  Sc()->add_supplemental_groups(-3);
  EXPECT_CONTAINS(Err(), "linux.security_context.supplemental_groups[2]: -3 is not a valid id");
}

TEST_F(DaemonSpecUser, BadIdsAreRefused) {
  Sc()->mutable_run_as_user()->set_value(-1);
  EXPECT_CONTAINS(Err(), "linux.security_context.run_as_user: -1 is not a valid id");
  Sc()->mutable_run_as_user()->set_value(4294967295);
  EXPECT_CONTAINS(Err(), "run_as_user: 4294967295 is not a valid id");
  Sc()->clear_run_as_user();
  Sc()->mutable_run_as_group()->set_value(-5);
  EXPECT_CONTAINS(Err(), "linux.security_context.run_as_group: -5");
}

// ------------------------------------------------------------------ capabilities

using DaemonSpecCaps = DaemonSpecTest;

TEST_F(DaemonSpecCaps, DefaultSetAddAndDrop) {
  spec::Spec s = Ok();
  const auto& c = *s.process->capabilities;
  EXPECT_EQ(c.bounding.size(), 14u);
  EXPECT_TRUE(Has(c.effective, "CAP_CHOWN"));
  EXPECT_TRUE(Has(c.permitted, "CAP_NET_RAW"));
  EXPECT_TRUE(c.inheritable.empty());
  EXPECT_TRUE(c.ambient.empty());
  EXPECT_FALSE(Has(c.bounding, "CAP_SYS_ADMIN"));

  auto* caps = Sc()->mutable_capabilities();
  caps->add_add_capabilities("NET_ADMIN");
  caps->add_add_capabilities("cap_sys_ptrace");
  caps->add_drop_capabilities("CAP_NET_RAW");
  caps->add_drop_capabilities("mknod");
  s = Ok();
  const auto& d = *s.process->capabilities;
  EXPECT_EQ(d.bounding.size(), 14u);
  for (const auto* set : {&d.bounding, &d.effective, &d.permitted}) {
    EXPECT_TRUE(Has(*set, "CAP_NET_ADMIN"));
    EXPECT_TRUE(Has(*set, "CAP_SYS_PTRACE"));
    EXPECT_FALSE(Has(*set, "CAP_NET_RAW"));
    EXPECT_FALSE(Has(*set, "CAP_MKNOD"));
  }
  // Capability-number order.
  EXPECT_EQ(d.bounding.front(), "CAP_CHOWN");
}

TEST_F(DaemonSpecCaps, AllInAddOrDrop) {
  auto* caps = Sc()->mutable_capabilities();
  caps->add_add_capabilities("ALL");
  caps->add_drop_capabilities("CHOWN");
  spec::Spec s = Ok();
  EXPECT_EQ(s.process->capabilities->bounding.size(), host_.capabilities.size() - 1);
  EXPECT_FALSE(Has(s.process->capabilities->bounding, "CAP_CHOWN"));
  EXPECT_TRUE(Has(s.process->capabilities->effective, "CAP_SYS_ADMIN"));
  EXPECT_FALSE(Has(s.process->capabilities->effective, "CAP_SYS_RESOURCE"));  // not berthd's

  caps->Clear();
  caps->add_drop_capabilities("ALL");
  caps->add_add_capabilities("KILL");
  s = Ok();
  EXPECT_EQ(s.process->capabilities->bounding, (Strings{"CAP_KILL"}));
  EXPECT_EQ(s.process->capabilities->effective, (Strings{"CAP_KILL"}));
  caps->clear_add_capabilities();
  EXPECT_TRUE(Ok().process->capabilities->permitted.empty());
}

TEST_F(DaemonSpecCaps, AmbientFillEverySet) {
  Sc()->mutable_run_as_user()->set_value(1000);
  Sc()->mutable_capabilities()->add_add_ambient_capabilities("NET_BIND_SERVICE");
  Sc()->mutable_capabilities()->add_add_ambient_capabilities("NET_ADMIN");
  spec::Spec s = Ok();
  const auto& c = *s.process->capabilities;
  EXPECT_EQ(c.ambient, (Strings{"CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN"}));
  EXPECT_EQ(c.inheritable, c.ambient);
  EXPECT_TRUE(Has(c.bounding, "CAP_NET_ADMIN"));
  EXPECT_TRUE(Has(c.permitted, "CAP_NET_ADMIN"));
}

TEST_F(DaemonSpecCaps, UnknownOrUnavailableIsRefused) {
  Sc()->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
  Sc()->mutable_capabilities()->add_add_capabilities("FLY");
  EXPECT_CONTAINS(Err(), "linux.security_context.capabilities.add_capabilities[1]: unknown "
                         "capability \"FLY\"");
  Sc()->mutable_capabilities()->Clear();
  Sc()->mutable_capabilities()->add_drop_capabilities("NOPE");
  EXPECT_CONTAINS(Err(), "capabilities.drop_capabilities[0]: unknown capability \"NOPE\"");
  Sc()->mutable_capabilities()->Clear();
  Sc()->mutable_capabilities()->add_add_capabilities("SYS_RESOURCE");
  EXPECT_CONTAINS(Err(), "add_capabilities[0]: CAP_SYS_RESOURCE cannot be granted: berthd does "
                         "not hold it");
  // Unknown host (empty list): every capability berth knows is grantable.
  host_.capabilities.clear();
  EXPECT_TRUE(Has(Ok().process->capabilities->bounding, "CAP_SYS_RESOURCE"));
}

// ------------------------------------------------------------------ privileged

using DaemonSpecPrivileged = DaemonSpecTest;

TEST_F(DaemonSpecPrivileged, EverythingOpen) {
  sandbox_.mutable_linux()->mutable_security_context()->set_privileged(true);
  Sc()->set_privileged(true);
  Sc()->set_no_new_privs(true);  // off anyway: setuid tools must work there
  Sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  Sc()->mutable_capabilities()->add_drop_capabilities("ALL");
  spec::Spec s = Ok();
  EXPECT_EQ(s.process->capabilities->bounding, host_.capabilities);
  EXPECT_EQ(s.process->capabilities->effective, host_.capabilities);
  EXPECT_FALSE(s.process->no_new_privileges);
  EXPECT_FALSE(s.linux->seccomp);
  EXPECT_TRUE(s.linux->masked_paths.empty());
  EXPECT_TRUE(s.linux->readonly_paths.empty());
  EXPECT_FALSE(Has(FindMount(s, "/sys")->options, "ro"));
  EXPECT_TRUE(Has(FindMount(s, "/sys")->options, "rw"));
  EXPECT_FALSE(Has(FindMount(s, "/sys/fs/cgroup")->options, "ro"));
  // All host devices, and a rule allowing every device after the template's deny-all.
  auto null = std::find_if(s.linux->devices.begin(), s.linux->devices.end(),
                           [](const spec::LinuxDevice& d) { return d.path == "/dev/null"; });
  ASSERT_NE(null, s.linux->devices.end());
  EXPECT_EQ(null->type, "c");
  EXPECT_EQ(null->major, 1);
  EXPECT_EQ(null->minor, 3);
  EXPECT_FALSE(std::any_of(s.linux->devices.begin(), s.linux->devices.end(),
                           [](const spec::LinuxDevice& d) {
                             return d.path.starts_with("/dev/pts/") || d.path == "/dev/console";
                           }));
  const auto& rules = s.linux->resources->devices;
  ASSERT_GE(rules.size(), 2u);
  EXPECT_EQ(rules.back(), (spec::LinuxDeviceCgroup{true, "", std::nullopt, std::nullopt, "rwm"}));
}

TEST_F(DaemonSpecPrivileged, NeedsAPrivilegedSandbox) {
  Sc()->set_privileged(true);
  EXPECT_CONTAINS(Err(), "linux.security_context.privileged: the pod sandbox is not privileged");
}

// ------------------------------------------------------------------ security context

using DaemonSpecSecurity = DaemonSpecTest;

TEST_F(DaemonSpecSecurity, ReadonlyRootfsAndNoNewPrivs) {
  spec::Spec s = Ok();
  EXPECT_FALSE(s.root->readonly);
  EXPECT_FALSE(s.process->no_new_privileges);  // the template's true is not kept
  Sc()->set_readonly_rootfs(true);
  Sc()->set_no_new_privs(true);
  s = Ok();
  EXPECT_TRUE(s.root->readonly);
  EXPECT_TRUE(s.process->no_new_privileges);
}

TEST_F(DaemonSpecSecurity, MaskedAndReadonlyPaths) {
  spec::Spec s = Ok();
  EXPECT_TRUE(Has(s.linux->masked_paths, "/proc/kcore"));
  EXPECT_TRUE(Has(s.linux->readonly_paths, "/proc/sys"));
  Sc()->add_masked_paths("/proc/secret");
  Sc()->add_readonly_paths("/proc/ro");
  s = Ok();
  EXPECT_EQ(s.linux->masked_paths, (Strings{"/proc/secret"}));
  EXPECT_EQ(s.linux->readonly_paths, (Strings{"/proc/ro"}));
  Sc()->add_masked_paths("relative");
  EXPECT_CONTAINS(Err(), "linux.security_context.masked_paths[1]: \"relative\" is not an absolute");
}

TEST_F(DaemonSpecSecurity, SeccompProfiles) {
  // Neither field: unconfined (kubelet sets `seccomp` when the pod asks for a profile).
  EXPECT_FALSE(Ok().linux->seccomp);
  Sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Unconfined);
  EXPECT_FALSE(Ok().linux->seccomp);
  Sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  spec::Spec s = Ok();
  ASSERT_TRUE(s.linux->seccomp);
  EXPECT_EQ(*s.linux->seccomp, DefaultSeccompProfile(s.process->capabilities->bounding));

  Sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  Sc()->mutable_seccomp()->set_localhost_ref(Testdata("seccomp_oci.json"));
  s = Ok();
  ASSERT_TRUE(s.linux->seccomp);
  EXPECT_EQ(s.linux->seccomp->default_action, "SCMP_ACT_ALLOW");
  ASSERT_EQ(s.linux->seccomp->syscalls.size(), 2u);
  EXPECT_EQ(s.linux->seccomp->syscalls[0].names, (Strings{"mkdir", "mkdirat"}));
  EXPECT_EQ(s.linux->seccomp->syscalls[0].errno_ret, 13u);
  EXPECT_EQ(s.linux->seccomp->syscalls[1].args[0].value, 8u);
}

TEST_F(DaemonSpecSecurity, SeccompDeprecatedPath) {
  for (const char* p : {"", "unconfined"}) {
    Sc()->set_seccomp_profile_path(p);
    EXPECT_FALSE(Ok().linux->seccomp) << p;
  }
  for (const char* p : {"runtime/default", "docker/default"}) {
    Sc()->set_seccomp_profile_path(p);
    auto s = Ok();
    ASSERT_TRUE(s.linux->seccomp) << p;
    EXPECT_EQ(s.linux->seccomp->default_action, "SCMP_ACT_ERRNO");
  }
  Sc()->set_seccomp_profile_path("localhost/" + Testdata("seccomp_oci.json"));
  EXPECT_EQ(Ok().linux->seccomp->default_action, "SCMP_ACT_ALLOW");
  Sc()->set_seccomp_profile_path("strict");
  EXPECT_CONTAINS(Err(), "linux.security_context.seccomp_profile_path: \"strict\" is none of");
}

TEST_F(DaemonSpecSecurity, SeccompDockerProfile) {
  Sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  Sc()->mutable_seccomp()->set_localhost_ref(Testdata("seccomp_docker.json"));
  spec::Spec s = Ok();
  ASSERT_TRUE(s.linux->seccomp);
  const auto& sc = *s.linux->seccomp;
  EXPECT_EQ(sc.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(sc.default_errno_ret, 1u);
#if defined(__x86_64__)
  EXPECT_EQ(sc.architectures, (Strings{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#endif
  Strings names;
  for (const auto& r : sc.syscalls) names.insert(names.end(), r.names.begin(), r.names.end());
  // Default caps: no CAP_SYS_ADMIN (mount left out), CAP_CHOWN (chown excluded); the s390x
  // rule and the one for a future kernel are left out.
  EXPECT_EQ(names, (Strings{"read", "write", "exit_group", "getpid", "old_call"}));

  Sc()->mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
  Sc()->mutable_capabilities()->add_drop_capabilities("CHOWN");
  names.clear();
  s = Ok();
  for (const auto& r : s.linux->seccomp->syscalls)
    names.insert(names.end(), r.names.begin(), r.names.end());
  EXPECT_TRUE(Has(names, "mount"));
  EXPECT_TRUE(Has(names, "chown"));
}

TEST_F(DaemonSpecSecurity, SeccompLocalhostErrors) {
  auto* sp = Sc()->mutable_seccomp();
  sp->set_profile_type(v1::SecurityProfile::Localhost);
  sp->set_localhost_ref(dir_.path() + "/missing.json");
  std::string m = Err();
  EXPECT_CONTAINS(m, "linux.security_context.seccomp.localhost_ref: seccomp profile \"" +
                         dir_.path() + "/missing.json\" does not exist");
  sp->set_localhost_ref("profiles/x.json");
  EXPECT_CONTAINS(Err(), "seccomp.localhost_ref: \"profiles/x.json\" is not an absolute path");
  sp->set_localhost_ref("");
  EXPECT_CONTAINS(Err(), "seccomp.localhost_ref: empty");
  sp->set_localhost_ref(Testdata("seccomp_not_json.json"));
  EXPECT_CONTAINS(Err(), "seccomp_not_json.json\" is not JSON");
  sp->set_localhost_ref(Testdata("seccomp_bad_action.json"));
  m = Err();
  EXPECT_CONTAINS(m, "seccomp.localhost_ref");
  EXPECT_CONTAINS(m, "seccomp_bad_action.json");
  EXPECT_CONTAINS(m, "linux.seccomp.defaultAction");
  sp->set_localhost_ref(dir_.path() + "/file");  // "x": not JSON
  EXPECT_CONTAINS(Err(), "is not JSON");
}

TEST_F(DaemonSpecSecurity, SeccompWithoutKernelSupport) {
  host_.seccomp = false;
  Sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  EXPECT_FALSE(Ok().linux->seccomp);
  Sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  Sc()->mutable_seccomp()->set_localhost_ref(Testdata("seccomp_oci.json"));
  EXPECT_CONTAINS(Err(), "seccomp.localhost_ref: this kernel has no seccomp filter support");
}

TEST_F(DaemonSpecSecurity, AppArmorWithoutAppArmor) {
  host_.apparmor = false;
  for (auto t : {v1::SecurityProfile::RuntimeDefault, v1::SecurityProfile::Unconfined}) {
    Sc()->mutable_apparmor()->set_profile_type(t);
    EXPECT_EQ(Ok().process->apparmor_profile, "");
  }
  Sc()->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Localhost);
  Sc()->mutable_apparmor()->set_localhost_ref("my-profile");
  EXPECT_CONTAINS(Err(), "linux.security_context.apparmor.localhost_ref: AppArmor is not enabled "
                         "on this host; profile \"my-profile\" cannot be applied");
  Sc()->clear_apparmor();
  Sc()->set_apparmor_profile("localhost/other");
  EXPECT_CONTAINS(Err(), "apparmor_profile: AppArmor is not enabled on this host; profile "
                         "\"other\"");
  Sc()->set_apparmor_profile("runtime/default");
  EXPECT_EQ(Ok().process->apparmor_profile, "");
}

TEST_F(DaemonSpecSecurity, AppArmorWithAppArmor) {
  host_.apparmor = true;
  EXPECT_EQ(Ok().process->apparmor_profile, "");  // no docker-default loaded
  host_.apparmor_default_profile = "docker-default";
  EXPECT_EQ(Ok().process->apparmor_profile, "docker-default");  // unset = runtime default
  Sc()->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Unconfined);
  EXPECT_EQ(Ok().process->apparmor_profile, "");
  Sc()->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Localhost);
  Sc()->mutable_apparmor()->set_localhost_ref("my-profile");
  EXPECT_EQ(Ok().process->apparmor_profile, "my-profile");
  Sc()->clear_apparmor();
  Sc()->set_apparmor_profile("localhost/legacy");
  EXPECT_EQ(Ok().process->apparmor_profile, "legacy");
  Sc()->set_apparmor_profile("bogus");
  EXPECT_CONTAINS(Err(), "apparmor_profile: \"bogus\" is none of");
  // Privileged: the default does not apply.
  Sc()->set_apparmor_profile("");
  sandbox_.mutable_linux()->mutable_security_context()->set_privileged(true);
  Sc()->set_privileged(true);
  EXPECT_EQ(Ok().process->apparmor_profile, "");
}

TEST_F(DaemonSpecSecurity, SelinuxOnlyWhereEnabled) {
  auto* o = Sc()->mutable_selinux_options();
  o->set_type("spc_t");
  o->set_level("s0:c1,c2");
  spec::Spec s = Ok();
  EXPECT_EQ(s.process->selinux_label, "");
  EXPECT_EQ(s.linux->mount_label, "");
  host_.selinux = true;
  s = Ok();
  EXPECT_EQ(s.process->selinux_label, "system_u:system_r:spc_t:s0:c1,c2");
  EXPECT_EQ(s.linux->mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
  // The sandbox's options when the container has none.
  Sc()->clear_selinux_options();
  sandbox_.mutable_linux()->mutable_security_context()->mutable_selinux_options()->set_level("s0:c5");
  EXPECT_EQ(Ok().process->selinux_label, "system_u:system_r:container_t:s0:c5");
}

// ------------------------------------------------------------------ namespaces

using DaemonSpecNamespaces = DaemonSpecTest;

TEST_F(DaemonSpecNamespaces, PodNamespacesAndHostname) {
  Sc()->mutable_namespace_options()->set_pid(v1::CONTAINER);
  spec::Spec s = Ok();
  EXPECT_EQ(Ns(s, "network")->path, "/run/netns/pod");
  EXPECT_EQ(Ns(s, "ipc")->path, "/run/ipcns/pod");
  EXPECT_EQ(Ns(s, "uts")->path, "/run/utsns/pod");
  EXPECT_EQ(Ns(s, "mount")->path, "");
  EXPECT_EQ(Ns(s, "pid")->path, "");
  EXPECT_EQ(Ns(s, "cgroup")->path, "");  // host_.cgroup_v2 is true by default
  EXPECT_EQ(s.hostname, "pod-host");
  // Host network, IPC and UTS: no entry, no hostname; cgroup v1: no cgroup namespace.
  pod_.net_ns_path = pod_.ipc_ns_path = pod_.uts_ns_path = "";
  host_.cgroup_v2 = false;
  s = Ok();
  EXPECT_FALSE(Ns(s, "network"));
  EXPECT_FALSE(Ns(s, "ipc"));
  EXPECT_FALSE(Ns(s, "uts"));
  EXPECT_FALSE(Ns(s, "cgroup"));
  EXPECT_EQ(s.hostname, "");
  EXPECT_EQ(*FindEnv(s, "HOSTNAME"), "HOSTNAME=pod-host");
}

TEST_F(DaemonSpecNamespaces, PidModes) {
  auto* ns = Sc()->mutable_namespace_options();
  ns->set_pid(v1::NODE);
  EXPECT_FALSE(Ns(Ok(), "pid"));
  ns->set_pid(v1::POD);
  EXPECT_CONTAINS(Err(ErrorKind::kFailedPrecondition), "namespace_options.pid: POD");
  pod_.pid_ns_path = "/run/pidns/pod";
  EXPECT_EQ(Ns(Ok(), "pid")->path, "/run/pidns/pod");
  ns->set_pid(v1::TARGET);
  ns->set_target_id("other");
  EXPECT_CONTAINS(Err(), "namespace_options.target_id: \"other\" names no running container");
  container_.target_pid_ns_path = "/proc/77/ns/pid";
  EXPECT_EQ(Ns(Ok(), "pid")->path, "/proc/77/ns/pid");
}

TEST_F(DaemonSpecNamespaces, UserNamespacesAreNotSupported) {
  auto* u = Sc()->mutable_namespace_options()->mutable_userns_options();
  u->set_mode(v1::NODE);
  Sc()->mutable_namespace_options()->set_pid(v1::CONTAINER);
  EXPECT_TRUE(Build());
  u->set_mode(v1::POD);
  auto* m = u->add_uids();
  m->set_host_id(100000);
  m->set_length(65536);
  EXPECT_CONTAINS(Err(ErrorKind::kUnimplemented), "userns_options: user namespaces");
}

// ------------------------------------------------------------------ mounts

using DaemonSpecMounts = DaemonSpecTest;

TEST_F(DaemonSpecMounts, DefaultsThenPodFiles) {
  pod_.hosts_path = dir_.path() + "/hosts";
  pod_.resolv_conf_path = dir_.path() + "/resolv.conf";
  pod_.hostname_path = dir_.path() + "/hostname";
  pod_.shm_path = dir_.path() + "/shm";
  spec::Spec s = Ok();
  Strings dests;
  for (const auto& m : s.mounts) dests.push_back(m.destination);
  EXPECT_EQ(dests, (Strings{"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
                            "/etc/hostname", "/etc/resolv.conf", "/etc/hosts", "/dev/shm"}));
  const spec::Mount* hosts = FindMount(s, "/etc/hosts");
  EXPECT_EQ(hosts->type, "bind");
  EXPECT_EQ(hosts->source, pod_.hosts_path);
  EXPECT_EQ(hosts->options, (Strings{"rbind", "rprivate", "rw"}));
  EXPECT_EQ(FindMount(s, "/dev/shm")->source, pod_.shm_path);
  // A read-only rootfs makes the pod's files read-only too.
  Sc()->set_readonly_rootfs(true);
  EXPECT_TRUE(Has(FindMount(Ok(), "/etc/resolv.conf")->options, "ro"));
  // Without the pod's shm, the template's private tmpfs.
  pod_.shm_path.clear();
  EXPECT_EQ(FindMount(Ok(), "/dev/shm")->type, "tmpfs");
}

TEST_F(DaemonSpecMounts, CriMountsWithPropagation) {
  auto add = [&](std::string c, std::string h, bool ro, v1::MountPropagation p) {
    auto* m = config_.add_mounts();
    m->set_container_path(c);
    m->set_host_path(h);
    m->set_readonly(ro);
    m->set_propagation(p);
    m->set_selinux_relabel(true);  // ignored: no SELinux
    return m;
  };
  add("/data/sub", dir_.path() + "/file", false, v1::PROPAGATION_PRIVATE);
  add("/data", dir_.path() + "/data", true, v1::PROPAGATION_HOST_TO_CONTAINER);
  spec::Spec s = Ok();
  ASSERT_GE(s.mounts.size(), 2u);
  // Parents first, after the defaults.
  EXPECT_EQ(s.mounts[s.mounts.size() - 2].destination, "/data");
  EXPECT_EQ(s.mounts.back().destination, "/data/sub");
  EXPECT_EQ(FindMount(s, "/data")->options, (Strings{"rbind", "rslave", "ro"}));
  EXPECT_EQ(FindMount(s, "/data/sub")->options, (Strings{"rbind", "rprivate", "rw"}));
  EXPECT_EQ(s.linux->rootfs_propagation, "rslave");
  add("/shared", dir_.path() + "/data", false, v1::PROPAGATION_BIDIRECTIONAL);
  s = Ok();
  EXPECT_EQ(FindMount(s, "/shared")->options, (Strings{"rbind", "rshared", "rw"}));
  EXPECT_EQ(s.linux->rootfs_propagation, "rshared");
}

TEST_F(DaemonSpecMounts, CriMountReplacesDefaultsAndPodFiles) {
  pod_.hosts_path = dir_.path() + "/hosts";
  auto* m = config_.add_mounts();
  m->set_container_path("/etc/hosts");  // kubelet's own /etc/hosts
  m->set_host_path(dir_.path() + "/file");
  m = config_.add_mounts();
  m->set_container_path("/dev/shm/");
  m->set_host_path(dir_.path() + "/data");
  spec::Spec s = Ok();
  EXPECT_EQ(std::count_if(s.mounts.begin(), s.mounts.end(),
                          [](const spec::Mount& x) { return x.destination == "/etc/hosts"; }),
            1);
  EXPECT_EQ(FindMount(s, "/etc/hosts")->source, dir_.path() + "/file");
  EXPECT_EQ(FindMount(s, "/dev/shm")->source, dir_.path() + "/data");
  // /dev itself: every default under /dev goes.
  m = config_.add_mounts();
  m->set_container_path("/dev");
  m->set_host_path(dir_.path() + "/data");
  s = Ok();
  EXPECT_EQ(std::count_if(s.mounts.begin(), s.mounts.end(),
                          [](const spec::Mount& x) { return x.destination.starts_with("/dev"); }),
            2);  // the request's /dev and /dev/shm
}

TEST_F(DaemonSpecMounts, BadMountsAreRefused) {
  auto* m = config_.add_mounts();
  m->set_container_path("/data");
  m->set_host_path(dir_.path() + "/nonexistent");
  EXPECT_CONTAINS(Err(), "mounts[0].host_path: \"" + dir_.path() +
                             "/nonexistent\" does not exist on the host");
  m->set_host_path("relative");
  EXPECT_CONTAINS(Err(), "mounts[0].host_path: \"relative\" is not an absolute path");
  m->set_host_path(dir_.path() + "/data");
  m->set_container_path("data");
  EXPECT_CONTAINS(Err(), "mounts[0].container_path: \"data\" is not an absolute path");
  m->set_container_path("/data");
  m->set_recursive_read_only(true);
  EXPECT_CONTAINS(Err(), "mounts[0].recursive_read_only: needs readonly");
  m->set_readonly(true);
  EXPECT_EQ(FindMount(Ok(), "/data")->options, (Strings{"rbind", "rprivate", "ro", "rro"}));
  m->mutable_image()->set_image("busybox");
  EXPECT_CONTAINS(Err(ErrorKind::kUnimplemented), "mounts[0].image: image volumes");
}

// ------------------------------------------------------------------ devices

using DaemonSpecDevices = DaemonSpecTest;

TEST_F(DaemonSpecDevices, HostDeviceIsStatted) {
  auto* d = config_.add_devices();
  d->set_host_path("/dev/null");
  d->set_container_path("/dev/mynull");
  d->set_permissions("rw");
  spec::Spec s = Ok();
  ASSERT_EQ(s.linux->devices.size(), 1u);
  const auto& dev = s.linux->devices[0];
  EXPECT_EQ(dev.path, "/dev/mynull");
  EXPECT_EQ(dev.type, "c");
  EXPECT_EQ(dev.major, 1);
  EXPECT_EQ(dev.minor, 3);
  EXPECT_EQ(dev.file_mode, 0666u);
  const auto& rules = s.linux->resources->devices;
  EXPECT_EQ(rules.front().allow, false);  // the template's deny-all stays first
  EXPECT_EQ(rules.back(), (spec::LinuxDeviceCgroup{true, "c", 1, 3, "rw"}));
  d->clear_permissions();
  EXPECT_EQ(Ok().linux->resources->devices.back().access, "rwm");
}

TEST_F(DaemonSpecDevices, BadDevicesAreRefused) {
  auto* d = config_.add_devices();
  d->set_host_path(dir_.path() + "/file");
  d->set_container_path("/dev/x");
  EXPECT_CONTAINS(Err(), "devices[0].host_path: \"" + dir_.path() +
                             "/file\" is not a character or block device");
  d->set_host_path("/dev/berth-no-such-device");
  EXPECT_CONTAINS(Err(), "devices[0].host_path: \"/dev/berth-no-such-device\" does not exist");
  d->set_host_path("/dev/null");
  d->set_permissions("rwx");
  EXPECT_CONTAINS(Err(), "devices[0].permissions: \"rwx\" is not a subset of \"rwm\"");
  config_.clear_devices();
  config_.add_cdi_devices()->set_name("vendor.com/gpu=0");
  EXPECT_CONTAINS(Err(ErrorKind::kUnimplemented), "CDI_devices \"vendor.com/gpu=0\": CDI devices");
}

// ------------------------------------------------------------------ resources

using DaemonSpecResources = DaemonSpecTest;

TEST_F(DaemonSpecResources, CpuMemoryHugepagesUnified) {
  spec::Spec s = Ok();
  EXPECT_FALSE(s.linux->resources->cpu);
  EXPECT_FALSE(s.linux->resources->memory);
  EXPECT_EQ(s.process->oom_score_adj, 0);

  Res()->set_cpu_period(100000);
  Res()->set_cpu_quota(50000);
  Res()->set_cpu_shares(512);
  Res()->set_cpuset_cpus("0-1");
  Res()->set_cpuset_mems("0");
  Res()->set_memory_limit_in_bytes(64 << 20);
  Res()->set_memory_swap_limit_in_bytes(128 << 20);
  Res()->set_oom_score_adj(500);
  auto* h = Res()->add_hugepage_limits();
  h->set_page_size("2MB");
  h->set_limit(4 << 20);
  (*Res()->mutable_unified())["memory.high"] = "50000000";
  host_.hugepage_sizes = {"2MB", "1GB"};
  s = Ok();
  const auto& r = *s.linux->resources;
  EXPECT_EQ(r.cpu->period, 100000u);
  EXPECT_EQ(r.cpu->quota, 50000);
  EXPECT_EQ(r.cpu->shares, 512u);
  EXPECT_EQ(r.cpu->cpus, "0-1");
  EXPECT_EQ(r.cpu->mems, "0");
  EXPECT_EQ(r.memory->limit, 64 << 20);
  EXPECT_EQ(r.memory->swap, 128 << 20);
  EXPECT_EQ(r.hugepage_limits, (std::vector<spec::LinuxHugepageLimit>{{"2MB", 4 << 20}}));
  EXPECT_EQ(r.unified.at("memory.high"), "50000000");
  EXPECT_EQ(s.process->oom_score_adj, 500);
}

TEST_F(DaemonSpecResources, SwapFollowsTheLimitWhereAccounted) {
  Res()->set_memory_limit_in_bytes(64 << 20);
  EXPECT_FALSE(Ok().linux->resources->memory->swap);
  host_.swap_accounting = true;
  EXPECT_EQ(Ok().linux->resources->memory->swap, 64 << 20);
  Res()->set_memory_swap_limit_in_bytes(32 << 20);
  EXPECT_CONTAINS(Err(), "linux.resources.memory_swap_limit_in_bytes: 33554432 is below");
  Res()->set_memory_swap_limit_in_bytes(-1);
  EXPECT_EQ(Ok().linux->resources->memory->swap, -1);
}

TEST_F(DaemonSpecResources, OomScoreAdjIsClampedToBerthds) {
  host_.min_oom_score_adj = -500;
  Res()->set_oom_score_adj(-998);
  EXPECT_EQ(Ok().process->oom_score_adj, -500);
  Res()->set_oom_score_adj(-100);
  EXPECT_EQ(Ok().process->oom_score_adj, -100);
  Res()->set_oom_score_adj(1001);
  EXPECT_CONTAINS(Err(), "linux.resources.oom_score_adj: 1001 is outside [-1000, 1000]");
}

TEST_F(DaemonSpecResources, BadValuesAreRefused) {
  auto* h = Res()->add_hugepage_limits();
  h->set_page_size("2M");
  EXPECT_CONTAINS(Err(), "linux.resources.hugepage_limits[0].page_size: \"2M\" is not a page size");
  h->set_page_size("1GB");
  host_.hugepage_sizes = {"2MB"};
  EXPECT_CONTAINS(Err(), "\"1GB\" is not a huge page size of this host (2MB)");
  Res()->clear_hugepage_limits();
  (*Res()->mutable_unified())["memory.high"] = "1";
  host_.cgroup_v2 = false;
  EXPECT_CONTAINS(Err(), "linux.resources.unified: cgroup v2 files, but this host uses cgroup v1");
  host_.cgroup_v2 = true;
  (*Res()->mutable_unified())["../escape"] = "1";
  EXPECT_CONTAINS(Err(), "linux.resources.unified[\"../escape\"]");
  Res()->clear_unified();
  Res()->set_cpu_shares(-2);
  EXPECT_CONTAINS(Err(), "linux.resources.cpu_shares: must not be negative");
  Res()->set_cpu_shares(0);
  Res()->set_memory_limit_in_bytes(-2);
  EXPECT_CONTAINS(Err(), "linux.resources.memory_limit_in_bytes: must not be negative");
}

// ------------------------------------------------------------------ sysctls, annotations

using DaemonSpecSysctls = DaemonSpecTest;

TEST_F(DaemonSpecSysctls, FromTheSandbox) {
  auto& sysctls = *sandbox_.mutable_linux()->mutable_sysctls();
  sysctls["net.ipv4.ip_unprivileged_port_start"] = "0";
  sysctls["kernel.shm_rmid_forced"] = "1";
  spec::Spec s = Ok();
  EXPECT_EQ(s.linux->sysctl.at("net.ipv4.ip_unprivileged_port_start"), "0");
  EXPECT_EQ(s.linux->sysctl.at("kernel.shm_rmid_forced"), "1");
  pod_.net_ns_path.clear();
  EXPECT_CONTAINS(Err(), "linux.sysctls[\"net.ipv4.ip_unprivileged_port_start\"]: a network "
                         "sysctl needs the pod's own network namespace");
  sysctls.erase("net.ipv4.ip_unprivileged_port_start");
  pod_.ipc_ns_path.clear();
  EXPECT_CONTAINS(Err(), "linux.sysctls[\"kernel.shm_rmid_forced\"]: an IPC sysctl");
}

using DaemonSpecAnnotations = DaemonSpecTest;

TEST_F(DaemonSpecAnnotations, CriAnnotationsAndContainerdsOwn) {
  (*config_.mutable_annotations())["team"] = "a";
  (*config_.mutable_annotations())["io.kubernetes.cri.container-type"] = "sandbox";  // not kept
  config_.mutable_image()->set_user_specified_image("docker.io/library/busybox:1.36");
  image_.stop_signal = "SIGQUIT";
  (*config_.mutable_labels())["label"] = "not an annotation";
  spec::Spec s = Ok();
  std::map<std::string, std::string> want = {
      {"team", "a"},
      {"org.opencontainers.image.stopSignal", "SIGQUIT"},
      {"io.kubernetes.cri.container-type", "container"},
      {"io.kubernetes.cri.sandbox-id", "sandbox1"},
      {"io.kubernetes.cri.sandbox-name", "pod"},
      {"io.kubernetes.cri.sandbox-namespace", "default"},
      {"io.kubernetes.cri.sandbox-uid", "uid-1"},
      {"io.kubernetes.cri.container-name", "web"},
      {"io.kubernetes.cri.image-name", "docker.io/library/busybox:1.36"},
  };
  EXPECT_EQ(s.annotations, want);
  config_.mutable_image()->clear_user_specified_image();
  EXPECT_EQ(Ok().annotations.at("io.kubernetes.cri.image-name"), "sha256:abc");
}

// A full request serialises to a config.json the spec parser reads back unchanged.
TEST_F(DaemonSpecAnnotations, RoundTripsThroughConfigJson) {
  Sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  Sc()->mutable_run_as_user()->set_value(1000);
  Res()->set_memory_limit_in_bytes(1 << 30);
  spec::Spec s = Ok();
  auto back = spec::ParseSpec(spec::ToJson(s));
  ASSERT_TRUE(back) << back.error().Message();
  EXPECT_EQ(*back, s);
}

}  // namespace
}  // namespace berth::daemon
