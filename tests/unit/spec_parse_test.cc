// config.json parsing: every field, every type-error path, malformed JSON, round trips,
// and compatibility with the config runc generates.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "spec/default_spec.h"
#include "spec/parse.h"
#include "spec/validate.h"
#include "test_util.h"

namespace berth::spec {
namespace {

namespace fs = std::filesystem;

fs::path TestData(const std::string& name) {
  return fs::path(BERTH_TESTDATA_DIR) / "spec" / name;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using testutil::TempDir;

std::string ParseError(std::string_view json) {
  auto r = ParseSpec(json);
  if (r) return "(parsed)";
  return r.error().Message();
}

TEST(SpecParse, RichConfigHasEveryField) {
  auto r = ParseSpec(ReadFile(TestData("rich_config.json")));
  ASSERT_TRUE(r) << r.error().Message();
  const Spec& s = *r;
  EXPECT_EQ(s.oci_version, "1.2.0");
  ASSERT_TRUE(s.process);
  const Process& p = *s.process;
  EXPECT_TRUE(p.terminal);
  ASSERT_TRUE(p.console_size);
  EXPECT_EQ(p.console_size->height, 40u);
  EXPECT_EQ(p.console_size->width, 120u);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 1001u);
  EXPECT_EQ(p.user.umask, 18u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 27}));
  EXPECT_EQ(p.user.username, "alice");
  EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/app", "--flag", "value with spaces"}));
  EXPECT_EQ(p.env.size(), 3u);
  EXPECT_EQ(p.cwd, "/srv/app");
  ASSERT_TRUE(p.capabilities);
  EXPECT_EQ(p.capabilities->bounding.size(), 3u);
  EXPECT_EQ(p.capabilities->effective, std::vector<std::string>{"CAP_KILL"});
  EXPECT_EQ(p.capabilities->inheritable, std::vector<std::string>{"CAP_CHOWN"});
  EXPECT_EQ(p.capabilities->permitted.size(), 2u);
  EXPECT_EQ(p.capabilities->ambient, std::vector<std::string>{"CAP_NET_BIND_SERVICE"});
  ASSERT_EQ(p.rlimits.size(), 3u);
  EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(p.rlimits[0].hard, 1024u);
  EXPECT_EQ(p.rlimits[0].soft, 512u);
  EXPECT_EQ(p.rlimits[2].hard, UINT64_MAX);
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(p.apparmor_profile, "berth-default");
  EXPECT_EQ(p.oom_score_adj, 250);
  ASSERT_TRUE(p.scheduler);
  EXPECT_EQ(p.scheduler->policy, "SCHED_DEADLINE");
  EXPECT_EQ(p.scheduler->nice, -5);
  EXPECT_EQ(p.scheduler->priority, 0);
  EXPECT_EQ(p.scheduler->flags, std::vector<std::string>{"SCHED_FLAG_RESET_ON_FORK"});
  EXPECT_EQ(p.scheduler->runtime, 10000000u);
  EXPECT_EQ(p.scheduler->deadline, 20000000u);
  EXPECT_EQ(p.scheduler->period, 30000000u);
  EXPECT_EQ(p.selinux_label, "system_u:system_r:container_t:s0:c1,c2");
  ASSERT_TRUE(p.io_priority);
  EXPECT_EQ(p.io_priority->io_class, "IOPRIO_CLASS_BE");
  EXPECT_EQ(p.io_priority->priority, 4);

  ASSERT_TRUE(s.root);
  EXPECT_EQ(s.root->path, "rootfs");
  EXPECT_TRUE(s.root->readonly);
  EXPECT_EQ(s.hostname, "rich");
  EXPECT_EQ(s.domainname, "example.org");
  ASSERT_EQ(s.mounts.size(), 2u);
  EXPECT_EQ(s.mounts[1].destination, "/data");
  EXPECT_EQ(s.mounts[1].type, "bind");
  EXPECT_EQ(s.mounts[1].source, "/srv/data");
  EXPECT_EQ(s.mounts[1].options, (std::vector<std::string>{"rbind", "ro"}));
  ASSERT_EQ(s.mounts[1].uid_mappings.size(), 1u);
  EXPECT_EQ(s.mounts[1].uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(s.mounts[1].gid_mappings[0].host_id, 200000u);

  ASSERT_EQ(s.hooks.prestart.size(), 1u);
  EXPECT_EQ(s.hooks.prestart[0].path, "/usr/bin/prestart");
  EXPECT_EQ(s.hooks.prestart[0].args.size(), 2u);
  EXPECT_EQ(s.hooks.prestart[0].env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(s.hooks.prestart[0].timeout, 5);
  EXPECT_EQ(s.hooks.create_runtime.size(), 1u);
  EXPECT_EQ(s.hooks.create_container.size(), 1u);
  EXPECT_EQ(s.hooks.start_container.size(), 1u);
  EXPECT_EQ(s.hooks.poststart[0].timeout, 1);
  EXPECT_FALSE(s.hooks.create_runtime[0].timeout);
  EXPECT_EQ(s.hooks.poststop[0].args[1], "--all");
  EXPECT_EQ(s.annotations.at("org.example.key"), "value");

  ASSERT_TRUE(s.linux);
  const Linux& l = *s.linux;
  EXPECT_EQ(l.namespaces.size(), 8u);
  EXPECT_TRUE(s.HasNamespace("time"));
  EXPECT_EQ(l.uid_mappings.size(), 1u);
  ASSERT_EQ(l.gid_mappings.size(), 2u);
  EXPECT_EQ(l.gid_mappings[1].container_id, 65536u);
  EXPECT_EQ(l.time_offsets.at("monotonic").secs, 172800);
  EXPECT_EQ(l.time_offsets.at("monotonic").nanosecs, 500u);
  EXPECT_EQ(l.time_offsets.at("boottime").secs, -3600);
  ASSERT_EQ(l.devices.size(), 3u);
  EXPECT_EQ(l.devices[0].file_mode, 438u);
  EXPECT_EQ(l.devices[0].uid, 0u);
  EXPECT_FALSE(l.devices[1].file_mode);
  EXPECT_EQ(l.devices[2].type, "p");
  EXPECT_EQ(l.cgroups_path, "/berth/rich");

  ASSERT_TRUE(l.resources);
  const LinuxResources& res = *l.resources;
  ASSERT_EQ(res.devices.size(), 3u);
  EXPECT_FALSE(res.devices[0].allow);
  EXPECT_FALSE(res.devices[0].major);
  EXPECT_EQ(res.devices[1].major, 10);
  EXPECT_EQ(res.devices[2].major, 8);
  EXPECT_FALSE(res.devices[2].minor);
  ASSERT_TRUE(res.memory);
  EXPECT_EQ(res.memory->limit, 536870912);
  EXPECT_EQ(res.memory->reservation, 268435456);
  EXPECT_EQ(res.memory->swap, 1073741824);
  EXPECT_EQ(res.memory->kernel, -1);
  EXPECT_EQ(res.memory->kernel_tcp, 0);  // present and zero, not absent
  EXPECT_EQ(res.memory->swappiness, 60u);
  EXPECT_EQ(res.memory->disable_oom_killer, false);
  EXPECT_EQ(res.memory->use_hierarchy, true);
  EXPECT_EQ(res.memory->check_before_update, true);
  ASSERT_TRUE(res.cpu);
  EXPECT_EQ(res.cpu->shares, 1024u);
  EXPECT_EQ(res.cpu->quota, 50000);
  EXPECT_EQ(res.cpu->burst, 10000u);
  EXPECT_EQ(res.cpu->period, 100000u);
  EXPECT_EQ(res.cpu->realtime_runtime, 950000);
  EXPECT_EQ(res.cpu->realtime_period, 1000000u);
  EXPECT_EQ(res.cpu->cpus, "0-1");
  EXPECT_EQ(res.cpu->mems, "0");
  EXPECT_EQ(res.cpu->idle, 0);
  ASSERT_TRUE(res.pids);
  EXPECT_EQ(res.pids->limit, 512);
  ASSERT_TRUE(res.block_io);
  EXPECT_EQ(res.block_io->weight, 500);
  EXPECT_EQ(res.block_io->leaf_weight, 300);
  ASSERT_EQ(res.block_io->weight_device.size(), 2u);
  EXPECT_EQ(res.block_io->weight_device[0].leaf_weight, 100);
  EXPECT_FALSE(res.block_io->weight_device[1].leaf_weight);
  EXPECT_EQ(res.block_io->throttle_read_bps_device[0].rate, 1048576u);
  EXPECT_EQ(res.block_io->throttle_write_bps_device[0].rate, 2097152u);
  EXPECT_EQ(res.block_io->throttle_read_iops_device[0].rate, 100u);
  EXPECT_EQ(res.block_io->throttle_write_iops_device[0].minor, 16);
  ASSERT_EQ(res.hugepage_limits.size(), 2u);
  EXPECT_EQ(res.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(res.hugepage_limits[0].limit, 209715200u);
  ASSERT_TRUE(res.network);
  EXPECT_EQ(res.network->class_id, 1048577u);
  EXPECT_EQ(res.network->priorities[1].name, "lo");
  EXPECT_EQ(res.rdma.at("mlx5_1").hca_handles, 3u);
  EXPECT_FALSE(res.rdma.at("mlx4_0").hca_handles);
  EXPECT_EQ(res.unified.at("memory.high"), "400M");

  EXPECT_EQ(l.rootfs_propagation, "rslave");
  ASSERT_TRUE(l.seccomp);
  const Seccomp& sc = *l.seccomp;
  EXPECT_EQ(sc.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(sc.default_errno_ret, 1u);
  EXPECT_EQ(sc.architectures.size(), 3u);
  EXPECT_EQ(sc.flags, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
  EXPECT_EQ(sc.listener_path, "/run/seccomp-agent.sock");
  EXPECT_EQ(sc.listener_metadata, "container=rich");
  ASSERT_EQ(sc.syscalls.size(), 4u);
  EXPECT_EQ(sc.syscalls[0].names.size(), 3u);
  ASSERT_EQ(sc.syscalls[1].args.size(), 2u);
  EXPECT_EQ(sc.syscalls[1].args[1].index, 1u);
  EXPECT_EQ(sc.syscalls[1].args[1].value, 255u);
  EXPECT_EQ(sc.syscalls[1].args[1].value_two, 8u);
  EXPECT_EQ(sc.syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(sc.syscalls[3].errno_ret, 38u);
  EXPECT_FALSE(sc.syscalls[0].errno_ret);
  EXPECT_EQ(l.sysctl.at("kernel.shmmax"), "68719476736");
  EXPECT_EQ(l.masked_paths.size(), 2u);
  EXPECT_EQ(l.readonly_paths[1], "/proc/sysrq-trigger");
  EXPECT_EQ(l.mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
  ASSERT_TRUE(l.personality);
  EXPECT_EQ(l.personality->domain, "LINUX32");
  ASSERT_TRUE(l.intel_rdt);
  EXPECT_EQ(l.intel_rdt->clos_id, "guaranteed");
  EXPECT_EQ(l.intel_rdt->l3_cache_schema, "L3:0=7f0;1=1f");
  EXPECT_EQ(l.intel_rdt->mem_bw_schema, "MB:0=20;1=70");
}

TEST(SpecParse, RichConfigRoundTrips) {
  auto first = ParseSpec(ReadFile(TestData("rich_config.json")));
  ASSERT_TRUE(first) << first.error().Message();
  for (int indent : {-1, 0, 2}) {
    std::string text = ToJson(*first, indent);
    auto second = ParseSpec(text);
    ASSERT_TRUE(second) << second.error().Message() << "\n" << text;
    EXPECT_EQ(*first, *second) << text;
    EXPECT_EQ(ToJson(*second, indent), text);
  }
}

TEST(SpecParse, ToJsonOmitsAbsentFields) {
  Spec s;
  s.oci_version = "1.2.0";
  s.linux.emplace().resources.emplace().memory.emplace().limit = 0;
  std::string text = ToJson(s, -1);
  EXPECT_EQ(text, R"({"ociVersion":"1.2.0","linux":{"resources":{"memory":{"limit":0}}}})");
}

TEST(SpecParse, AbsentZeroAndMinusOneStayDistinct) {
  auto r = ParseSpec(R"({"linux":{"resources":{"memory":{"limit":-1,"swap":0}}}})");
  ASSERT_TRUE(r) << r.error().Message();
  const LinuxMemory& m = *r->linux->resources->memory;
  EXPECT_EQ(m.limit, -1);
  EXPECT_EQ(m.swap, 0);
  EXPECT_FALSE(m.reservation);
}

TEST(SpecParse, NullMeansAbsent) {
  auto r = ParseSpec(R"({"ociVersion":"1.2.0","process":null,"linux":{"seccomp":null,
                         "resources":{"memory":{"limit":null}}}})");
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_FALSE(r->process);
  EXPECT_FALSE(r->linux->seccomp);
  EXPECT_FALSE(r->linux->resources->memory->limit);
}

TEST(SpecParse, UnknownFieldsAreIgnored) {
  auto r = ParseSpec(R"({"ociVersion":"1.2.0","vm":{"kernel":{"path":"/k"}},
                         "process":{"args":["a"],"execCPUAffinity":{"initial":"0"}},
                         "linux":{"netDevices":{"eth0":{}}}})");
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(r->process->args, std::vector<std::string>{"a"});
}

struct TypeErrorCase {
  const char* json;
  const char* message;
};

TEST(SpecParse, TypeErrorsNameTheFullPath) {
  const TypeErrorCase cases[] = {
      {R"([])", "config.json: top level: expected an object, got an array"},
      {R"({"ociVersion": 1})", "config.json: ociVersion: expected a string, got an integer"},
      {R"({"process": []})", "config.json: process: expected an object, got an array"},
      {R"({"process": {"terminal": "yes"}})",
       "config.json: process.terminal: expected a boolean, got a string"},
      {R"({"process": {"consoleSize": {"height": "x"}}})",
       "config.json: process.consoleSize.height: expected an integer, got a string"},
      {R"({"process": {"user": {"uid": -1}}})",
       "config.json: process.user.uid: -1 is out of range (expected an integer in [0, "
       "4294967295])"},
      {R"({"process": {"user": {"gid": 4294967296}}})",
       "config.json: process.user.gid: 4294967296 is out of range (expected an integer in [0, "
       "4294967295])"},
      {R"({"process": {"user": {"additionalGids": [1, "2"]}}})",
       "config.json: process.user.additionalGids[1]: expected an integer, got a string"},
      {R"({"process": {"args": "sh"}})",
       "config.json: process.args: expected an array, got a string"},
      {R"({"process": {"args": ["sh", 1]}})",
       "config.json: process.args[1]: expected a string, got an integer"},
      {R"({"process": {"args": [null]}})",
       "config.json: process.args[0]: expected a value, got null"},
      {R"({"process": {"capabilities": {"ambient": [true]}}})",
       "config.json: process.capabilities.ambient[0]: expected a string, got a boolean"},
      {R"({"process": {"rlimits": [{"type": "RLIMIT_CORE", "hard": 1, "soft": 1},
                                   {"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1},
                                   {"type": "RLIMIT_NPROC", "hard": -1, "soft": 1}]}})",
       "config.json: process.rlimits[2].hard: -1 is out of range (expected an integer in [0, "
       "18446744073709551615])"},
      {R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1.5}]}})",
       "config.json: process.rlimits[0].soft: expected an integer, got a non-integer number "
       "(1.5)"},
      {R"({"process": {"oomScoreAdj": {}}})",
       "config.json: process.oomScoreAdj: expected an integer, got an object"},
      {R"({"process": {"scheduler": {"nice": 3000000000}}})",
       "config.json: process.scheduler.nice: 3000000000 is out of range (expected an integer in "
       "[-2147483648, 2147483647])"},
      {R"({"process": {"ioPriority": {"class": 2}}})",
       "config.json: process.ioPriority.class: expected a string, got an integer"},
      {R"({"root": {"readonly": "true"}})",
       "config.json: root.readonly: expected a boolean, got a string"},
      {R"({"mounts": [{"destination": "/a"}, {"options": ["ro", 7]}]})",
       "config.json: mounts[1].options[1]: expected a string, got an integer"},
      {R"({"mounts": [{"uidMappings": [{"size": -3}]}]})",
       "config.json: mounts[0].uidMappings[0].size: -3 is out of range (expected an integer in "
       "[0, 4294967295])"},
      {R"({"hooks": {"prestart": [{"path": "/x", "timeout": "5"}]}})",
       "config.json: hooks.prestart[0].timeout: expected an integer, got a string"},
      {R"({"hooks": {"createRuntime": {}}})",
       "config.json: hooks.createRuntime: expected an array, got an object"},
      {R"({"annotations": {"a.b": 1}})",
       "config.json: annotations[\"a.b\"]: expected a string, got an integer"},
      {R"({"linux": {"namespaces": [{"type": "pid"}, {"type": ["uts"]}]}})",
       "config.json: linux.namespaces[1].type: expected a string, got an array"},
      {R"({"linux": {"uidMappings": [{"hostID": "0"}]}})",
       "config.json: linux.uidMappings[0].hostID: expected an integer, got a string"},
      {R"({"linux": {"timeOffsets": {"monotonic": {"secs": "1"}}}})",
       "config.json: linux.timeOffsets[\"monotonic\"].secs: expected an integer, got a string"},
      {R"({"linux": {"devices": [{"path": "/dev/x", "fileMode": -1}]}})",
       "config.json: linux.devices[0].fileMode: -1 is out of range (expected an integer in [0, "
       "4294967295])"},
      {R"({"linux": {"resources": {"memory": {"limit": "1G"}}}})",
       "config.json: linux.resources.memory.limit: expected an integer, got a string"},
      {R"({"linux": {"resources": {"memory": {"limit": 18446744073709551615}}}})",
       "config.json: linux.resources.memory.limit: 18446744073709551615 is out of range "
       "(expected an integer in [-9223372036854775808, 9223372036854775807])"},
      {R"({"linux": {"resources": {"memory": {"disableOOMKiller": 1}}}})",
       "config.json: linux.resources.memory.disableOOMKiller: expected a boolean, got an integer"},
      {R"({"linux": {"resources": {"cpu": {"cpus": 3}}}})",
       "config.json: linux.resources.cpu.cpus: expected a string, got an integer"},
      {R"({"linux": {"resources": {"pids": {"limit": true}}}})",
       "config.json: linux.resources.pids.limit: expected an integer, got a boolean"},
      {R"({"linux": {"resources": {"blockIO": {"weight": 70000}}}})",
       "config.json: linux.resources.blockIO.weight: 70000 is out of range (expected an integer "
       "in [0, 65535])"},
      {R"({"linux": {"resources": {"blockIO": {"throttleReadIOPSDevice": [{"rate": -1}]}}}})",
       "config.json: linux.resources.blockIO.throttleReadIOPSDevice[0].rate: -1 is out of range "
       "(expected an integer in [0, 18446744073709551615])"},
      {R"({"linux": {"resources": {"hugepageLimits": [{"pageSize": 2}]}}})",
       "config.json: linux.resources.hugepageLimits[0].pageSize: expected a string, got an "
       "integer"},
      {R"({"linux": {"resources": {"network": {"priorities": [{"priority": "high"}]}}}})",
       "config.json: linux.resources.network.priorities[0].priority: expected an integer, got a "
       "string"},
      {R"({"linux": {"resources": {"rdma": {"mlx5_1": {"hcaHandles": "3"}}}}})",
       "config.json: linux.resources.rdma[\"mlx5_1\"].hcaHandles: expected an integer, got a "
       "string"},
      {R"({"linux": {"resources": {"unified": {"memory.max": 100}}}})",
       "config.json: linux.resources.unified[\"memory.max\"]: expected a string, got an integer"},
      {R"({"linux": {"resources": {"devices": [{"allow": "no"}]}}})",
       "config.json: linux.resources.devices[0].allow: expected a boolean, got a string"},
      {R"({"linux": {"seccomp": {"syscalls": [{"names": ["a"], "args": [{"index": 0},
                                                {"index": -1}]}]}}})",
       "config.json: linux.seccomp.syscalls[0].args[1].index: -1 is out of range (expected an "
       "integer in [0, 4294967295])"},
      {R"({"linux": {"seccomp": {"defaultErrnoRet": "EPERM"}}})",
       "config.json: linux.seccomp.defaultErrnoRet: expected an integer, got a string"},
      {R"({"linux": {"sysctl": {"net.ipv4.ip_forward": 1}}})",
       "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: expected a string, got an integer"},
      {R"({"linux": {"maskedPaths": "/proc"}})",
       "config.json: linux.maskedPaths: expected an array, got a string"},
      {R"({"linux": {"personality": {"domain": 1}}})",
       "config.json: linux.personality.domain: expected a string, got an integer"},
      {R"({"linux": {"intelRdt": {"closID": false}}})",
       "config.json: linux.intelRdt.closID: expected a string, got a boolean"},
  };
  for (const auto& c : cases) EXPECT_EQ(ParseError(c.json), c.message) << c.json;
}

TEST(SpecParse, MalformedJsonNamesTheByteOffset) {
  std::string msg = ParseError(R"({"ociVersion": "1.2.0",})");
  EXPECT_TRUE(msg.starts_with("config.json: byte 24: invalid JSON: ")) << msg;
  EXPECT_EQ(msg.find("json.exception"), std::string::npos) << msg;

  msg = ParseError("");
  EXPECT_TRUE(msg.starts_with("config.json: byte 1: invalid JSON: ")) << msg;

  msg = ParseError(R"({"a": 1} trailing)");  // fails where "true" stops matching
  EXPECT_TRUE(msg.starts_with("config.json: byte 12: invalid JSON: ")) << msg;

  // Invalid UTF-8 inside a string is a syntax error, not a crash later in ToJson.
  msg = ParseError("{\"hostname\": \"\xff\"}");
  EXPECT_TRUE(msg.starts_with("config.json: byte ")) << msg;
}

TEST(SpecParse, OriginNamesTheDocument) {
  auto p = ParseProcess(R"({"args": ["sh"], "user": {"uid": "root"}})");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().Message(), "process.json: user.uid: expected an integer, got a string");
  auto ok = ParseProcess(R"({"args": ["sh"], "cwd": "/tmp", "terminal": true})");
  ASSERT_TRUE(ok) << ok.error().Message();
  EXPECT_EQ(ok->cwd, "/tmp");
  EXPECT_TRUE(ok->terminal);

  auto r = ParseResources(R"({"memory": {"limit": 1048576}, "pids": {"limit": 10}})");
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(r->memory->limit, 1048576);
  EXPECT_EQ(r->pids->limit, 10);
  auto bad = ParseResources(R"({"cpu": {"quota": "x"}})", "update.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().Message(), "update.json: cpu.quota: expected an integer, got a string");
  EXPECT_EQ(bad.error().op, "cpu.quota");
}

TEST(SpecParse, LoadSpecReadsTheBundle) {
  TempDir dir;
  {
    std::ofstream f(dir.path() + "/config.json");
    f << R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"}, "hostname": "h"})";
  }
  auto r = LoadSpec(dir.path());
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(r->hostname, "h");
  EXPECT_EQ(r->root->path, "rootfs");
}

TEST(SpecParse, LoadSpecMissingFile) {
  TempDir dir;
  auto r = LoadSpec(dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().Message(), "open " + dir.path() + "/config.json: No such file or directory");
  EXPECT_EQ(r.error().code, ENOENT);
}

TEST(SpecParse, LoadSpecRejectsADirectory) {
  TempDir dir;
  fs::create_directory(dir.path() + "/config.json");
  auto r = LoadSpec(dir.path());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().Message().find(dir.path() + "/config.json"), std::string::npos);
}

TEST(SpecParse, RuncGeneratedConfigsParse) {
  for (const char* name : {"runc_spec.json", "runc_spec_rootless.json"}) {
    auto r = ParseSpec(ReadFile(TestData(name)));
    ASSERT_TRUE(r) << name << ": " << r.error().Message();
    EXPECT_EQ(r->oci_version, "1.0.2-dev");
    EXPECT_EQ(r->process->args, std::vector<std::string>{"sh"});
    EXPECT_EQ(r->mounts.size(), 7u);
    EXPECT_EQ(r->linux->masked_paths.size(), 10u);
    ValidateOptions opts;
    auto v = Validate(*r, opts);
    EXPECT_TRUE(v) << name << ": " << v.error().Message();
  }
}

// `berth spec` writes byte-for-byte what `runc spec` writes, except for ociVersion.
TEST(SpecParse, DefaultSpecMatchesRuncSpecText) {
  std::string runc = ReadFile(TestData("runc_spec.json"));
  std::string ours = DefaultSpecJson(false);
  std::string version = "\"ociVersion\": \"1.2.0\"";
  auto pos = ours.find(version);
  ASSERT_NE(pos, std::string::npos);
  ours.replace(pos, version.size(), "\"ociVersion\": \"1.0.2-dev\"");
  EXPECT_EQ(ours, runc);
}

TEST(SpecParse, DefaultRootlessSpecMatchesRunc) {
  auto runc = ParseSpec(ReadFile(TestData("runc_spec_rootless.json")));
  auto ours = ParseSpec(DefaultSpecJson(true));
  ASSERT_TRUE(runc && ours);
  EXPECT_EQ(ours->oci_version, "1.2.0");
  // The stored runc output was generated as root; ours maps the caller's ids.
  ASSERT_EQ(ours->linux->uid_mappings.size(), 1u);
  EXPECT_EQ(ours->linux->uid_mappings[0].host_id, ::geteuid());
  EXPECT_EQ(ours->linux->gid_mappings[0].host_id, ::getegid());
  runc->oci_version = ours->oci_version;
  runc->linux->uid_mappings = ours->linux->uid_mappings;
  runc->linux->gid_mappings = ours->linux->gid_mappings;
  EXPECT_EQ(*ours, *runc);
}

TEST(SpecParse, DefaultSpecsParseAndValidate) {
  for (bool rootless : {false, true}) {
    auto r = ParseSpec(DefaultSpecJson(rootless));
    ASSERT_TRUE(r) << r.error().Message();
    EXPECT_EQ(r->oci_version, "1.2.0");
    EXPECT_EQ(r->HasNamespace("user"), rootless);
    EXPECT_EQ(r->HasNamespace("network"), !rootless);
    ValidateOptions opts;
    auto v = Validate(*r, opts);
    EXPECT_TRUE(v) << v.error().Message();
  }
}

TEST(SpecParse, FindNamespace) {
  auto r = ParseSpec(R"({"linux": {"namespaces": [{"type": "pid"},
                         {"type": "network", "path": "/var/run/netns/x"}]}})");
  ASSERT_TRUE(r);
  ASSERT_NE(r->FindNamespace("network"), nullptr);
  EXPECT_EQ(r->FindNamespace("network")->path, "/var/run/netns/x");
  EXPECT_TRUE(r->HasNamespace("pid"));
  EXPECT_FALSE(r->HasNamespace("user"));
  Spec no_linux;
  EXPECT_EQ(no_linux.FindNamespace("pid"), nullptr);
}

// Present only where runc is installed: the live output must still parse and match.
TEST(SpecParse, LiveRuncSpecParses) {
  if (::access("/usr/bin/runc", X_OK) != 0 && ::access("/usr/sbin/runc", X_OK) != 0)
    GTEST_SKIP() << "runc not installed";
  TempDir dir;
  std::string cmd = "cd " + dir.path() + " && runc spec >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto runc = LoadSpec(dir.path());
  ASSERT_TRUE(runc) << runc.error().Message();
  auto ours = ParseSpec(DefaultSpecJson(false));
  ASSERT_TRUE(ours);
  runc->oci_version = ours->oci_version;
  EXPECT_EQ(*ours, *runc);
}

}  // namespace
}  // namespace berth::spec
