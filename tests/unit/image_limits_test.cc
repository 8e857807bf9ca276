// Image limits: sizes and their text, the [image] table of berth.toml, and each limit
// stopping an unpack with ResourceExhausted and a message naming the limit and how far it
// got: a layer's size (the stream, and sparse files by their length; hard links once), its
// entries, the compression ratio (zstd and gzip bombs), an image's layers together, and the
// free-space floor (on a small tmpfs: needs root to mount, skips otherwise).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "image/limits.h"
#include "image/unpack.h"
#include "image_tar_writer.h"
#include "test_util.h"

namespace berth::image {
namespace {

using testing::Compress;
using testing::MemReader;
using testing::TarWriter;

struct TempDir : testutil::TempDir {
  TempDir() : testutil::TempDir("berth-limits-test", "/var/tmp") {}
};

Limits NoLimits() {
  Limits l;
  for (auto key : LimitKeys()) EXPECT_TRUE(SetLimit(l, key, "0").has_value()) << key;
  return l;
}

Result<UnpackResult> UnpackWith(const std::string& bytes, Compression c, const std::string& dir,
                                const Limits& l, ImageBudget* image = nullptr) {
  MemReader r(bytes, 64 << 10);
  UnpackOptions o;
  o.limits = &l;
  o.image = image;
  return UnpackLayer(r, c, dir, o);
}

std::string Fresh(const TempDir& t, const std::string& name) {
  std::string d = t.path() + "/" + name;
  EXPECT_EQ(::mkdir(d.c_str(), 0755), 0);
  return d;
}

void ExpectLimit(const Result<UnpackResult>& r, const std::string& want) {
  ASSERT_FALSE(r.has_value()) << "the limit did not stop the unpack";
  EXPECT_EQ(r.error().Kind(), ErrorKind::kResourceExhausted) << r.error().Message();
  EXPECT_NE(r.error().Message().find(want), std::string::npos) << r.error().Message();
}

TEST(ImageLimits, SizesParseAndPrint) {
  EXPECT_EQ(*ParseSize("0"), 0);
  EXPECT_EQ(*ParseSize("4096"), 4096);
  EXPECT_EQ(*ParseSize("4k"), 4096);
  EXPECT_EQ(*ParseSize("16MiB"), 16 << 20);
  EXPECT_EQ(*ParseSize(" 2 GB "), int64_t{2} << 30);
  EXPECT_EQ(*ParseSize("1T"), int64_t{1} << 40);
  for (const char* bad : {"", "-1", "1.5G", "12 parsecs", "G", "99999999999T"}) {
    auto r = ParseSize(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().Kind(), ErrorKind::kInvalidArgument);
  }
  EXPECT_EQ(FormatSize(1000), "1000 bytes");
  EXPECT_EQ(FormatSize(int64_t{32} << 30), "32 GiB");
  EXPECT_EQ(FormatSize(3 << 19), "1.5 MiB");
  EXPECT_EQ(LimitDefaultText("min_free_percent"), "5%");
  EXPECT_EQ(LimitDefaultText("max_layer_size"), "32 GiB");
}

TEST(ImageLimits, SetLimitChecksEachKindOfValue) {
  Limits l;
  ASSERT_TRUE(SetLimit(l, "max_layer_size", "8GiB").has_value());
  EXPECT_EQ(l.max_layer_size, int64_t{8} << 30);
  ASSERT_TRUE(SetLimit(l, "min_free_percent", "10%").has_value());
  EXPECT_EQ(l.min_free_percent, 10);
  ASSERT_TRUE(SetLimit(l, "max_layer_entries", "5000").has_value());
  EXPECT_EQ(l.max_layer_entries, 5000);
  auto unknown = SetLimit(l, "max_layer_sise", "1");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().Message().find("max_layer_sise"), std::string::npos);
  auto pct = SetLimit(l, "min_free_percent", "150");
  ASSERT_FALSE(pct.has_value());
  EXPECT_NE(pct.error().Message().find("min_free_percent"), std::string::npos) << pct.error().Message();
  auto count = SetLimit(l, "max_layer_entries", "1k");
  ASSERT_FALSE(count.has_value()) << "entries are a count, not a size";
  EXPECT_EQ(l.max_layer_entries, 5000) << "a refused value changes nothing";
}

TEST(ImageLimits, TomlImageTable) {
  Limits l;
  auto r = ParseLimitsToml(l, R"(
listen = "unix:///run/berth/berth.sock"   # the daemon's, not ours
[image]
max_layer_size = "2GiB"
max_layer_entries = 20000
min_free_bytes = 0
[cni]
conf_dir = "/etc/cni/net.d"
)", "berth.toml");
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(l.max_layer_size, int64_t{2} << 30);
  EXPECT_EQ(l.max_layer_entries, 20000);
  EXPECT_EQ(l.min_free_bytes, 0);
  EXPECT_EQ(l.max_image_size, Limits{}.max_image_size) << "keys not given keep their defaults";

  auto unknown = ParseLimitsToml(l, "[image]\nmax_layers = 3\n", "/etc/berth/berth.toml");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().Message().find("/etc/berth/berth.toml [image] max_layers"), std::string::npos)
      << unknown.error().Message();
  auto type = ParseLimitsToml(l, "[image]\nmax_layer_size = true\n", "f.toml");
  ASSERT_FALSE(type.has_value());
  EXPECT_NE(type.error().Message().find("integer or a string"), std::string::npos);
  auto value = ParseLimitsToml(l, "[image]\nmax_layer_size = \"lots\"\n", "f.toml");
  ASSERT_FALSE(value.has_value());
  EXPECT_NE(value.error().Message().find("f.toml [image] max_layer_size"), std::string::npos)
      << value.error().Message();
  auto syntax = ParseLimitsToml(l, "[image\n", "f.toml");
  ASSERT_FALSE(syntax.has_value());
  EXPECT_NE(syntax.error().Message().find("f.toml:1"), std::string::npos) << syntax.error().Message();

  TempDir t;
  EXPECT_TRUE(LoadLimits(l, t.path() + "/none.toml", false).has_value());
  auto missing = LoadLimits(l, t.path() + "/none.toml", true);
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(missing.error().IsNotFound());
}

TEST(ImageLimits, LayerSizeStopsTheUnpackAndZeroTurnsItOff) {
  TempDir t;
  TarWriter w;
  w.File("small", "x");
  w.File("big", std::string(3 << 20, 'a'));
  std::string tar = w.Finish();
  Limits l = NoLimits();
  l.max_layer_size = 1 << 20;
  auto r = UnpackWith(tar, Compression::kNone, Fresh(t, "a"), l);
  ExpectLimit(r, "max_layer_size = 1 MiB");
  EXPECT_NE(r.error().Message().find("at entry \"big\""), std::string::npos) << r.error().Message();
  struct stat st;
  if (::stat((t.path() + "/a/big").c_str(), &st) == 0)
    EXPECT_LE(st.st_size, 2 << 20) << "stopped within a buffer of the limit";
  l.max_layer_size = 0;
  EXPECT_TRUE(UnpackWith(tar, Compression::kNone, Fresh(t, "b"), l).has_value());
}

TEST(ImageLimits, SparseFilesCountByLengthHardLinksOnce) {
  TempDir t;
  std::string map = "1\n0\n4\n";
  map.resize(512, '\0');
  TarWriter sparse;
  sparse.Add({.name = "GNUSparseFile.0/disk",
              .type = '0',
              .data = map + "head",
              .pax = {{"GNU.sparse.major", "1"},
                      {"GNU.sparse.minor", "0"},
                      {"GNU.sparse.name", "disk"},
                      {"GNU.sparse.realsize", std::to_string(64 << 20)}}});
  Limits l = NoLimits();
  l.max_layer_size = 16 << 20;
  auto r = UnpackWith(sparse.Finish(), Compression::kNone, Fresh(t, "s"), l);
  ExpectLimit(r, "max_layer_size = 16 MiB");
  EXPECT_NE(r.error().Message().find("stopped at 64 MiB, counting each file by its length"), std::string::npos) << r.error().Message();

  TarWriter linked;
  linked.File("one", std::string(600 << 10, 'b'));
  linked.Add({.name = "two", .type = '1', .link = "one"});
  linked.Add({.name = "three", .type = '1', .link = "one"});
  l.max_layer_size = 1 << 20;
  auto ok = UnpackWith(linked.Finish(), Compression::kNone, Fresh(t, "h"), l);
  EXPECT_TRUE(ok.has_value()) << "600 KiB linked three times is 600 KiB: " << ok.error().Message();
}

TEST(ImageLimits, EntriesAreCounted) {
  TempDir t;
  TarWriter w;
  for (int i = 0; i < 20; ++i) w.File("f" + std::to_string(i), "");
  std::string tar = w.Finish();
  Limits l = NoLimits();
  l.max_layer_entries = 10;
  ExpectLimit(UnpackWith(tar, Compression::kNone, Fresh(t, "a"), l),
              "more entries than the limit max_layer_entries = 10 allows (stopped after 11 entries");
  l.max_layer_entries = 20;
  EXPECT_TRUE(UnpackWith(tar, Compression::kNone, Fresh(t, "b"), l).has_value());
}

TEST(ImageLimits, CompressionRatioStopsZstdAndGzipBombs) {
  TempDir t;
  TarWriter w;
  w.File("zeros", std::string(24 << 20, '\0'));
  std::string tar = w.Finish();
  Limits l = NoLimits();
  l.max_compression_ratio = 100;
  l.ratio_grace = 4 << 20;
  for (Compression c : {Compression::kZstd, Compression::kGzip}) {
    if (c == Compression::kGzip && !testing::HaveGzip()) continue;
    std::string blob = Compress(tar, c);
    ASSERT_LT(blob.size(), tar.size() / 100) << "zeros compress";
    ExpectLimit(UnpackWith(blob, c, Fresh(t, "bomb" + std::to_string(int(c))), l),
                "more than the limit max_compression_ratio = 100:1 allows");
  }
  // Real data compresses far less: the same size of pseudorandom bytes passes.
  std::string noise(24 << 20, '\0');
  unsigned seed = 7;
  for (auto& ch : noise) ch = static_cast<char>((seed = seed * 1103515245 + 12345) >> 16);
  TarWriter n;
  n.File("noise", noise);
  auto ok = UnpackWith(Compress(n.Finish(), Compression::kZstd), Compression::kZstd, Fresh(t, "n"), l);
  EXPECT_TRUE(ok.has_value()) << ok.error().Message();
}

TEST(ImageLimits, ImageBudgetIsSharedByItsLayers) {
  TempDir t;
  TarWriter w;
  w.File("part", std::string(700 << 10, 'c'));
  std::string tar = w.Finish();
  Limits l = NoLimits();
  l.max_layer_size = 1 << 20;
  ImageBudget image;
  image.max = 1 << 20;
  ASSERT_TRUE(UnpackWith(tar, Compression::kNone, Fresh(t, "a"), l, &image).has_value())
      << "one layer passes both limits";
  ExpectLimit(UnpackWith(tar, Compression::kNone, Fresh(t, "b"), l, &image),
              "the image's layers unpack to more than the limit max_image_size = 1 MiB");
}

TEST(ImageLimits, FreeSpaceFloorRoot) {
  REQUIRE_ROOT();
  TempDir t;
  std::string mnt = Fresh(t, "small");
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=16m"), 0) << strerror(errno);
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } guard{mnt};
  TarWriter w;
  w.File("fill", std::string(10 << 20, 'd'));
  std::string tar = w.Finish();
  Limits l = NoLimits();
  l.min_free_bytes = 12 << 20;
  auto r = UnpackWith(tar, Compression::kNone, Fresh(t, "small/a"), l);
  ExpectLimit(r, "free-space floor of 12 MiB");
  struct stat st;
  ASSERT_EQ(::stat((mnt + "/a/fill").c_str(), &st), 0);
  EXPECT_LE(st.st_size, 5 << 20) << "stopped within about a buffer of the floor";
  ::unlink((mnt + "/a/fill").c_str());
  l.min_free_bytes = 0;
  l.min_free_percent = 50;
  ExpectLimit(UnpackWith(tar, Compression::kNone, Fresh(t, "small/b"), l), "min_free_percent 50%");
  ::unlink((mnt + "/b/fill").c_str());
  l.min_free_percent = 0;
  EXPECT_TRUE(UnpackWith(tar, Compression::kNone, Fresh(t, "small/c"), l).has_value());
}

}  // namespace
}  // namespace berth::image
