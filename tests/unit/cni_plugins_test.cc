// The CNI client against fake plugins (shell scripts the tests write): the CNI_*
// environment, prevResult chaining on ADD and from the cache on CHECK/DEL (1.0.0 and
// 0.3.1), DEL in reverse order and its idempotency, a DEL after the caller "crashed", a
// failing plugin and the undo of a failed ADD, a hanging plugin killed with its children,
// missing binaries, concurrent pods, and PodNetworking's loopback.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "cni/cni.h"
#include "sys/fs.h"
#include "test_util.h"

namespace berth::cni {
namespace {

using namespace std::chrono_literals;

const char* kR1 =
    R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/fake"}],"ips":[{"address":"10.9.0.2/24","gateway":"10.9.0.1","interface":0}]})";
const char* kR2 =
    R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/fake"}],"ips":[{"address":"10.9.0.2/24","gateway":"10.9.0.1","interface":0},{"address":"fd09::2/64"}]})";

struct Call {
  int seq;
  std::string command, plugin;
  Json in;
  std::map<std::string, std::string> env;
};

class CniPlugins : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto d : {"bin", "log", "cache", "conf"}) ASSERT_EQ(0, mkdir(dir_.Sub(d).c_str(), 0755));
    opts_.bin_dirs = {dir_.Sub("bin")};
    opts_.cache_dir = dir_.Sub("cache");
    opts_.plugin_timeout = 20s;
    rc_.container_id = "pod-1";
    rc_.netns = "/run/netns/fake";
    rc_.SetKubernetesArgs("default", "web", "pod-1", "uid-1");
    rc_.port_mappings = {{8080, 80, "tcp", "127.0.0.1"}};
  }

  // A plugin that logs each call (stdin, CNI_* env) and prints add_output on ADD; `hook`
  // runs after the logging (fail, hang, ...).
  void Plugin(const std::string& name, const std::string& add_output, const std::string& hook = "",
              bool log = true) {
    std::string path = dir_.Sub("bin/" + name);
    std::ofstream f(path);
    f << "#!/bin/sh\nLOG=" << dir_.Sub("log") << "\n";
    if (log) {
      f << "n=$(cat \"$LOG/seq\" 2>/dev/null || echo 0); n=$((n+1)); echo $n >\"$LOG/seq\"\n"
        << "cat >\"$LOG/$n-$CNI_COMMAND-" << name << ".in\"\n"
        << "env | grep '^CNI_' >\"$LOG/$n-$CNI_COMMAND-" << name << ".env\"\n";
    } else {
      f << "cat >/dev/null\n";
    }
    f << hook << "\n"
      << "if [ \"$CNI_COMMAND\" = ADD ]; then cat <<'EOF'\n"
      << add_output << "\nEOF\nfi\nexit 0\n";
    f.close();
    ASSERT_EQ(0, chmod(path.c_str(), 0755));
  }

  std::vector<Call> Calls() {
    std::vector<Call> out;
    auto names = sys::ListDir(dir_.Sub("log"));
    EXPECT_TRUE(names);
    for (auto& n : *names) {
      if (!n.ends_with(".in")) continue;
      Call c;
      std::string base = n.substr(0, n.size() - 3);
      std::istringstream parts(base);
      std::string seq;
      std::getline(parts, seq, '-');
      std::getline(parts, c.command, '-');
      std::getline(parts, c.plugin);
      c.seq = std::stoi(seq);
      auto in = sys::ReadFile(dir_.Sub("log/" + n));
      c.in = Json::parse(*in, nullptr, false);
      std::ifstream env(dir_.Sub("log/" + base + ".env"));
      for (std::string line; std::getline(env, line);) {
        auto eq = line.find('=');
        c.env[line.substr(0, eq)] = line.substr(eq + 1);
      }
      out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
    return out;
  }

  void ClearLog() {
    ASSERT_TRUE(sys::RemoveTree(dir_.Sub("log")));
    ASSERT_EQ(0, mkdir(dir_.Sub("log").c_str(), 0755));
  }

  static std::vector<std::string> Seq(const std::vector<Call>& calls) {
    std::vector<std::string> s;
    for (auto& c : calls) s.push_back(c.command + " " + c.plugin);
    return s;
  }

  Network Net(const std::string& version = "1.0.0", const std::string& extra = "") {
    auto l = ParseConfigList(
        R"({"cniVersion":")" + version + R"(","name":"fake-net")" + extra +
            R"(,"plugins":[{"type":"a","x":1},{"type":"b","capabilities":{"portMappings":true}}]})",
        "test", true);
    EXPECT_TRUE(l) << l.error().Message();
    return Network(*l, opts_);
  }

  bool CacheExists(const Network& n) {
    struct stat st;
    return stat(n.CachePath(rc_).c_str(), &st) == 0;
  }

  testutil::TempDir dir_{"cni-plugins"};
  Options opts_;
  RuntimeConf rc_;
};

TEST_F(CniPlugins, SetupChainsPrevResultPassesEnvAndCaches) {
  Plugin("a", kR1);
  Plugin("b", kR2);
  Network net = Net();
  auto r = net.Setup(rc_);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ("10.9.0.2", r->PrimaryIp());
  EXPECT_EQ((std::vector<std::string>{"fd09::2"}), r->AdditionalIps());
  auto calls = Calls();
  ASSERT_EQ((std::vector<std::string>{"ADD a", "ADD b"}), Seq(calls));
  // The list's name and version in each plugin's config; no prevResult for the first.
  EXPECT_EQ("fake-net", calls[0].in["name"]);
  EXPECT_EQ("1.0.0", calls[0].in["cniVersion"]);
  EXPECT_EQ(1, calls[0].in["x"]);
  EXPECT_FALSE(calls[0].in.contains("prevResult"));
  EXPECT_FALSE(calls[0].in.contains("runtimeConfig"));  // a enables no capability
  EXPECT_EQ(Json::parse(kR1), calls[1].in["prevResult"]);
  EXPECT_EQ(Json::parse(
                R"([{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}])"),
            calls[1].in["runtimeConfig"]["portMappings"]);
  auto& env = calls[0].env;
  EXPECT_EQ("ADD", env["CNI_COMMAND"]);
  EXPECT_EQ("pod-1", env["CNI_CONTAINERID"]);
  EXPECT_EQ("/run/netns/fake", env["CNI_NETNS"]);
  EXPECT_EQ("eth0", env["CNI_IFNAME"]);
  EXPECT_EQ(
      "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=pod-1;"
      "K8S_POD_UID=uid-1",
      env["CNI_ARGS"]);
  EXPECT_EQ(dir_.Sub("bin"), env["CNI_PATH"]);
  // Cached before Setup returned, private, and holding the chain's last result.
  EXPECT_EQ(dir_.Sub("cache/fake-net-pod-1-eth0"), net.CachePath(rc_));
  struct stat st;
  ASSERT_EQ(0, stat(net.CachePath(rc_).c_str(), &st));
  EXPECT_EQ(0600u, st.st_mode & 0777);
  auto cached = net.ReadCache(rc_);
  ASSERT_TRUE(cached && *cached);
  EXPECT_EQ(Json::parse(kR2), (*cached)->result->raw);
  EXPECT_EQ(rc_.port_mappings.size(), (*cached)->runtime.port_mappings.size());
}

TEST_F(CniPlugins, TeardownReversesWithPrevResultAndIsIdempotent) {
  Plugin("a", kR1);
  Plugin("b", kR2);
  Network net = Net();
  ASSERT_TRUE(net.Setup(rc_));
  ClearLog();
  auto t = net.Teardown(rc_);
  ASSERT_TRUE(t) << t.error().Message();
  auto calls = Calls();
  ASSERT_EQ((std::vector<std::string>{"DEL b", "DEL a"}), Seq(calls));
  for (auto& c : calls) EXPECT_EQ(Json::parse(kR2), c.in["prevResult"]) << c.plugin;
  EXPECT_TRUE(calls[0].in.contains("runtimeConfig"));  // portmap needs its mappings on DEL
  EXPECT_EQ("DEL", calls[0].env["CNI_COMMAND"]);
  EXPECT_FALSE(CacheExists(net));
  // Again: nothing cached, DEL without prevResult, still a success.
  ClearLog();
  t = net.Teardown(rc_);
  ASSERT_TRUE(t) << t.error().Message();
  calls = Calls();
  ASSERT_EQ((std::vector<std::string>{"DEL b", "DEL a"}), Seq(calls));
  for (auto& c : calls) EXPECT_FALSE(c.in.contains("prevResult"));
}

TEST_F(CniPlugins, TeardownOfANeverAddedContainerSucceeds) {
  Plugin("a", kR1);
  Plugin("b", kR2);
  rc_.netns.clear();  // the namespace may be gone already
  auto t = Net().Teardown(rc_);
  ASSERT_TRUE(t) << t.error().Message();
  auto calls = Calls();
  ASSERT_EQ((std::vector<std::string>{"DEL b", "DEL a"}), Seq(calls));
  EXPECT_EQ("", calls[0].env["CNI_NETNS"]);
  EXPECT_FALSE(calls[0].in.contains("prevResult"));
}

TEST_F(CniPlugins, TeardownAfterACrashUsesTheCachedConfigAndResult) {
  Plugin("a", kR1);
  Plugin("b", kR2);
  Plugin("c", kR1);
  {
    // The "crashed" caller: its objects are gone, only the cache file stays.
    Network first = Net();
    ASSERT_TRUE(first.Setup(rc_));
  }
  ClearLog();
  // A restarted caller whose config changed meanwhile (same network name, other plugins),
  // and which no longer knows the port mappings.
  auto changed = ParseConfigList(
      R"({"cniVersion":"1.0.0","name":"fake-net","plugins":[{"type":"c"}]})", "new", true);
  ASSERT_TRUE(changed);
  Network restarted(*changed, opts_);
  RuntimeConf rc;
  rc.container_id = rc_.container_id;
  auto t = restarted.Teardown(rc);
  ASSERT_TRUE(t) << t.error().Message();
  auto calls = Calls();
  ASSERT_EQ((std::vector<std::string>{"DEL b", "DEL a"}), Seq(calls));
  EXPECT_EQ(Json::parse(kR2), calls[0].in["prevResult"]);
  EXPECT_EQ(8080, calls[0].in["runtimeConfig"]["portMappings"][0]["hostPort"]);
  // The cached namespace path no longer exists (there never was one): DEL gets none.
  EXPECT_EQ("", calls[0].env["CNI_NETNS"]);
  EXPECT_NE(std::string::npos, calls[0].env["CNI_ARGS"].find("K8S_POD_NAME=web"));
  EXPECT_FALSE(CacheExists(restarted));
}

TEST_F(CniPlugins, Version031ChainsAddButDeletesWithoutPrevResultAndSkipsCheck) {
  Plugin("a", R"({"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.9.0.3/24"}]})");
  Plugin("b", R"({"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.9.0.3/24"}]})");
  Network net = Net("0.3.1");
  auto r = net.Setup(rc_);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ("10.9.0.3", r->PrimaryIp());
  auto calls = Calls();
  ASSERT_EQ(2u, calls.size());
  EXPECT_EQ("0.3.1", calls[1].in["prevResult"]["cniVersion"]);
  ClearLog();
  EXPECT_TRUE(net.Check(rc_));  // CHECK came with 0.4.0: nothing runs
  EXPECT_TRUE(Calls().empty());
  ASSERT_TRUE(net.Teardown(rc_));
  calls = Calls();
  ASSERT_EQ((std::vector<std::string>{"DEL b", "DEL a"}), Seq(calls));
  for (auto& c : calls) EXPECT_FALSE(c.in.contains("prevResult"));
}

TEST_F(CniPlugins, CheckPassesTheCachedResultInOrder) {
  Plugin("a", kR1);
  Plugin("b", kR2);
  Network net = Net("0.4.0");
  auto none = net.Check(rc_);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().IsNotFound()) << none.error().Message();
  ASSERT_TRUE(net.Setup(rc_));
  ClearLog();
  auto c = net.Check(rc_);
  ASSERT_TRUE(c) << c.error().Message();
  auto calls = Calls();
  ASSERT_EQ((std::vector<std::string>{"CHECK a", "CHECK b"}), Seq(calls));
  for (auto& call : calls) EXPECT_EQ(Json::parse(kR2), call.in["prevResult"]);
  // disableCheck: the runtime must not call CHECK.
  Network off = Net("0.4.0", R"(,"disableCheck":true)");
  ClearLog();
  EXPECT_TRUE(off.Check(rc_));
  EXPECT_TRUE(Calls().empty());
}

TEST_F(CniPlugins, AFailingPluginIsAnErrorAndTheAddIsUndone) {
  Plugin("a", kR1);
  Plugin("b", kR2,
         "if [ \"$CNI_COMMAND\" = ADD ]; then echo '{\"cniVersion\":\"1.0.0\",\"code\":11,"
         "\"msg\":\"range busy\",\"details\":\"try later\"}'; echo noise >&2; exit 1; fi");
  Network net = Net();
  auto r = net.Setup(rc_);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsUnavailable());
  std::string m = r.error().Message();
  for (const char* want : {"CNI ADD b", "pod-1", "fake-net", "range busy", "try later", "code 11"})
    EXPECT_NE(std::string::npos, m.find(want)) << want << " in " << m;
  // SPEC.md: DEL of the whole list (reverse), even of plugins the ADD did not reach.
  EXPECT_EQ((std::vector<std::string>{"ADD a", "ADD b", "DEL b", "DEL a"}), Seq(Calls()));
  EXPECT_FALSE(CacheExists(net));
}

TEST_F(CniPlugins, AResultThatIsNotJsonFailsTheAdd) {
  Plugin("a", "this is not json");
  Plugin("b", kR2);
  Network net = Net();
  auto r = net.Setup(rc_);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsInvalidArgument()) << r.error().Message();
  EXPECT_NE(std::string::npos, r.error().Message().find("CNI ADD a")) << r.error().Message();
  EXPECT_EQ((std::vector<std::string>{"ADD a", "DEL b", "DEL a"}), Seq(Calls()));
}

TEST_F(CniPlugins, AFailedDelKeepsTheCacheForTheRetry) {
  std::string marker = dir_.Sub("fail-del");
  Plugin("a", kR1);
  Plugin("b", kR2,
         "if [ \"$CNI_COMMAND\" = DEL ] && [ -e " + marker + " ]; then echo boom >&2; exit 3; fi");
  Network net = Net();
  ASSERT_TRUE(net.Setup(rc_));
  std::ofstream(marker) << "x";
  ClearLog();
  auto t = net.Teardown(rc_);
  ASSERT_FALSE(t);
  EXPECT_NE(std::string::npos, t.error().Message().find("CNI DEL b")) << t.error().Message();
  EXPECT_NE(std::string::npos, t.error().Message().find("exit status 3: boom"))
      << t.error().Message();
  EXPECT_EQ((std::vector<std::string>{"DEL b"}), Seq(Calls()));  // the list stops there
  EXPECT_TRUE(CacheExists(net));
  ASSERT_EQ(0, unlink(marker.c_str()));
  ClearLog();
  ASSERT_TRUE(net.Teardown(rc_));
  auto calls = Calls();
  ASSERT_EQ(2u, calls.size());
  EXPECT_EQ(Json::parse(kR2), calls[1].in["prevResult"]);  // still from the cache
  EXPECT_FALSE(CacheExists(net));
}

TEST_F(CniPlugins, AHangingPluginIsKilledWithItsChildren) {
  std::string pidfile = dir_.Sub("sleep.pid");
  Plugin("a", kR1);
  Plugin("b", kR2,
         "if [ \"$CNI_COMMAND\" = ADD ]; then sleep 1000 & echo $! >" + pidfile + "; wait; fi");
  opts_.plugin_timeout = 300ms;
  Network net = Net();
  auto r = net.Setup(rc_);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsDeadlineExceeded()) << r.error().Message();
  std::string m = r.error().Message();
  for (const char* want : {"CNI ADD b", "pod-1", "0.3 s", "killed", "/bin/b"})
    EXPECT_NE(std::string::npos, m.find(want)) << want << " in " << m;
  // The undo ran (b's DEL does not hang) and no cache was written.
  EXPECT_EQ((std::vector<std::string>{"ADD a", "ADD b", "DEL b", "DEL a"}), Seq(Calls()));
  EXPECT_FALSE(CacheExists(net));
  // The plugin's child (an IPAM plugin, say) died with it: gone, or a zombie awaiting init.
  auto pid_text = sys::ReadFile(pidfile);
  ASSERT_TRUE(pid_text);
  pid_t pid = std::stoi(*pid_text);
  bool dead = false;
  for (int i = 0; i < 500 && !dead; i++) {
    auto stat = sys::ReadFile("/proc/" + std::to_string(pid) + "/stat");
    dead = !stat || stat->find(") Z ") != std::string::npos;
    if (!dead) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(dead) << "the plugin's child " << pid << " still runs";
  if (!dead) kill(pid, SIGKILL);
}

TEST_F(CniPlugins, AMissingPluginFailsBeforeAnythingRuns) {
  Plugin("a", kR1);
  Network net = Net();  // b is missing
  auto r = net.Setup(rc_);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsNotFound());
  EXPECT_NE(std::string::npos, r.error().Message().find("\"b\" in " + dir_.Sub("bin")))
      << r.error().Message();
  EXPECT_TRUE(Calls().empty());
  EXPECT_FALSE(net.CheckPlugins());
}

TEST_F(CniPlugins, BadArgumentsRunNothing) {
  Plugin("a", kR1);
  Plugin("b", kR2);
  Network net = Net();
  RuntimeConf bad = rc_;
  bad.container_id = "../x";
  EXPECT_TRUE(net.Setup(bad).error().IsInvalidArgument());
  EXPECT_TRUE(net.Teardown(bad).error().IsInvalidArgument());
  bad = rc_;
  bad.ifname = "a/b";
  EXPECT_TRUE(net.Setup(bad).error().IsInvalidArgument());
  bad = rc_;
  bad.netns.clear();
  EXPECT_TRUE(net.Setup(bad).error().IsInvalidArgument());
  bad = rc_;
  bad.args.push_back({"K", "a;b"});
  EXPECT_TRUE(net.Setup(bad).error().IsInvalidArgument());
  opts_.cache_dir.clear();
  EXPECT_TRUE(Net().Setup(rc_).error().IsInvalidArgument());
  EXPECT_TRUE(Calls().empty());
}

TEST_F(CniPlugins, ConcurrentPods) {
  Plugin("a", kR1, "", false);
  Plugin("b", kR2, "", false);
  Network net = Net();
  std::vector<std::thread> threads;
  std::vector<std::string> errors(8);
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; i++) {
        RuntimeConf rc = rc_;
        rc.container_id = "pod-" + std::to_string(t) + "-" + std::to_string(i);
        auto s = net.Setup(rc);
        if (!s) errors[t] = s.error().Message();
        auto d = net.Teardown(rc);
        if (!d) errors[t] = d.error().Message();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (auto& e : errors) EXPECT_EQ("", e);
  auto left = sys::ListDir(dir_.Sub("cache"));
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
}

TEST_F(CniPlugins, PodNetworkingRunsLoopbackAroundTheNetwork) {
  Plugin(
      "loopback",
      R"({"cniVersion":"1.0.0","interfaces":[{"name":"lo","sandbox":"/run/netns/fake"}],"ips":[{"address":"127.0.0.1/8"}]})");
  Plugin("a", kR1);
  Plugin("b", kR2);
  PodNetworking none(dir_.Sub("conf"), opts_);
  auto status = none.Status();
  ASSERT_FALSE(status);
  EXPECT_TRUE(status.error().IsNotFound());
  EXPECT_NE(std::string::npos,
            status.error().Message().find("no network config found in " + dir_.Sub("conf")));
  EXPECT_TRUE(none.SetupPod(rc_).error().IsNotFound());
  std::ofstream(dir_.Sub("conf/10-fake.conflist"))
      << R"({"cniVersion":"1.0.0","name":"fake-net","plugins":[{"type":"a"},{"type":"b","capabilities":{"portMappings":true}}]})";
  ASSERT_TRUE(none.Reload());
  EXPECT_TRUE(none.Status());

  PodNetworking pods(dir_.Sub("conf"), opts_);
  auto r = pods.SetupPod(rc_);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ("10.9.0.2", r->PrimaryIp());  // the network's result, not lo's
  auto calls = Calls();
  ASSERT_EQ((std::vector<std::string>{"ADD loopback", "ADD a", "ADD b"}), Seq(calls));
  EXPECT_EQ("lo", calls[0].env["CNI_IFNAME"]);
  EXPECT_EQ("cni-loopback", calls[0].in["name"]);
  EXPECT_FALSE(calls[0].in.contains("runtimeConfig"));
  ClearLog();
  ASSERT_TRUE(pods.CheckPod(rc_));
  EXPECT_EQ((std::vector<std::string>{"CHECK loopback", "CHECK a", "CHECK b"}), Seq(Calls()));

  // The conf dir emptied meanwhile: teardown still finds the pod's network in the cache.
  ASSERT_EQ(0, unlink(dir_.Sub("conf/10-fake.conflist").c_str()));
  EXPECT_FALSE(pods.Reload());
  EXPECT_EQ(nullptr, pods.Current());
  ClearLog();
  auto t = pods.TeardownPod(rc_);
  ASSERT_TRUE(t) << t.error().Message();
  calls = Calls();
  ASSERT_EQ((std::vector<std::string>{"DEL b", "DEL a", "DEL loopback"}), Seq(calls));
  EXPECT_EQ(Json::parse(kR2), calls[0].in["prevResult"]);
  auto left = sys::ListDir(dir_.Sub("cache"));
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
  ClearLog();
  EXPECT_TRUE(pods.TeardownPod(rc_));  // again: only lo (no network, nothing cached)
  EXPECT_EQ((std::vector<std::string>{"DEL loopback"}), Seq(Calls()));
}

// berthd's way: lo is set up where the netns is made, the plugin never runs — except to DEL
// a lo entry an older berthd cached.
TEST_F(CniPlugins, PodNetworkingWithoutTheLoopbackPlugin) {
  Plugin("loopback", R"({"cniVersion":"1.0.0","ips":[{"address":"127.0.0.1/8"}]})");
  Plugin("a", kR1);
  std::ofstream(dir_.Sub("conf/10-fake.conflist"))
      << R"({"cniVersion":"1.0.0","name":"fake-net","plugins":[{"type":"a"}]})";
  Options with_lo = opts_;
  Options no_lo = opts_;
  no_lo.loopback_plugin = false;
  PodNetworking pods(dir_.Sub("conf"), no_lo);
  ASSERT_TRUE(pods.Status());
  ASSERT_TRUE(pods.SetupPod(rc_));
  ASSERT_TRUE(pods.CheckPod(rc_));
  ASSERT_TRUE(pods.TeardownPod(rc_));
  EXPECT_EQ((std::vector<std::string>{"ADD a", "CHECK a", "DEL a"}), Seq(Calls()));

  // A pod set up with the plugin (an older berthd): its cached lo entry is deleted too.
  ASSERT_TRUE(PodNetworking(dir_.Sub("conf"), with_lo).SetupPod(rc_));
  ClearLog();
  ASSERT_TRUE(pods.TeardownPod(rc_));
  EXPECT_EQ((std::vector<std::string>{"DEL a", "DEL loopback"}), Seq(Calls()));
  auto left = sys::ListDir(dir_.Sub("cache"));
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
}

TEST_F(CniPlugins, PodNetworkingUndoesLoopbackWhenTheNetworkFails) {
  Plugin("loopback", R"({"cniVersion":"1.0.0","ips":[{"address":"127.0.0.1/8"}]})");
  Plugin("a", kR1,
         "if [ \"$CNI_COMMAND\" = ADD ]; then echo '{\"code\":7,\"msg\":\"bad\"}'; exit 1; fi");
  std::ofstream(dir_.Sub("conf/10-fake.conflist"))
      << R"({"cniVersion":"1.0.0","name":"fake-net","plugins":[{"type":"a"}]})";
  PodNetworking pods(dir_.Sub("conf"), opts_);
  auto r = pods.SetupPod(rc_);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsInvalidArgument());
  EXPECT_EQ((std::vector<std::string>{"ADD loopback", "ADD a", "DEL a", "DEL loopback"}),
            Seq(Calls()));
  auto left = sys::ListDir(dir_.Sub("cache"));
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
}

}  // namespace
}  // namespace berth::cni
