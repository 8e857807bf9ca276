// RunHooks (stops at the first failure: prestart, createRuntime, createContainer,
// startContainer) and RunHooksWarnOnFailure (poststart, poststop: every hook runs).
#include "runtime/hooks.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "sys/process.h"
#include "test_util.h"

namespace berth::runtime {
namespace {

class HooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // RunHooks forks through sys::Fork, which refuses in a threaded process: gRPC's
    // threads of the CRI tests earlier in this binary outlive them for a moment.
    for (int i = 0; i < 500 && sys::ThreadCount().value_or(1) > 1; ++i) usleep(10000);
    if (int n = sys::ThreadCount().value_or(1); n > 1)
      GTEST_SKIP() << "the process has " << n << " threads (run this test alone: ctest does)";
  }
  // A hook that records that it ran (and its stdin) in dir_/NAME, then exits with CODE.
  spec::Hook Hook(const std::string& name, int code) {
    return {
        "/bin/sh",
        {"sh", "-c",
         "cat > " + dir_ + "/stdin; touch " + dir_ + "/" + name + "; exit " + std::to_string(code)},
        {},
        {}};
  }
  bool Ran(const std::string& name) { return access((dir_ + "/" + name).c_str(), F_OK) == 0; }
  testutil::TempDir tmp_{"berth-hooks-test"};
  const std::string dir_ = tmp_.path();
};

TEST_F(HooksTest, RunHooksStopsAtTheFirstFailureAndNamesIt) {
  auto r = RunHooks({Hook("ran0", 3), Hook("ran1", 0)}, "createRuntime", "{}");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().Message().find("createRuntime hook [0]"), std::string::npos)
      << r.error().Message();
  EXPECT_NE(r.error().Message().find("status 3"), std::string::npos) << r.error().Message();
  EXPECT_TRUE(Ran("ran0"));
  EXPECT_FALSE(Ran("ran1")) << "a hook after a failed one must not run";
}

TEST_F(HooksTest, WarnOnFailureRunsTheRemainingHooks) {
  EXPECT_EQ(RunHooksWarnOnFailure({Hook("ran0", 4), Hook("ran1", 0)}, "poststop",
                                  "{\"status\":\"stopped\"}"),
            1u);
  EXPECT_TRUE(Ran("ran0"));
  EXPECT_TRUE(Ran("ran1")) << "runtime-spec: the remaining poststop hooks still run";
  std::ifstream in(dir_ + "/stdin");
  std::string state((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(state, "{\"status\":\"stopped\"}") << "each hook reads the state on stdin";
}

TEST_F(HooksTest, WarnOnFailureCountsEveryFailure) {
  EXPECT_EQ(RunHooksWarnOnFailure({Hook("ran0", 1), Hook("ran1", 2)}, "poststart", "{}"), 2u);
  EXPECT_EQ(RunHooksWarnOnFailure({}, "poststart", "{}"), 0u);
}

}  // namespace
}  // namespace berth::runtime
