// Unprivileged tests of the cgroup layer: path rules, mountinfo parsing, v1→v2
// conversions and the device rules (including the eBPF program's semantics, run
// through a small interpreter of the instructions the generator emits).
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "cgroups/devices.h"
#include "cgroups/manager.h"
#include "cgroups/mounts.h"
#include "cgroups/v2.h"

namespace berth::cgroups {
namespace {

TEST(CgroupsPath, ResolvesAbsoluteRelativeAndDefault) {
  EXPECT_EQ(ResolveCgroupsPath("/a/b", "x").value(), "/a/b");
  EXPECT_EQ(ResolveCgroupsPath("a/b", "x").value(), "/berth/a/b");
  EXPECT_EQ(ResolveCgroupsPath("", "web").value(), "/berth/web");
  EXPECT_EQ(ResolveCgroupsPath("//a/./b/", "x").value(), "/a/b");
}

TEST(CgroupsPath, RejectsDotDotRootAndSystemd) {
  for (const char* p : {"/a/../b", "../x", "a/.."}) {
    auto r = ResolveCgroupsPath(p, "x");
    ASSERT_FALSE(r) << p;
    EXPECT_NE(r.error().Message().find("linux.cgroupsPath"), std::string::npos);
    EXPECT_NE(r.error().Message().find(".."), std::string::npos);
  }
  auto root = ResolveCgroupsPath("/", "x");
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().Message().find("root cgroup"), std::string::npos);
  // systemd's "slice:prefix:name" maps to the directory the systemd driver would use.
  EXPECT_EQ(ResolveCgroupsPath("system.slice:docker:abc", "x").value_or(""),
            "/system.slice/docker-abc.scope");
  EXPECT_EQ(ResolveCgroupsPath("machine-libpod_pod_1.slice:libpod:c1", "x").value_or(""),
            "/machine.slice/machine-libpod_pod_1.slice/libpod-c1.scope");
  EXPECT_EQ(ResolveCgroupsPath(":crio:c2", "x").value_or(""), "/system.slice/crio-c2.scope");
  auto sd = ResolveCgroupsPath("bad:docker:abc", "x");
  ASSERT_FALSE(sd);
  EXPECT_NE(sd.error().Message().find("linux.cgroupsPath"), std::string::npos);
  EXPECT_NE(sd.error().Message().find("not a slice name"), std::string::npos);
  EXPECT_FALSE(ResolveCgroupsPath("", "a/b"));
  EXPECT_FALSE(ResolveCgroupsPath("", ".."));
  auto opened = Open("/x/../y", "id", Mode::kV1);
  EXPECT_FALSE(opened);
}

TEST(CgroupsMounts, ParsesHybridMountinfo) {
  const std::string text =
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup "
      "rw,cpu,cpuacct\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
      "rw,xattr,name=systemd\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
      "41 22 0:31 / /mnt/with\\040space rw - cgroup cgroup rw,memory\n"
      "50 22 0:40 / /other rw - cgroup cgroup rw,noprefix,release_agent=/x,pids\n";
  auto m = ParseMountinfo(text, {"cpu", "cpuacct", "memory", "pids", "devices"});
  EXPECT_EQ(m.unified, "/sys/fs/cgroup/unified");
  ASSERT_EQ(m.v1.size(), 4u);
  EXPECT_EQ(m.v1[0].mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_TRUE(m.v1[0].Has("cpu"));
  EXPECT_TRUE(m.v1[0].Has("cpuacct"));
  EXPECT_EQ(m.v1[1].mountpoint, "/sys/fs/cgroup/memory");  // bind mount elsewhere ignored
  EXPECT_EQ(m.v1[2].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_EQ(m.v1[3].controllers, std::vector<std::string>{"pids"});
  EXPECT_EQ(UnescapeMountField("/mnt/with\\040space"), "/mnt/with space");
}

TEST(CgroupsMounts, HostHasSomeHierarchy) {
  const auto& m = HostMounts();
  EXPECT_TRUE(!m.v1.empty() || !m.unified.empty());
  if (DetectMode() == Mode::kV2) {
    EXPECT_FALSE(m.unified.empty());
  }
  EXPECT_STREQ(ModeName(Mode::kHybrid), "hybrid");
}

TEST(CgroupsConvert, SharesAndBlkioWeights) {
  EXPECT_EQ(SharesToWeight(2), 1u);
  EXPECT_EQ(SharesToWeight(1024), 39u);
  EXPECT_EQ(SharesToWeight(262144), 10000u);
  EXPECT_EQ(BlkioToIoWeight(10), 1u);
  EXPECT_EQ(BlkioToIoWeight(500), 4950u);
  EXPECT_EQ(BlkioToIoWeight(1000), 10000u);
}

spec::LinuxDeviceCgroup Dev(bool allow, std::string type, std::optional<int64_t> major,
                            std::optional<int64_t> minor, std::string access) {
  spec::LinuxDeviceCgroup d;
  d.allow = allow;
  d.type = std::move(type);
  d.major = major;
  d.minor = minor;
  d.access = std::move(access);
  return d;
}

TEST(CgroupsDevices, V1RuleStringsAndValidation) {
  auto rules = ParseDeviceRules(
      {Dev(false, "a", {}, {}, "rwm"), Dev(true, "c", 1, 3, "rw"), Dev(true, "b", 8, {}, "m")});
  ASSERT_TRUE(rules) << rules.error().Message();
  EXPECT_EQ(V1DeviceRule((*rules)[0]), "a *:* rwm");
  EXPECT_EQ(V1DeviceRule((*rules)[1]), "c 1:3 rw");
  EXPECT_EQ(V1DeviceRule((*rules)[2]), "b 8:* m");
  auto bad = ParseDeviceRules({Dev(true, "c", 1, 3, "rwx")});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().Message().find("linux.resources.devices[0].access"), std::string::npos);
  auto badtype = ParseDeviceRules({Dev(true, "p", 1, 3, "r")});
  ASSERT_FALSE(badtype);
  EXPECT_NE(badtype.error().Message().find("devices[0].type"), std::string::npos);
}

// Interpreter for the subset of eBPF that BuildDeviceProgram emits.
int RunProgram(const std::vector<struct bpf_insn>& prog, uint32_t type, uint32_t access,
               uint32_t major, uint32_t minor) {
  uint32_t ctx[3] = {(access << 16) | type, major, minor};
  uint64_t r[11] = {};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const auto& i = prog[pc];
    uint8_t cls = BPF_CLASS(i.code), op = BPF_OP(i.code);
    if (i.code == (BPF_LDX | BPF_MEM | BPF_W)) {
      EXPECT_EQ(i.src_reg, 1);
      r[i.dst_reg] = ctx[i.off / 4];
    } else if (cls == BPF_ALU || cls == BPF_ALU64) {
      uint64_t src =
          BPF_SRC(i.code) == BPF_X ? r[i.src_reg] : static_cast<uint64_t>(int64_t{i.imm});
      uint64_t& d = r[i.dst_reg];
      if (op == BPF_MOV)
        d = src;
      else if (op == BPF_AND)
        d &= src;
      else if (op == BPF_RSH)
        d >>= src;
      else
        ADD_FAILURE() << "unexpected alu op " << int(op);
      if (cls == BPF_ALU) d &= 0xffffffffu;
    } else if (i.code == (BPF_JMP | BPF_EXIT)) {
      return static_cast<int>(r[0]);
    } else if (cls == BPF_JMP) {
      uint64_t imm = static_cast<uint64_t>(int64_t{i.imm});
      bool take = op == BPF_JEQ ? r[i.dst_reg] == imm : op == BPF_JNE ? r[i.dst_reg] != imm : false;
      if (op != BPF_JEQ && op != BPF_JNE) ADD_FAILURE() << "unexpected jmp op";
      if (take) pc += i.off;
    } else {
      ADD_FAILURE() << "unexpected opcode " << int(i.code);
      return -1;
    }
  }
  ADD_FAILURE() << "fell off the program";
  return -1;
}

TEST(CgroupsDevices, BpfProgramLaterRulesWinPerAccessBit) {
  constexpr uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
  auto rules = ParseDeviceRules({
      Dev(false, "a", {}, {}, "rwm"),  // deny all
      Dev(true, "c", 1, {}, "rwm"),    // allow c 1:*
      Dev(false, "c", 1, 5, "w"),      // but not writing /dev/zero
      Dev(true, "b", 8, 0, "r"),       // read sda
      Dev(true, "a", {}, {}, "m"),     // mknod anything
  });
  ASSERT_TRUE(rules);
  auto p = BuildDeviceProgram(*rules);
  EXPECT_EQ(RunProgram(p, C, kAccRead | kAccWrite, 1, 3), 1);  // /dev/null rw
  EXPECT_EQ(RunProgram(p, C, kAccRead, 1, 5), 1);              // /dev/zero r
  EXPECT_EQ(RunProgram(p, C, kAccWrite, 1, 5), 0);             // /dev/zero w
  EXPECT_EQ(RunProgram(p, C, kAccRead | kAccWrite, 1, 5), 0);  // rw needs both bits
  EXPECT_EQ(RunProgram(p, C, kAccRead, 4, 1), 0);              // tty: default deny
  EXPECT_EQ(RunProgram(p, B, kAccRead, 8, 0), 1);
  EXPECT_EQ(RunProgram(p, B, kAccWrite, 8, 0), 0);
  EXPECT_EQ(RunProgram(p, B, kAccMknod, 8, 1), 1);
  EXPECT_EQ(RunProgram(p, C, kAccMknod, 1, 5), 1);

  auto empty = BuildDeviceProgram({});
  EXPECT_EQ(RunProgram(empty, C, kAccRead, 1, 3), 0);
  auto all = ParseDeviceRules({Dev(true, "", {}, {}, "")});
  ASSERT_TRUE(all);
  EXPECT_EQ(RunProgram(BuildDeviceProgram(*all), B, kAccRead | kAccWrite | kAccMknod, 8, 0), 1);
}

}  // namespace
}  // namespace berth::cgroups
