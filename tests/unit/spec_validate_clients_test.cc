// Values real clients write for "not set" (Docker 20.10's daemon, containerd's CRI plugin,
// CRI-O, podman), which runc accepts and writes nothing for: each must validate, while the
// real out-of-range values next to them are still refused with the field's name.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "spec/parse.h"
#include "spec/validate.h"

namespace berth::spec {
namespace {

Spec Base() {
  auto r = ParseSpec(R"({"ociVersion": "1.0.2-dev", "root": {"path": "rootfs"},
                         "process": {"args": ["sh"], "cwd": "/"},
                         "linux": {"namespaces": [{"type": "mount"}]}})");
  if (!r) ADD_FAILURE() << r.error().Message();
  return *r;
}

LinuxResources& Res(Spec& s) {
  if (!s.linux->resources) s.linux->resources.emplace();
  return *s.linux->resources;
}

std::string ReadTestData(const std::string& name) {
  std::ifstream f(std::filesystem::path(BERTH_TESTDATA_DIR) / "spec" / name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// What dockerd 20.10.24 (Debian's docker.io) wrote for `docker run --network none busybox
// sleep 100`, and with `--memory 64m --cpus 0.5 --pids-limit 77` (captured with runc; the
// data-root, exec-root and cgroup parent paths rewritten to Docker's defaults).
TEST(SpecValidateClients, DockerConfigsValidate) {
  for (const char* name : {"docker_20.10_config.json", "docker_20.10_limits_config.json"}) {
    auto s = ParseSpec(ReadTestData(name));
    ASSERT_TRUE(s) << name << ": " << s.error().Message();
    // The zeros this file is about are really in it.
    ASSERT_TRUE(s->linux && s->linux->resources && s->linux->resources->block_io) << name;
    EXPECT_EQ(s->linux->resources->block_io->weight, std::optional<uint16_t>{0}) << name;
    EXPECT_EQ(s->linux->resources->cpu->shares, std::optional<uint64_t>{0}) << name;
    EXPECT_EQ(s->linux->resources->memory->disable_oom_killer, std::optional<bool>{false});
    EXPECT_EQ(s->process->oom_score_adj, std::optional<int>{0}) << name;
    auto r = Validate(*s);
    EXPECT_TRUE(r) << name << ": " << r.error().Message();
  }
}

struct Case {
  const char* what;
  std::function<void(Spec&)> mutate;
};

TEST(SpecValidateClients, ZeroMeansUnsetAccepted) {
  const std::vector<Case> cases = {
      // Docker: HostConfig.BlkioWeight 0 ("--blkio-weight", default 0) into every config.
      {"blockIO.weight 0", [](Spec& s) { Res(s).block_io.emplace().weight = 0; }},
      {"blockIO.leafWeight 0", [](Spec& s) { Res(s).block_io.emplace().leaf_weight = 0; }},
      // Docker accepts "--blkio-weight-device /dev/sda:0".
      {"blockIO.weightDevice[0].weight 0",
       [](Spec& s) {
         Res(s).block_io.emplace().weight_device.push_back({8, 0, uint16_t{0}, {}});
       }},
      {"blockIO.weightDevice[0].leafWeight 0",
       [](Spec& s) {
         Res(s).block_io.emplace().weight_device.push_back({8, 0, {}, uint16_t{0}});
       }},
      // Docker: cpu.shares 0 always; CRI-O and old containerd CRI: shares/quota/period 0.
      {"cpu.shares 0", [](Spec& s) { Res(s).cpu.emplace().shares = 0; }},
      {"cpu.quota 0", [](Spec& s) { Res(s).cpu.emplace().quota = 0; }},
      {"cpu.period 0", [](Spec& s) { Res(s).cpu.emplace().period = 0; }},
      {"cpu.realtimeRuntime 0", [](Spec& s) { Res(s).cpu.emplace().realtime_runtime = 0; }},
      {"cpu.realtimePeriod 0", [](Spec& s) { Res(s).cpu.emplace().realtime_period = 0; }},
      // Old containerd CRI: memory.limit 0.
      {"memory.limit 0", [](Spec& s) { Res(s).memory.emplace().limit = 0; }},
      {"memory.reservation 0", [](Spec& s) { Res(s).memory.emplace().reservation = 0; }},
      {"memory.swap 0", [](Spec& s) { Res(s).memory.emplace().swap = 0; }},
      {"memory.kernel 0", [](Spec& s) { Res(s).memory.emplace().kernel = 0; }},
      {"memory.kernelTCP 0", [](Spec& s) { Res(s).memory.emplace().kernel_tcp = 0; }},
      // Docker before 20.10 sent --memory-swappiness's default -1 as uint64.
      {"memory.swappiness 2^64-1", [](Spec& s) { Res(s).memory.emplace().swappiness = UINT64_MAX; }},
      {"memory.swappiness 0 (a real value)", [](Spec& s) { Res(s).memory.emplace().swappiness = 0; }},
      // Docker: disableOOMKiller false for every container.
      {"memory.disableOOMKiller false",
       [](Spec& s) { Res(s).memory.emplace().disable_oom_killer = false; }},
      {"pids.limit 0", [](Spec& s) { Res(s).pids = LinuxPids{0}; }},
      // Docker writes -1 for "--pids-limit 0" or negative.
      {"pids.limit -1", [](Spec& s) { Res(s).pids = LinuxPids{-1}; }},
      // kubelet sends every page size with 0 ("none") unless the pod asked: a real limit.
      {"hugepageLimits 0", [](Spec& s) { Res(s).hugepage_limits.push_back({"2MB", 0}); }},
      {"network.classID 0", [](Spec& s) { Res(s).network.emplace().class_id = 0; }},
      // Docker: process.oomScoreAdj 0 for every container.
      {"process.oomScoreAdj 0", [](Spec& s) { s.process->oom_score_adj = 0; }},
  };
  for (const auto& c : cases) {
    Spec s = Base();
    c.mutate(s);
    auto r = Validate(s);
    EXPECT_TRUE(r) << c.what << ": " << r.error().Message();
  }
}

struct Refused {
  const char* what;
  std::function<void(Spec&)> mutate;
  std::string field, detail;
};

TEST(SpecValidateClients, RealOutOfRangeValuesRefused) {
  const std::string res = "linux.resources.";
  const std::vector<Refused> cases = {
      {"weight 5", [](Spec& s) { Res(s).block_io.emplace().weight = 5; }, res + "blockIO.weight",
       "5 is outside [10, 1000]"},
      {"weight 9", [](Spec& s) { Res(s).block_io.emplace().weight = 9; }, res + "blockIO.weight",
       "9 is outside [10, 1000]"},
      {"weight 1001", [](Spec& s) { Res(s).block_io.emplace().weight = 1001; },
       res + "blockIO.weight", "1001 is outside [10, 1000]"},
      {"weight 2000", [](Spec& s) { Res(s).block_io.emplace().weight = 2000; },
       res + "blockIO.weight", "2000 is outside [10, 1000]"},
      {"leafWeight 1", [](Spec& s) { Res(s).block_io.emplace().leaf_weight = 1; },
       res + "blockIO.leafWeight", "1 is outside [10, 1000]"},
      {"device weight 5",
       [](Spec& s) {
         Res(s).block_io.emplace().weight_device.push_back({8, 0, uint16_t{5}, {}});
       },
       res + "blockIO.weightDevice[0].weight", "5 is outside [10, 1000]"},
      {"device leafWeight 1001",
       [](Spec& s) {
         Res(s).block_io.emplace().weight_device.push_back({8, 0, {}, uint16_t{1001}});
       },
       res + "blockIO.weightDevice[0].leafWeight", "1001 is outside [10, 1000]"},
      {"swappiness 101", [](Spec& s) { Res(s).memory.emplace().swappiness = 101; },
       res + "memory.swappiness", "101 is outside [0, 100]"},
      {"swappiness 2^64-2", [](Spec& s) { Res(s).memory.emplace().swappiness = UINT64_MAX - 1; },
       res + "memory.swappiness", "18446744073709551614 is outside [0, 100]"},
      {"period 999", [](Spec& s) { Res(s).cpu.emplace().period = 999; }, res + "cpu.period",
       "999 is outside the kernel's range [1000, 1000000]"},
      {"period 1000001", [](Spec& s) { Res(s).cpu.emplace().period = 1000001; },
       res + "cpu.period", "1000001 is outside the kernel's range"},
      {"quota 999", [](Spec& s) { Res(s).cpu.emplace().quota = 999; }, res + "cpu.quota",
       "999 is neither -1 (unlimited) nor >= 1000"},
      {"quota -2", [](Spec& s) { Res(s).cpu.emplace().quota = -2; }, res + "cpu.quota",
       "-2 is neither"},
      {"pids -2", [](Spec& s) { Res(s).pids = LinuxPids{-2}; }, res + "pids.limit",
       "-2 is not a valid limit"},
      {"memory.limit -2", [](Spec& s) { Res(s).memory.emplace().limit = -2; },
       res + "memory.limit", "-2 is not a valid byte count"},
      {"memory.reservation -2", [](Spec& s) { Res(s).memory.emplace().reservation = -2; },
       res + "memory.reservation", "-2 is not a valid byte count"},
  };
  for (const auto& c : cases) {
    Spec s = Base();
    c.mutate(s);
    auto r = Validate(s);
    if (!r) {
      EXPECT_EQ(r.error().op, c.field) << c.what;
      EXPECT_EQ(r.error().Kind(), ErrorKind::kInvalidArgument) << c.what;
      EXPECT_TRUE(r.error().Message().starts_with("config.json: " + c.field + ": " + c.detail))
          << c.what << ": " << r.error().Message();
    } else {
      ADD_FAILURE() << c.what << " was accepted";
    }
  }
}

}  // namespace
}  // namespace berth::spec
