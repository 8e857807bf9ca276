// PrepareProcess validation (no privileges needed) and ApplyEarly/ApplyFinal behaviour in a
// forked child (tests named *Root need root; they skip otherwise).
#include "runtime/process_setup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "test_util.h"

namespace berth::runtime {
namespace {

constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

struct ChildResult {
  int status = 0;   // raw waitpid status
  std::string out;  // what the child wrote to its pipe
};

// Runs fn in a forked child that reports through `out_fd`; the child never returns into
// gtest (it _exit()s with fn's return value, 99 on an exception).
ChildResult RunChild(const std::function<int(int out_fd)>& fn) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return {-1, "pipe failed"};
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    int rc = 98;
    try {
      rc = fn(p[1]);
    } catch (...) {
      rc = 99;
    }
    _exit(rc);
  }
  close(p[1]);
  ChildResult r;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0) r.out.append(buf, n);
  close(p[0]);
  waitpid(pid, &r.status, 0);
  return r;
}

void Say(int fd, const std::string& s) { (void)!write(fd, s.data(), s.size()); }

int ExitCode(const ChildResult& r) { return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1; }

// "CapEff" -> mask etc. from /proc/self/status text.
std::map<std::string, std::string> StatusFields(const std::string& text) {
  std::map<std::string, std::string> m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    m[line.substr(0, colon)] = v;
  }
  return m;
}

std::string ReadSelfStatus() {
  std::ifstream f("/proc/self/status");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uint64_t Hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

uint64_t KernelCapMask() {
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  int last = 40;
  f >> last;
  return last >= 63 ? ~uint64_t{0} : (Bit(last + 1) - 1);
}

// ---------------------------------------------------------------- PrepareProcess errors

TEST(PrepareProcessTest, UnknownCapabilityNamesTheField) {
  spec::Process proc;
  proc.capabilities = spec::Capabilities{};
  proc.capabilities->bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_FOO"};
  auto r = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().Message(),
            "process.capabilities.bounding[3]: unknown capability \"CAP_FOO\"");

  proc.capabilities = spec::Capabilities{};
  proc.capabilities->ambient = {"cap_chown"};  // names are case-sensitive, like runc
  r = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().op, "process.capabilities.ambient[0]");
}

TEST(PrepareProcessTest, CapabilityMasks) {
  spec::Process proc;
  proc.capabilities = spec::Capabilities{};
  proc.capabilities->bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  proc.capabilities->permitted = proc.capabilities->bounding;
  proc.capabilities->effective = {"CAP_CHOWN", "CAP_KILL"};
  proc.capabilities->inheritable = {"CAP_NET_BIND_SERVICE"};
  // CAP_KILL is not inheritable: the kernel could not raise it, so it is skipped.
  proc.capabilities->ambient = {"CAP_NET_BIND_SERVICE", "CAP_KILL"};
  auto r = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_TRUE(r->caps.present);
  uint64_t three = Bit(CAP_CHOWN) | Bit(CAP_KILL) | Bit(CAP_NET_BIND_SERVICE);
  EXPECT_EQ(r->caps.bounding, three);
  EXPECT_EQ(r->caps.permitted, three);
  EXPECT_EQ(r->caps.effective, Bit(CAP_CHOWN) | Bit(CAP_KILL));
  EXPECT_EQ(r->caps.inheritable, Bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(r->caps.ambient, Bit(CAP_NET_BIND_SERVICE));
}

TEST(PrepareProcessTest, EffectiveOutsidePermittedIsAnError) {
  spec::Process proc;
  proc.capabilities = spec::Capabilities{};
  proc.capabilities->effective = {"CAP_KILL"};
  auto r = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().Message().find("CAP_KILL is not in the permitted set"), std::string::npos)
      << r.error().Message();
}

TEST(PrepareProcessTest, CapabilityNamesAndKernel) {
  EXPECT_EQ(CapabilityFromName("CAP_CHOWN"), 0);
  EXPECT_EQ(CapabilityFromName("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
  EXPECT_EQ(CapabilityFromName("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(CapabilityFromName("CAP_NOPE"));
  auto names = AllCapabilityNames();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "CAP_CHOWN");
  // One name per capability this kernel knows.
  EXPECT_EQ(names.size(), static_cast<size_t>(__builtin_popcountll(KernelCapMask())));
  auto p = PrepareProcess(spec::Process{}, std::nullopt, std::nullopt);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->caps.last_cap + 1, static_cast<int>(names.size()));
  EXPECT_FALSE(p->caps.present);
}

TEST(PrepareProcessTest, RlimitErrors) {
  spec::Process proc;
  proc.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}, {"RLIMIT_BOGUS", 1, 1}};
  auto r = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().Message(), "process.rlimits[1].type: unknown rlimit \"RLIMIT_BOGUS\"");

  proc.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}, {"RLIMIT_NOFILE", 512, 512}};
  r = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().op, "process.rlimits[1].type");

  proc.rlimits = {{"RLIMIT_CORE", 10, 20}};  // type, hard, soft
  r = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().Message(),
            "process.rlimits[0]: RLIMIT_CORE soft limit 20 exceeds its hard limit 10");
}

TEST(PrepareProcessTest, RlimitAboveHostHardLimit) {
  struct rlimit host {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &host), 0);
  if (host.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "host nofile hard limit is unlimited";
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  ASSERT_EQ(syscall(SYS_capget, &hdr, data), 0);
  if (data[0].effective & Bit(CAP_SYS_RESOURCE)) GTEST_SKIP() << "we hold CAP_SYS_RESOURCE";

  spec::Process proc;
  uint64_t want = host.rlim_max + 10000;
  proc.rlimits = {{"RLIMIT_NOFILE", want, 1024}};
  auto r = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().Message(), "process.rlimits[0]: RLIMIT_NOFILE hard limit " +
                                     std::to_string(want) + " exceeds the host's hard limit " +
                                     std::to_string(host.rlim_max) +
                                     " (raising it needs CAP_SYS_RESOURCE)");
  // At the host's limit is fine.
  proc.rlimits = {{"RLIMIT_NOFILE", host.rlim_max, 1024}};
  EXPECT_TRUE(PrepareProcess(proc, std::nullopt, std::nullopt));
}

TEST(PrepareProcessTest, OtherFieldErrors) {
  auto msg = [](const spec::Process& proc,
                const std::optional<spec::LinuxPersonality>& pers = std::nullopt) {
    auto r = PrepareProcess(proc, std::nullopt, pers);
    return r ? std::string("ok") : r.error().Message();
  };
  spec::Process proc;
  proc.oom_score_adj = -1001;
  EXPECT_EQ(msg(proc), "process.oomScoreAdj: -1001 is outside -1000..1000");

  proc = {};
  proc.io_priority = spec::IoPriority{"IOPRIO_CLASS_WHATEVER", 1};
  EXPECT_EQ(msg(proc),
            "process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_WHATEVER\"");
  proc.io_priority = spec::IoPriority{"IOPRIO_CLASS_BE", 8};
  EXPECT_EQ(msg(proc), "process.ioPriority.priority: 8 is outside 0..7");

  proc = {};
  proc.scheduler = spec::Scheduler{};
  proc.scheduler->policy = "SCHED_FAST";
  EXPECT_EQ(msg(proc), "process.scheduler.policy: unknown scheduling policy \"SCHED_FAST\"");
  proc.scheduler->policy = "SCHED_OTHER";
  proc.scheduler->flags = {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_NOPE"};
  EXPECT_EQ(msg(proc), "process.scheduler.flags[1]: unknown scheduler flag \"SCHED_FLAG_NOPE\"");
  proc.scheduler->flags = {};
  proc.scheduler->nice = 20;
  EXPECT_EQ(msg(proc), "process.scheduler.nice: 20 is outside -20..19");

  proc = {};
  EXPECT_EQ(msg(proc, spec::LinuxPersonality{"LINUX64", {}}),
            "linux.personality.domain: unknown domain \"LINUX64\" (LINUX or LINUX32)");
  EXPECT_EQ(msg(proc, spec::LinuxPersonality{"LINUX", {"ADDR_NO_RANDOMIZE"}}),
            "linux.personality.flags[0]: unsupported personality flag \"ADDR_NO_RANDOMIZE\"");

  proc.user.umask = 01000;
  EXPECT_EQ(msg(proc), "process.user.umask: 512 is not a mode");
}

TEST(PrepareProcessTest, EncodesNumbers) {
  spec::Process proc;
  proc.io_priority = spec::IoPriority{"IOPRIO_CLASS_IDLE", 3};
  proc.scheduler = spec::Scheduler{};
  proc.scheduler->policy = "SCHED_BATCH";
  proc.scheduler->nice = 5;
  proc.scheduler->flags = {"SCHED_FLAG_RESET_ON_FORK"};
  auto r = PrepareProcess(proc, std::nullopt, spec::LinuxPersonality{"LINUX32", {}});
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(r->ioprio, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 3));
  EXPECT_EQ(r->personality, static_cast<unsigned long>(PER_LINUX32));
  EXPECT_TRUE(r->has_scheduler);
  EXPECT_EQ(r->sched_policy, static_cast<uint32_t>(SCHED_BATCH));
  EXPECT_EQ(r->sched_nice, 5);
  EXPECT_EQ(r->sched_flags, 1u);
}

// ---------------------------------------------------------------- child behaviour (root)

// Applies both stages in a child and reports /proc/self/status, so the parent can check
// what the kernel actually did.
ChildResult ApplyAndReportStatus(const PreparedProcess& p) {
  return RunChild([&](int out) {
    if (auto r = ApplyEarly(p); !r) {
      Say(out, "early: " + r.error().Message());
      return 1;
    }
    if (auto r = ApplyFinal(p); !r) {
      Say(out, "final: " + r.error().Message());
      return 2;
    }
    Say(out, ReadSelfStatus());
    return 0;
  });
}

TEST(ApplyProcessTest, CapabilitiesDroppedRoot) {
  REQUIRE_ROOT();
  spec::Process proc;
  proc.capabilities = spec::Capabilities{};
  proc.capabilities->bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  proc.capabilities->permitted = proc.capabilities->bounding;
  proc.capabilities->effective = {"CAP_CHOWN", "CAP_KILL"};
  proc.capabilities->inheritable = {"CAP_NET_BIND_SERVICE"};
  proc.capabilities->ambient = {"CAP_NET_BIND_SERVICE"};
  for (uint32_t uid : {0u, 1000u}) {
    SCOPED_TRACE("uid " + std::to_string(uid));
    proc.user.uid = proc.user.gid = uid;
    auto p = PrepareProcess(proc, std::nullopt, std::nullopt);
    ASSERT_TRUE(p) << p.error().Message();
    auto r = ApplyAndReportStatus(*p);
    ASSERT_EQ(ExitCode(r), 0) << r.out;
    auto st = StatusFields(r.out);
    uint64_t three = Bit(CAP_CHOWN) | Bit(CAP_KILL) | Bit(CAP_NET_BIND_SERVICE);
    EXPECT_EQ(Hex(st["CapBnd"]), three);
    EXPECT_EQ(Hex(st["CapPrm"]), three);
    EXPECT_EQ(Hex(st["CapEff"]), Bit(CAP_CHOWN) | Bit(CAP_KILL));
    EXPECT_EQ(Hex(st["CapInh"]), Bit(CAP_NET_BIND_SERVICE));
    EXPECT_EQ(Hex(st["CapAmb"]), Bit(CAP_NET_BIND_SERVICE));
    EXPECT_EQ(st["Uid"], std::to_string(uid) + "\t" + std::to_string(uid) + "\t" +
                             std::to_string(uid) + "\t" + std::to_string(uid));
  }
}

TEST(ApplyProcessTest, CapabilitiesAbsentRoot) {
  REQUIRE_ROOT();
  std::string own = ReadSelfStatus();
  auto mine = StatusFields(own);
  spec::Process proc;  // no process.capabilities
  // uid 0 keeps what it has.
  auto p = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_TRUE(p);
  auto r = ApplyAndReportStatus(*p);
  ASSERT_EQ(ExitCode(r), 0) << r.out;
  auto st = StatusFields(r.out);
  EXPECT_EQ(st["CapEff"], mine["CapEff"]);
  EXPECT_EQ(st["CapBnd"], mine["CapBnd"]);
  // Another uid ends with nothing permitted or effective; bounding is left alone.
  proc.user.uid = 1000;
  p = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_TRUE(p);
  r = ApplyAndReportStatus(*p);
  ASSERT_EQ(ExitCode(r), 0) << r.out;
  st = StatusFields(r.out);
  EXPECT_EQ(Hex(st["CapEff"]), 0u);
  EXPECT_EQ(Hex(st["CapPrm"]), 0u);
  EXPECT_EQ(Hex(st["CapAmb"]), 0u);
  EXPECT_EQ(st["CapBnd"], mine["CapBnd"]);
}

TEST(ApplyProcessTest, UserGroupsUmaskNoNewPrivsRoot) {
  REQUIRE_ROOT();
  spec::Process proc;
  proc.user.uid = 1000;
  proc.user.gid = 1001;
  proc.user.additional_gids = {10, 20, 30};
  proc.user.umask = 027;
  proc.no_new_privileges = true;
  auto p = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_TRUE(p);
  auto r = RunChild([&](int out) {
    if (auto e = ApplyFinal(*p); !e) {
      Say(out, e.error().Message());
      return 2;
    }
    gid_t groups[16];
    int n = getgroups(16, groups);
    std::string s = std::to_string(getuid()) + " " + std::to_string(geteuid()) + " " +
                    std::to_string(getgid()) + " " + std::to_string(getegid()) + " groups";
    for (int i = 0; i < n; ++i) s += " " + std::to_string(groups[i]);
    mode_t m = umask(0);
    char um[8];
    std::snprintf(um, sizeof um, "%03o", m);
    s += std::string(" umask ") + um;
    s += " nnp " + std::to_string(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    Say(out, s);
    return 0;
  });
  ASSERT_EQ(ExitCode(r), 0) << r.out;
  EXPECT_EQ(r.out, "1000 1000 1001 1001 groups 10 20 30 umask 027 nnp 1");

  // Defaults: umask 0022 and no no_new_privs.
  p = PrepareProcess(spec::Process{}, std::nullopt, std::nullopt);
  ASSERT_TRUE(p);
  r = RunChild([&](int out) {
    if (!ApplyFinal(*p)) return 2;
    mode_t m = umask(0);
    Say(out, std::to_string(m) + " " + std::to_string(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)));
    return 0;
  });
  ASSERT_EQ(ExitCode(r), 0);
  EXPECT_EQ(r.out, std::to_string(022) + " 0");
}

TEST(ApplyProcessTest, RlimitsAppliedRoot) {
  REQUIRE_ROOT();
  spec::Process proc;
  proc.rlimits = {{"RLIMIT_NOFILE", 1024, 512}, {"RLIMIT_CORE", 0, 0}};
  auto p = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_TRUE(p) << p.error().Message();
  auto r = RunChild([&](int out) {
    if (auto e = ApplyEarly(*p); !e) {
      Say(out, e.error().Message());
      return 1;
    }
    struct rlimit a {
    }, b{};
    getrlimit(RLIMIT_NOFILE, &a);
    getrlimit(RLIMIT_CORE, &b);
    Say(out, std::to_string(a.rlim_cur) + "/" + std::to_string(a.rlim_max) + " " +
                 std::to_string(b.rlim_cur) + "/" + std::to_string(b.rlim_max));
    return 0;
  });
  ASSERT_EQ(ExitCode(r), 0) << r.out;
  EXPECT_EQ(r.out, "512/1024 0/0");
}

TEST(ApplyProcessTest, RaisingHardRlimitFailsInChildRoot) {
  REQUIRE_ROOT();
  struct rlimit host {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &host), 0);
  if (host.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "nofile unlimited";
  // Bypass PrepareProcess's check to see the child's own error.
  PreparedProcess p;
  p.rlimits = {{RLIMIT_NOFILE, 1024, host.rlim_max + 1}};
  auto r = RunChild([&](int out) {
    auto e = ApplyEarly(p);
    if (e) return 0;
    Say(out, e.error().Message());
    return 1;
  });
  if (ExitCode(r) == 0) GTEST_SKIP() << "this process may raise hard limits";
  EXPECT_EQ(ExitCode(r), 1);
  EXPECT_NE(r.out.find("setrlimit RLIMIT_NOFILE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r.out;
}

TEST(ApplyProcessTest, OomScoreAdjRoot) {
  REQUIRE_ROOT();
  spec::Process proc;
  proc.oom_score_adj = 500;
  auto p = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_TRUE(p);
  auto r = RunChild([&](int out) {
    if (auto e = ApplyEarly(*p); !e) {
      Say(out, e.error().Message());
      return 1;
    }
    std::ifstream f("/proc/self/oom_score_adj");
    int v = 0;
    f >> v;
    Say(out, std::to_string(v));
    return 0;
  });
  ASSERT_EQ(ExitCode(r), 0) << r.out;
  EXPECT_EQ(r.out, "500");

  // Lowering below oom_score_adj_min needs CAP_SYS_RESOURCE, absent on this host.
  proc.oom_score_adj = -500;
  p = PrepareProcess(proc, std::nullopt, std::nullopt);
  ASSERT_TRUE(p);
  r = RunChild([&](int out) {
    auto e = ApplyEarly(*p);
    if (e) return 0;
    Say(out, e.error().Message());
    return 1;
  });
  if (ExitCode(r) == 0) GTEST_SKIP() << "this process holds CAP_SYS_RESOURCE";
  EXPECT_EQ(r.out,
            "process.oomScoreAdj: cannot set -500 (below the current value needs "
            "CAP_SYS_RESOURCE): Permission denied");
}

TEST(ApplyProcessTest, PersonalitySchedulerIoPriorityRoot) {
  REQUIRE_ROOT();
  spec::Process proc;
  proc.scheduler = spec::Scheduler{};
  proc.scheduler->policy = "SCHED_BATCH";
  proc.scheduler->nice = 7;
  proc.io_priority = spec::IoPriority{"IOPRIO_CLASS_BE", 6};
  auto p = PrepareProcess(proc, std::nullopt, spec::LinuxPersonality{"LINUX32", {}});
  ASSERT_TRUE(p) << p.error().Message();
  auto r = RunChild([&](int out) {
    if (auto e = ApplyEarly(*p); !e) {
      Say(out, e.error().Message());
      return 1;
    }
    int pers = personality(0xffffffff);
    int policy = sched_getscheduler(0);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    long io = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
    Say(out, std::to_string(pers) + " " + std::to_string(policy) + " " + std::to_string(nice) +
                 " " + std::to_string(io));
    return 0;
  });
  ASSERT_EQ(ExitCode(r), 0) << r.out;
  EXPECT_EQ(r.out, std::to_string(PER_LINUX32) + " " + std::to_string(SCHED_BATCH) + " 7 " +
                       std::to_string(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 6)));
}

// In a user namespace whose gid map was written without privilege, setgroups is denied:
// no additionalGids still works, asking for some is a clear error.
TEST(ApplyProcessTest, SetgroupsDeniedInUserNamespace) {
  for (bool want_groups : {false, true}) {
    SCOPED_TRACE(want_groups ? "with additionalGids" : "without additionalGids");
    spec::Process proc;
    if (want_groups) proc.user.additional_gids = {0};
    auto p = PrepareProcess(proc, std::nullopt, std::nullopt);
    ASSERT_TRUE(p);
    auto r = RunChild([&](int out) {
      uid_t uid = geteuid();
      gid_t gid = getegid();
      if (unshare(CLONE_NEWUSER) != 0) return 77;
      auto put = [](const char* path, const std::string& s) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        bool ok = fd >= 0 && write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
        if (fd >= 0) close(fd);
        return ok;
      };
      if (!put("/proc/self/setgroups", "deny") ||
          !put("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
          !put("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
        return 78;
      auto e = ApplyFinal(*p);
      if (e) return 0;
      Say(out, e.error().Message());
      return 1;
    });
    if (ExitCode(r) == 77) GTEST_SKIP() << "user namespaces unavailable";
    ASSERT_NE(ExitCode(r), 78);
    if (!want_groups) {
      EXPECT_EQ(ExitCode(r), 0) << r.out;
    } else {
      EXPECT_EQ(ExitCode(r), 1);
      EXPECT_NE(r.out.find("setgroups process.user.additionalGids: setgroups is denied in this "
                           "user namespace"),
                std::string::npos)
          << r.out;
    }
  }
}

}  // namespace
}  // namespace berth::runtime
