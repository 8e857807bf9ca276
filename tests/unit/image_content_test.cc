// Content store: commit and read back, verification failures (digest, size), resume of an
// interrupted write, writers of one digest serialising across threads and processes,
// digest validation before any path is built, ingest cleanup, and a full disk (root: a tiny
// tmpfs). Each test works in its own temp dir.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "image/content.h"
#include "sys/fs.h"
#include "test_util.h"

// The file helpers live in sys/fs.h.
using berth::sys::RemoveTree;
using berth::sys::ListDir;

namespace berth::image {
namespace {

namespace fs = std::filesystem;

using testutil::TempDir;

ContentStore OpenStore(const std::string& root) {
  auto s = ContentStore::Open(root);
  EXPECT_TRUE(s.has_value()) << s.error().Message();
  return std::move(*s);
}

std::vector<std::string> Names(const std::string& dir) {
  auto n = ListDir(dir);
  EXPECT_TRUE(n.has_value()) << n.error().Message();
  return n ? *n : std::vector<std::string>{};
}

TEST(ImageContent, CommitAndReadBack) {
  TempDir t;
  ContentStore s = OpenStore(t.path() + "/c");
  std::string data(300000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::string d = Sha256Digest(data);
  EXPECT_FALSE(s.Has(d));
  {
    auto w = s.Writer(d, static_cast<int64_t>(data.size()));
    ASSERT_TRUE(w.has_value()) << w.error().Message();
    EXPECT_FALSE((*w)->Exists());
    EXPECT_EQ((*w)->Offset(), 0);
    ASSERT_TRUE((*w)->Write(data.data(), 1000));
    ASSERT_TRUE((*w)->Write(data.data() + 1000, data.size() - 1000));
    EXPECT_EQ((*w)->Offset(), static_cast<int64_t>(data.size()));
    EXPECT_FALSE(s.Has(d)) << "visible before commit";
    auto c = (*w)->Commit();
    ASSERT_TRUE(c.has_value()) << c.error().Message();
  }
  EXPECT_TRUE(s.Has(d));
  EXPECT_EQ(s.BlobPath(d), t.path() + "/c/blobs/sha256/" + std::string(DigestHex(d)));
  EXPECT_EQ(*s.Size(d), static_cast<int64_t>(data.size()));
  struct stat st;
  ASSERT_EQ(::stat(s.BlobPath(d).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  auto back = s.ReadBlob(d);
  ASSERT_TRUE(back.has_value()) << back.error().Message();
  EXPECT_EQ(*back, data);
  auto fd = s.OpenBlob(d);
  ASSERT_TRUE(fd.has_value());
  char first[3];
  ASSERT_EQ(::read(fd->Get(), first, 3), 3);
  EXPECT_EQ(std::string(first, 3), data.substr(0, 3));
  EXPECT_TRUE(Names(t.path() + "/c/ingest").empty()) << "ingest left behind";

  // A second writer of a committed blob writes nothing.
  auto again = s.Writer(d, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE((*again)->Exists());
  EXPECT_FALSE((*again)->Write("x", 1).has_value());
  EXPECT_TRUE((*again)->Commit().has_value());
}

TEST(ImageContent, WrongDigestLeavesNothing) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string claimed = Sha256Digest("what the manifest said");
  std::string actual = Sha256Digest("what the registry sent");
  auto w = s.Writer(claimed, -1);
  ASSERT_TRUE(w.has_value());
  std::string body = "what the registry sent";
  ASSERT_TRUE((*w)->Write(body.data(), body.size()));
  auto c = (*w)->Commit();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().Message(), "digest mismatch for " + claimed + ": got " + actual);
  EXPECT_FALSE(s.Has(claimed));
  EXPECT_FALSE(s.Has(actual));
  EXPECT_TRUE(Names(t.path() + "/ingest").empty());
  w->reset();
  // The next writer starts from zero.
  auto w2 = s.Writer(claimed, -1);
  ASSERT_TRUE(w2.has_value());
  EXPECT_EQ((*w2)->Offset(), 0);
}

TEST(ImageContent, SizeOverflowAndShortCommit) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string data = "0123456789";
  std::string d = Sha256Digest(data);
  {
    auto w = s.Writer(d, 4);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE((*w)->Write("012", 3));
    auto r = (*w)->Write("345", 3);
    ASSERT_FALSE(r.has_value());
    std::string m = r.error().Message();
    EXPECT_NE(m.find(d), std::string::npos) << m;
    EXPECT_NE(m.find("expected size 4 bytes, got at least 6"), std::string::npos) << m;
    EXPECT_EQ((*w)->Offset(), 3) << "a refused write must not count";
  }
  // Too short at commit: refused, and the bytes stay for a resume.
  auto w = s.Writer(d, 10);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ((*w)->Offset(), 3);
  ASSERT_TRUE((*w)->Write("34", 2));
  auto c = (*w)->Commit();
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().Message().find("expected size 10 bytes, got 5"), std::string::npos)
      << c.error().Message();
  EXPECT_FALSE(s.Has(d));
  w->reset();
  auto w2 = s.Writer(d, 10);
  ASSERT_TRUE(w2.has_value());
  EXPECT_EQ((*w2)->Offset(), 5);
  ASSERT_TRUE((*w2)->Write(data.data() + 5, 5));
  ASSERT_TRUE((*w2)->Commit().has_value());
  EXPECT_EQ(*s.ReadBlob(d), data);
}

TEST(ImageContent, ResumeAfterInterruptedWriter) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string data(1 << 21, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 31) >> 3);
  std::string d = Sha256Digest(data);
  const size_t half = data.size() / 2 + 17;
  {
    auto w = s.Writer(d, static_cast<int64_t>(data.size()));
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE((*w)->Write(data.data(), half));
  }  // destroyed without commit: the partial data stays
  EXPECT_FALSE(s.Has(d));
  auto w = s.Writer(d, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(w.has_value());
  EXPECT_FALSE((*w)->Exists());
  ASSERT_EQ((*w)->Offset(), static_cast<int64_t>(half));
  ASSERT_TRUE((*w)->Write(data.data() + half, data.size() - half));
  auto c = (*w)->Commit();
  ASSERT_TRUE(c.has_value()) << c.error().Message();
  EXPECT_EQ(*s.ReadBlob(d, 4 << 20), data);
}

TEST(ImageContent, TruncateStartsOver) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string data = "fresh content";
  std::string d = Sha256Digest(data);
  {
    auto w = s.Writer(d, -1);
    ASSERT_TRUE((*w)->Write("garbage!", 8));
  }
  auto w = s.Writer(d, -1);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ((*w)->Offset(), 8);
  ASSERT_TRUE((*w)->Truncate());
  EXPECT_EQ((*w)->Offset(), 0);
  ASSERT_TRUE((*w)->Write(data.data(), data.size()));
  ASSERT_TRUE((*w)->Commit().has_value());
  EXPECT_EQ(*s.ReadBlob(d), data);
}

TEST(ImageContent, AbortDiscardsPartialData) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string d = Sha256Digest("abc");
  {
    auto w = s.Writer(d, 3);
    ASSERT_TRUE((*w)->Write("ab", 2));
    (*w)->Abort();
  }
  EXPECT_TRUE(Names(t.path() + "/ingest").empty());
  auto w = s.Writer(d, 3);
  EXPECT_EQ((*w)->Offset(), 0);
}

TEST(ImageContent, ConcurrentWritersOfOneDigestShareOneWrite) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string data(100000, 'q');
  std::string d = Sha256Digest(data);
  auto first = s.Writer(d, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE((*first)->Write(data.data(), 50000));

  std::atomic<bool> committed{false}, second_returned{false};
  bool second_exists = false, second_ok = false, returned_after_commit = false;
  std::thread other([&] {
    ContentStore s2 = OpenStore(t.path());  // its own handle, as another pull would have
    auto w = s2.Writer(d, static_cast<int64_t>(data.size()));
    returned_after_commit = committed.load();
    second_ok = w.has_value();
    if (w) second_exists = (*w)->Exists();
    second_returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_FALSE(second_returned.load()) << "second writer did not wait for the first";
  ASSERT_TRUE((*first)->Write(data.data() + 50000, 50000));
  committed = true;
  ASSERT_TRUE((*first)->Commit().has_value());
  first->reset();
  other.join();
  EXPECT_TRUE(second_ok);
  EXPECT_TRUE(returned_after_commit);
  EXPECT_TRUE(second_exists);
  EXPECT_EQ(*s.ReadBlob(d), data);
  EXPECT_TRUE(Names(t.path() + "/ingest").empty());
}

TEST(ImageContent, WriterInAnotherProcessIsWaitedFor) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string data = "shared across processes";
  std::string d = Sha256Digest(data);
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto w = s.Writer(d, static_cast<int64_t>(data.size()));
    if (!w || (*w)->Exists()) ::_exit(2);
    (void)!::write(ready[1], "r", 1);
    char c;
    (void)!::read(go[0], &c, 1);
    if (!(*w)->Write(data.data(), data.size()) || !(*w)->Commit()) ::_exit(3);
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (void)!::write(go[1], "g", 1);
  });
  auto w = s.Writer(d, static_cast<int64_t>(data.size()));  // blocks until the child commits
  release.join();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(w.has_value()) << w.error().Message();
  EXPECT_TRUE((*w)->Exists());
  for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
}

TEST(ImageContent, InvalidDigestsNeverBecomePaths) {
  TempDir t;
  ContentStore s = OpenStore(t.path() + "/store");
  std::string hex64(64, 'a');
  const std::vector<std::string> bad = {
      "sha256:../../x",
      "sha256:" + hex64.substr(0, 62) + "/.",
      "sha256:" + std::string(64, 'A'),
      "md5:" + std::string(32, 'a'),
      "sha256" + hex64,
      "",
      "sha256:" + hex64 + "/../../../etc",
  };
  for (const auto& d : bad) {
    SCOPED_TRACE(d);
    EXPECT_FALSE(s.Has(d));
    EXPECT_EQ(s.BlobPath(d), "");
    EXPECT_FALSE(s.Size(d).has_value());
    EXPECT_FALSE(s.OpenBlob(d).has_value());
    EXPECT_FALSE(s.ReadBlob(d).has_value());
    EXPECT_FALSE(s.Delete(d).has_value());
    EXPECT_FALSE(s.WriteBlob(d, 1, "x").has_value());
    auto w = s.Writer(d, 1);
    ASSERT_FALSE(w.has_value());
    EXPECT_NE(w.error().Message().find("digest"), std::string::npos) << w.error().Message();
  }
  EXPECT_TRUE(Names(t.path() + "/store/ingest").empty());
  EXPECT_EQ(Names(t.path()), std::vector<std::string>{"store"});
}

TEST(ImageContent, WriteBlobListDelete) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string a = "{\"a\":1}", b = "{\"bb\":2}";
  ASSERT_TRUE(s.WriteBlob(Sha256Digest(a), static_cast<int64_t>(a.size()), a));
  ASSERT_TRUE(s.WriteBlob(Sha256Digest(b), -1, b));
  ASSERT_TRUE(s.WriteBlob(Sha256Digest(b), -1, b)) << "rewriting a blob is a no-op";
  auto wrong = s.WriteBlob(Sha256Digest(a), -1, b);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(wrong.error().Message().find("digest mismatch"), std::string::npos);
  auto short_size = s.WriteBlob(Sha256Digest("zz"), 3, "zz");
  EXPECT_FALSE(short_size.has_value());
  EXPECT_FALSE(s.Has(Sha256Digest("zz")));

  auto list = s.List();
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  std::map<std::string, int64_t> got;
  for (const auto& bi : *list) got[bi.digest] = bi.size;
  EXPECT_EQ(got[Sha256Digest(a)], static_cast<int64_t>(a.size()));
  EXPECT_EQ(got[Sha256Digest(b)], static_cast<int64_t>(b.size()));

  ASSERT_TRUE(s.Delete(Sha256Digest(a)));
  EXPECT_FALSE(s.Has(Sha256Digest(a)));
  EXPECT_TRUE(s.Delete(Sha256Digest(a))) << "absent is not an error";
  EXPECT_EQ(s.List()->size(), 1u);
  auto missing = s.ReadBlob(Sha256Digest(a));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_NE(missing.error().Message().find("not in the content store"), std::string::npos);
}

TEST(ImageContent, ReadBlobDetectsAlterationAndLimit) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string data = "manifest bytes";
  std::string d = Sha256Digest(data);
  ASSERT_TRUE(s.WriteBlob(d, -1, data));
  auto limited = s.ReadBlob(d, 4);
  ASSERT_FALSE(limited.has_value());
  EXPECT_NE(limited.error().Message().find("exceeds the limit of 4"), std::string::npos);
  ASSERT_EQ(::chmod(s.BlobPath(d).c_str(), 0644), 0);
  { std::ofstream(s.BlobPath(d)) << "manifest BYTES"; }
  auto r = s.ReadBlob(d);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().Message().find("altered on disk"), std::string::npos) << r.error().Message();
}

TEST(ImageContent, CleanIngestsSkipsLiveAndRecentWriters) {
  TempDir t;
  ContentStore s = OpenStore(t.path());
  std::string crashed = Sha256Digest("crashed"), live = Sha256Digest("live"),
              recent = Sha256Digest("recent");
  for (const auto& d : {crashed, recent}) {
    auto w = s.Writer(d, -1);
    ASSERT_TRUE((*w)->Write("par", 3));
  }
  auto live_w = s.Writer(live, -1);
  ASSERT_TRUE((*live_w)->Write("li", 2));
  // Age the crashed and the live one by two hours.
  struct timeval old[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  for (const auto& d : {crashed, live}) {
    std::string dir = t.path() + "/ingest/sha256-" + std::string(DigestHex(d));
    ASSERT_EQ(::utimes((dir + "/data").c_str(), old), 0);
    ASSERT_EQ(::utimes(dir.c_str(), old), 0);
  }
  auto n = s.CleanIngests(3600);
  ASSERT_TRUE(n.has_value()) << n.error().Message();
  EXPECT_EQ(*n, 1);
  auto names = Names(t.path() + "/ingest");
  std::sort(names.begin(), names.end());
  std::vector<std::string> want = {"sha256-" + std::string(DigestHex(live)),
                                   "sha256-" + std::string(DigestHex(recent))};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);
  // The live writer is unharmed.
  ASSERT_TRUE((*live_w)->Write("ve", 2));
  ASSERT_TRUE((*live_w)->Commit().has_value());
  EXPECT_EQ(*s.ReadBlob(live), "live");
  live_w->reset();
  EXPECT_EQ(*s.CleanIngests(0), 1);  // "recent", now unlocked
  EXPECT_TRUE(Names(t.path() + "/ingest").empty());
}

TEST(ImageContent, DiskFullRoot) {
  REQUIRE_ROOT("to mount a small tmpfs");
  TempDir t;
  ASSERT_EQ(::mount("tmpfs", t.path().c_str(), "tmpfs", 0, "size=256k"), 0) << strerror(errno);
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{t.path()};
  ContentStore s = OpenStore(t.path() + "/c");
  std::string data(1 << 20, 'z');
  std::string d = Sha256Digest(data);
  auto w = s.Writer(d, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(w.has_value());
  Result<void> r;
  for (size_t off = 0; off < data.size() && r; off += 65536)
    r = (*w)->Write(data.data() + off, 65536);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ENOSPC);
  EXPECT_NE(r.error().Message().find("disk full"), std::string::npos) << r.error().Message();
  EXPECT_LT((*w)->Offset(), static_cast<int64_t>(data.size()));
  EXPECT_FALSE((*w)->Commit().has_value());
  EXPECT_FALSE(s.Has(d));
  EXPECT_TRUE(s.List()->empty());
}

}  // namespace
}  // namespace berth::image
