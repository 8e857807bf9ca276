// The state store under a temporary --root (no privileges needed): ids, the directory per
// container, state.json round trips, missing and half-created containers, the status derived
// from the live process, and the runtime-spec state document.
#include "runtime/state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spec/spec.h"
#include "sys/process.h"
#include "test_util.h"

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(RuntimeStateId, AcceptsRuncsCharacterSet) {
  for (const char* id : {"a", "web", "Web-1", "a.b_c+d-e", "0123456789", "..a", "a.."})
    EXPECT_TRUE(ValidateId(id)) << id;
  EXPECT_TRUE(ValidateId(std::string(1024, 'x')));
}

TEST(RuntimeStateId, RefusesIdsThatCouldEscapeTheRoot) {
  for (const char* id : {".", "..", "a/b", "/abs", "../x", "a b", "a\nb", "tab\t", "semi;colon",
                         "quote\"", "star*", "dollar$", "caf\xc3\xa9"}) {
    auto r = ValidateId(id);
    ASSERT_FALSE(r) << id;
    EXPECT_NE(r.error().Message().find("invalid container id"), std::string::npos)
        << r.error().Message();
  }
  auto empty = ValidateId("");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().Message().find("must not be empty"), std::string::npos);
  auto slash = ValidateId("a/b");
  ASSERT_FALSE(slash);
  EXPECT_NE(slash.error().Message().find("\"a/b\""), std::string::npos) << slash.error().Message();
  // An overlong id is cut in the message, not printed whole.
  auto longer = ValidateId(std::string(1025, 'x'));
  ASSERT_FALSE(longer);
  EXPECT_NE(longer.error().Message().find("too long"), std::string::npos);
  EXPECT_LT(longer.error().Message().size(), 200u);
}

class RuntimeStateStore : public ::testing::Test {
 protected:
  testutil::TempDir tmp_{"berth-state-test"};
  // Parents that do not exist yet, as containerd's shim passes them.
  const std::string root_ = tmp_.Sub("run/berth/ns");
  StateStore store_{root_};

  State Sample(const std::string& id) {
    State st;
    st.id = id;
    st.pid = 0;
    st.bundle = "/bundles/" + id;
    st.rootfs = "/bundles/" + id + "/rootfs";
    st.created = "2024-01-02T03:04:05.123456789Z";
    st.owner_uid = 1000;
    st.cgroups_path = "/berth-state-test/" + id;
    st.cgroup_parents_created = {"/sys/fs/cgroup/memory/berth-state-test"};
    st.annotations = {{"org.example/a", "1"}, {"b", "two"}};
    st.new_user_ns = true;
    return st;
  }
};

TEST_F(RuntimeStateStore, CreateDirMakesParentsAndRefusesTwice) {
  ASSERT_TRUE(store_.CreateDir("c1"));
  EXPECT_TRUE(fs::is_directory(root_ + "/c1"));
  EXPECT_EQ(store_.Dir("c1"), root_ + "/c1");
  EXPECT_EQ(store_.FifoPath("c1"), root_ + "/c1/exec.fifo");
  EXPECT_EQ(store_.ConfigPath("c1"), root_ + "/c1/config.json");

  auto again = store_.CreateDir("c1");
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsAlreadyExists());
  EXPECT_EQ(again.error().Message(), "container \"c1\": already exists");
}

TEST_F(RuntimeStateStore, SaveLoadRoundTrip) {
  ASSERT_TRUE(store_.CreateDir("c1"));
  const State saved = Sample("c1");
  ASSERT_TRUE(store_.Save(saved));
  auto got = store_.Load("c1");
  ASSERT_TRUE(got) << got.error().Message();
  EXPECT_EQ(got->id, saved.id);
  EXPECT_EQ(got->pid, saved.pid);
  EXPECT_EQ(got->bundle, saved.bundle);
  EXPECT_EQ(got->rootfs, saved.rootfs);
  EXPECT_EQ(got->created, saved.created);
  EXPECT_EQ(got->owner_uid, saved.owner_uid);
  EXPECT_EQ(got->cgroups_path, saved.cgroups_path);
  EXPECT_EQ(got->cgroup_parents_created, saved.cgroup_parents_created);
  EXPECT_EQ(got->annotations, saved.annotations);
  EXPECT_EQ(got->new_user_ns, saved.new_user_ns);
  EXPECT_EQ(got->status, Status::kStopped);  // pid 0 is no process
  // The file is JSON another tool can read.
  std::ifstream in(root_ + "/c1/state.json");
  json j = json::parse(in, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["bundle"], saved.bundle);
}

TEST_F(RuntimeStateStore, StatusComesFromTheLiveProcess) {
  ASSERT_TRUE(store_.CreateDir("live"));
  State st = Sample("live");
  st.cgroups_path = "/berth-state-test-none-" + std::to_string(getpid());
  st.pid = getpid();
  auto me = sys::ReadProcStat(getpid());
  ASSERT_TRUE(me) << me.error().Message();
  st.pid_start_time = me->start_time;
  ASSERT_TRUE(store_.Save(st));
  EXPECT_EQ(store_.Load("live")->status, Status::kRunning);  // alive, no exec.fifo
  std::ofstream(store_.FifoPath("live")).put('x');            // stands for the fifo
  EXPECT_EQ(store_.Load("live")->status, Status::kCreated);   // waiting for start
  ASSERT_EQ(unlink(store_.FifoPath("live").c_str()), 0);
  // The same pid with another start time is another process: the container is gone.
  st.pid_start_time = me->start_time + 1;
  ASSERT_TRUE(store_.Save(st));
  EXPECT_EQ(store_.Load("live")->status, Status::kStopped);
}

TEST_F(RuntimeStateStore, MissingHalfCreatedAndCorrupt) {
  auto missing = store_.Load("nope");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
  EXPECT_EQ(missing.error().Message(), "container \"nope\": does not exist");

  ASSERT_TRUE(store_.CreateDir("half"));  // create died before state.json
  auto half = store_.Load("half");
  ASSERT_FALSE(half);
  EXPECT_FALSE(half.error().IsNotFound());
  EXPECT_NE(half.error().Message().find("not created completely"), std::string::npos)
      << half.error().Message();

  ASSERT_TRUE(store_.CreateDir("bad"));
  std::ofstream(root_ + "/bad/state.json") << "{not json";
  auto bad = store_.Load("bad");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().Message().find(root_ + "/bad/state.json"), std::string::npos)
      << bad.error().Message();
  EXPECT_NE(bad.error().Message().find("corrupt state file"), std::string::npos);

  std::ofstream(root_ + "/bad/state.json", std::ios::trunc) << R"({"id": "bad"})";
  auto no_pid = store_.Load("bad");
  ASSERT_FALSE(no_pid);
  EXPECT_NE(no_pid.error().Message().find(root_ + "/bad/state.json"), std::string::npos)
      << no_pid.error().Message();

  // An id that is not valid never reaches the filesystem.
  auto escape = store_.Load("../../etc");
  ASSERT_FALSE(escape);
  EXPECT_NE(escape.error().Message().find("invalid container id"), std::string::npos);
}

TEST_F(RuntimeStateStore, RemoveAndIds) {
  auto none = store_.Ids();
  ASSERT_TRUE(none) << none.error().Message();  // the root does not exist yet
  EXPECT_TRUE(none->empty());
  for (const char* id : {"b", "a", "c"}) {
    ASSERT_TRUE(store_.CreateDir(id));
    ASSERT_TRUE(store_.Save(Sample(id)));
  }
  std::ofstream(store_.FifoPath("b")).put('x');
  std::ofstream(store_.ConfigPath("b")) << "{}";
  std::ofstream(root_ + "/stray-file") << "not a container";
  auto ids = store_.Ids();
  ASSERT_TRUE(ids) << ids.error().Message();
  EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b", "c"}));

  ASSERT_TRUE(store_.Remove("b"));
  EXPECT_FALSE(fs::exists(root_ + "/b"));
  EXPECT_TRUE(store_.Load("b").error().IsNotFound());
  EXPECT_TRUE(store_.Remove("b"));  // twice is fine
  EXPECT_EQ(*store_.Ids(), (std::vector<std::string>{"a", "c"}));
}

TEST(RuntimeStateJson, OciStateDocument) {
  State st;
  st.id = "web";
  st.pid = 4242;
  st.bundle = "/b/web";
  auto j = json::parse(OciStateJson(st, Status::kRunning));
  EXPECT_EQ(j["ociVersion"], spec::kOciVersion);
  EXPECT_EQ(j["id"], "web");
  EXPECT_EQ(j["status"], "running");
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["bundle"], "/b/web");
  EXPECT_FALSE(j.contains("annotations"));  // optional, left out when empty

  st.annotations = {{"k", "v"}};
  j = json::parse(OciStateJson(st, Status::kStopped));
  EXPECT_EQ(j["status"], "stopped");
  EXPECT_FALSE(j.contains("pid"));  // runtime-spec: only while the process exists
  EXPECT_EQ(j["annotations"]["k"], "v");
  // Pretty output is the same document.
  EXPECT_EQ(json::parse(OciStateJson(st, Status::kStopped, true)), j);
  EXPECT_NE(OciStateJson(st, Status::kStopped, true).find('\n'), std::string::npos);

  EXPECT_STREQ(StatusName(Status::kCreating), "creating");
  EXPECT_STREQ(StatusName(Status::kCreated), "created");
  EXPECT_STREQ(StatusName(Status::kPaused), "paused");
}

}  // namespace
}  // namespace berth::runtime
