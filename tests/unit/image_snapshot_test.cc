// Snapshots: layer commit and parent chains, the mounts described for writable snapshots and
// views (including chains too long for full lowerdir paths), concurrent commits of one
// chain, layer removal refused while used, and real overlay/bind mounts (tests named *Root
// need root to mount; they skip otherwise and unmount whatever they mounted).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "image/digest.h"
#include "image/snapshot.h"
#include "sys/fs.h"
#include "test_util.h"

// The file helpers live in sys/fs.h.
using berth::sys::RemoveTree;
using berth::sys::MkdirAll;
using berth::sys::ListDir;

namespace berth::image {
namespace {

// The name's length matters: LongChainsUseShortLinksThenFail needs 100 links under
// /tmp/berth-snap-test-XXXXXX to overflow a page of mount options.
struct TempDir : testutil::TempDir {
  TempDir() : testutil::TempDir("berth-snap-test") {}
};

// Unmounts target when the test ends, whatever happened.
struct MountGuard {
  std::string target;
  ~MountGuard() { (void)UnmountAll(target); }
};

Snapshotter OpenSnap(const std::string& root) {
  auto s = Snapshotter::Open(root);
  EXPECT_TRUE(s.has_value()) << s.error().Message();
  return std::move(*s);
}

std::string Chain(int n) { return Sha256Digest("chain " + std::to_string(n)); }
std::string Hex(const std::string& d) { return std::string(DigestHex(d)); }

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Prepares, fills (file name -> content) and commits one layer.
void AddLayer(Snapshotter& s, const std::string& chain, const std::string& parent,
              const std::map<std::string, std::string>& files = {}) {
  auto fs = s.PrepareLayer();
  ASSERT_TRUE(fs.has_value()) << fs.error().Message();
  for (const auto& [name, text] : files) WriteText(*fs + "/" + name, text);
  auto c = s.CommitLayer(*fs, chain, parent);
  ASSERT_TRUE(c.has_value()) << c.error().Message();
}

TEST(ImageSnapshot, PrepareAndCommitLayers) {
  TempDir t;
  Snapshotter s = OpenSnap(t.path() + "/snap");
  auto fs = s.PrepareLayer();
  ASSERT_TRUE(fs.has_value()) << fs.error().Message();
  EXPECT_EQ(fs->rfind(t.path() + "/snap/tmp/", 0), 0u) << *fs;
  struct stat st;
  ASSERT_EQ(::stat(fs->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  std::string tmp_dir = fs->substr(0, fs->size() - 3);
  ASSERT_EQ(::stat(tmp_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u) << "a half-unpacked layer must not be readable";
  WriteText(*fs + "/hello", "one");
  EXPECT_FALSE(s.HasLayer(Chain(1)));
  ASSERT_TRUE(s.CommitLayer(*fs, Chain(1), "").has_value());
  EXPECT_TRUE(s.HasLayer(Chain(1)));
  EXPECT_FALSE(Exists(tmp_dir));
  EXPECT_EQ(s.LayerPath(Chain(1)), t.path() + "/snap/layers/" + Hex(Chain(1)) + "/fs");
  EXPECT_EQ(ReadText(s.LayerPath(Chain(1)) + "/hello"), "one");
  EXPECT_EQ(*s.LayerParent(Chain(1)), "");

  AddLayer(s, Chain(2), Chain(1), {{"two", "2"}});
  EXPECT_EQ(*s.LayerParent(Chain(2)), Chain(1));
  std::vector<std::string> want = {Chain(1), Chain(2)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*s.Layers(), want);

  // Reopening sees the same layers.
  Snapshotter again = OpenSnap(t.path() + "/snap");
  EXPECT_EQ(*again.Layers(), want);
  EXPECT_TRUE(ListDir(t.path() + "/snap/tmp")->empty());
}

// The commit record: what fs/ held at commit, a hard-linked inode and a sparse file's
// length counted once; a batch commits parents first; a record that is missing or names
// another chain is reported with its kind.
TEST(ImageSnapshot, CommitWritesTheLayerRecord) {
  TempDir t;
  Snapshotter s = OpenSnap(t.path() + "/snap");
  auto a = s.PrepareLayer();
  ASSERT_TRUE(a.has_value()) << a.error().Message();
  WriteText(*a + "/f", "12345");
  ASSERT_EQ(::link((*a + "/f").c_str(), (*a + "/f2").c_str()), 0);
  ASSERT_EQ(::mkdir((*a + "/d").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("f", (*a + "/d/l").c_str()), 0);
  int fd = ::open((*a + "/d/sparse").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, int64_t{1} << 30), 0);  // 1 GiB apparent, no blocks
  ::close(fd);
  auto b = s.PrepareLayer();
  ASSERT_TRUE(b.has_value());
  WriteText(*b + "/top", "x");
  ASSERT_TRUE(s.CommitLayers({{*a, Chain(1), "", Sha256Digest("tar 1")},
                              {*b, Chain(2), Chain(1), Sha256Digest("tar 2")}})
                  .has_value());
  auto rec = s.ReadLayerRecord(Chain(1));
  ASSERT_TRUE(rec.has_value()) << rec.error().Message();
  EXPECT_EQ(rec->chain_id, Chain(1));
  EXPECT_EQ(rec->parent, "");
  EXPECT_EQ(rec->diff_id, Sha256Digest("tar 1"));
  EXPECT_EQ(rec->stats.files, 3) << "f/f2 once, d/l, d/sparse";
  EXPECT_EQ(rec->stats.dirs, 2) << "fs/ and d/";
  EXPECT_EQ(rec->stats.bytes, 5 + (int64_t{1} << 30));
  EXPECT_EQ(*MeasureTree(s.LayerPath(Chain(1))), rec->stats);
  auto rec2 = s.ReadLayerRecord(Chain(2));
  ASSERT_TRUE(rec2.has_value());
  EXPECT_EQ(rec2->parent, Chain(1));
  EXPECT_EQ(rec2->stats, (LayerStats{1, 1, 1}));

  std::string path = t.path() + "/snap/layers/" + Hex(Chain(2)) + "/layer.json";
  WriteText(path, "{\"chain_id\":\"" + Chain(1) + "\"}");
  auto bad = s.ReadLayerRecord(Chain(2));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().Kind(), ErrorKind::kDataLoss) << bad.error().Message();
  ASSERT_EQ(::unlink(path.c_str()), 0);
  auto none = s.ReadLayerRecord(Chain(2));
  ASSERT_FALSE(none.has_value());
  EXPECT_TRUE(none.error().IsNotFound()) << none.error().Message();
  EXPECT_NE(none.error().Message().find("has no layer.json"), std::string::npos) << none.error().Message();
}

// A batch whose second layer names a parent that is nowhere: the first is committed, the
// second and later ones are removed from tmp/.
TEST(ImageSnapshot, CommitBatchStopsAtAMissingParent) {
  TempDir t;
  Snapshotter s = OpenSnap(t.path() + "/snap");
  auto a = s.PrepareLayer(), b = s.PrepareLayer(), c = s.PrepareLayer();
  ASSERT_TRUE(a && b && c);
  auto r = s.CommitLayers({{*a, Chain(1), "", ""}, {*b, Chain(2), Chain(9), ""}, {*c, Chain(3), Chain(2), ""}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().Kind(), ErrorKind::kFailedPrecondition) << r.error().Message();
  EXPECT_TRUE(s.HasLayer(Chain(1)));
  EXPECT_FALSE(s.HasLayer(Chain(2)));
  EXPECT_FALSE(s.HasLayer(Chain(3)));
  EXPECT_TRUE(ListDir(t.path() + "/snap/tmp")->empty());
}

TEST(ImageSnapshot, CommitLayerRejectsBadInput) {
  TempDir t;
  Snapshotter s = OpenSnap(t.path());
  auto fs = s.PrepareLayer();
  ASSERT_TRUE(fs.has_value());

  auto no_parent = s.CommitLayer(*fs, Chain(2), Chain(1));
  ASSERT_FALSE(no_parent.has_value());
  EXPECT_NE(no_parent.error().Message().find("parent layer " + Chain(1)), std::string::npos)
      << no_parent.error().Message();
  EXPECT_FALSE(s.CommitLayer(*fs, "sha256:../../etc", "").has_value());
  EXPECT_FALSE(s.CommitLayer(*fs, Chain(1), Chain(1)).has_value());
  EXPECT_FALSE(s.HasLayer("sha256:../../etc"));
  EXPECT_EQ(s.LayerPath("sha256:../x"), "");

  // A directory that PrepareLayer did not give out is neither moved nor removed.
  std::string outside = t.path() + "/outside/fs";
  ASSERT_TRUE(MkdirAll(outside, 0755));
  for (const std::string& p : {outside, t.path() + "/tmp/../outside/fs", t.path() + "/tmp/fs"}) {
    auto r = s.CommitLayer(p, Chain(1), "");
    ASSERT_FALSE(r.has_value()) << p;
    EXPECT_NE(r.error().Message().find("not a directory from PrepareLayer"), std::string::npos);
    s.AbortLayer(p);
  }
  EXPECT_TRUE(Exists(outside));

  s.AbortLayer(*fs);
  EXPECT_FALSE(Exists(fs->substr(0, fs->size() - 3)));
}

TEST(ImageSnapshot, ConcurrentCommitsOfOneChain) {
  TempDir t;
  Snapshotter s = OpenSnap(t.path());
  constexpr int kThreads = 6;
  std::vector<std::thread> threads;
  std::vector<int> ok(kThreads, 0);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Snapshotter mine = OpenSnap(t.path());
      auto fs = mine.PrepareLayer();
      if (!fs) return;
      for (int f = 0; f < 50; ++f) WriteText(*fs + "/f" + std::to_string(f), std::to_string(i));
      ok[i] = mine.CommitLayer(*fs, Chain(7), "").has_value();
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_TRUE(ok[i]) << "thread " << i;
  ASSERT_TRUE(s.HasLayer(Chain(7)));
  // Exactly one unpack won, whole.
  std::string winner = ReadText(s.LayerPath(Chain(7)) + "/f0");
  for (int f = 0; f < 50; ++f)
    EXPECT_EQ(ReadText(s.LayerPath(Chain(7)) + "/f" + std::to_string(f)), winner);
  EXPECT_EQ(s.Layers()->size(), 1u);
  EXPECT_TRUE(ListDir(t.path() + "/tmp")->empty());
}

TEST(ImageSnapshot, MountDescriptions) {
  TempDir t;
  Snapshotter s = OpenSnap(t.path());
  AddLayer(s, Chain(1), "");
  AddLayer(s, Chain(2), Chain(1));
  const std::string root = t.path();

  auto m = s.Prepare("web", Chain(2));
  ASSERT_TRUE(m.has_value()) << m.error().Message();
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].type, "overlay");
  EXPECT_EQ((*m)[0].source, "overlay");
  std::vector<std::string> want = {
      "lowerdir=" + s.LayerPath(Chain(2)) + ":" + s.LayerPath(Chain(1)),
      "upperdir=" + root + "/active/web/fs", "workdir=" + root + "/active/web/work"};
  EXPECT_EQ((*m)[0].options, want);
  auto again = s.Mounts("web");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*again)[0].options, want);

  auto dup = s.Prepare("web", Chain(1));
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, EEXIST);

  auto empty = s.Prepare("scratch", "");
  ASSERT_TRUE(empty.has_value()) << empty.error().Message();
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_EQ((*empty)[0].type, "bind");
  EXPECT_EQ((*empty)[0].source, root + "/active/scratch/fs");
  EXPECT_EQ((*empty)[0].options, (std::vector<std::string>{"rbind", "rw"}));

  auto one = s.View(Chain(1));
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ((*one)[0].type, "bind");
  EXPECT_EQ((*one)[0].source, s.LayerPath(Chain(1)));
  EXPECT_EQ((*one)[0].options, (std::vector<std::string>{"rbind", "ro"}));
  auto two = s.View(Chain(2));
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ((*two)[0].type, "overlay");
  EXPECT_EQ((*two)[0].options,
            (std::vector<std::string>{
                "lowerdir=" + s.LayerPath(Chain(2)) + ":" + s.LayerPath(Chain(1)), "ro"}));
  EXPECT_FALSE(s.View("").has_value());
  EXPECT_FALSE(s.View(Chain(9)).has_value());

  EXPECT_EQ(*s.ActiveKeys(), (std::vector<std::string>{"scratch", "web"}));
  for (const std::string& key :
       std::vector<std::string>{"../x", "", ".hidden", "a/b", "a,b", std::string(129, 'k')}) {
    EXPECT_FALSE(s.Prepare(key, Chain(1)).has_value()) << key;
    EXPECT_FALSE(s.Remove(key).has_value()) << key;
  }
  auto missing = s.Prepare("orphan", Chain(9));
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().Message().find("not in the snapshotter"), std::string::npos);
  EXPECT_FALSE(Exists(root + "/active/orphan"));

  ASSERT_TRUE(s.Remove("web").has_value());
  EXPECT_FALSE(Exists(root + "/active/web"));
  EXPECT_EQ(s.Remove("web").error().code, ENOENT);
  EXPECT_EQ(s.Mounts("web").error().code, ENOENT);
  EXPECT_EQ(*s.ActiveKeys(), std::vector<std::string>{"scratch"});
  EXPECT_TRUE(ListDir(root + "/tmp")->empty());
}

// Builds a chain of n layers 1..n and returns the top chain id.
std::string BuildChain(Snapshotter& s, int n) {
  std::string parent;
  for (int i = 1; i <= n; ++i) {
    AddLayer(s, Chain(i), parent, {{"layer" + std::to_string(i), std::to_string(i)}});
    parent = Chain(i);
  }
  return parent;
}

TEST(ImageSnapshot, LongChainsUseShortLinksThenFail) {
  TempDir t;
  Snapshotter s = OpenSnap(t.path());
  std::string top = BuildChain(s, 60);  // ~115 bytes per full path: > 4000 bytes
  auto m = s.Prepare("long", top);
  ASSERT_TRUE(m.has_value()) << m.error().Message();
  const std::string& lower = (*m)[0].options[0];
  ASSERT_EQ(lower.rfind("lowerdir=", 0), 0u);
  size_t total = 0;
  for (const auto& o : (*m)[0].options) total += o.size() + 1;
  EXPECT_LE(total, 4000u);
  // Each entry is a short link resolving to its layer, top-most first.
  std::vector<std::string> entries;
  for (size_t pos = 9, next; pos <= lower.size(); pos = next + 1) {
    next = lower.find(':', pos);
    if (next == std::string::npos) next = lower.size();
    entries.push_back(lower.substr(pos, next - pos));
  }
  ASSERT_EQ(entries.size(), 60u);
  for (int i = 0; i < 60; ++i) {
    const std::string& e = entries[static_cast<size_t>(i)];
    EXPECT_EQ(e, t.path() + "/l/" + Hex(Chain(60 - i)).substr(0, 12));
    char real[PATH_MAX];
    ASSERT_NE(::realpath(e.c_str(), real), nullptr) << e;
    EXPECT_EQ(std::string(real), s.LayerPath(Chain(60 - i)));
  }
  // Beyond what even short links fit: a clear error.
  std::string too_long = top;
  for (int i = 61; i <= 100; ++i) {
    AddLayer(s, Chain(i), too_long);
    too_long = Chain(i);
  }
  auto v = s.View(too_long);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().Message().find("100 layers need"), std::string::npos) << v.error().Message();
}

TEST(ImageSnapshot, RemoveLayerRefusedWhileUsed) {
  TempDir t;
  Snapshotter s = OpenSnap(t.path());
  AddLayer(s, Chain(1), "");
  AddLayer(s, Chain(2), Chain(1));
  ASSERT_TRUE(s.Prepare("c1", Chain(2)).has_value());

  auto r1 = s.RemoveLayer(Chain(1));
  ASSERT_FALSE(r1.has_value());
  EXPECT_NE(r1.error().Message().find("in use by active snapshot \"c1\""), std::string::npos)
      << r1.error().Message();
  auto r2 = s.RemoveLayer(Chain(2));
  ASSERT_FALSE(r2.has_value());
  EXPECT_NE(r2.error().Message().find("\"c1\""), std::string::npos);

  ASSERT_TRUE(s.Remove("c1").has_value());
  auto r3 = s.RemoveLayer(Chain(1));
  ASSERT_FALSE(r3.has_value());
  EXPECT_NE(r3.error().Message().find("layer " + Chain(2) + " is built on it"), std::string::npos)
      << r3.error().Message();
  ASSERT_TRUE(s.RemoveLayer(Chain(2)).has_value());
  ASSERT_TRUE(s.RemoveLayer(Chain(1)).has_value());
  EXPECT_TRUE(s.Layers()->empty());
  EXPECT_TRUE(s.RemoveLayer(Chain(1)).has_value()) << "absent is not an error";
  EXPECT_TRUE(ListDir(t.path() + "/tmp")->empty());
  EXPECT_TRUE(ListDir(t.path() + "/l")->empty()) << "short links go with their layers";
}

TEST(ImageSnapshot, OverlayMountRoot) {
  REQUIRE_ROOT("to mount overlayfs");
  TempDir t;
  Snapshotter s = OpenSnap(t.path() + "/snap");
  AddLayer(s, Chain(1), "", {{"base", "from layer 1"}, {"shadowed", "old"}});
  AddLayer(s, Chain(2), Chain(1), {{"shadowed", "new"}});
  auto m = s.Prepare("ctr", Chain(2));
  ASSERT_TRUE(m.has_value()) << m.error().Message();
  std::string target = t.path() + "/rootfs";
  ASSERT_TRUE(MkdirAll(target, 0755));
  MountGuard guard{target};
  auto mr = MountAll(*m, target);
  ASSERT_TRUE(mr.has_value()) << mr.error().Message();

  EXPECT_EQ(ReadText(target + "/base"), "from layer 1");
  EXPECT_EQ(ReadText(target + "/shadowed"), "new");
  WriteText(target + "/written", "by the container");
  WriteText(target + "/base", "changed");
  std::string upper = t.path() + "/snap/active/ctr/fs";
  EXPECT_EQ(ReadText(upper + "/written"), "by the container");
  EXPECT_EQ(ReadText(upper + "/base"), "changed");
  EXPECT_EQ(ReadText(s.LayerPath(Chain(1)) + "/base"), "from layer 1");
  EXPECT_FALSE(Exists(s.LayerPath(Chain(1)) + "/written"));
  EXPECT_FALSE(Exists(s.LayerPath(Chain(2)) + "/written"));

  ASSERT_TRUE(UnmountAll(target).has_value());
  EXPECT_FALSE(Exists(target + "/base")) << "still mounted";
  EXPECT_TRUE(UnmountAll(target).has_value()) << "nothing mounted is not an error";

  // A read-only view of one layer: a bind that refuses writes.
  auto v = s.View(Chain(1));
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(MountAll(*v, target).has_value());
  EXPECT_EQ(ReadText(target + "/base"), "from layer 1");
  int fd = ::open((target + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, EROFS);
  if (fd >= 0) ::close(fd);
  ASSERT_TRUE(UnmountAll(target).has_value());

  // The overlay view: read-only too.
  auto v2 = s.View(Chain(2));
  ASSERT_TRUE(v2.has_value());
  ASSERT_TRUE(MountAll(*v2, target).has_value());
  EXPECT_EQ(ReadText(target + "/shadowed"), "new");
  fd = ::open((target + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  EXPECT_LT(fd, 0);
  if (fd >= 0) ::close(fd);
  ASSERT_TRUE(UnmountAll(target).has_value());

  // An empty snapshot: a writable bind.
  auto e = s.Prepare("empty", "");
  ASSERT_TRUE(e.has_value());
  ASSERT_TRUE(MountAll(*e, target).has_value());
  WriteText(target + "/x", "y");
  ASSERT_TRUE(UnmountAll(target).has_value());
  EXPECT_EQ(ReadText(t.path() + "/snap/active/empty/fs/x"), "y");
}

TEST(ImageSnapshot, OverlayMountLongChainRoot) {
  REQUIRE_ROOT("to mount overlayfs");
  TempDir t;
  Snapshotter s = OpenSnap(t.path());
  std::string top = BuildChain(s, 60);
  auto m = s.Prepare("ctr", top);
  ASSERT_TRUE(m.has_value()) << m.error().Message();
  ASSERT_NE((*m)[0].options[0].find("/l/"), std::string::npos) << "expected the short form";
  std::string target = t.path() + "/rootfs";
  ASSERT_TRUE(MkdirAll(target, 0755));
  MountGuard guard{target};
  auto mr = MountAll(*m, target);
  ASSERT_TRUE(mr.has_value()) << mr.error().Message();
  EXPECT_EQ(ReadText(target + "/layer1"), "1");
  EXPECT_EQ(ReadText(target + "/layer60"), "60");
  ASSERT_TRUE(UnmountAll(target).has_value());
}

TEST(ImageSnapshot, MountAllRejectsOversizedOptions) {
  Mount m{"overlay", "overlay", {"lowerdir=" + std::string(5000, 'a')}};
  auto r = MountAll({m}, "/nonexistent-target");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().Message().find("exceed one page"), std::string::npos);
}

}  // namespace
}  // namespace berth::image
