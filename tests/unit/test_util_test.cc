// The shared TempDir: its cleanup removes everything of its own, also read-only and deep
// trees, and never reaches through a mount into what is not its own (*Root: mounts).
#include "test_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace berth::testutil {
namespace {

namespace fs = std::filesystem;

TEST(TestUtilTempDir, RemovesItsTreeWhateverTheModes) {
  std::string path;
  {
    TempDir t("berth-testutil");
    path = t.path();
    ASSERT_FALSE(path.empty());
    fs::create_directories(t.Sub("a/b/c"));
    std::ofstream(t.Sub("a/b/c/f")) << "x";
    std::ofstream(t.Sub("a/top")) << "y";
    fs::create_symlink("/etc/passwd", t.Sub("a/link"));
    fs::create_symlink("/etc", t.Sub("a/dirlink"));
    ASSERT_EQ(chmod(t.Sub("a/b/c").c_str(), 0500), 0);  // entries cannot be unlinked
    ASSERT_EQ(chmod(t.Sub("a/b").c_str(), 0), 0);       // nor even listed
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::exists("/etc/passwd"));  // symlinks are removed, never followed
}

TEST(TestUtilTempDir, RemovesTreesDeeperThanPathMax) {
  TempDir t("berth-testutil");
  std::string rel;
  int fd = open(t.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const std::string name(200, 'd');
  for (int i = 0; i < 40; ++i) {  // 8 KB of path, more than PATH_MAX
    ASSERT_EQ(mkdirat(fd, name.c_str(), 0755), 0);
    int next = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(fd);
    ASSERT_GE(next, 0);
    fd = next;
  }
  close(fd);
  EXPECT_TRUE(RemoveTreeOnOneMount(t.path()));
  EXPECT_FALSE(fs::exists(t.path()));
  t.Remove();  // already gone: nothing to do, no failure
}

TEST(TestUtilTempDir, RemoveTreeDoesNotCrossIntoAMountRoot) {
  REQUIRE_ROOT("bind mounts");
  TempDir outside("berth-testutil-outside");
  std::ofstream(outside.Sub("keep")) << "precious";
  TempDir t("berth-testutil");
  fs::create_directories(t.Sub("sub/mnt"));
  // A bind of the same filesystem: st_dev is the same, only the mount differs.
  ASSERT_EQ(mount(outside.path().c_str(), t.Sub("sub/mnt").c_str(), nullptr, MS_BIND, nullptr), 0)
      << strerror(errno);
  EXPECT_FALSE(RemoveTreeOnOneMount(t.path()));  // the mount point stays, and so its parents
  EXPECT_EQ(std::ifstream(outside.Sub("keep")).get(), 'p');
  EXPECT_TRUE(fs::exists(t.Sub("sub/mnt/keep")));
  ASSERT_EQ(umount2(t.Sub("sub/mnt").c_str(), MNT_DETACH), 0);
}

TEST(TestUtilTempDir, CleanupUnmountsWhatIsMountedInsideRoot) {
  REQUIRE_ROOT("mounts");
  TempDir outside("berth-testutil-outside");
  std::ofstream(outside.Sub("keep")) << "precious";
  std::string path;
  {
    TempDir t("berth-testutil");
    path = t.path();
    // A space in the name: mountinfo writes it as \040.
    fs::create_directories(t.Sub("tmp fs"));
    fs::create_directories(t.Sub("bind"));
    ASSERT_EQ(mount("tmpfs", t.Sub("tmp fs").c_str(), "tmpfs", 0, "size=1m"), 0) << strerror(errno);
    std::ofstream(t.Sub("tmp fs/f")) << "x";
    fs::create_directories(t.Sub("tmp fs/inner"));
    ASSERT_EQ(mount(outside.path().c_str(), t.Sub("tmp fs/inner").c_str(), nullptr, MS_BIND,
                    nullptr),
              0)
        << strerror(errno);
    ASSERT_EQ(mount(outside.path().c_str(), t.Sub("bind").c_str(), nullptr, MS_BIND, nullptr), 0)
        << strerror(errno);
    ASSERT_EQ(MountsUnder(path).size(), 3u);
    EXPECT_EQ(MountsUnder(path)[0], t.Sub("tmp fs/inner"));  // deepest first
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(MountsUnder(path).empty());
  EXPECT_EQ(std::ifstream(outside.Sub("keep")).get(), 'p');
}

TEST(TestUtilTempDir, MountsUnderMatchesWholeComponents) {
  // "/pro" is not a prefix of the mount at "/proc".
  EXPECT_TRUE(MountsUnder("/proc/self/nonexistent").empty());
  auto proc = MountsUnder("/proc");
  ASSERT_FALSE(proc.empty());
  EXPECT_EQ(proc.back(), "/proc");
  EXPECT_TRUE(MountsUnder("/pro").empty());
}

}  // namespace
}  // namespace berth::testutil
