// Root tests against the host's real cgroup v1/hybrid hierarchies. Everything is
// created under /berth-test-<pid> and removed in TearDown.
#include <gtest/gtest.h>

#include "cgroups/manager.h"
#include "cgroups/mounts.h"
#include "cgroups/v1.h"
#include "cgroups_test_util.h"

namespace berth::cgroups {
namespace {

using testing::CgroupRootTest;
using testing::DirExists;
using testing::ReadAll;

class CgroupsV1 : public CgroupRootTest {
 protected:
  void SetUp() override {
    CgroupRootTest::SetUp();
    if (IsSkipped()) return;
    if (DetectMode() == Mode::kV2) GTEST_SKIP() << "host is pure cgroup v2";
  }
  std::unique_ptr<Manager> OpenOk(const std::string& leaf, Mode mode = DetectMode()) {
    auto m = Open(parent_ + "/" + leaf, leaf, mode);
    EXPECT_TRUE(m) << m.error().Message();
    return m ? std::move(*m) : nullptr;
  }
  // Every directory the manager could have made, in every hierarchy.
  std::vector<std::string> AllDirs(const std::string& rel) {
    std::vector<std::string> out;
    for (const auto& h : HostMounts().v1) out.push_back(h.mountpoint + rel);
    if (DetectMode() == Mode::kHybrid) out.push_back(HostMounts().unified + rel);
    return out;
  }
};

TEST_F(CgroupsV1, LifecycleRoot) {
  auto m = OpenOk("c1");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->Exists());
  ASSERT_TRUE(m->Create()) << m->Create().error().Message();
  EXPECT_TRUE(m->Exists());
  for (const auto& d : AllDirs(parent_ + "/c1")) EXPECT_TRUE(DirExists(d)) << d;
  // cpuset cpus/mems were inherited so that a task can join.
  EXPECT_FALSE(ReadAll(m->Path("cpuset") + "/cpuset.cpus").empty());

  auto child = Spawn();
  auto add = m->AddProcess(child.pid);
  ASSERT_TRUE(add) << add.error().Message();
  if (DetectMode() == Mode::kHybrid) {
    EXPECT_NE(ReadAll(m->Path("unified") + "/cgroup.procs").find(std::to_string(child.pid)),
              std::string::npos);
  }

  spec::LinuxResources res;
  res.memory.emplace().limit = 64 << 20;
  res.pids.emplace().limit = 50;
  res.cpu.emplace().shares = 512;
  res.cpu->quota = 50000;
  res.cpu->period = 100000;
  auto set = m->Set(res);
  ASSERT_TRUE(set) << set.error().Message();
  EXPECT_EQ(ReadAll(m->Path("memory") + "/memory.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(ReadAll(m->Path("pids") + "/pids.max"), "50");
  EXPECT_EQ(ReadAll(m->Path("cpu") + "/cpu.shares"), "512");
  EXPECT_EQ(ReadAll(m->Path("cpu") + "/cpu.cfs_quota_us"), "50000");

  auto pids = m->Pids();
  ASSERT_TRUE(pids) << pids.error().Message();
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid});

  child.Go();
  Stats st;
  for (int i = 0; i < 200; ++i) {
    auto s = m->GetStats();
    ASSERT_TRUE(s) << s.error().Message();
    st = *s;
    if (st.memory.usage >= (4u << 20)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(st.memory.usage, 4u << 20);
  EXPECT_EQ(st.memory.limit, 64u << 20);
  EXPECT_EQ(st.pids.current, 1u);
  EXPECT_EQ(st.pids.limit, 50u);
  EXPECT_FALSE(st.memory.raw.empty());
  EXPECT_GT(st.cpu.usage_total_ns, 0u);

  auto fr = m->Freeze();
  ASSERT_TRUE(fr) << fr.error().Message();
  EXPECT_EQ(ReadAll(m->Path("freezer") + "/freezer.state"), "FROZEN");
  EXPECT_EQ(m->GetFreezerState().value(), FreezerState::kFrozen);
  ASSERT_TRUE(m->Thaw());
  EXPECT_EQ(ReadAll(m->Path("freezer") + "/freezer.state"), "THAWED");
  EXPECT_EQ(m->GetFreezerState().value(), FreezerState::kThawed);

  auto k = m->KillAll(SIGKILL);
  ASSERT_TRUE(k) << k.error().Message();
  int status = Reap(child.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  auto d = m->Destroy();
  ASSERT_TRUE(d) << d.error().Message();
  EXPECT_FALSE(m->Exists());
  // The leaf and the test parent (created by this manager, now empty) are gone.
  for (const auto& dir : AllDirs(parent_)) EXPECT_FALSE(DirExists(dir)) << dir;
  EXPECT_TRUE(m->Destroy());  // twice is fine
}

TEST_F(CgroupsV1, KillAllWhilePausedRoot) {
  auto m = OpenOk("c1");
  ASSERT_TRUE(m && m->Create());
  auto child = Spawn();
  ASSERT_TRUE(m->AddProcess(child.pid));
  ASSERT_TRUE(m->Freeze());
  ASSERT_TRUE(m->KillAll(SIGKILL));  // thaws so that SIGKILL is acted on
  int status = Reap(child.pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(m->Destroy());
}

TEST_F(CgroupsV1, ReopenedManagerRemovesLeafOnlyRoot) {
  auto a = OpenOk("c1");
  auto b = OpenOk("c2");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Create());
  ASSERT_TRUE(b->Create());
  // A created the shared parent; destroying A keeps it while c2 lives there.
  ASSERT_TRUE(a->Destroy());
  for (const auto& d : AllDirs(parent_ + "/c1")) EXPECT_FALSE(DirExists(d)) << d;
  for (const auto& d : AllDirs(parent_ + "/c2")) EXPECT_TRUE(DirExists(d)) << d;
  // A later command re-opens c2 from its path and removes only the leaf.
  auto again = OpenOk("c2");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->Exists());
  auto d = again->Destroy();
  ASSERT_TRUE(d) << d.error().Message();
  for (const auto& dir : AllDirs(parent_ + "/c2")) EXPECT_FALSE(DirExists(dir)) << dir;
  for (const auto& dir : AllDirs(parent_)) EXPECT_TRUE(DirExists(dir)) << dir;
}

TEST_F(CgroupsV1, ErrorsNameFieldAndFileRoot) {
  auto m = OpenOk("c1");
  ASSERT_TRUE(m && m->Create());

  spec::LinuxResources cpus;
  cpus.cpu.emplace().cpus = "999";
  auto r = m->Set(cpus);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().Message().find("linux.resources.cpu.cpus"), std::string::npos)
      << r.error().Message();
  EXPECT_NE(r.error().Message().find("cpuset.cpus"), std::string::npos);

  // 4 KiB cannot hold a process that touched 4 MiB (no swap): EBUSY from reclaim.
  auto child = Spawn();
  ASSERT_TRUE(m->AddProcess(child.pid));
  child.Go();
  for (int i = 0; i < 200; ++i) {
    if (std::stoull(ReadAll(m->Path("memory") + "/memory.usage_in_bytes")) >= (4u << 20)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  spec::LinuxResources tiny;
  tiny.memory.emplace().limit = 4096;
  auto t = m->Set(tiny);
  if (!t) {
    EXPECT_NE(t.error().Message().find("linux.resources.memory.limit: write "), std::string::npos)
        << t.error().Message();
    EXPECT_NE(t.error().Message().find("memory.limit_in_bytes"), std::string::npos);
  }

  spec::LinuxResources uni;
  uni.unified["foo.bar"] = "1";
  auto u = m->Set(uni);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().Message().find("linux.resources.unified[\"foo.bar\"]"), std::string::npos)
      << u.error().Message();

  spec::LinuxResources slash;
  slash.unified["../cgroup.procs"] = "1";
  EXPECT_FALSE(m->Set(slash));

  spec::LinuxResources net;
  net.network.emplace().class_id = 0x100001;
  auto n = m->Set(net);
  if (m->Path("net_cls").empty()) {
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().Message().find("linux.resources.network.classID"), std::string::npos);
    EXPECT_NE(n.error().Message().find("net_cls"), std::string::npos);
  } else {
    ASSERT_TRUE(n) << n.error().Message();
    EXPECT_EQ(ReadAll(m->Path("net_cls") + "/net_cls.classid"), std::to_string(0x100001));
  }

  auto dotdot = Open(parent_ + "/../x", "x");
  ASSERT_FALSE(dotdot);
  EXPECT_NE(dotdot.error().Message().find("linux.cgroupsPath"), std::string::npos);
}

TEST_F(CgroupsV1, UnifiedNeedsV2OnPureV1Root) {
  auto m = OpenOk("c1", Mode::kV1);
  ASSERT_TRUE(m && m->Create());
  spec::LinuxResources uni;
  uni.unified["memory.high"] = "1000000";
  auto u = m->Set(uni);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().Message().find("linux.resources.unified"), std::string::npos);
  EXPECT_NE(u.error().Message().find("requires cgroup v2"), std::string::npos);
  EXPECT_TRUE(m->Destroy());
}

TEST_F(CgroupsV1, UnifiedKeyOfV1ControllerRefusedOnHybridRoot) {
  if (DetectMode() != Mode::kHybrid) GTEST_SKIP() << "host is not hybrid";
  auto m = OpenOk("c1");
  ASSERT_TRUE(m && m->Create());
  spec::LinuxResources res;
  res.pids.emplace().limit = 10;
  res.unified["pids.max"] = "33";
  auto r = m->Set(res);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().Message().find("linux.resources.unified[\"pids.max\"]"), std::string::npos)
      << r.error().Message();
  EXPECT_NE(r.error().Message().find("\"pids\" controller is on a cgroup v1 hierarchy"),
            std::string::npos)
      << r.error().Message();
  // Refused before anything was written: the pids limit of the same Set is not applied.
  EXPECT_EQ(ReadAll(m->Path("pids") + "/pids.max"), "max");
  // v2's io is v1's blkio.
  spec::LinuxResources io;
  io.unified["io.max"] = "7:0 rbps=1";
  auto r2 = m->Set(io);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().Message().find("\"io\" controller is on a cgroup v1 hierarchy"),
            std::string::npos)
      << r2.error().Message();
  EXPECT_TRUE(m->Destroy());
}

TEST_F(CgroupsV1, DevicesAndMoreLimitsRoot) {
  auto m = OpenOk("c1");
  ASSERT_TRUE(m && m->Create());
  spec::LinuxResources res;
  auto dev = [](bool allow, std::string type, std::optional<int64_t> ma, std::optional<int64_t> mi,
                std::string acc) {
    spec::LinuxDeviceCgroup d;
    d.allow = allow;
    d.type = type;
    d.major = ma;
    d.minor = mi;
    d.access = acc;
    return d;
  };
  res.devices = {dev(false, "a", {}, {}, "rwm"), dev(true, "c", 1, 3, "rwm"),
                 dev(true, "c", 1, 5, "rwm"), dev(false, "c", 1, 5, "w")};
  auto& mem = res.memory.emplace();
  mem.limit = 128 << 20;
  mem.reservation = 64 << 20;
  mem.swappiness = 10;
  mem.disable_oom_killer = true;
  if (!ReadAll("/proc/swaps").empty() &&
      std::filesystem::exists(m->Path("memory") + "/memory.memsw.limit_in_bytes"))
    mem.swap = 256 << 20;
  // cpu.idle appeared in 5.15; the test hosts run 6.x.
  const bool has_idle = std::filesystem::exists(m->Path("cpu") + "/cpu.idle");
  if (has_idle) res.cpu.emplace().idle = 1;
  auto r = m->Set(res);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(ReadAll(m->Path("devices") + "/devices.list"), "c 1:3 rwm\nc 1:5 rm");
  EXPECT_EQ(ReadAll(m->Path("memory") + "/memory.soft_limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(ReadAll(m->Path("memory") + "/memory.swappiness"), "10");
  EXPECT_NE(ReadAll(m->Path("memory") + "/memory.oom_control").find("oom_kill_disable 1"),
            std::string::npos)
      << "memory.disableOOMKiller";
  if (has_idle) {
    EXPECT_EQ(ReadAll(m->Path("cpu") + "/cpu.idle"), "1");
  }

  // Lowering below and raising above the current memsw both work (ordering).
  if (mem.swap) {
    spec::LinuxResources down;
    down.memory.emplace().limit = 32 << 20;
    down.memory->swap = 48 << 20;
    ASSERT_TRUE(m->Set(down));
    spec::LinuxResources up;
    up.memory.emplace().limit = 512 << 20;
    up.memory->swap = 1024 << 20;
    auto u = m->Set(up);
    ASSERT_TRUE(u) << u.error().Message();
    EXPECT_EQ(ReadAll(m->Path("memory") + "/memory.memsw.limit_in_bytes"),
              std::to_string(1024 << 20));
  }

  // pids limit <= 0 means "max".
  spec::LinuxResources pids;
  pids.pids.emplace().limit = 0;
  ASSERT_TRUE(m->Set(pids));
  EXPECT_EQ(ReadAll(m->Path("pids") + "/pids.max"), "max");
  EXPECT_TRUE(m->Destroy());
}

TEST_F(CgroupsV1, HugetlbRoot) {
  // A v1 hugetlb hierarchy if mounted; on hybrid hosts the unified one.
  bool v1_hugetlb = false;
  for (const auto& h : HostMounts().v1) v1_hugetlb |= h.Has("hugetlb");
  bool unified_hugetlb =
      DetectMode() == Mode::kHybrid &&
      ReadAll(HostMounts().unified + "/cgroup.controllers").find("hugetlb") != std::string::npos;
  if (!v1_hugetlb && !unified_hugetlb) GTEST_SKIP() << "no hugetlb controller";
  if (!DirExists("/sys/kernel/mm/hugepages/hugepages-2048kB")) GTEST_SKIP() << "no 2MB pages";
  auto m = OpenOk("c1");
  ASSERT_TRUE(m && m->Create());
  spec::LinuxResources res;
  res.hugepage_limits.push_back({"2MB", 4 << 20});
  auto r = m->Set(res);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(ReadAll(m->Path("hugetlb") +
                    (v1_hugetlb ? "/hugetlb.2MB.limit_in_bytes" : "/hugetlb.2MB.max")),
            std::to_string(4 << 20));
  auto st = m->GetStats();
  ASSERT_TRUE(st) << st.error().Message();
  EXPECT_EQ(st->hugetlb_usage.count("2MB"), 1u);

  spec::LinuxResources bad;
  bad.hugepage_limits.push_back({"3MB", 1});
  auto b = m->Set(bad);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().Message().find("linux.resources.hugepageLimits[0].pageSize"),
            std::string::npos);
  EXPECT_TRUE(m->Destroy());
}

// Without root: hierarchies in a temp directory, the container's directory made in each
// but no interface file, so every write fails with ENOENT and a Set that succeeds wrote
// nothing. What real clients send for "not set" must write nothing (runc writes nothing).
class FakeV1Tree {
 public:
  explicit FakeV1Tree(std::vector<std::vector<std::string>> hierarchies) {
    char tmpl[] = "/tmp/berth-v1-fake-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    for (auto& controllers : hierarchies) {
      std::string name;
      for (const auto& c : controllers) name += (name.empty() ? "" : ",") + c;
      std::filesystem::create_directories(root_ + "/" + name + "/c");
      hierarchies_.push_back({root_ + "/" + name, controllers});
    }
  }
  ~FakeV1Tree() { std::filesystem::remove_all(root_); }
  V1Manager Manager() const { return V1Manager(hierarchies_, "/c"); }
  std::string Dir(const std::string& hierarchy) const { return root_ + "/" + hierarchy + "/c"; }

 private:
  std::string root_;
  std::vector<V1Hierarchy> hierarchies_;
};

// The resources of `docker run` without limits (Docker 20.10), plus the zeros CRI-O and
// older containerd write for a pod that asked for nothing.
spec::LinuxResources ClientZeros() {
  spec::LinuxResources res;
  auto& io = res.block_io.emplace();
  io.weight = 0;
  io.leaf_weight = 0;
  io.weight_device.push_back({8, 0, uint16_t{0}, uint16_t{0}});
  auto& cpu = res.cpu.emplace();
  cpu.shares = 0;
  cpu.quota = 0;
  cpu.period = 0;
  cpu.realtime_runtime = 0;
  cpu.realtime_period = 0;
  auto& mem = res.memory.emplace();
  mem.limit = 0;
  mem.reservation = 0;
  mem.swap = 0;
  mem.kernel = 0;
  mem.kernel_tcp = 0;
  mem.swappiness = UINT64_MAX;  // -1 as uint64: Docker before 20.10
  mem.disable_oom_killer = false;
  res.pids = spec::LinuxPids{0};
  res.network.emplace().class_id = 0;
  return res;
}

TEST(CgroupsV1Unset, ClientZeroValuesWriteNothing) {
  FakeV1Tree tree({{"cpu", "cpuacct"}, {"memory"}, {"pids"}, {"blkio"}, {"net_cls"}});
  auto m = tree.Manager();
  auto r = m.Set(ClientZeros());
  EXPECT_TRUE(r) << r.error().Message();
  // The fake does see writes: a real value next to the zeros fails on its missing file.
  auto weight = ClientZeros();
  weight.block_io->weight = 500;
  auto w = m.Set(weight);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().Message().find("linux.resources.blockIO.weight"), std::string::npos)
      << w.error().Message();
  auto rt = ClientZeros();
  rt.cpu->realtime_period = 1000000;
  auto t = m.Set(rt);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().Message().find("linux.resources.cpu.realtimePeriod"), std::string::npos)
      << t.error().Message();
  auto oom = ClientZeros();
  oom.memory->disable_oom_killer = true;
  auto o = m.Set(oom);
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().Message().find("memory.oom_control"), std::string::npos)
      << o.error().Message();
}

// Zeros need no controller at all: a host without blkio, net_cls or memory mounted runs
// Docker's containers (runc does).
TEST(CgroupsV1Unset, ZerosNeedNoController) {
  FakeV1Tree tree({{"pids"}});
  auto m = tree.Manager();
  auto r = m.Set(ClientZeros());
  EXPECT_TRUE(r) << r.error().Message();
  auto weight = ClientZeros();
  weight.block_io->weight_device[0].weight = 500;
  auto w = m.Set(weight);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().Message().find("\"blkio\" cgroup controller"), std::string::npos)
      << w.error().Message();
}

// pids.limit 0 keeps the limit the cgroup has (an update of other fields must not lift
// it); -1 lifts it.
TEST(CgroupsV1Unset, PidsLimitZeroKeepsTheLimit) {
  FakeV1Tree tree({{"pids"}});
  const std::string file = tree.Dir("pids") + "/pids.max";
  std::ofstream(file) << "50";
  auto m = tree.Manager();
  spec::LinuxResources res;
  res.pids = spec::LinuxPids{0};
  ASSERT_TRUE(m.Set(res));
  EXPECT_EQ(ReadAll(file), "50");
  res.pids = spec::LinuxPids{-1};
  ASSERT_TRUE(m.Set(res));
  EXPECT_EQ(ReadAll(file), "max");
}

}  // namespace
}  // namespace berth::cgroups
