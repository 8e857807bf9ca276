// RemoveTree on hostile trees (symlinks out, unreadable and read-only directories, depth
// beyond PATH_MAX and the fd limit, a mount inside), and the small durable-write helpers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/unique_fd.h"
#include "image/fsutil.h"
#include "test_util.h"

namespace berth::image {
namespace {

using testutil::TempDir;

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(ImageFsutil, RemoveTreeKeepsSymlinkTargets) {
  TempDir t;
  std::string keep = t.path() + "/keep";
  ASSERT_TRUE(MkdirAll(keep + "/inner", 0755));
  std::ofstream(keep + "/file") << "precious";
  std::string tree = t.path() + "/tree";
  ASSERT_TRUE(MkdirAll(tree + "/a/b", 0755));
  ASSERT_EQ(::symlink(keep.c_str(), (tree + "/a/dirlink").c_str()), 0);
  ASSERT_EQ(::symlink((keep + "/file").c_str(), (tree + "/a/b/filelink").c_str()), 0);
  ASSERT_EQ(::mkfifo((tree + "/fifo").c_str(), 0600), 0);
  ASSERT_TRUE(RemoveTree(tree).has_value());
  EXPECT_FALSE(Exists(tree));
  EXPECT_TRUE(Exists(keep + "/file"));
  EXPECT_TRUE(Exists(keep + "/inner"));
  // A symlink given as the path itself is removed, not followed.
  ASSERT_EQ(::symlink(keep.c_str(), (t.path() + "/link").c_str()), 0);
  ASSERT_TRUE(RemoveTree(t.path() + "/link").has_value());
  EXPECT_FALSE(Exists(t.path() + "/link"));
  EXPECT_TRUE(Exists(keep + "/file"));
  EXPECT_TRUE(RemoveTree(t.path() + "/absent").has_value());
}

TEST(ImageFsutil, RemoveTreeHandlesLockedDirectories) {
  TempDir t;
  std::string tree = t.path() + "/tree";
  ASSERT_TRUE(MkdirAll(tree + "/ro/sub", 0755));
  std::ofstream(tree + "/ro/sub/f") << "x";
  std::ofstream(tree + "/ro/g") << "x";
  ASSERT_TRUE(MkdirAll(tree + "/none/deeper", 0755));
  ASSERT_EQ(::chmod((tree + "/ro/sub").c_str(), 0555), 0);
  ASSERT_EQ(::chmod((tree + "/ro").c_str(), 0555), 0);
  ASSERT_EQ(::chmod((tree + "/none").c_str(), 0), 0);
  ASSERT_TRUE(RemoveTree(tree).has_value());
  EXPECT_FALSE(Exists(tree));
}

TEST(ImageFsutil, RemoveTreeDeeperThanPathMaxAndFdLimit) {
  TempDir t;
  std::string tree = t.path() + "/deep";
  ASSERT_EQ(::mkdir(tree.c_str(), 0755), 0);
  // 1400 levels of "dd/": 4200 bytes of path (> PATH_MAX), and more levels than fds we allow below.
  int fd = ::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 1400; ++i) {
    ASSERT_EQ(::mkdirat(fd, "dd", 0755), 0);
    int f = ::openat(fd, "leaf", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(f, 0);
    ::close(f);
    int next = ::openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(next, 0);
    ::close(fd);
    fd = next;
  }
  ::close(fd);
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit low = old;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  auto r = RemoveTree(tree);
  ::setrlimit(RLIMIT_NOFILE, &old);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_FALSE(Exists(tree));
}

TEST(ImageFsutil, RemoveTreeRefusesToCrossMountsRoot) {
  REQUIRE_ROOT("to mount a tmpfs");
  TempDir t;
  std::string tree = t.path() + "/tree";
  ASSERT_TRUE(MkdirAll(tree + "/mnt", 0755));
  ASSERT_EQ(::mount("tmpfs", (tree + "/mnt").c_str(), "tmpfs", 0, "size=64k"), 0)
      << strerror(errno);
  std::ofstream(tree + "/mnt/inside") << "not ours";
  auto r = RemoveTree(tree);
  bool inside_kept = Exists(tree + "/mnt/inside");
  ::umount2((tree + "/mnt").c_str(), MNT_DETACH);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().Message().find("mounted there"), std::string::npos) << r.error().Message();
  EXPECT_TRUE(inside_kept);

  // A bind mount of a directory of the same filesystem is caught too.
  std::string src = t.path() + "/src";
  ASSERT_TRUE(MkdirAll(src, 0755));
  std::ofstream(src + "/inside") << "not ours";
  ASSERT_EQ(::mount(src.c_str(), (tree + "/mnt").c_str(), nullptr, MS_BIND, nullptr), 0);
  r = RemoveTree(tree);
  ::umount2((tree + "/mnt").c_str(), MNT_DETACH);
  EXPECT_FALSE(r.has_value());
  EXPECT_TRUE(Exists(src + "/inside"));
}

TEST(ImageFsutil, WriteFileDurableAndMkdirAll) {
  TempDir t;
  std::string p = t.path() + "/a/b/c";
  ASSERT_TRUE(MkdirAll(p, 0700));
  ASSERT_TRUE(MkdirAll(p, 0700)) << "existing is fine";
  std::ofstream(t.path() + "/file") << "x";
  EXPECT_FALSE(MkdirAll(t.path() + "/file/sub", 0700).has_value());
  ASSERT_TRUE(WriteFileDurable(p + "/f.json", "one", 0640));
  ASSERT_TRUE(WriteFileDurable(p + "/f.json", "two", 0640));
  std::ifstream in(p + "/f.json");
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, "two");
  struct stat st;
  ASSERT_EQ(::stat((p + "/f.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(ListDir(p)->size(), 1u) << "temp file left behind";

  ASSERT_TRUE(MkdirAll(t.path() + "/x/full", 0755));
  std::ofstream(t.path() + "/x/full/f") << "1";
  ASSERT_TRUE(MkdirAll(t.path() + "/y", 0755));
  auto r = RenameNoReplace(t.path() + "/y", t.path() + "/x");
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().code == EEXIST || r.error().code == ENOTEMPTY);
  ASSERT_TRUE(RenameNoReplace(t.path() + "/y", t.path() + "/z").has_value());
}

}  // namespace
}  // namespace berth::image
