// Hostile layers: every test builds a tar with exactly the bytes an attacker would choose
// and checks that the unpack either fails with a clear error or stays inside the target —
// a sentinel directory next to the target, and host files such as /etc/passwd, must be
// exactly as before (mode, owner, size, mtime, link count, content). Each test runs with
// openat2 and with the userspace resolution fallback (BERTH_DISABLE_OPENAT2=1).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "image/unpack.h"
#include "image_tar_writer.h"
#include "test_util.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;
using testing::MemReader;
using testing::TarEntry;
using testing::TarWriter;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// What an escape would change: type, mode, owner, size, mtime, link count, contents.
std::string Describe(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return "absent";
  std::ostringstream d;
  d << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " "
    << st.st_size << " " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec << " n" << st.st_nlink
    << " i" << st.st_ino;
  if (S_ISREG(st.st_mode) && st.st_size < 65536) d << " [" << ReadAll(path) << "]";
  if (S_ISLNK(st.st_mode)) d << " -> " << fs::read_symlink(path).string();
  return d.str();
}

class ImageUnpackHostile : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!GetParam()) setenv("BERTH_DISABLE_OPENAT2", "1", 1);
    base_ = tmp_.path();
    root_ = base_ + "/root";
    sentinel_ = base_ + "/sentinel";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(sentinel_.c_str(), 0755), 0);
    { std::ofstream(sentinel_ + "/secret") << "untouched"; }
    ASSERT_EQ(mkdir((sentinel_ + "/sub").c_str(), 0700), 0);
    std::random_device rd;
    esc_ = "berth-escape-" + std::to_string(getpid()) + "-" + std::to_string(rd());
    before_ = Outside();
  }
  void TearDown() override { unsetenv("BERTH_DISABLE_OPENAT2"); }

  // Everything next to the target, plus host files and places an escape would write.
  std::map<std::string, std::string> Outside() const {
    std::map<std::string, std::string> m;
    for (auto it = fs::recursive_directory_iterator(base_);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it->path() == root_) {
        it.disable_recursion_pending();
        continue;
      }
      m[it->path()] = Describe(it->path());
    }
    for (std::string p : {"/etc/passwd", "/etc/shadow", "/etc/hostname", "/etc"})
      m[p] = Describe(p);
    for (std::string dir : {"/", "/tmp/", "/var/", "/var/tmp/", "/etc/", "/root/"})
      m[dir + esc_] = Describe(dir + esc_);
    return m;
  }

  Result<UnpackResult> Unpack(const std::string& tar, Compression c = Compression::kNone,
                              UnpackOptions opts = {}) {
    // Without chown the hostile cases also run unprivileged.
    opts.same_owner = false;
    MemReader r(testing::Compress(tar, c));
    return UnpackLayer(r, c, root_, opts);
  }

  void ExpectNothingOutsideChanged() {
    auto after = Outside();
    for (const auto& [path, was] : before_) EXPECT_EQ(after[path], was) << path;
    EXPECT_EQ(after.size(), before_.size()) << "entries appeared next to the target";
  }

  std::string P(const std::string& rel) const { return root_ + "/" + rel; }
  void ResetRoot() {
    ASSERT_TRUE(testutil::RemoveTreeOnOneMount(root_));
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
  }

  testutil::TempDir tmp_{"berth-unpack-hostile", "/var/tmp"};
  std::string base_, root_, sentinel_, esc_;
  std::map<std::string, std::string> before_;
};

INSTANTIATE_TEST_SUITE_P(Image, ImageUnpackHostile, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Openat2" : "UserspaceWalk"; });

TEST_P(ImageUnpackHostile, DotDotNamesAreCleanedInsideTheRoot) {
  std::string up;
  for (int i = 0; i < 16; ++i) up += "../";
  TarWriter w;
  w.File(up + "tmp/" + esc_, "a");
  w.File("x/../../../" + esc_, "b");
  w.File("../sentinel/secret", "pwned");
  w.Dir(up + "etc/" + esc_ + "/");
  auto r = Unpack(w.Finish());
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(ReadAll(P("tmp/" + esc_)), "a");
  EXPECT_EQ(ReadAll(P(esc_)), "b");
  EXPECT_EQ(ReadAll(P("sentinel/secret")), "pwned");
  EXPECT_TRUE(Exists(P("etc/" + esc_)));
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, AbsoluteNamesLandInsideTheRoot) {
  TarWriter w;
  w.File("/etc/" + esc_, "abs");
  w.File(sentinel_ + "/secret", "pwned");
  w.Symlink("/" + esc_, "/etc/passwd");
  auto r = Unpack(w.Finish());
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(ReadAll(P("etc/" + esc_)), "abs");
  EXPECT_EQ(ReadAll(P(sentinel_.substr(1) + "/secret")), "pwned");
  EXPECT_EQ(fs::read_symlink(P(esc_)), "/etc/passwd");
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, WritesThroughSymlinkedParentsStayInside) {
  TarWriter w;
  // "a -> /" then "a/etc/passwd" is the classic; the files written through the links here
  // are the sentinel's (or new, uniquely named), so that should the unpacker ever regress,
  // this test damages its own sentinel and never a host file such as /etc/passwd.
  w.Symlink("a", "/").File("a" + sentinel_ + "/secret", "pwned via /");
  w.Symlink("b", sentinel_).Dir("b/newdir/").File("b/sub/f", "f");
  w.Symlink("c", "../../..").File("c/" + esc_, "c");
  w.Symlink("l1", "l2").Symlink("l2", "../../../../tmp").File("l1/" + esc_, "chain");
  w.Symlink("dangling", "/nonexistent/deeper").File("dangling/" + esc_, "d");
  w.Symlink("selfparent", ".").File("selfparent/selfparent/s", "s");
  auto r = Unpack(w.Finish());
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  std::string in_sentinel = P(sentinel_.substr(1));
  EXPECT_EQ(ReadAll(in_sentinel + "/secret"), "pwned via /");
  EXPECT_TRUE(fs::is_directory(in_sentinel + "/newdir"));
  EXPECT_EQ(ReadAll(in_sentinel + "/sub/f"), "f");
  EXPECT_EQ(ReadAll(P(esc_)), "c");
  EXPECT_EQ(ReadAll(P("tmp/" + esc_)), "chain");
  EXPECT_EQ(ReadAll(P("nonexistent/deeper/" + esc_)), "d");
  EXPECT_EQ(ReadAll(P("s")), "s");
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, EntriesReplaceASymlinkInsteadOfFollowingIt) {
  TarWriter w;
  w.Symlink("f", sentinel_ + "/secret").File("f", "pwned");
  w.Symlink("d", sentinel_).Dir("d/");
  w.Symlink("n", sentinel_ + "/secret").Add({.name = "n", .type = '6'});
  w.Symlink("s", sentinel_ + "/secret").Symlink("s", "/elsewhere");
  w.File("target", "t").Symlink("h", sentinel_ + "/secret").HardLink("h", "target");
  auto r = Unpack(w.Finish());
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(ReadAll(P("f")), "pwned");
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(P("d"))) == false && fs::is_directory(P("d")));
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(P("n"))));
  EXPECT_EQ(fs::read_symlink(P("s")), "/elsewhere");
  EXPECT_EQ(ReadAll(P("h")), "t");
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, HardLinksToHostFilesFail) {
  std::string up = "../../../../../../../..";
  for (const std::string& target : std::vector<std::string>{
           up + "/etc/passwd", "/etc/shadow", sentinel_ + "/secret", "../sentinel/secret"}) {
    auto r = Unpack(TarWriter().HardLink("h", target).Finish());
    ASSERT_FALSE(r.has_value()) << target;
    EXPECT_NE(r.error().Message().find("unpack: link h"), std::string::npos) << r.error().Message();
    EXPECT_FALSE(Exists(P("h")));
  }
  // Through a symlinked parent too: "s/passwd" is <root>/etc/passwd, which does not exist.
  auto r = Unpack(TarWriter().Symlink("s", "/etc").HardLink("h", "s/passwd").Finish());
  ASSERT_FALSE(r.has_value());
  EXPECT_FALSE(Exists(P("h")));
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, HardLinkTargetsResolveInsideTheRoot) {
  TarWriter w;
  w.File("etc/passwd", "layer's own").Symlink("s", "/etc").HardLink("h", "s/passwd");
  w.HardLink("h2", "/../../etc/passwd");
  auto r = Unpack(w.Finish());
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(ReadAll(P("h")), "layer's own");
  EXPECT_EQ(fs::hard_link_count(P("etc/passwd")), 3u);
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, HardLinksToDirectoriesAndTheRootFail) {
  auto dir = Unpack(TarWriter().Dir("d/").HardLink("h", "d").Finish());
  ASSERT_FALSE(dir.has_value());
  EXPECT_NE(dir.error().Message().find("directory"), std::string::npos) << dir.error().Message();
  for (const char* t : {".", "/", "../.."}) {
    auto r = Unpack(TarWriter().HardLink("h2", t).Finish());
    ASSERT_FALSE(r.has_value()) << t;
    EXPECT_NE(r.error().Message().find("layer root"), std::string::npos) << r.error().Message();
  }
  for (const char* name : {".", "/", "a/.."}) {
    auto over_root = Unpack(TarWriter().Symlink(name, "/etc").Finish());
    ASSERT_FALSE(over_root.has_value()) << name;
    EXPECT_NE(over_root.error().Message().find("layer root"), std::string::npos)
        << over_root.error().Message();
  }
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, OverlongNamesAreMalformed) {
  std::string huge(5000, 'n');
  auto name = Unpack(TarWriter().File(huge, "x").Finish());
  ASSERT_FALSE(name.has_value());
  EXPECT_NE(name.error().Message().find("longer than 4096"), std::string::npos)
      << name.error().Message();
  auto link = Unpack(TarWriter().Symlink("l", huge).Finish());
  ASSERT_FALSE(link.has_value());
  EXPECT_NE(link.error().Message().find("symlink target longer"), std::string::npos);
  auto hard = Unpack(TarWriter().HardLink("h", huge).Finish());
  ASSERT_FALSE(hard.has_value());
  EXPECT_NE(hard.error().Message().find("hard link target longer"), std::string::npos);

  UnpackOptions small;
  small.max_entry_name = 64;
  auto r = Unpack(TarWriter().File(std::string(80, 'a'), "x").Finish(), Compression::kNone, small);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().Message().find("longer than 64"), std::string::npos) << r.error().Message();
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, NulInANameCannotSmuggleAPath) {
  // A pax path with a NUL. libarchive keeps what precedes the NUL (a C string), so the
  // rest never takes effect; an error would be as good.
  std::string name = std::string("nul") + '\0' + "/../../../../tmp/" + esc_;
  auto r = Unpack(TarWriter().File(name, "x").Finish());
  if (r.has_value()) {
    EXPECT_EQ(ReadAll(P("nul")), "x");
    EXPECT_FALSE(Exists(P("tmp")));
  }
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, TruncatedLayersFailClearly) {
  TarWriter w;
  w.File("a", "aaaa").File("big", std::string(100000, 'b')).File("c", "c");
  std::string tar = w.Finish();
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    // Cut inside big's data and inside a header; compressed whole (the tar is short) and,
    // for the compressed forms, cut as a compressed stream as well.
    for (size_t cut : {size_t{512 * 3 + 5000}, size_t{512 * 3 + 100000 + 512 + 100}}) {
      auto r = Unpack(tar.substr(0, cut), c);
      ASSERT_FALSE(r.has_value()) << int(c) << " " << cut;
      EXPECT_NE(r.error().Message().find("unexpected end of layer"), std::string::npos)
          << r.error().Message();
    }
    if (c == Compression::kNone) continue;
    std::string z = testing::Compress(tar, c);
    MemReader in(z.substr(0, z.size() * 2 / 3));
    auto r = UnpackLayer(in, c, root_, {.same_owner = false});
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().Message().find("unexpected end of layer"), std::string::npos)
        << r.error().Message();
  }
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, GarbageFailsClearly) {
  std::string garbage(4096, '\0');
  std::mt19937 rng(42);
  for (auto& ch : garbage) ch = static_cast<char>(rng());
  auto none = Unpack(garbage);
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().Message().find("malformed tar"), std::string::npos)
      << none.error().Message();
  auto gz = Unpack(garbage, Compression::kGzip);  // valid gzip of garbage
  ASSERT_FALSE(gz.has_value());
  EXPECT_NE(gz.error().Message().find("malformed tar"), std::string::npos);
  MemReader raw(garbage);
  auto not_gzip = UnpackLayer(raw, Compression::kGzip, root_);
  ASSERT_FALSE(not_gzip.has_value());
  EXPECT_NE(not_gzip.error().Message().find("gzip"), std::string::npos);

  // A good entry, then a header with a broken checksum.
  std::string tar = TarWriter().File("ok", "fine").Finish();
  std::string bad = TarWriter().File("next", "x").Finish();
  bad[148] ^= 0x7;
  auto mid = Unpack(tar.substr(0, 1024) + bad);
  ASSERT_FALSE(mid.has_value());
  EXPECT_NE(mid.error().Message().find("after entry \"ok\""), std::string::npos)
      << mid.error().Message();
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, GzipWithABadCrcFailsEvenAfterTheTarEnded) {
  std::string tar = TarWriter().File("f", std::string(50000, 'q')).Finish();
  std::string z = testing::Gzip(tar);
  z[z.size() - 7] ^= 0x01;
  MemReader in(z);
  auto r = UnpackLayer(in, Compression::kGzip, root_, {.same_owner = false});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().Message().find("gzip: corrupt data in layer"), std::string::npos)
      << r.error().Message();
  ExpectNothingOutsideChanged();
}

TEST_P(ImageUnpackHostile, WhiteoutsCannotReachOutside) {
  for (bool overlay : {true, false}) {
    if (overlay && !testutil::IsRoot()) continue;  // mknod needs root
    UnpackOptions o;
    o.overlay_whiteouts = overlay;
    ResetRoot();
    TarWriter w;
    w.Symlink("s", sentinel_).File("s/.wh.secret", "").File("s/sub/.wh..wh..opq", "");
    w.File("../sentinel/.wh.secret", "").File(sentinel_ + "/.wh.sub", "");
    auto r = Unpack(w.Finish(), Compression::kNone, o);
    ASSERT_TRUE(r.has_value()) << r.error().Message();
    ExpectNothingOutsideChanged();
  }
}

}  // namespace
}  // namespace berth::image
