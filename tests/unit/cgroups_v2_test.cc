// Root tests of the v2 manager. On a hybrid host they run against the cgroup2
// mount at /sys/fs/cgroup/unified, which has the v2 core files (cgroup.procs,
// cgroup.freeze, cgroup.kill, cgroup.events) and hugetlb but no other controller.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "cgroups/manager.h"
#include "cgroups/mounts.h"
#include "cgroups/v2.h"
#include "cgroups_test_util.h"

namespace berth::cgroups {
namespace {

using testing::CgroupRootTest;
using testing::DirExists;
using testing::ReadAll;

class CgroupsV2 : public CgroupRootTest {
 protected:
  void SetUp() override {
    CgroupRootTest::SetUp();
    if (IsSkipped()) return;
    if (HostMounts().unified.empty()) GTEST_SKIP() << "no cgroup2 hierarchy";
    root_ = HostMounts().unified;
  }
  std::unique_ptr<Manager> OpenOk(const std::string& leaf) {
    auto m = Open(parent_ + "/" + leaf, leaf, Mode::kV2);
    EXPECT_TRUE(m) << m.error().Message();
    return m ? std::move(*m) : nullptr;
  }
  bool Offered(const std::string& c) {
    std::istringstream in(ReadAll(root_ + "/cgroup.controllers"));
    for (std::string w; in >> w;)
      if (w == c) return true;
    return false;
  }
  std::string root_;
};

TEST_F(CgroupsV2, LifecycleRoot) {
  auto m = OpenOk("c1");
  ASSERT_TRUE(m);
  auto c = m->Create();
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ(m->Path(), root_ + parent_ + "/c1");
  EXPECT_TRUE(DirExists(m->Path()));

  auto child = Spawn();
  ASSERT_TRUE(m->AddProcess(child.pid));
  child.Go();
  EXPECT_EQ(m->Pids().value(), std::vector<pid_t>{child.pid});

  auto fr = m->Freeze();
  ASSERT_TRUE(fr) << fr.error().Message();
  EXPECT_EQ(ReadAll(m->Path() + "/cgroup.freeze"), "1");
  EXPECT_NE(ReadAll(m->Path() + "/cgroup.events").find("frozen 1"), std::string::npos);
  EXPECT_EQ(m->GetFreezerState().value(), FreezerState::kFrozen);
  ASSERT_TRUE(m->Thaw());
  EXPECT_EQ(m->GetFreezerState().value(), FreezerState::kThawed);
  EXPECT_NE(ReadAll(m->Path() + "/cgroup.events").find("frozen 0"), std::string::npos);

  auto st = m->GetStats();
  ASSERT_TRUE(st) << st.error().Message();
  EXPECT_GT(st->cpu.usage_total_ns, 0u);  // cpu.stat's usage needs no controller

  if (Offered("hugetlb")) {
    spec::LinuxResources res;
    res.hugepage_limits.push_back({"2MB", 8 << 20});
    auto r = m->Set(res);
    ASSERT_TRUE(r) << r.error().Message();
    EXPECT_EQ(ReadAll(m->Path() + "/hugetlb.2MB.max"), std::to_string(8 << 20));
    spec::LinuxResources uni;
    uni.unified["hugetlb.2MB.max"] = "4194304";
    auto u = m->Set(uni);
    ASSERT_TRUE(u) << u.error().Message();
    EXPECT_EQ(ReadAll(m->Path() + "/hugetlb.2MB.max"), "4194304");
  }
  if (!Offered("memory")) {
    spec::LinuxResources mem;
    mem.memory.emplace().limit = 64 << 20;
    auto r = m->Set(mem);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().Message().find("linux.resources.memory: controller \"memory\" is not "
                                       "enabled in " +
                                       root_ + "/cgroup.subtree_control"),
              std::string::npos)
        << r.error().Message();
  }
  spec::LinuxResources bad;
  bad.unified["memory/../x"] = "1";
  auto b = m->Set(bad);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().Message().find("linux.resources.unified"), std::string::npos);
  spec::LinuxResources procs;
  procs.unified["cgroup.procs"] = "1";
  EXPECT_FALSE(m->Set(procs));

  auto k = m->KillAll(SIGKILL);  // cgroup.kill
  ASSERT_TRUE(k) << k.error().Message();
  int status = Reap(child.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  auto d = m->Destroy();
  ASSERT_TRUE(d) << d.error().Message();
  EXPECT_FALSE(DirExists(root_ + parent_ + "/c1"));
  EXPECT_FALSE(DirExists(root_ + parent_));
  EXPECT_TRUE(m->Destroy());
}

TEST_F(CgroupsV2, KillAllOtherSignalAndPausedRoot) {
  auto m = OpenOk("c1");
  ASSERT_TRUE(m && m->Create());
  auto a = Spawn();
  auto b = Spawn();
  ASSERT_TRUE(m->AddProcess(a.pid));
  ASSERT_TRUE(m->AddProcess(b.pid));
  a.Go();
  b.Go();
  ASSERT_TRUE(m->KillAll(SIGTERM));  // freeze, signal each, thaw
  EXPECT_EQ(WTERMSIG(Reap(a.pid)), SIGTERM);
  EXPECT_EQ(WTERMSIG(Reap(b.pid)), SIGTERM);
  EXPECT_EQ(m->GetFreezerState().value(), FreezerState::kThawed);
  ASSERT_TRUE(m->Destroy());
}

void ProbeDevices(int report) {
  // Bit 0: /dev/null opened; bit 1: /dev/zero opened for reading; bit 2: /dev/zero for writing.
  int result = 0;
  int fd = ::open("/dev/null", O_RDWR);
  if (fd >= 0) result |= 1, ::close(fd);
  fd = ::open("/dev/zero", O_RDONLY);
  if (fd >= 0) result |= 2, ::close(fd);
  fd = ::open("/dev/zero", O_WRONLY);
  if (fd >= 0) result |= 4, ::close(fd);
  (void)!::write(report, &result, sizeof result);
}

int AttachedPrograms(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  uint32_t ids[16];
  union bpf_attr q;
  std::memset(&q, 0, sizeof q);
  q.query.target_fd = fd;
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = reinterpret_cast<uint64_t>(ids);
  q.query.prog_cnt = 16;
  long r = ::syscall(__NR_bpf, BPF_PROG_QUERY, &q, sizeof q);
  ::close(fd);
  return r < 0 ? -1 : static_cast<int>(q.query.prog_cnt);
}

TEST_F(CgroupsV2, DevicesEbpfRoot) {
  auto m = OpenOk("c1");
  ASSERT_TRUE(m && m->Create());
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
  spec::LinuxResources res;
  res.devices = {dev(false, "a", {}, {}, "rwm"), dev(true, "c", 1, 3, "rwm"),
                 dev(true, "c", 1, 5, "r")};
  auto r = m->Set(res);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(AttachedPrograms(m->Path()), 1);
  // An update replaces the program rather than stacking another one.
  r = m->Set(res);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(AttachedPrograms(m->Path()), 1);

  auto child = Spawn(ProbeDevices);
  ASSERT_TRUE(m->AddProcess(child.pid));
  child.Go();
  int result = -1;
  ASSERT_EQ(::read(child.report, &result, sizeof result), static_cast<ssize_t>(sizeof result));
  EXPECT_EQ(result, 1 | 2);  // /dev/null rw, /dev/zero read only
  ASSERT_TRUE(m->KillAll(SIGKILL));
  Reap(child.pid);
  ASSERT_TRUE(m->Destroy());
}

TEST_F(CgroupsV2, LimitsWhenControllersOfferedRoot) {
  // Runs on pure v2 hosts (e.g. the qemu guest); the hybrid host offers only hugetlb.
  for (const char* c : {"memory", "cpu", "pids", "cpuset"})
    if (!Offered(c)) GTEST_SKIP() << "cgroup2 root does not offer " << c;
  auto m = OpenOk("c1");
  ASSERT_TRUE(m);
  V2Manager direct(root_, parent_ + "/c1", /*enable_all=*/false);  // on demand
  ASSERT_TRUE(direct.Create());
  spec::LinuxResources res;
  auto& mem = res.memory.emplace();
  mem.limit = 64 << 20;
  mem.reservation = 32 << 20;
  ASSERT_TRUE(direct.EnableController("memory", "test"));
  const bool swap_accounting = std::filesystem::exists(direct.Path() + "/memory.swap.max");
  if (swap_accounting) mem.swap = 96 << 20;
  auto& cpu = res.cpu.emplace();
  cpu.shares = 1024;
  cpu.quota = 50000;
  cpu.period = 100000;
  cpu.cpus = "0";
  res.pids.emplace().limit = 50;
  res.unified["memory.high"] = std::to_string(48 << 20);
  auto r = direct.Set(res);
  ASSERT_TRUE(r) << r.error().Message();
  const std::string d = direct.Path();
  EXPECT_EQ(ReadAll(d + "/memory.max"), std::to_string(64 << 20));
  EXPECT_EQ(ReadAll(d + "/memory.low"), std::to_string(32 << 20));
  if (swap_accounting) {
    EXPECT_EQ(ReadAll(d + "/memory.swap.max"), std::to_string(32 << 20));
  }
  EXPECT_EQ(ReadAll(d + "/memory.high"), std::to_string(48 << 20));
  EXPECT_EQ(ReadAll(d + "/cpu.weight"), "39");
  EXPECT_EQ(ReadAll(d + "/cpu.max"), "50000 100000");
  EXPECT_EQ(ReadAll(d + "/cpuset.cpus"), "0");
  EXPECT_EQ(ReadAll(d + "/pids.max"), "50");

  spec::LinuxResources period_only;
  period_only.cpu.emplace().period = 200000;
  ASSERT_TRUE(direct.Set(period_only));
  EXPECT_EQ(ReadAll(d + "/cpu.max"), "50000 200000");
  spec::LinuxResources unlimited;
  unlimited.cpu.emplace().quota = -1;
  ASSERT_TRUE(direct.Set(unlimited));
  EXPECT_EQ(ReadAll(d + "/cpu.max"), "max 200000");

  auto child = Spawn();
  ASSERT_TRUE(m->AddProcess(child.pid));
  child.Go();
  Stats st;
  for (int i = 0; i < 200; ++i) {
    st = m->GetStats().value();
    if (st.memory.usage >= (4u << 20)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(st.memory.usage, 4u << 20);
  EXPECT_EQ(st.memory.limit, 64u << 20);
  EXPECT_EQ(st.pids.current, 1u);
  EXPECT_EQ(st.pids.limit, 50u);

  spec::LinuxResources tiny;
  tiny.memory.emplace().limit = 4096;
  tiny.memory->check_before_update = true;
  auto t = m->Set(tiny);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().Message().find("linux.resources.memory.limit"), std::string::npos);
  spec::LinuxResources cpus;
  cpus.cpu.emplace().cpus = "999";
  auto c = m->Set(cpus);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().Message().find("linux.resources.cpu.cpus: write " + d + "/cpuset.cpus"),
            std::string::npos)
      << c.error().Message();

  ASSERT_TRUE(m->KillAll(SIGKILL));
  Reap(child.pid);
  ASSERT_TRUE(m->Destroy());
  EXPECT_FALSE(DirExists(d));
}

TEST_F(CgroupsV2, CreateEnablesOfferedControllersRoot) {
  // As on a pure v2 host: Create enables what the root offers in every ancestor.
  V2Manager m(root_, parent_ + "/c1", /*enable_all=*/true);
  ASSERT_TRUE(m.Create());
  std::string offered = ReadAll(root_ + "/cgroup.controllers");
  EXPECT_EQ(ReadAll(root_ + parent_ + "/cgroup.subtree_control"), offered);
  EXPECT_EQ(ReadAll(m.Path() + "/cgroup.controllers"), offered);
  // The leaf itself enables nothing: it holds the processes.
  EXPECT_EQ(ReadAll(m.Path() + "/cgroup.subtree_control"), "");
  auto child = Spawn();
  ASSERT_TRUE(m.AddProcess(child.pid));
  // A controller nobody offers fails with the field and the file.
  auto e = m.EnableController("nosuch", "linux.resources.unified[\"nosuch.x\"]");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().Message().find("controller \"nosuch\" is not enabled in " + root_),
            std::string::npos)
      << e.error().Message();
  ASSERT_TRUE(m.KillAll(SIGKILL));
  Reap(child.pid);
  ASSERT_TRUE(m.Destroy());
  EXPECT_FALSE(DirExists(root_ + parent_));
}

// Without root: a cgroup2 "mount" in a temp directory with the container's directory but
// no interface file, not even cgroup.controllers: enabling a controller or writing a
// limit fails, so a Set that succeeds did neither. runc enables nothing for zeros.
TEST(CgroupsV2Unset, ClientZeroValuesEnableAndWriteNothing) {
  char tmpl[] = "/tmp/berth-v2-fake-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  std::filesystem::create_directories(root + "/c");
  V2Manager m(root, "/c", false);
  spec::LinuxResources res;
  auto& io = res.block_io.emplace();
  io.weight = 0;  // Docker, every container
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
  mem.swappiness = UINT64_MAX;
  mem.disable_oom_killer = false;
  res.pids = spec::LinuxPids{0};
  auto r = m.Set(res);
  EXPECT_TRUE(r) << r.error().Message();

  // Real values do reach the fake (and fail there).
  auto weight = res;
  weight.block_io->weight = 500;
  auto w = m.Set(weight);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().Message().find("linux.resources.blockIO"), std::string::npos)
      << w.error().Message();
  auto pids = res;
  pids.pids = spec::LinuxPids{-1};
  auto p = m.Set(pids);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().Message().find("linux.resources.pids"), std::string::npos)
      << p.error().Message();
  auto leaf = res;
  leaf.block_io->leaf_weight = 500;
  EXPECT_FALSE(m.Set(leaf));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace berth::cgroups
