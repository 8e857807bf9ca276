// berthd's core pieces without gRPC or containers: the name registry (kubelet's retry), the
// durable records and their recovery rules, and the config file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "daemon/config.h"
#include "daemon/names.h"
#include "daemon/records.h"
#include "sys/fs.h"
#include "test_util.h"

namespace berth::daemon {
namespace {

using namespace std::chrono_literals;

TEST(DaemonNames, FirstCallerOwnsTheName) {
  NameRegistry n;
  auto c = n.Reserve("web_ns_uid_0", "d1", "pod sandbox", 0ms);
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_TRUE(c->owner);
  EXPECT_EQ(n.Size(), 1u);
}

TEST(DaemonNames, SameRequestAfterCommitGetsTheId) {
  NameRegistry n;
  ASSERT_TRUE(n.Reserve("a", "d1", "pod sandbox", 0ms));
  n.Commit("a", "id-1");
  auto again = n.Reserve("a", "d1", "pod sandbox", 0ms);
  ASSERT_TRUE(again) << again.error().Message();
  EXPECT_FALSE(again->owner);
  EXPECT_EQ(again->id, "id-1");
}

TEST(DaemonNames, DifferentRequestIsAlreadyExistsNamingTheHolder) {
  NameRegistry n;
  ASSERT_TRUE(n.Reserve("a", "d1", "container", 0ms));
  n.Commit("a", "id-1");
  auto other = n.Reserve("a", "d2", "container", 0ms);
  ASSERT_FALSE(other);
  EXPECT_TRUE(other.error().IsAlreadyExists());
  EXPECT_NE(other.error().Message().find("id-1"), std::string::npos) << other.error().Message();
}

TEST(DaemonNames, RetryWhileRunningJoinsTheFirstCall) {
  NameRegistry n;
  ASSERT_TRUE(n.Reserve("a", "d1", "pod sandbox", 0ms));
  std::thread first([&] {
    std::this_thread::sleep_for(100ms);
    n.Commit("a", "id-joined");
  });
  auto retry = n.Reserve("a", "d1", "pod sandbox", 5s);
  first.join();
  ASSERT_TRUE(retry) << retry.error().Message();
  EXPECT_FALSE(retry->owner);
  EXPECT_EQ(retry->id, "id-joined");
}

TEST(DaemonNames, RetryTimesOutWhileTheFirstStillRuns) {
  NameRegistry n;
  ASSERT_TRUE(n.Reserve("a", "d1", "pod sandbox", 0ms));
  auto retry = n.Reserve("a", "d1", "pod sandbox", 20ms);
  ASSERT_FALSE(retry);
  EXPECT_TRUE(retry.error().IsDeadlineExceeded());
}

TEST(DaemonNames, FailedFirstCallFreesTheNameAndTellsWaiters) {
  NameRegistry n;
  ASSERT_TRUE(n.Reserve("a", "d1", "pod sandbox", 0ms));
  std::thread first([&] {
    std::this_thread::sleep_for(50ms);
    n.Release("a");
  });
  auto retry = n.Reserve("a", "d1", "pod sandbox", 5s);
  first.join();
  ASSERT_FALSE(retry);
  EXPECT_TRUE(retry.error().Is(ErrorKind::kAborted));
  auto fresh = n.Reserve("a", "d2", "pod sandbox", 0ms);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->owner);
}

TEST(DaemonNames, RestoredNamesAnswerRetriesAfterARestart) {
  NameRegistry n;
  n.Restore("a", "id-disk", "d1");
  auto again = n.Reserve("a", "d1", "pod sandbox", 0ms);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, "id-disk");
  EXPECT_FALSE(n.Reserve("a", "d9", "pod sandbox", 0ms));
}

SandboxRecord Pod(const std::string& id, const std::string& state) {
  SandboxRecord r;
  r.id = id;
  r.ns = "k8s.io";
  r.name = "web_default_uid_0";
  r.digest = "abc";
  r.state = state;
  r.created_at = 1700000000123456789;
  r.config_json = R"({"metadata":{"name":"web"}})";
  r.runtime_handler = "berth";
  r.net_ns = "/run/berth/pods/k8s.io/" + id + "/ns/net";
  r.pause_pid = 42;
  r.ip = "10.87.0.2";
  r.additional_ips = {"fd00::2"};
  r.network_set_up = true;
  return r;
}

TEST(DaemonRecords, SandboxRoundTrip) {
  SandboxRecord r = Pod("p1", "ready");
  auto back = ParseSandboxRecord(ToJson(r), "pod.json");
  ASSERT_TRUE(back) << back.error().Message();
  EXPECT_EQ(back->id, "p1");
  EXPECT_EQ(back->created_at, r.created_at);
  EXPECT_EQ(back->net_ns, r.net_ns);
  EXPECT_EQ(back->pause_pid, 42);
  EXPECT_EQ(back->additional_ips, r.additional_ips);
  EXPECT_TRUE(back->network_set_up);
}

TEST(DaemonRecords, ContainerRoundTrip) {
  ContainerRecord c;
  c.id = "c1";
  c.ns = "k8s.io";
  c.pod_id = "p1";
  c.name = "n";
  c.digest = "d";
  c.state = "created";
  c.config_json = "{}";
  c.image_ref = "busybox";
  c.stop_signal = 2;
  c.cgroups_path = "/kubepods/x/c1";
  auto back = ParseContainerRecord(ToJson(c), "c.json");
  ASSERT_TRUE(back) << back.error().Message();
  EXPECT_EQ(back->stop_signal, 2);
  EXPECT_EQ(back->cgroups_path, "/kubepods/x/c1");
}

TEST(DaemonRecords, DamagedRecordsAreDataLoss) {
  for (std::string bad : {"", "{\"version\":1,", "[]", R"({"version":2})",
                          R"({"version":1,"id":"x"})"}) {
    auto r = ParseSandboxRecord(bad, "pod.json");
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().Is(ErrorKind::kDataLoss)) << bad;
  }
  SandboxRecord r = Pod("p1", "ready");
  std::string text = ToJson(r);
  text.replace(text.find("\"ready\""), 7, "\"weird\"");
  EXPECT_FALSE(ParseSandboxRecord(text, "pod.json"));
}

TEST(DaemonRecords, LoadAllSkipsAndSetsAsideWhatItCannotRead) {
  testutil::TempDir dir;
  MetaStore store(dir.path() + "/meta");
  ASSERT_TRUE(store.Save(Pod("good", "ready")));
  ASSERT_TRUE(store.Save(Pod("half", "creating")));
  std::string pods = dir.path() + "/meta/k8s.io/pods";
  ASSERT_TRUE(sys::WriteFileAtomic(pods + "/torn.json", "{\"version\":1,\"id\":", 0600));
  ASSERT_TRUE(sys::WriteFileAtomic(pods + "/other.json", ToJson(Pod("notother", "ready")), 0600));
  ASSERT_TRUE(sys::WriteFileAtomic(pods + "/good.json.tmp-1-2", "partial", 0600));
  auto loaded = store.LoadAll();
  ASSERT_TRUE(loaded) << loaded.error().Message();
  ASSERT_EQ(loaded->pods.size(), 2u);  // good and half (recovery undoes the creating one)
  EXPECT_EQ(loaded->skipped.size(), 2u);  // torn, and a record whose id is not its name
  EXPECT_EQ(::access((pods + "/torn.json.corrupt").c_str(), F_OK), 0);
  EXPECT_NE(::access((pods + "/good.json.tmp-1-2").c_str(), F_OK), 0) << "temp file left";
  // Set aside once: a second start reports nothing more.
  auto again = store.LoadAll();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->skipped.empty());
  ASSERT_TRUE(store.RemovePod("k8s.io", "good"));
  ASSERT_TRUE(store.RemovePod("k8s.io", "good")) << "removing twice is fine";
}

TEST(DaemonConfig, FileKeysAndImageLimits) {
  Config c;
  auto r = ParseConfigToml(c, R"(
[berthd]
listen = "unix:///tmp/x.sock"
root = "/srv/berth"
insecure_registries = ["127.0.0.1:5000"]
pull_stall_timeout = 5
[berthd.runtimes]
runc = "/usr/bin/runc"
[image]
max_layer_size = "1GiB"
)", "berth.toml");
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(c.listen, "unix:///tmp/x.sock");
  EXPECT_EQ(c.root, "/srv/berth");
  EXPECT_EQ(c.insecure_registries, std::vector<std::string>{"127.0.0.1:5000"});
  EXPECT_EQ(c.pull_stall_timeout.count(), 5);
  EXPECT_EQ(c.runtimes.at("runc"), "/usr/bin/runc");
  EXPECT_EQ(c.limits.max_layer_size, int64_t(1) << 30);
  EXPECT_TRUE(ValidateConfig(c));
}

TEST(DaemonConfig, ErrorsNameFileAndKey) {
  Config c;
  auto unknown = ParseConfigToml(c, "[berthd]\nlisten_addr = \"x\"\n", "berth.toml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().Message().find("berth.toml [berthd] listen_addr"), std::string::npos)
      << unknown.error().Message();
  auto type = ParseConfigToml(c, "[berthd]\nroot = 3\n", "berth.toml");
  ASSERT_FALSE(type);
  EXPECT_TRUE(type.error().IsInvalidArgument());
  auto table = ParseConfigToml(c, "[plugins]\n", "berth.toml");
  ASSERT_FALSE(table);
  auto syntax = ParseConfigToml(c, "[berthd\n", "berth.toml");
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.error().Message().find("berth.toml:1"), std::string::npos);
}

TEST(DaemonConfig, ValidateRefusesWhatCannotWork) {
  Config c;
  c.default_runtime = "kata";
  EXPECT_TRUE(ValidateConfig(c).error().IsInvalidArgument());
  c = Config{};
  c.cgroup_driver = "systemd";
  EXPECT_TRUE(ValidateConfig(c).error().IsUnimplemented());
  c = Config{};
  c.root = "relative";
  EXPECT_FALSE(ValidateConfig(c));
  c = Config{};
  c.log_level = "loud";
  EXPECT_FALSE(ValidateConfig(c));
}

TEST(DaemonConfig, MissingDefaultFileIsFineMissingGivenFileIsNot) {
  Config c;
  EXPECT_TRUE(LoadConfigFile(c, "/nonexistent/berth.toml", false));
  EXPECT_FALSE(LoadConfigFile(c, "/nonexistent/berth.toml", true));
}

}  // namespace
}  // namespace berth::daemon
