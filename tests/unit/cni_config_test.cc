// CNI config loading (conf dir order, .conf wrapping, invalid files, missing dir), result
// parsing (0.4.0 and 1.0.0), CNI_ARGS and runtimeConfig building, names the spec restricts,
// and the mapping of a plugin's error JSON to an Error.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>

#include "cni/cni.h"
#include "cni/internal.h"
#include "test_util.h"

namespace berth::cni {
namespace {

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

const char* kList = R"({"cniVersion":"1.0.0","name":"net-a","plugins":[
  {"type":"bridge","bridge":"b0","ipam":{"type":"host-local","subnet":"10.1.0.0/24"}},
  {"type":"portmap","capabilities":{"portMappings":true}}]})";

TEST(CniConfig, ParsesAList) {
  auto l = ParseConfigList(kList, "t", true);
  ASSERT_TRUE(l) << l.error().Message();
  EXPECT_EQ("net-a", l->name);
  EXPECT_EQ("1.0.0", l->cni_version);
  ASSERT_EQ(2u, l->plugins.size());
  EXPECT_EQ("bridge", l->plugins[0]["type"]);
  EXPECT_EQ("b0", l->plugins[0]["bridge"]);
  EXPECT_FALSE(l->disable_check);
}

TEST(CniConfig, WrapsASinglePluginConf) {
  auto l = ParseConfigList(R"({"cniVersion":"0.4.0","name":"one","type":"bridge","bridge":"x"})",
                           "t.conf", false);
  ASSERT_TRUE(l) << l.error().Message();
  EXPECT_EQ("one", l->name);
  EXPECT_EQ("0.4.0", l->cni_version);
  ASSERT_EQ(1u, l->plugins.size());
  EXPECT_EQ("x", l->plugins[0]["bridge"]);
  EXPECT_EQ("one", l->raw["name"]);
  EXPECT_TRUE(l->raw["plugins"].is_array());
}

TEST(CniConfig, DisableCheckAsBoolOrString) {
  auto a = ParseConfigList(
      R"({"cniVersion":"1.0.0","name":"n","disableCheck":true,"plugins":[{"type":"x"}]})", "t",
      true);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->disable_check);
  auto b = ParseConfigList(
      R"({"cniVersion":"1.0.0","name":"n","disableCheck":"true","plugins":[{"type":"x"}]})", "t",
      true);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->disable_check);
  auto c = ParseConfigList(
      R"({"cniVersion":"1.0.0","name":"n","disableCheck":"yes","plugins":[{"type":"x"}]})", "t",
      true);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().IsInvalidArgument());
}

struct BadCase {
  const char* json;
  const char* field;  // the message must name it
};

TEST(CniConfig, RejectsInvalidLists) {
  const BadCase cases[] = {
      {R"({"cniVersion":"1.0.0","plugins":[{"type":"x"}]})", "name"},
      {R"({"cniVersion":"1.0.0","name":"-bad","plugins":[{"type":"x"}]})", "name"},
      {R"({"cniVersion":"1.0.0","name":"a b","plugins":[{"type":"x"}]})", "name"},
      {R"({"name":"n","plugins":[{"type":"x"}]})", "cniVersion"},
      {R"({"cniVersion":"0.2.0","name":"n","plugins":[{"type":"x"}]})", "cniVersion"},
      {R"({"cniVersion":"9.9.9","name":"n","plugins":[{"type":"x"}]})", "cniVersion"},
      {R"({"cniVersion":"1.0.0","name":"n"})", "plugins"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[]})", "plugins"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"bridge":"x"}]})", "plugins[0].type"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x"},{"type":""}]})",
       "plugins[1].type"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]})",
       "plugins[0].type"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[3]})", "plugins[0]"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x","capabilities":[]}]})",
       "capabilities"},
      {R"([1,2])", "not a JSON object"},
      {R"({"cniVersion":)", "parse"},
  };
  for (auto& c : cases) {
    auto l = ParseConfigList(c.json, "/etc/x.conflist", true);
    ASSERT_FALSE(l) << c.json;
    EXPECT_TRUE(l.error().IsInvalidArgument()) << c.json;
    EXPECT_NE(std::string::npos, l.error().Message().find(c.field)) << l.error().Message();
    EXPECT_NE(std::string::npos, l.error().Message().find("/etc/x.conflist"))
        << l.error().Message();
  }
  // A .conf holding a list is a misnamed file: say so.
  auto misnamed = ParseConfigList(kList, "x.conf", false);
  ASSERT_FALSE(misnamed);
  EXPECT_NE(std::string::npos, misnamed.error().Message().find(".conflist"));
}

TEST(CniConfig, DirPicksTheFirstFileInLexicalOrder) {
  testutil::TempDir dir("cni-conf");
  Write(dir.Sub("20-b.conflist"), R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"x"}]})");
  Write(dir.Sub("10-a.conf"), R"({"cniVersion":"0.4.0","name":"a","type":"bridge"})");
  Write(dir.Sub("05-ignored.txt"), "not a config");
  Write(dir.Sub("01-ignored.conflist~"), "not a config");
  ASSERT_EQ(0, mkdir(dir.Sub("00-dir.conflist").c_str(), 0755));
  auto l = LoadConfigDir(dir.path());
  ASSERT_TRUE(l) << l.error().Message();
  EXPECT_EQ("a", l->name);  // 10-a.conf before 20-b.conflist; .conf wrapped as a list
  EXPECT_EQ(dir.Sub("10-a.conf"), l->source);
  ASSERT_EQ(1u, l->plugins.size());
  EXPECT_EQ("bridge", l->plugins[0]["type"]);
  Write(dir.Sub("09-c.json"), R"({"cniVersion":"1.0.0","name":"c","type":"ptp"})");
  l = LoadConfigDir(dir.path());
  ASSERT_TRUE(l) << l.error().Message();
  EXPECT_EQ("c", l->name);  // .json is a single-plugin config too
}

TEST(CniConfig, AnInvalidFirstFileIsAnErrorNamingIt) {
  testutil::TempDir dir("cni-conf");
  Write(dir.Sub("10-bad.conflist"), R"({"cniVersion":"1.0.0","name":"n","plugins":[{}]})");
  Write(dir.Sub("20-good.conflist"),
        R"({"cniVersion":"1.0.0","name":"g","plugins":[{"type":"x"}]})");
  auto l = LoadConfigDir(dir.path());
  ASSERT_FALSE(l);
  EXPECT_TRUE(l.error().IsInvalidArgument());
  EXPECT_NE(std::string::npos, l.error().Message().find("10-bad.conflist")) << l.error().Message();
  EXPECT_NE(std::string::npos, l.error().Message().find("plugins[0].type")) << l.error().Message();
}

TEST(CniConfig, NoConfigIsNotFoundWithTheReason) {
  testutil::TempDir dir("cni-conf");
  auto empty = LoadConfigDir(dir.path());
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().IsNotFound());
  EXPECT_NE(std::string::npos,
            empty.error().Message().find("no network config found in " + dir.path()))
      << empty.error().Message();
  auto missing = LoadConfigDir(dir.Sub("nope"));
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
  EXPECT_NE(std::string::npos,
            missing.error().Message().find("no network config found in " + dir.Sub("nope")))
      << missing.error().Message();
}

TEST(CniConfig, FindPluginSearchesTheDirsInOrder) {
  testutil::TempDir dir("cni-bin");
  ASSERT_EQ(0, mkdir(dir.Sub("a").c_str(), 0755));
  ASSERT_EQ(0, mkdir(dir.Sub("b").c_str(), 0755));
  Write(dir.Sub("a/noexec"), "#!/bin/sh\n");
  Write(dir.Sub("b/noexec"), "#!/bin/sh\n");
  ASSERT_EQ(0, chmod(dir.Sub("b/noexec").c_str(), 0755));
  auto p = FindPlugin("noexec", {dir.Sub("a"), dir.Sub("b")});
  ASSERT_TRUE(p) << p.error().Message();
  EXPECT_EQ(dir.Sub("b/noexec"), *p);  // a's copy is not executable
  auto missing = FindPlugin("bridgeX", {dir.Sub("a"), dir.Sub("b")});
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
  std::string m = missing.error().Message();
  EXPECT_NE(std::string::npos, m.find("bridgeX")) << m;
  EXPECT_NE(std::string::npos, m.find(dir.Sub("a") + ":" + dir.Sub("b"))) << m;
}

TEST(CniConfig, TheShippedDefaultConflistLoads) {
  auto l =
      LoadConfigFile(std::string(BERTH_TESTDATA_DIR) + "/../../../contrib/cni/10-berth.conflist");
  ASSERT_TRUE(l) << l.error().Message();
  EXPECT_EQ("berth", l->name);
  ASSERT_EQ(2u, l->plugins.size());
  EXPECT_EQ("bridge", l->plugins[0]["type"]);
  EXPECT_EQ("berth0", l->plugins[0]["bridge"]);
  EXPECT_EQ("host-local", l->plugins[0]["ipam"]["type"]);
  EXPECT_EQ("portmap", l->plugins[1]["type"]);
  RuntimeConf rc;
  rc.port_mappings = {{8080, 80, "tcp", ""}};
  EXPECT_TRUE(BuildRuntimeConfig(l->plugins[1], rc).contains("portMappings"));
}

TEST(CniConfig, ContainerIdAndIfNameRules) {
  EXPECT_TRUE(ValidateContainerId("abc-1_2.3"));
  EXPECT_TRUE(ValidateContainerId(std::string(64, 'f')));
  for (const char* bad : {"", "-a", ".a", "a/b", "a;b", "a b", "a=b"})
    EXPECT_FALSE(ValidateContainerId(bad)) << bad;
  EXPECT_TRUE(ValidateIfName("eth0"));
  EXPECT_TRUE(ValidateIfName("123456789012345"));
  for (const char* bad : {"", ".", "..", "1234567890123456", "a/b", "a:b", "a b", "a\tb"})
    EXPECT_FALSE(ValidateIfName(bad)) << bad;
}

TEST(CniConfig, Versions) {
  EXPECT_TRUE(internal::AtLeast("0.4.0", 0, 4));
  EXPECT_TRUE(internal::AtLeast("1.0.0", 0, 4));
  EXPECT_FALSE(internal::AtLeast("0.3.1", 0, 4));
  EXPECT_TRUE(internal::AtLeast("0.3.1", 0, 3));
  EXPECT_FALSE(internal::AtLeast("x", 0, 1));
  EXPECT_FALSE(internal::ParseVersion("1.0"));
  EXPECT_FALSE(internal::ParseVersion("1.0.0.0"));
  EXPECT_FALSE(internal::ParseVersion("1..0"));
}

TEST(CniResult, Parses040) {
  auto r = ParseResult(R"({"cniVersion":"0.4.0",
    "interfaces":[{"name":"cni0","mac":"00:11:22:33:44:55"},{"name":"eth0","mac":"aa:bb:cc:dd:ee:ff","sandbox":"/run/netns/x"}],
    "ips":[{"version":"6","address":"fd00::5/64","gateway":"fd00::1","interface":1},
           {"version":"4","address":"10.0.0.5/24","gateway":"10.0.0.1","interface":1}],
    "routes":[{"dst":"0.0.0.0/0","gw":"10.0.0.1"},{"dst":"10.9.0.0/16"}],
    "dns":{"nameservers":["10.0.0.1"],"domain":"local","search":["a","b"],"options":["ndots:5"]}})");
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ("0.4.0", r->cni_version);
  ASSERT_EQ(2u, r->interfaces.size());
  EXPECT_EQ("/run/netns/x", r->interfaces[1].sandbox);
  ASSERT_EQ(2u, r->ips.size());
  EXPECT_EQ(6, r->ips[0].version);
  EXPECT_EQ(4, r->ips[1].version);
  EXPECT_EQ("10.0.0.1", r->ips[1].gateway);
  EXPECT_EQ(1, r->ips[1].interface);
  ASSERT_EQ(2u, r->routes.size());
  EXPECT_EQ("", r->routes[1].gw);
  EXPECT_EQ("local", r->dns.domain);
  EXPECT_EQ((std::vector<std::string>{"a", "b"}), r->dns.search);
  EXPECT_EQ((std::vector<std::string>{"ndots:5"}), r->dns.options);
  // berthd's PodSandboxStatus: the first IPv4 is the pod IP, the rest are additional.
  EXPECT_EQ("10.0.0.5", r->PrimaryIp());
  EXPECT_EQ((std::vector<std::string>{"fd00::5"}), r->AdditionalIps());
}

TEST(CniResult, Parses100WithoutIpVersions) {
  auto r = ParseResult(
      R"({"cniVersion":"1.0.0","ips":[{"address":"fd00::7/64"},{"address":"10.88.0.7/16","gateway":"10.88.0.1"},{"address":"10.89.0.7/16"}]})");
  ASSERT_TRUE(r) << r.error().Message();
  ASSERT_EQ(3u, r->ips.size());
  EXPECT_EQ(6, r->ips[0].version);
  EXPECT_EQ(4, r->ips[1].version);
  EXPECT_EQ(-1, r->ips[1].interface);
  EXPECT_EQ("10.88.0.7", r->PrimaryIp());
  EXPECT_EQ((std::vector<std::string>{"fd00::7", "10.89.0.7"}), r->AdditionalIps());
  auto v6only = ParseResult(R"({"cniVersion":"1.0.0","ips":[{"address":"fd00::7/64"}]})");
  ASSERT_TRUE(v6only);
  EXPECT_EQ("fd00::7", v6only->PrimaryIp());
  EXPECT_TRUE(v6only->AdditionalIps().empty());
  auto none = ParseResult(R"({"cniVersion":"1.0.0"})");
  ASSERT_TRUE(none);
  EXPECT_EQ("", none->PrimaryIp());
}

TEST(CniResult, RejectsMalformedResults) {
  for (const char* bad :
       {R"([])", R"({"ips":{}})", R"({"ips":[{"address":"10.0.0.1"}]})",
        R"({"ips":[{"address":"10.0.0.1/8","version":"5"}]})",
        R"({"ips":[{"address":"10.0.0.1/8","interface":-1}]})", R"({"interfaces":[{"name":3}]})",
        R"({"dns":{"nameservers":"x"}})", "{"}) {
    auto r = ParseResult(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().IsInvalidArgument()) << bad;
  }
}

TEST(CniArgs, KubernetesArgsAndValidation) {
  RuntimeConf rc;
  rc.container_id = "c1";
  rc.SetKubernetesArgs("default", "web-0", "c1", "u-1");
  auto s = BuildCniArgs(rc);
  ASSERT_TRUE(s) << s.error().Message();
  EXPECT_EQ(
      "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;"
      "K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u-1",
      *s);
  rc.args.push_back({"X", "a;b"});
  auto bad = BuildCniArgs(rc);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().IsInvalidArgument());
  rc.args.back() = {"X=Y", "1"};
  EXPECT_FALSE(BuildCniArgs(rc));
  rc.args.back() = {"X", ""};
  EXPECT_FALSE(BuildCniArgs(rc));
}

TEST(CniArgs, RuntimeConfigOnlyForEnabledCapabilities) {
  RuntimeConf rc;
  rc.port_mappings = {{8080, 80, "tcp", "127.0.0.1"}, {5353, 53, "udp", ""}};
  rc.bandwidth = Bandwidth{1000, 2000, 0, 0};
  rc.ip_ranges = {{"10.5.0.0/24", "", "", "10.5.0.1"}};
  Json portmap =
      Json::parse(R"({"type":"portmap","capabilities":{"portMappings":true,"bandwidth":false}})");
  Json rt = BuildRuntimeConfig(portmap, rc);
  EXPECT_EQ(Json::parse(R"({"portMappings":[
      {"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"},
      {"hostPort":5353,"containerPort":53,"protocol":"udp"}]})"),
            rt);
  Json bw = Json::parse(R"({"type":"bandwidth","capabilities":{"bandwidth":true}})");
  EXPECT_EQ(Json::parse(R"({"bandwidth":{"ingressRate":1000,"ingressBurst":2000}})"),
            BuildRuntimeConfig(bw, rc));
  Json ipam = Json::parse(R"({"type":"bridge","capabilities":{"ipRanges":true}})");
  EXPECT_EQ(Json::parse(R"({"ipRanges":[[{"subnet":"10.5.0.0/24","gateway":"10.5.0.1"}]]})"),
            BuildRuntimeConfig(ipam, rc));
  EXPECT_TRUE(BuildRuntimeConfig(Json::parse(R"({"type":"bridge"})"), rc).empty());
  // Enabled, but the caller has nothing for it: no key.
  RuntimeConf none;
  EXPECT_TRUE(BuildRuntimeConfig(portmap, none).empty());
  // What the cache keeps comes back the same.
  RuntimeConf back;
  ASSERT_TRUE(internal::CapabilityArgsFromJson(internal::CapabilityArgs(rc), back));
  EXPECT_EQ(internal::CapabilityArgs(rc), internal::CapabilityArgs(back));
}

internal::PluginOutput Exited(int code, std::string out, std::string err = {}) {
  internal::PluginOutput o;
  o.wait_status = code << 8;  // as WEXITSTATUS reads it
  o.out = std::move(out);
  o.err = std::move(err);
  return o;
}

TEST(CniError, PluginErrorJsonBecomesAnError) {
  auto list = ParseConfigList(kList, "t", true);
  ASSERT_TRUE(list);
  RuntimeConf rc;
  rc.container_id = "pod-1";
  Error e = PluginFailure(
      "ADD", "bridge", *list, rc,
      Exited(
          1,
          R"({"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"bridge name too long"})"));
  EXPECT_TRUE(e.IsInvalidArgument());
  std::string m = e.Message();
  for (const char* want :
       {"CNI ADD bridge", "pod-1", "net-a", "bad config", "bridge name too long", "code 7"})
    EXPECT_NE(std::string::npos, m.find(want)) << want << " in " << m;
  EXPECT_TRUE(PluginFailure("DEL", "x", *list, rc, Exited(1, R"({"code":11,"msg":"busy"})"))
                  .IsUnavailable());
  EXPECT_TRUE(
      PluginFailure("DEL", "x", *list, rc, Exited(1, R"({"code":3,"msg":"gone"})")).IsNotFound());
  EXPECT_TRUE(PluginFailure("ADD", "x", *list, rc, Exited(1, R"({"code":1,"msg":"v"})"))
                  .IsFailedPrecondition());
  Error internal =
      PluginFailure("ADD", "host-local", *list, rc,
                    Exited(1, R"({"code":999,"msg":"no IP addresses available in range set"})"));
  EXPECT_TRUE(internal.IsInternal());
  EXPECT_NE(std::string::npos, internal.Message().find("no IP addresses available"))
      << internal.Message();
  // No error JSON: the exit status and the last line of stderr.
  Error raw = PluginFailure("ADD", "bridge", *list, rc, Exited(2, "", "starting\npanic: oops\n\n"));
  EXPECT_TRUE(raw.IsInternal());
  EXPECT_NE(std::string::npos, raw.Message().find("exit status 2: panic: oops")) << raw.Message();
  internal::PluginOutput killed;
  killed.wait_status = SIGSEGV;
  EXPECT_NE(std::string::npos,
            PluginFailure("ADD", "bridge", *list, rc, killed).Message().find("signal 11"));
}

}  // namespace
}  // namespace berth::cni
