// berth-shim's records on disk: exit.json and container.json round trips, torn files, and
// the OOM counter of v1 memory.oom_control and v2 memory.events.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/records.h"
#include "sys/fs.h"
#include "test_util.h"

namespace berth::shim {
namespace {

TEST(ShimExitRecord, RoundTripsThroughJsonAndDisk) {
  ExitRecord r{4242, 137, 9, true, 1475713029669794202LL};
  auto back = ExitRecordFromJson(ExitRecordToJson(r));
  ASSERT_TRUE(back) << back.error().Message();
  EXPECT_EQ(4242, back->pid);
  EXPECT_EQ(137, back->exit_code);
  EXPECT_EQ(9, back->signal);
  EXPECT_TRUE(back->oom_killed);
  EXPECT_EQ(1475713029669794202LL, back->exited_at);

  testutil::TempDir dir("shim-records");
  ASSERT_TRUE(WriteExitRecord(dir.path(), r));
  struct stat st {};
  ASSERT_EQ(0, stat(dir.Sub("exit.json").c_str(), &st));
  EXPECT_EQ(0600u, st.st_mode & 0777);
  auto read = ReadExitRecord(dir.path());
  ASSERT_TRUE(read) << read.error().Message();
  EXPECT_EQ(r.exited_at, read->exited_at);
  EXPECT_EQ(r.exit_code, read->exit_code);
  // No temporary file of the durable write is left beside it.
  auto names = sys::ListDir(dir.path());
  ASSERT_TRUE(names);
  EXPECT_EQ(std::vector<std::string>{"exit.json"}, *names);
}

TEST(ShimExitRecord, MissingTornAndIncompleteRecordsAreErrorsWithKinds) {
  testutil::TempDir dir("shim-records");
  auto none = ReadExitRecord(dir.path());
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().IsNotFound());

  ASSERT_TRUE(sys::WriteFileAtomic(dir.Sub("exit.json"), "{\"pid\": 1, \"exit_co"));
  auto torn = ReadExitRecord(dir.path());
  ASSERT_FALSE(torn);
  EXPECT_TRUE(torn.error().Is(ErrorKind::kDataLoss)) << torn.error().Message();
  EXPECT_NE(std::string::npos, torn.error().Message().find(dir.path())) << torn.error().Message();

  auto partial =
      ExitRecordFromJson(R"({"pid": 1, "exit_code": 0, "signal": 0, "oom_killed": false})");
  ASSERT_FALSE(partial);
  EXPECT_TRUE(partial.error().Is(ErrorKind::kDataLoss));
  EXPECT_NE(std::string::npos, partial.error().Message().find("exited_at"));

  auto wrong = ExitRecordFromJson(
      R"({"pid": "x", "exit_code": 0, "signal": 0, "oom_killed": false, "exited_at": 1})");
  ASSERT_FALSE(wrong);
  EXPECT_NE(std::string::npos, wrong.error().Message().find("pid"));

  // Fields a later shim adds are ignored.
  EXPECT_TRUE(ExitRecordFromJson(
      R"({"pid": 1, "exit_code": 0, "signal": 0, "oom_killed": false, "exited_at": 1, "new": [1]})"));
}

TEST(ShimContainerRecord, RoundTrips) {
  ContainerRecord r;
  r.id = "web";
  r.bundle = "/run/b/web";
  r.log_path = "/var/log/pods/p/web/0.log";
  r.tty = true;
  r.stdin = true;
  r.pid = 99;
  r.pid_start_time = 123456;
  r.created_at = 1;
  r.started_at = 2;
  r.oom_file = "/sys/fs/cgroup/memory/berth/web/memory.oom_control";
  r.oom_kills_at_start = 3;
  r.init_exe = "/memfd:berth (deleted)";
  testutil::TempDir dir("shim-records");
  ASSERT_TRUE(WriteContainerRecord(dir.path(), r));
  auto back = ReadContainerRecord(dir.path());
  ASSERT_TRUE(back) << back.error().Message();
  EXPECT_EQ(r.id, back->id);
  EXPECT_EQ(r.bundle, back->bundle);
  EXPECT_EQ(r.log_path, back->log_path);
  EXPECT_TRUE(back->tty);
  EXPECT_TRUE(back->stdin);
  EXPECT_FALSE(back->stdin_once);
  EXPECT_EQ(99, back->pid);
  EXPECT_EQ(123456u, back->pid_start_time);
  EXPECT_EQ(2, back->started_at);
  EXPECT_EQ(r.oom_file, back->oom_file);
  EXPECT_EQ(3u, back->oom_kills_at_start);
  EXPECT_EQ(r.init_exe, back->init_exe);
  EXPECT_TRUE(ContainerRecordFromJson("{}").error().Is(ErrorKind::kDataLoss));
}

TEST(ShimContainerRecord, InitExecedWhenItsExeChanged) {
  // This process stands for an init: its exe as recorded at create means "not started".
  ContainerRecord r;
  r.pid = getpid();
  r.init_exe = ProcessExe(r.pid);
  ASSERT_FALSE(r.init_exe.empty());
  EXPECT_FALSE(InitHasExeced(r)) << "the same program: still waiting for start";
  r.init_exe = "/memfd:berth (deleted)";
  EXPECT_TRUE(InitHasExeced(r)) << "another program: the container's, started";
  r.init_exe = "";
  EXPECT_FALSE(InitHasExeced(r)) << "a record of an older shim knows no identity";
  r.init_exe = "/memfd:berth (deleted)";
  r.pid = -1;
  EXPECT_FALSE(InitHasExeced(r)) << "a process that is gone";
}

TEST(ShimOom, ParsesTheCounterOfBothHierarchies) {
  EXPECT_EQ(2u,
            ParseOomKills("low 0\nhigh 0\nmax 5\noom 3\noom_kill 2\noom_group_kill 0\n"));  // v2
  EXPECT_EQ(7u, ParseOomKills("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n"));            // v1
  EXPECT_EQ(0u, ParseOomKills("oom_kill_disable 1\nunder_oom 0\n"));  // a kernel before 4.13
  EXPECT_EQ(0u, ReadOomKills(""));
  EXPECT_EQ(0u, ReadOomKills("/nonexistent/memory.events"));
}

TEST(ShimOom, FindsNoFileForAProcessThatIsGone) { EXPECT_EQ("", FindOomFile(-1)); }

}  // namespace
}  // namespace berth::shim
