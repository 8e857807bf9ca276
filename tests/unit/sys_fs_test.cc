// sys/fs.h: RemoveTree on hostile trees (symlinks out, unreadable and read-only
// directories, depth beyond PATH_MAX and the fd limit, a mount inside), the atomic and
// durable writes, mkdir -p, listings and locks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "sys/fs.h"
#include "sys/path.h"
#include "test_util.h"

namespace berth::sys {
namespace {

// The shared helper (detaches mounts inside, never crosses one) under this file's name.
struct TempDir : testutil::TempDir {
  TempDir() : testutil::TempDir("berth-sysfs-test") {}
};

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(SysFs, RemoveTreeKeepsSymlinkTargets) {
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

TEST(SysFs, RemoveTreeHandlesLockedDirectories) {
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

TEST(SysFs, RemoveTreeDeeperThanPathMaxAndFdLimit) {
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

TEST(SysFs, RemoveTreeRefusesToCrossMountsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
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

TEST(SysFs, WriteFileDurableAndMkdirAll) {
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

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(SysFs, ReadFileAndWriteFileReplaceTheWholeContent) {
  TempDir t;
  std::string f = t.path() + "/knob";
  std::ofstream(f) << "a much longer old value\n";
  // O_TRUNC: a shorter value leaves no tail of the old one (regular files; kernel knobs
  // parse the one write).
  ASSERT_TRUE(WriteFile(f, "max"));
  auto got = ReadFile(f);
  ASSERT_TRUE(got) << got.error().Message();
  EXPECT_EQ(*got, "max");
  auto missing = WriteFile(t.path() + "/absent", "1");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
  EXPECT_NE(missing.error().Message().find("write " + t.path() + "/absent"), std::string::npos)
      << missing.error().Message();
  auto unread = ReadFile(t.path() + "/absent");
  ASSERT_FALSE(unread);
  EXPECT_TRUE(unread.error().IsNotFound());
}

TEST(SysFs, WriteFileAtomicReplacesAndLeavesNoTempFile) {
  TempDir t;
  std::string f = t.path() + "/state.json";
  ASSERT_TRUE(WriteFileAtomic(f, "{\"v\":1}"));
  ASSERT_TRUE(WriteFileAtomic(f, "{\"v\":2}", 0644));
  EXPECT_EQ(Slurp(f), "{\"v\":2}");
  auto names = ListDir(t.path());
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, std::vector<std::string>{"state.json"}) << "temp file left behind";
  // The umask applies (a pid file or a bundle's config.json, as runc writes them).
  mode_t old = ::umask(077);
  auto r = WriteFileAtomic(t.path() + "/masked", "x", 0644);
  ::umask(old);
  ASSERT_TRUE(r);
  struct stat st;
  ASSERT_EQ(::stat((t.path() + "/masked").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A missing directory fails and names the temp file it could not create.
  auto bad = WriteFileAtomic(t.path() + "/no/such/file", "x");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().IsNotFound()) << bad.error().Message();
}

TEST(SysFs, TempFileIsRemovedUnlessCommitted) {
  TempDir t;
  std::string f = t.path() + "/out";
  std::string tmp_path;
  {
    auto tmp = TempFile::Create(f, 0600);
    ASSERT_TRUE(tmp) << tmp.error().Message();
    tmp_path = tmp->Path();
    EXPECT_EQ(tmp_path.rfind(f + ".tmp-", 0), 0u) << tmp_path;
    ASSERT_TRUE(WriteAll(tmp->Fd(), "abc", 3, "tmp"));
    auto other = TempFile::Create(f, 0600);
    ASSERT_TRUE(other);
    EXPECT_NE(other->Path(), tmp_path) << "two writers share a temp name";
  }
  EXPECT_FALSE(Exists(tmp_path));
  EXPECT_FALSE(Exists(f));
  auto tmp = TempFile::Create(f, 0600);
  ASSERT_TRUE(tmp);
  ASSERT_TRUE(WriteAll(tmp->Fd(), "abc", 3, "tmp"));
  ASSERT_TRUE(tmp->Commit(TempFile::Durability::kDurable));
  EXPECT_EQ(Slurp(f), "abc");
  EXPECT_FALSE(Exists(tmp->Path()));
  auto again = tmp->Commit(TempFile::Durability::kAtomic);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsFailedPrecondition());
}

TEST(SysFs, MkdirAllReportsWhatItCreated) {
  TempDir t;
  ASSERT_TRUE(MkdirAll(t.path() + "/a", 0755));
  std::vector<std::string> created;
  ASSERT_TRUE(MkdirAll(t.path() + "/a/b//c/", 0755, &created));
  EXPECT_EQ(created, (std::vector<std::string>{t.path() + "/a/b", t.path() + "/a/b/c"}));
  created.clear();
  ASSERT_TRUE(MkdirAll(t.path() + "/a/b/c", 0755, &created));
  EXPECT_TRUE(created.empty());
  std::ofstream(t.path() + "/a/file") << "x";
  auto last = MkdirAll(t.path() + "/a/file", 0755);
  ASSERT_FALSE(last);
  EXPECT_TRUE(last.error().IsFailedPrecondition()) << last.error().Message();
  auto mid = MkdirAll(t.path() + "/a/file/sub", 0755);
  ASSERT_FALSE(mid);
  EXPECT_EQ(mid.error().code, ENOTDIR) << mid.error().Message();
  EXPECT_FALSE(MkdirAll("", 0755));
}

TEST(SysFs, ListSubdirsSkipsFilesAndSymlinks) {
  TempDir t;
  ASSERT_TRUE(MkdirAll(t.path() + "/d/b", 0755));
  ASSERT_TRUE(MkdirAll(t.path() + "/d/a", 0755));
  std::ofstream(t.path() + "/d/file") << "x";
  ASSERT_EQ(::symlink((t.path() + "/d/a").c_str(), (t.path() + "/d/link").c_str()), 0);
  auto dirs = ListSubdirs(t.path() + "/d");
  ASSERT_TRUE(dirs) << dirs.error().Message();
  EXPECT_EQ(*dirs, (std::vector<std::string>{"a", "b"}));
  auto all = ListDir(t.path() + "/d");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 4u);
  auto missing = ListSubdirs(t.path() + "/none");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
}

TEST(SysFs, LockFileExcludesAnotherOpenFile) {
  TempDir t;
  std::string path = t.path() + "/lock";
  auto held = LockFile(path, LOCK_EX);
  ASSERT_TRUE(held) << held.error().Message();
  // flock locks belong to the open file: a second open of the same path is excluded even
  // in this process.
  auto busy = LockFile(path, LOCK_EX | LOCK_NB);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, EWOULDBLOCK);
  EXPECT_NE(busy.error().Message().find("flock " + path), std::string::npos)
      << busy.error().Message();
  UniqueFd other(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(other);
  EXPECT_FALSE(Flock(other.Get(), LOCK_SH | LOCK_NB, path));
  held->Reset();
  EXPECT_TRUE(Flock(other.Get(), LOCK_SH | LOCK_NB, path));
  EXPECT_TRUE(LockFile(path, LOCK_SH | LOCK_NB)) << "shared locks coexist";
}

TEST(SysPath, PathComponentsKeepsDotsAndDropsEmptyParts) {
  EXPECT_EQ(PathComponents("/a//b/../c/"), (std::vector<std::string>{"a", "b", "..", "c"}));
  EXPECT_EQ(PathComponents("rel/./x"), (std::vector<std::string>{"rel", ".", "x"}));
  EXPECT_TRUE(PathComponents("/").empty());
  EXPECT_TRUE(PathComponents("").empty());
}

}  // namespace
}  // namespace berth::sys
