// The process.json of an exec (shim/server.h ExecProcess): the container's own process with
// the request's args, env, cwd and user; a terminal and its consoleSize for a streaming exec.
#include <gtest/gtest.h>

#include "shim/server.h"
#include "sys/fs.h"
#include "test_util.h"

namespace berth::shim {
namespace {

class ExecProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Json config = {{"ociVersion", "1.0.2"},
                   {"process",
                    {{"args", {"sleep", "1000"}},
                     {"env", {"PATH=/bin", "KEEP=1"}},
                     {"cwd", "/"},
                     {"terminal", true},
                     {"consoleSize", {{"width", 1}, {"height", 1}}},
                     {"user", {{"uid", 0}, {"gid", 0}}}}}};
    ASSERT_TRUE(sys::WriteFileAtomic(dir_.Sub("config.json"), config.dump(), 0600));
  }
  testutil::TempDir dir_{"berth-exec-process"};
};

TEST_F(ExecProcessTest, PipesHaveNoTerminal) {
  auto p = ExecProcess(dir_.path(), {{"args", {"cat"}}, {"env", {"PATH=/usr/bin", "NEW=2"}}},
                       false, "exec");
  ASSERT_TRUE(p) << p.error().Message();
  EXPECT_EQ(Json({"cat"}), (*p)["args"]);
  EXPECT_EQ(false, (*p)["terminal"]);
  EXPECT_FALSE(p->contains("consoleSize")) << "the container's own size is not the exec's";
  EXPECT_EQ(Json({"PATH=/usr/bin", "KEEP=1", "NEW=2"}), (*p)["env"]);
}

TEST_F(ExecProcessTest, ATerminalWithTheRequestsSize) {
  auto p = ExecProcess(dir_.path(), {{"args", {"sh"}}, {"width", 100}, {"height", 20}}, true,
                       "exec");
  ASSERT_TRUE(p) << p.error().Message();
  EXPECT_EQ(true, (*p)["terminal"]);
  EXPECT_EQ(Json({{"width", 100}, {"height", 20}}), (*p)["consoleSize"]);
  p = ExecProcess(dir_.path(), {{"args", {"sh"}}}, true, "exec");
  ASSERT_TRUE(p) << p.error().Message();
  EXPECT_FALSE(p->contains("consoleSize")) << "no size asked for: the runtime's default";
}

TEST_F(ExecProcessTest, BadFieldsNameTheOp) {
  auto p = ExecProcess(dir_.path(), {{"args", {"sh"}}, {"width", 70000}, {"height", 1}}, true,
                       "exec");
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().IsInvalidArgument());
  EXPECT_EQ("exec", p.error().op);
  p = ExecProcess(dir_.path(), {{"args", Json::array()}}, false, "exec_sync");
  ASSERT_FALSE(p);
  EXPECT_EQ("exec_sync", p.error().op);
  p = ExecProcess(dir_.path(), {{"args", {"sh"}}, {"cwd", "relative"}}, false, "exec");
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().IsInvalidArgument()) << p.error().Message();
}

}  // namespace
}  // namespace berth::shim
