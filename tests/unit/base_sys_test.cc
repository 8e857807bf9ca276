// Small helpers of src/base and src/sys that the runtime's hot path relies on.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "base/log.h"
#include "sys/mounts.h"
#include "test_util.h"

namespace berth {
namespace {

TEST(BaseLog, NowRfc3339IsUtcWithNanoseconds) {
  const time_t before = time(nullptr);
  const std::string now = log::NowRfc3339();
  const time_t after = time(nullptr);
  ASSERT_TRUE(std::regex_match(now, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z)")))
      << now;
  // The same instant as the C library's UTC calendar (to the second).
  tm t{};
  ASSERT_TRUE(strptime(now.c_str(), "%Y-%m-%dT%H:%M:%S", &t));
  const time_t parsed = timegm(&t);
  EXPECT_GE(parsed, before);
  EXPECT_LE(parsed, after);
}

class SysCanonicalPath : public ::testing::Test {
 protected:
  testutil::TempDir tmp_{"berth-canon"};
  const std::string dir_ = tmp_.path();
};

TEST_F(SysCanonicalPath, ResolvesSymlinksDotsAndRelativePaths) {
  ASSERT_EQ(mkdir((dir_ + "/real").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir_ + "/real/sub").c_str(), 0755), 0);
  ASSERT_EQ(symlink("real", (dir_ + "/link").c_str()), 0);
  auto r = sys::CanonicalPath(dir_ + "/link/./sub/../sub");
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(*r, dir_ + "/real/sub");
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir((dir_ + "/link").c_str()), 0);
  auto rel = sys::CanonicalPath("sub");
  ASSERT_EQ(chdir(cwd), 0);
  ASSERT_TRUE(rel) << rel.error().Message();
  EXPECT_EQ(*rel, dir_ + "/real/sub");
}

TEST_F(SysCanonicalPath, MissingPathIsAnErrorNamingIt) {
  auto r = sys::CanonicalPath(dir_ + "/nope/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_NE(r.error().Message().find(dir_ + "/nope/x"), std::string::npos) << r.error().Message();
}

}  // namespace
}  // namespace berth
