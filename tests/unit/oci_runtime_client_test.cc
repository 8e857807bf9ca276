// RuntimeClient: command lines from typed options, the state JSON, finding the binary, and
// whole calls against small fake runtimes (shell scripts that print what runc prints).
// The *Root tests run the real berth binary (BERTH, else the one beside this test binary)
// on a busybox bundle; runc's and crun's texts are checked against the installed binaries.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "oci/runtime_client.h"
#include "test_util.h"

namespace berth::oci {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

// The shared helper (detaches mounts inside, never crosses one) under this file's name.
struct TempDir : testutil::TempDir {
  TempDir() : testutil::TempDir("berth-oci-test") {}
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// An executable shell script at dir/name.
std::string Script(const std::string& dir, const std::string& name, const std::string& body) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
  return path;
}

// A result without its value, to check several calls in one loop.
template <class T>
Result<void> Void(const Result<T>& r) {
  if (!r) return std::unexpected(r.error());
  return {};
}

RuntimeClient Client(const std::string& binary, GlobalOptions g = {}) {
  return RuntimeClient(RuntimeClient::Config{binary, std::move(g), {}, {}});
}

TEST(OciRuntimeClient, CommandLinesFollowRunc) {
  GlobalOptions g;
  g.root = "/run/x";
  g.log = "/l.json";
  g.log_format = "json";
  g.debug = true;
  g.systemd_cgroup = true;
  auto c = Client("/bin/rt", g);
  Strings global{"/bin/rt", "--root", "/run/x", "--log", "/l.json", "--log-format", "json",
                 "--debug", "--systemd-cgroup"};
  auto with = [&](Strings rest) {
    Strings all = global;
    all.insert(all.end(), rest.begin(), rest.end());
    return all;
  };
  CreateOptions o;
  o.bundle = "/b";
  o.pid_file = "/p";
  o.console_socket = "/s";
  o.no_pivot = true;
  o.no_new_keyring = true;
  o.preserve_fds = 2;
  EXPECT_EQ(with({"create", "--bundle", "/b", "--console-socket", "/s", "--pid-file", "/p",
                  "--no-pivot", "--no-new-keyring", "--preserve-fds", "2", "web"}),
            c.CreateArgv("web", o));
  EXPECT_EQ(with({"run", "--bundle", "/b", "--console-socket", "/s", "--pid-file", "/p",
                  "--no-pivot", "--no-new-keyring", "--preserve-fds", "2", "--detach", "web"}),
            c.RunArgv("web", o, true));
  EXPECT_EQ(with({"start", "web"}), c.StartArgv("web"));
  EXPECT_EQ(with({"state", "web"}), c.StateArgv("web"));
  EXPECT_EQ(with({"kill", "--all", "web", "KILL"}), c.KillArgv("web", {"KILL", true}));
  EXPECT_EQ(with({"delete", "--force", "web"}), c.DeleteArgv("web", {true}));

  // Nothing set: nothing added (berth's and runc's defaults apply).
  auto plain = Client("berth");
  EXPECT_EQ((Strings{"berth", "run", "--bundle", "/b", "web"}), plain.RunArgv("web", {"/b"}, false));
  EXPECT_EQ((Strings{"berth", "kill", "web", "TERM"}), plain.KillArgv("web", {}));
  EXPECT_EQ((Strings{"berth", "delete", "web"}), plain.DeleteArgv("web", {}));
}

TEST(OciRuntimeClient, ParsesTheOciState) {
  auto s = ParseState(R"({"ociVersion":"1.2.0","id":"web","status":"running","pid":4242,
      "bundle":"/b","rootfs":"/b/rootfs","created":"2024-01-01T00:00:00Z","owner":"",
      "annotations":{"org.example":"v"}})");
  ASSERT_TRUE(s) << s.error().Message();
  EXPECT_EQ("1.2.0", s->oci_version);
  EXPECT_EQ("web", s->id);
  EXPECT_EQ("running", s->status);
  EXPECT_EQ(4242, s->pid);
  EXPECT_EQ("/b", s->bundle);
  EXPECT_EQ("v", s->annotations.at("org.example"));

  auto stopped = ParseState(R"({"id":"web","status":"stopped","pid":0,"bundle":"/b"})");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(0, stopped->pid);

  for (const char* bad : {"", "[]", "{", R"({"status":"running"})", R"({"id":"w"})",
                          R"({"id":1,"status":"running"})", R"({"id":"w","status":"x","pid":-1})",
                          R"({"id":"w","status":"x","pid":"1"})",
                          R"({"id":"w","status":"x","annotations":{"a":1}})"}) {
    auto r = ParseState(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) EXPECT_TRUE(r.error().IsInvalidArgument()) << bad;
  }
}

TEST(OciRuntimeClient, FindsExplicitPathThenPath) {
  TempDir t;
  std::string rt = Script(t.path(), "my-runtime", "exit 0\n");
  auto p = FindRuntime(rt);
  ASSERT_TRUE(p) << p.error().Message();
  EXPECT_EQ(rt, *p);

  auto missing = FindRuntime(t.path() + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
  EXPECT_NE(std::string::npos, missing.error().Message().find(t.path() + "/nope"));

  std::string old_path = getenv("PATH") ? getenv("PATH") : "";
  setenv("PATH", ("/nonexistent-dir:" + t.path()).c_str(), 1);
  auto by_name = FindRuntime("my-runtime");
  auto none = FindRuntime("no-such-runtime-xyz");
  setenv("PATH", old_path.c_str(), 1);
  ASSERT_TRUE(by_name) << by_name.error().Message();
  EXPECT_EQ(rt, *by_name);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().IsNotFound());

  // A directory or a file without x is not a runtime.
  std::string noexec = t.path() + "/noexec";
  std::ofstream(noexec) << "x";
  EXPECT_FALSE(FindRuntime(noexec));
  EXPECT_FALSE(FindRuntime(t.path()));
}

TEST(OciRuntimeClient, DefaultIsBerthBesideThisBinaryElseInPath) {
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string beside = self.substr(0, self.rfind('/')) + "/berth";
  TempDir t;
  std::string in_path = Script(t.path(), "berth", "exit 0\n");
  std::string old_path = getenv("PATH") ? getenv("PATH") : "";
  setenv("PATH", t.path().c_str(), 1);
  auto p = FindRuntime("");
  setenv("PATH", "/nonexistent-dir", 1);
  auto none = FindRuntime("");
  setenv("PATH", old_path.c_str(), 1);
  ASSERT_TRUE(p) << p.error().Message();
  if (access(beside.c_str(), X_OK) == 0) {
    EXPECT_EQ(beside, *p);
    EXPECT_TRUE(none);
  } else {
    EXPECT_EQ(in_path, *p);
    ASSERT_FALSE(none);
    EXPECT_TRUE(none.error().IsNotFound()) << none.error().Message();
  }
}

TEST(OciRuntimeClient, StateParsesStdoutOfTheRuntime) {
  TempDir t;
  std::string rt = Script(t.path(), "rt",
                          "echo \"$@\" > \"$0.args\"\n"
                          "echo 'time=\"t\" level=debug msg=\"noise on stderr\"' >&2\n"
                          "echo '{\"ociVersion\":\"1.0.2\",\"id\":\"web\",\"status\":\"created\","
                          "\"pid\":7,\"bundle\":\"/b\"}'\n");
  GlobalOptions g;
  g.root = t.path() + "/state";
  auto s = Client(rt, g).State("web");
  ASSERT_TRUE(s) << s.error().Message();
  EXPECT_EQ("created", s->status);
  EXPECT_EQ(7, s->pid);
  EXPECT_EQ("--root " + t.path() + "/state state web\n", ReadText(rt + ".args"));
}

TEST(OciRuntimeClient, RuntimeTextsBecomeKinds) {
  TempDir t;
  auto c = Client(Script(t.path(), "runc-like",
                         "echo 'time=\"2026-01-01T00:00:00Z\" level=error msg=\"container does not exist\"' >&2\n"
                         "exit 1\n"));
  for (auto r : {Void(c.State("web")), c.Kill("web"), c.Delete("web"),
                 c.Start("web")}) {
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().IsNotFound()) << r.error().Message();
    EXPECT_NE(std::string::npos, r.error().Message().find("runc-like")) << r.error().Message();
    EXPECT_NE(std::string::npos, r.error().Message().find("\"web\": container does not exist"))
        << r.error().Message();
  }
  auto stopped = Client(Script(t.path(), "berth-like",
                               "echo 'berth: kill \"web\": container is not running' >&2\nexit 1\n"));
  auto k = stopped.Kill("web");
  ASSERT_FALSE(k);
  EXPECT_TRUE(k.error().IsFailedPrecondition()) << k.error().Message();
  EXPECT_EQ(t.path() + "/berth-like kill \"web\": container is not running", k.error().Message());

  auto garbage = Client(Script(t.path(), "garbage", "echo 'not json'\n"));
  auto g = garbage.State("web");
  ASSERT_FALSE(g);
  EXPECT_TRUE(g.error().IsInternal()) << g.error().Message();
}

TEST(OciRuntimeClient, CreateReadsErrorsFromItsPrivateLog) {
  TempDir t;
  // Like runc: errors go to --log; stdout/stderr belong to the container.
  std::string rt = Script(t.path(), "rt",
                          "echo \"$@\" > \"$0.args\"\n"
                          "while [ $# -gt 0 ]; do [ \"$1\" = --log ] && log=$2; shift; done\n"
                          "echo container output; echo container error >&2\n"
                          "echo '{\"level\":\"error\",\"msg\":\"container with given ID already exists\"}' >> \"$log\"\n"
                          "exit 1\n");
  std::string tmp = t.path() + "/tmp";
  fs::create_directory(tmp);
  RuntimeClient c(RuntimeClient::Config{rt, {}, {}, tmp});
  CreateOptions o;
  o.bundle = "/b";
  auto r = c.Create("web", o);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsAlreadyExists()) << r.error().Message();
  EXPECT_EQ(rt + " create \"web\": container with given ID already exists", r.error().Message());
  std::string args = ReadText(rt + ".args");
  EXPECT_NE(std::string::npos, args.find("--log " + tmp + "/berth-oci-create-")) << args;
  EXPECT_NE(std::string::npos, args.find("--log-format json create --bundle /b web")) << args;
  EXPECT_TRUE(fs::is_empty(tmp)) << "the private log is removed";

  auto d = c.RunDetached("web", o);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().IsAlreadyExists());
  EXPECT_NE(std::string::npos, ReadText(rt + ".args").find("run --bundle /b --detach web"));
}

TEST(OciRuntimeClient, CallerLogOnlyThisCallsLines) {
  TempDir t;
  std::string log = t.path() + "/log.json";
  std::ofstream(log) << "{\"level\":\"error\",\"msg\":\"an older failure\"}\n";
  std::string rt = Script(t.path(), "rt",
                          "echo 'time=\"t\" level=error msg=\"container not running\"' >> " + log +
                              "\nexit 1\n");
  GlobalOptions g;
  g.log = log;
  auto k = Client(rt, g).Kill("web", {"KILL", false});
  ASSERT_FALSE(k);
  EXPECT_TRUE(k.error().IsFailedPrecondition()) << k.error().Message();
  EXPECT_EQ(std::string::npos, k.error().Message().find("older")) << k.error().Message();
}

TEST(OciRuntimeClient, HungRuntimeIsDeadlineExceeded) {
  TempDir t;
  std::string rt = Script(t.path(), "rt", "exec sleep 20\n");
  RuntimeClient c(RuntimeClient::Config{rt, {}, 300ms, t.path()});
  auto start = std::chrono::steady_clock::now();
  auto s = c.State("web");
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().IsDeadlineExceeded()) << s.error().Message();
  EXPECT_NE(std::string::npos, s.error().Message().find(rt + " state \"web\"")) << s.error().Message();
  CreateOptions o;
  o.bundle = "/b";
  auto cr = c.Create("web", o);
  ASSERT_FALSE(cr);
  EXPECT_TRUE(cr.error().IsDeadlineExceeded()) << cr.error().Message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(OciRuntimeClient, VanishedBinaryIsUnavailable) {
  auto c = Client("/nonexistent/berth");
  auto s = c.State("web");
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().IsUnavailable()) << s.error().Message();
  EXPECT_FALSE(s.error().IsNotFound());
  auto cr = c.Create("web", {"/b"});
  ASSERT_FALSE(cr);
  EXPECT_TRUE(cr.error().IsUnavailable()) << cr.error().Message();
}

TEST(OciRuntimeClient, SpawnRunIsForegroundWithTheCallersStdio) {
  TempDir t;
  std::string rt = Script(t.path(), "rt", "echo \"$@\" > \"$0.args\"; exit 5\n");
  auto p = Client(rt).SpawnRun("web", {"/b"});
  ASSERT_TRUE(p) << p.error().Message();
  auto st = p->Wait();
  ASSERT_TRUE(st);
  EXPECT_EQ(5, WEXITSTATUS(*st));
  EXPECT_EQ("run --bundle /b web\n", ReadText(rt + ".args"));
}

// --- real runtimes ---------------------------------------------------------------------

// BERTH, else the berth of this build (berth_unit_tests is in <build>/tests).
std::string BerthBinary() {
  if (const char* b = getenv("BERTH"); b && *b) return b;
  std::string self = fs::read_symlink("/proc/self/exe").string();
  return fs::path(self).parent_path().parent_path() / "berth";
}

std::string SourceDir() { return std::string(BERTH_TESTDATA_DIR) + "/../../.."; }

TEST(OciRuntimeClient, BerthLifecycleRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string berth = BerthBinary();
  if (berth.empty() || access(berth.c_str(), X_OK) != 0) GTEST_SKIP() << "no berth binary";
  TempDir t;
  std::string bundle = t.path() + "/bundle";
  std::string cmd = "BERTH=" + berth + " " + SourceDir() + "/scripts/make-bundle.sh " + bundle +
                    " sleep 60 >/dev/null 2>&1";
  if (system(cmd.c_str()) != 0) GTEST_SKIP() << "make-bundle.sh failed (busybox-static, jq?)";
  GlobalOptions g;
  g.root = t.path() + "/state";
  RuntimeClient c(RuntimeClient::Config{berth, g, 30s, t.path()});
  std::string id = "oci-unit-" + std::to_string(getpid());
  struct Cleanup {
    RuntimeClient& c;
    std::string id;
    ~Cleanup() { (void)c.Delete(id, {true}); }
  } cleanup{c, id};

  auto missing = c.State(id);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound()) << missing.error().Message();

  CreateOptions o;
  o.bundle = bundle;
  auto cr = c.Create(id, o);
  ASSERT_TRUE(cr) << cr.error().Message();
  auto s = c.State(id);
  ASSERT_TRUE(s) << s.error().Message();
  EXPECT_EQ(id, s->id);
  EXPECT_EQ("created", s->status);
  EXPECT_GT(s->pid, 0);
  EXPECT_EQ(bundle, s->bundle);

  auto again = c.Create(id, o);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsAlreadyExists()) << again.error().Message();

  ASSERT_TRUE(c.Start(id));
  s = c.State(id);
  ASSERT_TRUE(s);
  EXPECT_EQ("running", s->status);
  auto del_running = c.Delete(id);
  ASSERT_FALSE(del_running);
  EXPECT_TRUE(del_running.error().IsFailedPrecondition()) << del_running.error().Message();

  ASSERT_TRUE(c.Kill(id, {"KILL", false}));
  for (int i = 0; i < 100 && s && s->status != "stopped"; i++) {
    std::this_thread::sleep_for(50ms);
    s = c.State(id);
  }
  ASSERT_TRUE(s);
  EXPECT_EQ("stopped", s->status);
  auto kill_stopped = c.Kill(id);
  ASSERT_FALSE(kill_stopped);
  EXPECT_TRUE(kill_stopped.error().IsFailedPrecondition()) << kill_stopped.error().Message();

  auto del = c.Delete(id);
  ASSERT_TRUE(del) << del.error().Message();
  auto gone = c.State(id);
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().IsNotFound()) << gone.error().Message();
  auto kill_gone = c.Kill(id);
  ASSERT_FALSE(kill_gone);
  EXPECT_TRUE(kill_gone.error().IsNotFound()) << kill_gone.error().Message();
}

// runc 1.1 and crun 1.8 (Debian's) on a container that does not exist.
TEST(OciRuntimeClient, RuncAndCrunMissingContainerIsNotFoundRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  int checked = 0;
  for (const char* binary : {"/usr/sbin/runc", "/usr/bin/crun"}) {
    if (access(binary, X_OK) != 0) continue;
    TempDir t;
    GlobalOptions g;
    g.root = t.path() + "/state";
    auto c = Client(binary, g);
    for (auto r : {Void(c.State("berth-oci-missing")),
                   c.Kill("berth-oci-missing", {"KILL", false}), c.Delete("berth-oci-missing")}) {
      ASSERT_FALSE(r) << binary;
      EXPECT_TRUE(r.error().IsNotFound()) << r.error().Message();
      EXPECT_NE(std::string::npos, r.error().Message().find(binary)) << r.error().Message();
    }
    checked++;
  }
  if (checked == 0) GTEST_SKIP() << "neither runc nor crun is installed";
}

}  // namespace
}  // namespace berth::oci
