// Layer unpacking: decompression (gzip via ISA-L, zstd, none) against independent
// compressors, the diff_id, and what lands on disk — types, ownership, modes, times,
// xattrs, whiteouts, replacement. Hostile layers are in image_unpack_hostile_test.cc.
// Ownership, device nodes and trusted.* xattrs need root: those tests skip otherwise.
// The target directory lives under /var/tmp, on a real filesystem (tmpfs may lack user.*).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "image/digest.h"
#include "image/unpack.h"
#include "image_tar_writer.h"
#include "test_util.h"

namespace berth::image {
namespace {

using testing::Compress;
using testing::MemReader;
using testing::TarEntry;
using testing::TarWriter;

// Under /var/tmp: see the top of the file.
struct TempDir : testutil::TempDir {
  TempDir() : testutil::TempDir("berth-unpack-test", "/var/tmp") {}
};

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path << ": " << strerror(errno);
  return st;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::string GetXattr(const std::string& path, const std::string& name) {
  char buf[256];
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf, sizeof(buf));
  return n < 0 ? std::string("<") + strerror(errno) + ">" : std::string(buf, n);
}

Result<UnpackResult> Unpack(const std::string& bytes, Compression c, const std::string& dir,
                            const UnpackOptions& opts = {}, size_t chunk = SIZE_MAX) {
  MemReader r(bytes, chunk);
  return UnpackLayer(r, c, dir, opts);
}

std::string Decompressed(const std::string& bytes, Compression c, size_t chunk) {
  MemReader r(bytes, chunk);
  auto d = Decompress(r, c);
  EXPECT_TRUE(d.has_value());
  std::string out;
  char buf[7000];
  for (;;) {
    auto n = (*d)->Read(buf, sizeof(buf));
    EXPECT_TRUE(n.has_value()) << n.error().Message();
    if (!n || *n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

std::string Pseudorandom(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245 + 12345;
    s[i] = static_cast<char>(seed >> 16);
  }
  return s;
}


class ImageUnpack : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveGzip()) GTEST_SKIP() << "gzip(1) is needed to build gzip layers";
    root_ = tmp_.path() + "/root";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
  }
  std::string P(const std::string& rel) const { return root_ + "/" + rel; }

  TempDir tmp_;
  std::string root_;
};

// ---------------------------------------------------------------------------------------
// Decompression

TEST_F(ImageUnpack, DecompressRoundTripsEveryCompressionInAnyChunking) {
  // Large and incompressible enough to span many input and output buffers.
  std::string data = Pseudorandom(3 << 20, 7) + std::string(2 << 20, 'a');
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string z = Compress(data, c);
    ASSERT_FALSE(z.empty());
    for (size_t chunk : {size_t{1} << 30, size_t{4099}, size_t{1}}) {
      if (chunk == 1 && c != Compression::kGzip) continue;  // slow; gzip covers the edges
      std::string in = chunk == 1 ? Compress(data.substr(0, 100000), c) : z;
      std::string want = chunk == 1 ? data.substr(0, 100000) : data;
      EXPECT_EQ(Decompressed(in, c, chunk), want) << "compression " << int(c) << " chunk " << chunk;
    }
  }
}

TEST_F(ImageUnpack, GzipMultiMemberIsDecodedWhole) {
  std::string a = Pseudorandom(300000, 1), b = "second member", c = std::string(70000, 'z');
  std::string z = testing::Gzip(a) + testing::Gzip(b) + testing::Gzip(c);
  for (size_t chunk : {size_t{1} << 30, size_t{1000}, size_t{3}})
    EXPECT_EQ(Decompressed(z, Compression::kGzip, chunk), a + b + c) << chunk;
}

TEST_F(ImageUnpack, ZstdMultiFrameIsDecodedWhole) {
  std::string z = testing::Zstd("frame one,") + testing::Zstd(" frame two");
  EXPECT_EQ(Decompressed(z, Compression::kZstd, 5), "frame one, frame two");
}

Error DecompressError(const std::string& bytes, Compression c) {
  MemReader r(bytes);
  auto d = Decompress(r, c);
  EXPECT_TRUE(d.has_value());
  char buf[65536];
  for (;;) {
    auto n = (*d)->Read(buf, sizeof(buf));
    if (!n) return n.error();
    if (*n == 0) break;
  }
  ADD_FAILURE() << "decompression of bad input succeeded";
  return {};
}

TEST_F(ImageUnpack, GzipBadCrcTruncationAndGarbageAreErrors) {
  std::string z = testing::Gzip(Pseudorandom(100000, 3));
  std::string bad_crc = z;
  bad_crc[bad_crc.size() - 6] ^= 0x55;  // inside the CRC32 of the trailer
  EXPECT_NE(DecompressError(bad_crc, Compression::kGzip).Message().find("CRC"), std::string::npos);
  std::string bad_size = z;
  bad_size[bad_size.size() - 2] ^= 0x01;  // ISIZE
  EXPECT_NE(DecompressError(bad_size, Compression::kGzip).Message().find("corrupt data"),
            std::string::npos);
  auto cut = DecompressError(z.substr(0, z.size() - 20), Compression::kGzip).Message();
  EXPECT_NE(cut.find("unexpected end of layer"), std::string::npos) << cut;
  auto cut_trailer = DecompressError(z.substr(0, z.size() - 3), Compression::kGzip).Message();
  EXPECT_NE(cut_trailer.find("unexpected end of layer"), std::string::npos) << cut_trailer;
  auto garbage = DecompressError("this is not gzip at all, not even close", Compression::kGzip);
  EXPECT_NE(garbage.Message().find("gzip"), std::string::npos) << garbage.Message();
  // Bytes after a complete member must be another member.
  auto trailing = DecompressError(z + "junk", Compression::kGzip).Message();
  EXPECT_NE(trailing.find("gzip"), std::string::npos) << trailing;
  EXPECT_NE(DecompressError("", Compression::kGzip).Message().find("unexpected end"),
            std::string::npos);
}

TEST_F(ImageUnpack, ZstdCorruptionAndTruncationAreErrors) {
  std::string z = testing::Zstd(Pseudorandom(100000, 4));
  auto cut = DecompressError(z.substr(0, z.size() / 2), Compression::kZstd).Message();
  EXPECT_NE(cut.find("unexpected end of layer"), std::string::npos) << cut;
  auto garbage = DecompressError("not zstd data at all", Compression::kZstd).Message();
  EXPECT_NE(garbage.find("zstd: corrupt data"), std::string::npos) << garbage;
  EXPECT_NE(DecompressError("", Compression::kZstd).Message().find("unexpected end"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------
// diff_id and basic entries

TEST_F(ImageUnpack, DiffIdIsSha256OfTheWholeUncompressedTarIncludingPadding) {
  TarWriter w;
  w.Dir("etc/").File("etc/hostname", "box\n").File("big", Pseudorandom(1500000, 9));
  std::string tar = w.Finish(10240);  // tar(1)'s record padding after the end blocks
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    TempDir t;
    // Small reads: libarchive stops pulling at the end blocks, the padding after them is
    // read (and hashed) only by the drain.
    auto r = Unpack(Compress(tar, c), c, t.path(), {}, 512);
    ASSERT_TRUE(r.has_value()) << r.error().Message();
    EXPECT_EQ(r->diff_id, Sha256Digest(tar));
    EXPECT_EQ(r->tar_bytes, static_cast<int64_t>(tar.size()));
    EXPECT_EQ(r->entries, 3);
    EXPECT_EQ(ReadAll(t.path() + "/big"), Pseudorandom(1500000, 9));
  }
}

TEST_F(ImageUnpack, GzipMultiMemberLayerUnpacks) {
  TarWriter w;
  w.File("a", "aaa").File("b", Pseudorandom(200000, 2));
  std::string tar = w.Finish();
  // Split the tar at an arbitrary byte, as parallel compressors split their input.
  std::string z = testing::Gzip(tar.substr(0, 777)) + testing::Gzip(tar.substr(777));
  auto r = Unpack(z, Compression::kGzip, root_, {}, 4096);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(r->diff_id, Sha256Digest(tar));
  EXPECT_EQ(ReadAll(P("a")), "aaa");
  EXPECT_EQ(ReadAll(P("b")), Pseudorandom(200000, 2));
}

TEST_F(ImageUnpack, EmptyLayersAreEmpty) {
  auto r = Unpack("", Compression::kNone, root_);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(r->entries, 0);
  EXPECT_EQ(r->diff_id, Sha256Digest(""));
  std::string only_end = TarWriter().Finish();
  auto g = Unpack(testing::Gzip(only_end), Compression::kGzip, root_);
  ASSERT_TRUE(g.has_value()) << g.error().Message();
  EXPECT_EQ(g->diff_id, Sha256Digest(only_end));
}

TEST_F(ImageUnpack, EntryTypesModesOwnersAndTimes) {
  REQUIRE_ROOT("chown to other uids, mknod");
  TarWriter w;
  w.Add({.name = "./usr/", .type = '5', .mode = 0755, .mtime = 1000000000});
  w.Add({.name = "./usr/bin/", .type = '5', .mode = 0755, .mtime = 1000000001});
  w.Add({.name = "./usr/bin/su",
         .type = '0',
         .data = "#!su",
         .mode = 04755,
         .uid = 0,
         .gid = 0,
         .mtime = 1100000000});
  w.Add({.name = "usr/bin/tool",
         .type = '0',
         .data = "x",
         .mode = 06711,
         .uid = 1000,
         .gid = 1001,
         .mtime = 1200000000,
         .pax = {{"mtime", "1200000000.25"}}});
  w.Add({.name = "tmp/", .type = '5', .mode = 01777, .mtime = 1300000000});
  w.Add({.name = "srv/", .type = '5', .mode = 02750, .uid = 33, .gid = 34, .mtime = 1300000001});
  w.Add({.name = "srv/data", .type = '0', .data = "d", .mode = 0600, .uid = 33, .gid = 34});
  w.Add({.name = "usr/bin/sh",
         .type = '2',
         .link = "../../bin/busybox",
         .uid = 5,
         .gid = 6,
         .mtime = 1400000000});
  w.Add({.name = "usr/bin/su2", .type = '1', .link = "usr/bin/su"});
  w.Add({.name = "dev/null", .type = '3', .mode = 0666, .devmajor = 1, .devminor = 3});
  w.Add({.name = "dev/loop0", .type = '4', .mode = 0660, .gid = 6, .devmajor = 7, .devminor = 0});
  w.Add({.name = "run/fifo", .type = '6', .mode = 0620, .uid = 7, .mtime = 1500000000});
  w.Add({.name = "ro/", .type = '5', .mode = 0555, .mtime = 1600000000});
  w.Add({.name = "ro/inside", .type = '0', .data = "in a read-only dir", .mode = 0444});
  auto r = Unpack(testing::Gzip(w.Finish()), Compression::kGzip, root_);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(r->entries, 14);

  auto su = Lstat(P("usr/bin/su"));
  EXPECT_TRUE(S_ISREG(su.st_mode));
  EXPECT_EQ(su.st_mode & 07777, 04755u);
  EXPECT_EQ(su.st_mtim.tv_sec, 1100000000);
  EXPECT_EQ(su.st_nlink, 2u);
  EXPECT_EQ(Lstat(P("usr/bin/su2")).st_ino, su.st_ino);

  auto tool = Lstat(P("usr/bin/tool"));
  EXPECT_EQ(tool.st_mode & 07777, 06711u) << "setuid/setgid survive the chown";
  EXPECT_EQ(tool.st_uid, 1000u);
  EXPECT_EQ(tool.st_gid, 1001u);
  EXPECT_EQ(tool.st_mtim.tv_sec, 1200000000);
  EXPECT_EQ(tool.st_mtim.tv_nsec, 250000000);

  EXPECT_EQ(Lstat(P("tmp")).st_mode & 07777, 01777u);
  auto srv = Lstat(P("srv"));
  EXPECT_EQ(srv.st_mode & 07777, 02750u);
  EXPECT_EQ(srv.st_uid, 33u);
  EXPECT_EQ(srv.st_gid, 34u);
  // Directory times are set after their contents were written.
  EXPECT_EQ(srv.st_mtim.tv_sec, 1300000001);
  EXPECT_EQ(Lstat(P("usr")).st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(Lstat(P("usr/bin")).st_mtim.tv_sec, 1000000001);

  auto sh = Lstat(P("usr/bin/sh"));
  ASSERT_TRUE(S_ISLNK(sh.st_mode));
  char target[64] = {};
  ASSERT_GT(readlink(P("usr/bin/sh").c_str(), target, sizeof(target) - 1), 0);
  EXPECT_STREQ(target, "../../bin/busybox");
  EXPECT_EQ(sh.st_uid, 5u);
  EXPECT_EQ(sh.st_gid, 6u);
  EXPECT_EQ(sh.st_mtim.tv_sec, 1400000000);

  auto null = Lstat(P("dev/null"));
  EXPECT_TRUE(S_ISCHR(null.st_mode));
  EXPECT_EQ(null.st_rdev, makedev(1, 3));
  EXPECT_EQ(null.st_mode & 07777, 0666u);
  auto loop = Lstat(P("dev/loop0"));
  EXPECT_TRUE(S_ISBLK(loop.st_mode));
  EXPECT_EQ(loop.st_rdev, makedev(7, 0));
  EXPECT_EQ(loop.st_gid, 6u);
  auto fifo = Lstat(P("run/fifo"));
  EXPECT_TRUE(S_ISFIFO(fifo.st_mode));
  EXPECT_EQ(fifo.st_mode & 07777, 0620u);
  EXPECT_EQ(fifo.st_uid, 7u);
  EXPECT_EQ(fifo.st_mtim.tv_sec, 1500000000);

  auto ro = Lstat(P("ro"));
  EXPECT_EQ(ro.st_mode & 07777, 0555u);
  EXPECT_EQ(ro.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(ReadAll(P("ro/inside")), "in a read-only dir");
  // Implicit parents (no entry of their own) exist as plain directories.
  EXPECT_TRUE(S_ISDIR(Lstat(P("dev")).st_mode));
}

TEST_F(ImageUnpack, SameOwnerOffKeepsOurOwnership) {
  TarWriter w;
  w.Add({.name = "f", .type = '0', .data = "x", .mode = 0640, .uid = 4242, .gid = 4343});
  UnpackOptions o;
  o.same_owner = false;
  auto r = Unpack(w.Finish(), Compression::kNone, root_, o);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  auto st = Lstat(P("f"));
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_F(ImageUnpack, RootDirectoryEntryUpdatesTheTargetItself) {
  TarWriter w;
  w.Add({.name = "./", .type = '5', .mode = 0751, .mtime = 1234567890});
  w.File("./x", "x");
  auto r = Unpack(w.Finish(), Compression::kNone, root_);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  auto st = Lstat(root_);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1234567890);
}

TEST_F(ImageUnpack, LongNamesAndSparseData) {
  std::string deep;
  for (int i = 0; i < 30; ++i) deep += "directory-" + std::to_string(i) + "/";
  TarWriter w;
  w.File(deep + "file-with-a-long-name", "deep");
  w.Symlink("l", deep + "file-with-a-long-name");
  auto r = Unpack(w.Finish(), Compression::kNone, root_);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(ReadAll(P(deep + "file-with-a-long-name")), "deep");
  EXPECT_EQ(ReadAll(P("l")), "deep");
}

TEST_F(ImageUnpack, GnuSparseFileKeepsItsSizeAndHoles) {
  // PAX 1.0 sparse: map "offset,size" pairs at the start of the data, holes elsewhere.
  std::string map = "2\n0\n4\n1048576\n3\n";
  map.resize(512, '\0');
  std::string data = map + "headend";  // the two data regions, back to back
  TarWriter w;
  w.Add({.name = "GNUSparseFile.0/sparse",
         .type = '0',
         .data = data,
         .pax = {{"GNU.sparse.major", "1"},
                 {"GNU.sparse.minor", "0"},
                 {"GNU.sparse.name", "sparse"},
                 {"GNU.sparse.realsize", "2097152"}}});
  auto r = Unpack(w.Finish(), Compression::kNone, root_);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  std::string got = ReadAll(P("sparse"));
  ASSERT_EQ(got.size(), 2097152u);
  EXPECT_EQ(got.substr(0, 4), "head");
  EXPECT_EQ(got.substr(1048576, 3), "end");
  EXPECT_EQ(got.substr(4, 1048572), std::string(1048572, '\0'));
}

// ---------------------------------------------------------------------------------------
// xattrs

TEST_F(ImageUnpack, XattrsAreSetAfterOwnershipSoCapabilitiesSurvive) {
  REQUIRE_ROOT("security.capability and trusted.* xattrs");
  // VFS_CAP_REVISION_2 | effective, permitted = CAP_NET_RAW (13): what ping carries.
  unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00};
  std::string capv(reinterpret_cast<char*>(cap), sizeof(cap));
  TarWriter w;
  w.Add(
      {.name = "bin/ping",
       .type = '0',
       .data = "elf",
       .mode = 0755,
       .uid = 0,
       .pax = {{"SCHILY.xattr.security.capability", capv}, {"SCHILY.xattr.user.origin", "layer"}}});
  w.Add({.name = "d/",
         .type = '5',
         .pax = {{"SCHILY.xattr.user.dir", "yes"},
                 {"SCHILY.xattr.trusted.note", "t"},
                 // Only our whiteout translation may set overlayfs' own attributes.
                 {"SCHILY.xattr.trusted.overlay.opaque", "y"},
                 {"SCHILY.xattr.trusted.overlay.redirect", "/elsewhere"}}});
  auto r = Unpack(testing::Gzip(w.Finish()), Compression::kGzip, root_);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(GetXattr(P("bin/ping"), "security.capability"), capv);
  EXPECT_EQ(GetXattr(P("bin/ping"), "user.origin"), "layer");
  EXPECT_EQ(GetXattr(P("d"), "user.dir"), "yes");
  EXPECT_EQ(GetXattr(P("d"), "trusted.note"), "t");
  EXPECT_EQ(GetXattr(P("d"), "trusted.overlay.opaque"), std::string("<") + strerror(ENODATA) + ">");
  EXPECT_EQ(GetXattr(P("d"), "trusted.overlay.redirect"),
            std::string("<") + strerror(ENODATA) + ">");
}

TEST_F(ImageUnpack, RejectedXattrIsReportedWithPathAndName) {
  TarWriter w;
  // security.capability must be a well-formed vfs_cap_data: the kernel refuses this one.
  w.Add({.name = "bin/bad",
         .type = '0',
         .data = "x",
         .pax = {{"SCHILY.xattr.security.capability", "xx"}}});
  auto r = Unpack(w.Finish(), Compression::kNone, root_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().Message().find("setxattr security.capability bin/bad"), std::string::npos)
      << r.error().Message();
}

// ---------------------------------------------------------------------------------------
// Replacement: a later entry wins

TEST_F(ImageUnpack, LaterEntriesReplaceEarlierOnes) {
  TarWriter w;
  w.File("f", "first").File("f", "second");
  w.File("x", "file").Dir("x/").File("x/in", "in");             // file -> directory
  w.Dir("y/").File("y/child", "c").File("y", "now a file");     // directory -> file
  w.Symlink("s", "f").File("s", "regular");                     // symlink -> file
  w.Dir("keep/", 0700).File("keep/a", "a").Dir("keep/", 0751);  // dir over dir: kept
  w.File("n", "n").Symlink("n", "f");                           // file -> symlink
  w.File("h", "h").HardLink("h", "f");                          // file -> hard link
  auto r = Unpack(w.Finish(), Compression::kNone, root_);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(ReadAll(P("f")), "second");
  EXPECT_EQ(ReadAll(P("x/in")), "in");
  EXPECT_EQ(ReadAll(P("y")), "now a file");
  EXPECT_TRUE(S_ISREG(Lstat(P("s")).st_mode));
  EXPECT_EQ(ReadAll(P("s")), "regular");
  EXPECT_EQ(ReadAll(P("keep/a")), "a");
  EXPECT_EQ(Lstat(P("keep")).st_mode & 07777, 0751u);
  EXPECT_TRUE(S_ISLNK(Lstat(P("n")).st_mode));
  EXPECT_EQ(Lstat(P("h")).st_ino, Lstat(P("f")).st_ino);
}

TEST_F(ImageUnpack, HardLinkToASymlinkLinksTheSymlink) {
  TarWriter w;
  w.Symlink("s", "/etc/passwd").HardLink("h", "s");
  auto r = Unpack(w.Finish(), Compression::kNone, root_);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  auto h = Lstat(P("h"));
  EXPECT_TRUE(S_ISLNK(h.st_mode));
  EXPECT_EQ(h.st_ino, Lstat(P("s")).st_ino);
}

// ---------------------------------------------------------------------------------------
// Whiteouts

TEST_F(ImageUnpack, OverlayWhiteoutsBecomeDevicesAndOpaqueXattrs) {
  REQUIRE_ROOT("mknod 0/0 and trusted.overlay.opaque");
  TarWriter w;
  w.File("etc/.wh.motd", "");
  w.File("etc/old", "x").File("etc/.wh.old", "");  // replaces an entry of this layer
  w.Dir("var/cache/").File("var/cache/.wh..wh..opq", "").File("var/cache/new", "n");
  w.File("opt/app/.wh..wh..opq", "");  // the directory itself had no entry
  auto r = Unpack(w.Finish(), Compression::kNone, root_);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  for (const char* wh : {"etc/motd", "etc/old"}) {
    auto st = Lstat(P(wh));
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << wh;
    EXPECT_EQ(st.st_rdev, makedev(0, 0)) << wh;
  }
  EXPECT_FALSE(Exists(P("etc/.wh.motd")));
  EXPECT_EQ(GetXattr(P("var/cache"), "trusted.overlay.opaque"), "y");
  EXPECT_EQ(ReadAll(P("var/cache/new")), "n");
  EXPECT_FALSE(Exists(P("var/cache/.wh..wh..opq")));
  EXPECT_EQ(GetXattr(P("opt/app"), "trusted.overlay.opaque"), "y");
}

TEST_F(ImageUnpack, FlatWhiteoutsDeleteWhatLowerLayersWrote) {
  UnpackOptions flat;
  flat.overlay_whiteouts = false;
  TarWriter lower;
  lower.File("a", "a").Dir("d/").File("d/x", "x").Dir("d/sub/").File("d/sub/y", "y");
  lower.Dir("e/").File("e/z", "z").File("keep", "k");
  ASSERT_TRUE(Unpack(lower.Finish(), Compression::kNone, root_, flat).has_value());

  TarWriter upper;
  upper.File(".wh.a", "").File("e/.wh.z", "").File(".wh.missing", "").File("nodir/.wh.f", "");
  // The layer's own entries in an opaque directory stay, whatever the order.
  upper.File("d/new", "n").Dir("d/sub/").File("d/sub/mine", "m").File("d/.wh..wh..opq", "");
  auto r = Unpack(upper.Finish(), Compression::kNone, root_, flat);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_FALSE(Exists(P("a")));
  EXPECT_FALSE(Exists(P("e/z")));
  EXPECT_TRUE(Exists(P("e")));
  EXPECT_FALSE(Exists(P("d/x")));
  EXPECT_FALSE(Exists(P("d/sub/y")));
  EXPECT_EQ(ReadAll(P("d/new")), "n");
  EXPECT_EQ(ReadAll(P("d/sub/mine")), "m");
  EXPECT_EQ(ReadAll(P("keep")), "k");
  EXPECT_FALSE(Exists(P(".wh.a")));
  EXPECT_FALSE(Exists(P("d/.wh..wh..opq")));
  EXPECT_FALSE(Exists(P("nodir")));
}

TEST_F(ImageUnpack, UnknownWhiteoutMetaNamesAreRejected) {
  for (bool overlay : {true, false}) {
    UnpackOptions o;
    o.overlay_whiteouts = overlay;
    for (const char* name : {"d/.wh..wh.plnk", "d/.wh.", "d/.wh..", "d/.wh..."}) {
      TempDir t;
      auto r = Unpack(TarWriter().File(name, "").Finish(), Compression::kNone, t.path(), o);
      ASSERT_FALSE(r.has_value()) << name;
      EXPECT_NE(r.error().Message().find("whiteout"), std::string::npos) << r.error().Message();
    }
  }
}

TEST_F(ImageUnpack, MissingTargetDirectoryIsAnError) {
  auto r = Unpack(TarWriter().File("a", "a").Finish(), Compression::kNone, root_ + "/nope");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().Message().find("nope"), std::string::npos);
}

TEST_F(ImageUnpack, FdReaderReadsAFile) {
  std::string tar = TarWriter().File("from-fd", "data").Finish();
  std::string z = testing::Zstd(tar);
  std::string path = tmp_.path() + "/layer.zst";
  { std::ofstream(path, std::ios::binary) << z; }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  FdReader in(fd);
  auto r = UnpackLayer(in, Compression::kZstd, root_);
  close(fd);
  ASSERT_TRUE(r.has_value()) << r.error().Message();
  EXPECT_EQ(r->diff_id, Sha256Digest(tar));
  EXPECT_EQ(ReadAll(P("from-fd")), "data");
}

}  // namespace
}  // namespace berth::image
