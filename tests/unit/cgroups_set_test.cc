// V1Manager::Set and V2Manager::Set against a fake cgroupfs of plain files (no root): which
// file each linux.resources field reaches, with what value, the v2 conversions, and errors
// that name the field and the file. The real kernel's side is in cgroups_v1/v2_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cgroups/v1.h"
#include "cgroups/v2.h"
#include "cgroups_test_util.h"

namespace berth::cgroups {
namespace {

using testing::FakeCgroupFs;

constexpr const char* kRel = "/berth/c1";

std::string Msg(const Result<void>& r) { return r ? "(ok)" : r.error().Message(); }

// ---------------------------------------------------------------------------------- v1

class CgroupsV1Set : public ::testing::Test {
 protected:
  // One hierarchy per controller (cpu and cpuacct co-mounted, as on hosts), each with the
  // container's directory and the interface files the kernel would offer there.
  void SetUp() override {
    Hier("memory", {"memory"},
         {"memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness",
          "memory.oom_control"});
    Hier("cpu,cpuacct", {"cpu", "cpuacct"},
         {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.rt_period_us",
          "cpu.rt_runtime_us"});
    Hier("cpuset", {"cpuset"}, {"cpuset.cpus", "cpuset.mems"});
    Hier("pids", {"pids"}, {"pids.max"});
    Hier("blkio", {"blkio"},
         {"blkio.weight", "blkio.weight_device", "blkio.throttle.read_bps_device",
          "blkio.throttle.write_iops_device"});
    Hier("devices", {"devices"}, {"devices.allow", "devices.deny"});
    Hier("hugetlb", {"hugetlb"}, {"hugetlb.2MB.limit_in_bytes"});
  }

  void Hier(const std::string& name, std::vector<std::string> controllers,
            const std::vector<std::string>& files) {
    fake_.Dir(name + kRel, files);
    hiers_.push_back({fake_.root() + "/" + name, std::move(controllers)});
  }
  std::string File(const std::string& hier, const std::string& file) const {
    return fake_.root() + "/" + hier + kRel + "/" + file;
  }
  std::string Read(const std::string& hier, const std::string& file) const {
    return FakeCgroupFs::Get(File(hier, file));
  }
  V1Manager Manager() const { return V1Manager(hiers_, kRel); }

  FakeCgroupFs fake_;
  std::vector<V1Hierarchy> hiers_;
};

TEST_F(CgroupsV1Set, LimitsReachTheirFiles) {
  spec::LinuxResources res;
  auto& mem = res.memory.emplace();
  mem.limit = 64 << 20;
  mem.reservation = 32 << 20;
  mem.swappiness = 10;
  mem.disable_oom_killer = true;
  auto& cpu = res.cpu.emplace();
  cpu.shares = 512;
  cpu.quota = 50000;
  cpu.period = 100000;
  cpu.realtime_period = 1000000;
  cpu.realtime_runtime = 95000;
  cpu.cpus = "0-1";
  cpu.mems = "0";
  res.pids.emplace().limit = 50;
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));

  EXPECT_EQ(Read("memory", "memory.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(Read("memory", "memory.soft_limit_in_bytes"), std::to_string(32 << 20));
  EXPECT_EQ(Read("memory", "memory.swappiness"), "10");
  EXPECT_EQ(Read("memory", "memory.oom_control"), "1");
  EXPECT_EQ(Read("cpu,cpuacct", "cpu.shares"), "512");
  EXPECT_EQ(Read("cpu,cpuacct", "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(Read("cpu,cpuacct", "cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(Read("cpu,cpuacct", "cpu.rt_period_us"), "1000000");
  EXPECT_EQ(Read("cpu,cpuacct", "cpu.rt_runtime_us"), "95000");
  EXPECT_EQ(Read("cpuset", "cpuset.cpus"), "0-1");
  EXPECT_EQ(Read("cpuset", "cpuset.mems"), "0");
  EXPECT_EQ(Read("pids", "pids.max"), "50");
}

TEST_F(CgroupsV1Set, ZeroMeansUnsetAndPidsMinusOneIsMax) {
  // Configs written by other tools use 0 for "not set" (so do runc and crun).
  spec::LinuxResources res;
  auto& mem = res.memory.emplace();
  mem.limit = 0;
  mem.reservation = 0;
  mem.swap = 0;
  auto& cpu = res.cpu.emplace();
  cpu.shares = 0;
  cpu.quota = 0;
  cpu.period = 0;
  res.pids.emplace().limit = 0;
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  for (const char* f : {"memory.limit_in_bytes", "memory.soft_limit_in_bytes"})
    EXPECT_EQ(Read("memory", f), "") << f;
  for (const char* f : {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"})
    EXPECT_EQ(Read("cpu,cpuacct", f), "") << f;
  // pids 0 is "not set" (Docker writes it; runc leaves the limit alone); -1 is "max".
  EXPECT_EQ(Read("pids", "pids.max"), "");
  res.pids->limit = -1;
  ASSERT_TRUE(Manager().Set(res));
  EXPECT_EQ(Read("pids", "pids.max"), "max");
}

TEST_F(CgroupsV1Set, BlkioWeightsAndThrottles) {
  spec::LinuxResources res;
  auto& io = res.block_io.emplace();
  io.weight = 300;
  io.weight_device.push_back({8, 0, 200, std::nullopt});
  io.throttle_read_bps_device.push_back({8, 0, 1048576});
  io.throttle_write_iops_device.push_back({8, 16, 100});
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("blkio", "blkio.weight"), "300");
  EXPECT_EQ(Read("blkio", "blkio.weight_device"), "8:0 200");
  EXPECT_EQ(Read("blkio", "blkio.throttle.read_bps_device"), "8:0 1048576");
  EXPECT_EQ(Read("blkio", "blkio.throttle.write_iops_device"), "8:16 100");
}

TEST_F(CgroupsV1Set, BlkioFallsBackToBfqOrSaysWhyNot) {
  // CFQ's blkio.weight is gone since 5.0; BFQ offers blkio.bfq.weight instead.
  ASSERT_EQ(unlink(File("blkio", "blkio.weight").c_str()), 0);
  ASSERT_EQ(unlink(File("blkio", "blkio.weight_device").c_str()), 0);
  spec::LinuxResources res;
  res.block_io.emplace().weight = 300;
  auto none = Manager().Set(res);
  ASSERT_FALSE(none);
  EXPECT_NE(Msg(none).find("linux.resources.blockIO.weight"), std::string::npos) << Msg(none);
  EXPECT_NE(Msg(none).find("no proportional weights"), std::string::npos) << Msg(none);

  FakeCgroupFs::Put(File("blkio", "blkio.bfq.weight"), "");
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("blkio", "blkio.bfq.weight"), "300");
}

TEST_F(CgroupsV1Set, DevicesStartFromDenyAllAndReplayInOrder) {
  spec::LinuxResources res;
  res.devices = {
      {false, "a", std::nullopt, std::nullopt, "rwm"},  // repeats the reset: not written again
      {true, "c", 1, 3, "rwm"},
      {true, "c", 136, std::nullopt, "rw"},
      {false, "c", 1, 3, "w"},
      {true, "b", 8, 0, "m"},
  };
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  // One open per file, one write per rule: the writes follow each other in the file.
  EXPECT_EQ(Read("devices", "devices.deny"), std::string("a") + "c 1:3 w");
  EXPECT_EQ(Read("devices", "devices.allow"),
            std::string("c 1:3 rwm") + "c 136:* rw" + "b 8:0 m");

  res.devices = {{true, "x", 1, 3, "rwm"}};
  auto bad = Manager().Set(res);
  ASSERT_FALSE(bad);
  EXPECT_NE(Msg(bad).find("linux.resources.devices[0].type"), std::string::npos) << Msg(bad);
}

TEST_F(CgroupsV1Set, HugetlbNeedsAKnownPageSize) {
  spec::LinuxResources res;
  res.hugepage_limits = {{"2MB", 4 << 20}};
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("hugetlb", "hugetlb.2MB.limit_in_bytes"), std::to_string(4 << 20));
  // Reservations are limited alike where the kernel has them (5.7+).
  FakeCgroupFs::Put(File("hugetlb", "hugetlb.2MB.rsvd.limit_in_bytes"), "");
  res.hugepage_limits = {{"2MB", 8 << 20}};
  ASSERT_TRUE(Manager().Set(res));
  EXPECT_EQ(Read("hugetlb", "hugetlb.2MB.rsvd.limit_in_bytes"), std::to_string(8 << 20));

  for (const char* size : {"1GB", "../2MB"}) {
    res.hugepage_limits = {{size, 1 << 30}};
    auto r = Manager().Set(res);
    ASSERT_FALSE(r) << size;
    EXPECT_NE(Msg(r).find("linux.resources.hugepageLimits[0].pageSize"), std::string::npos)
        << Msg(r);
    EXPECT_NE(Msg(r).find("no such huge page size"), std::string::npos) << Msg(r);
  }
}

TEST_F(CgroupsV1Set, ErrorsNameTheFieldAndTheFile) {
  // A controller the host does not mount.
  hiers_.erase(hiers_.begin() + 3);  // pids
  spec::LinuxResources res;
  res.pids.emplace().limit = 5;
  auto r = Manager().Set(res);
  ASSERT_FALSE(r);
  EXPECT_EQ(Msg(r).rfind("linux.resources.pids ", 0), 0u) << Msg(r);
  EXPECT_NE(Msg(r).find("\"pids\" cgroup controller"), std::string::npos) << Msg(r);
  EXPECT_NE(Msg(r).find("is not mounted"), std::string::npos) << Msg(r);
  // A write the kernel refuses (here: the file is missing).
  ASSERT_EQ(unlink(File("memory", "memory.swappiness").c_str()), 0);
  res = {};
  res.memory.emplace().swappiness = 60;
  r = Manager().Set(res);
  ASSERT_FALSE(r);
  EXPECT_EQ(Msg(r).rfind("linux.resources.memory.swappiness: ", 0), 0u) << Msg(r);
  EXPECT_NE(Msg(r).find(File("memory", "memory.swappiness")), std::string::npos) << Msg(r);
  EXPECT_EQ(r.error().code, ENOENT);
  // Values the v1 files cannot take.
  res.memory->swappiness = 101;
  r = Manager().Set(res);
  ASSERT_FALSE(r);
  EXPECT_NE(Msg(r).find("linux.resources.memory.swappiness"), std::string::npos) << Msg(r);
  EXPECT_NE(Msg(r).find("0..100"), std::string::npos) << Msg(r);
  // Swap needs swap accounting.
  res = {};
  res.memory.emplace().limit = 1 << 20;
  res.memory->swap = 2 << 20;
  r = Manager().Set(res);
  ASSERT_FALSE(r);
  EXPECT_NE(Msg(r).find("linux.resources.memory.swap"), std::string::npos) << Msg(r);
  EXPECT_NE(Msg(r).find("swap accounting is disabled"), std::string::npos) << Msg(r);
  // unified is cgroup v2 only.
  res = {};
  res.unified = {{"memory.high", "1G"}};
  r = Manager().Set(res);
  ASSERT_FALSE(r);
  EXPECT_NE(Msg(r).find("linux.resources.unified[\"memory.high\"]"), std::string::npos) << Msg(r);
  EXPECT_NE(Msg(r).find("requires cgroup v2"), std::string::npos) << Msg(r);
}

// ---------------------------------------------------------------------------------- v2

class CgroupsV2Set : public ::testing::Test {
 protected:
  // The container's directory offers every controller already (so Set enables nothing);
  // EnableController's own test below starts without.
  void SetUp() override {
    Offer("", "cpuset cpu io memory hugetlb pids rdma");
    Offer("berth", "cpuset cpu io memory hugetlb pids rdma");
    dir_ = fake_.Dir(std::string(kRel).substr(1),
                     {"memory.max", "memory.low", "memory.swap.max", "memory.high", "cpu.weight",
                      "cpu.max", "cpu.idle", "cpuset.cpus", "cpuset.mems", "pids.max",
                      "io.weight", "io.max", "hugetlb.2MB.max", "rdma.max"});
    FakeCgroupFs::Put(dir_ + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
  }
  void Offer(const std::string& rel, const std::string& controllers) {
    std::string d = fake_.Dir(rel);
    FakeCgroupFs::Put(d + "/cgroup.controllers", controllers + "\n");
    FakeCgroupFs::Put(d + "/cgroup.subtree_control", "");
  }
  std::string Read(const std::string& file) const { return FakeCgroupFs::Get(dir_ + "/" + file); }
  V2Manager Manager() const { return V2Manager(fake_.root(), kRel, false); }

  FakeCgroupFs fake_;
  std::string dir_;
};

TEST_F(CgroupsV2Set, MemoryConvertsSwapToSwapAlone) {
  spec::LinuxResources res;
  auto& mem = res.memory.emplace();
  mem.limit = 64 << 20;
  mem.swap = 96 << 20;  // the spec's swap is memory + swap
  mem.reservation = 16 << 20;
  mem.swappiness = 10;  // v1 only: ignored
  mem.kernel = 1 << 20;
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("memory.max"), std::to_string(64 << 20));
  EXPECT_EQ(Read("memory.swap.max"), std::to_string(32 << 20));
  EXPECT_EQ(Read("memory.low"), std::to_string(16 << 20));

  mem.limit = -1;
  mem.swap = -1;
  mem.reservation = std::nullopt;
  for (const char* f : {"memory.max", "memory.swap.max"}) FakeCgroupFs::Put(dir_ + "/" + f, "");
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("memory.max"), "max");
  EXPECT_EQ(Read("memory.swap.max"), "max");

  mem.limit = 64 << 20;
  mem.swap = 32 << 20;
  auto below = Manager().Set(res);
  ASSERT_FALSE(below);
  EXPECT_NE(Msg(below).find("linux.resources.memory.swap"), std::string::npos) << Msg(below);
  EXPECT_NE(Msg(below).find("must not be below"), std::string::npos) << Msg(below);
  mem.limit = std::nullopt;
  auto alone = Manager().Set(res);
  ASSERT_FALSE(alone);
  EXPECT_NE(Msg(alone).find("needs linux.resources.memory.limit"), std::string::npos)
      << Msg(alone);
}

TEST_F(CgroupsV2Set, CpuWeightAndMax) {
  spec::LinuxResources res;
  auto& cpu = res.cpu.emplace();
  cpu.shares = 1024;
  cpu.quota = 50000;
  cpu.period = 100000;
  cpu.cpus = "0";
  cpu.mems = "0";
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("cpu.weight"), std::to_string(SharesToWeight(1024)));
  EXPECT_EQ(Read("cpu.weight"), "39");
  EXPECT_EQ(Read("cpu.max"), "50000 100000");
  EXPECT_EQ(Read("cpuset.cpus"), "0");
  EXPECT_EQ(Read("cpuset.mems"), "0");

  // A period alone keeps the quota the cgroup has.
  FakeCgroupFs::Put(dir_ + "/cpu.max", "max 100000");
  res.cpu = spec::LinuxCpu{};
  res.cpu->period = 250000;
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("cpu.max"), "max 250000");
  // Quota -1 is "no limit".
  res.cpu->period = std::nullopt;
  res.cpu->quota = -1;
  FakeCgroupFs::Put(dir_ + "/cpu.max", "");
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("cpu.max"), "max");

  res.cpu = spec::LinuxCpu{};
  res.cpu->realtime_runtime = 1000;
  auto rt = Manager().Set(res);
  ASSERT_FALSE(rt);
  EXPECT_NE(Msg(rt).find("linux.resources.cpu.realtimeRuntime"), std::string::npos) << Msg(rt);
}

TEST_F(CgroupsV2Set, IoPidsHugetlbAndRdma) {
  spec::LinuxResources res;
  auto& io = res.block_io.emplace();
  io.weight = 500;
  io.throttle_read_bps_device.push_back({8, 0, 1000});
  res.pids.emplace().limit = -1;
  res.hugepage_limits = {{"2MB", 2 << 20}};
  res.rdma["mlx5_0"] = {3, 4};
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("io.weight"), "default " + std::to_string(BlkioToIoWeight(500)));
  EXPECT_EQ(Read("io.weight"), "default 4950");
  EXPECT_EQ(Read("io.max"), "8:0 rbps=1000");
  EXPECT_EQ(Read("pids.max"), "max");
  EXPECT_EQ(Read("hugetlb.2MB.max"), std::to_string(2 << 20));
  EXPECT_EQ(Read("rdma.max"), "mlx5_0 hca_handle=3 hca_object=4");

  // v1's rate 0 ("no limit") is v2's "max"; BFQ keeps v1's weight scale.
  FakeCgroupFs::Put(dir_ + "/io.max", "");
  FakeCgroupFs::Put(dir_ + "/io.bfq.weight", "");
  res = {};
  res.block_io.emplace().weight = 500;
  res.block_io->throttle_write_iops_device.push_back({8, 0, 0});
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("io.max"), "8:0 wiops=max");
  EXPECT_EQ(Read("io.bfq.weight"), "default 500");

  res.block_io->leaf_weight = 10;
  auto leaf = Manager().Set(res);
  ASSERT_FALSE(leaf);
  EXPECT_NE(Msg(leaf).find("linux.resources.blockIO.leafWeight"), std::string::npos) << Msg(leaf);
}

TEST_F(CgroupsV2Set, UnifiedIsWrittenLastAndChecked) {
  spec::LinuxResources res;
  res.memory.emplace().limit = 64 << 20;               // memory.max "67108864"
  res.unified = {{"memory.max", "134217728"}, {"memory.high", "max"}};  // ...then this
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(Read("memory.max"), "134217728");
  EXPECT_EQ(Read("memory.high"), "max");

  for (const auto& [key, why] : std::vector<std::pair<std::string, std::string>>{
           {"cgroup.procs", "managed by the runtime"},
           {"cgroup.subtree_control", "managed by the runtime"},
           {"../memory.max", "a file name"},
           {"memory", "<controller>.<file>"},
           {"memory.nonexistent", "no such cgroup interface file"}}) {
    res.unified = {{key, "1"}};
    auto r = Manager().Set(res);
    ASSERT_FALSE(r) << key;
    EXPECT_NE(Msg(r).find("linux.resources.unified[\"" + key + "\"]"), std::string::npos)
        << Msg(r);
    EXPECT_NE(Msg(r).find(why), std::string::npos) << Msg(r);
  }
  // A bad key is refused before anything is written.
  FakeCgroupFs::Put(dir_ + "/memory.max", "");
  res.unified = {{"cgroup.kill", "1"}};
  ASSERT_FALSE(Manager().Set(res));
  EXPECT_EQ(Read("memory.max"), "");
}

TEST_F(CgroupsV2Set, NetworkDoesNotExistOnV2) {
  spec::LinuxResources res;
  res.network.emplace().class_id = 0x100001;
  auto r = Manager().Set(res);
  ASSERT_FALSE(r);
  EXPECT_NE(Msg(r).find("linux.resources.network"), std::string::npos) << Msg(r);
  EXPECT_NE(Msg(r).find("net_cls/net_prio do not exist on cgroup v2"), std::string::npos)
      << Msg(r);
}

TEST_F(CgroupsV2Set, EnableControllerWritesEveryAncestorRootFirst) {
  FakeCgroupFs::Put(dir_ + "/cgroup.controllers", "");  // nothing offered to us yet
  Offer("", "cpu memory pids");
  Offer("berth", "cpu memory pids");
  spec::LinuxResources res;
  res.pids.emplace().limit = 7;
  ASSERT_TRUE(Manager().Set(res)) << Msg(Manager().Set(res));
  EXPECT_EQ(FakeCgroupFs::Get(fake_.root() + "/cgroup.subtree_control"), "+pids");
  EXPECT_EQ(FakeCgroupFs::Get(fake_.root() + "/berth/cgroup.subtree_control"), "+pids");
  EXPECT_EQ(Read("pids.max"), "7");
  // Already enabled in an ancestor: not written again.
  FakeCgroupFs::Put(fake_.root() + "/cgroup.subtree_control", "cpu pids\n");
  FakeCgroupFs::Put(fake_.root() + "/berth/cgroup.subtree_control", "");
  ASSERT_TRUE(Manager().Set(res));
  EXPECT_EQ(FakeCgroupFs::Get(fake_.root() + "/cgroup.subtree_control"), "cpu pids\n");
  EXPECT_EQ(FakeCgroupFs::Get(fake_.root() + "/berth/cgroup.subtree_control"), "+pids");

  // A controller an ancestor does not offer: the error names the controller and the file.
  Offer("berth", "cpu pids");
  res = {};
  res.memory.emplace().limit = 1 << 20;
  auto r = Manager().Set(res);
  ASSERT_FALSE(r);
  EXPECT_EQ(Msg(r).rfind("linux.resources.memory: ", 0), 0u) << Msg(r);
  EXPECT_NE(Msg(r).find("controller \"memory\""), std::string::npos) << Msg(r);
  EXPECT_NE(Msg(r).find(fake_.root() + "/berth/cgroup.controllers"), std::string::npos) << Msg(r);
}

}  // namespace
}  // namespace berth::cgroups
