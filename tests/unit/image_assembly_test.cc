// Container assembly: names, a bundle or snapshot of that id that is not ours (left alone),
// and, as root, the real overlay mount, the bundle, and the undo of a failure after mounting.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "image/assembly.h"
#include "image/digest.h"
#include "sys/fs.h"
#include "test_util.h"

// The file helpers live in sys/fs.h.
using berth::sys::RemoveTree;
using berth::sys::MkdirAll;

namespace berth::image {
namespace {

// The shared helper (detaches mounts inside, never crosses one) under this file's name.
struct TempDir : testutil::TempDir {
  TempDir() : testutil::TempDir("berth-assembly-test") {}
};

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool MountedUnder(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.find(" " + dir + "/") != std::string::npos) return true;
  return false;
}

bool HasActive(const Store& s, const std::string& key) {
  auto keys = s.snapshots.ActiveKeys();
  return keys && std::find(keys->begin(), keys->end(), key) != keys->end();
}

Store OpenStore(const std::string& root) {
  auto s = Store::Open(root);
  EXPECT_TRUE(s) << s.error().Message();
  return std::move(*s);
}

// One committed layer holding /hello, and an image made of it.
ResolvedImage OneLayerImage(Store& store) {
  std::string chain = Sha256Digest("assembly test layer");
  auto fs = store.snapshots.PrepareLayer();
  EXPECT_TRUE(fs) << fs.error().Message();
  std::ofstream(*fs + "/hello") << "from the layer";
  auto c = store.snapshots.CommitLayer(*fs, chain, "");
  EXPECT_TRUE(c) << c.error().Message();
  ResolvedImage img;
  img.manifest.layers.resize(1);  // present in snapshots: UnpackImage has nothing to do
  img.chain_ids = {chain};
  img.config.diff_ids = {chain};
  img.config.cmd = {"/bin/sh"};
  return img;
}

TEST(ImageAssembly, ContainerNames) {
  for (std::string ok : {std::string("web"), std::string("a"), std::string("A-b_c.1"),
                         std::string(128, 'x')})
    EXPECT_TRUE(ValidateContainerName(ok)) << ok;
  for (std::string bad : {std::string(), std::string(".hidden"), std::string("../escape"),
                          std::string("a/b"), std::string(129, 'x'), std::string("sp ace")}) {
    auto r = ValidateContainerName(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().IsInvalidArgument());
    EXPECT_NE(std::string::npos, r.error().Message().find("container name"));
  }
}

TEST(ImageAssembly, BadNameCreatesNothing) {
  TempDir t;
  Store store = OpenStore(t.path() + "/store");
  ResolvedImage img = OneLayerImage(store);
  auto r = AssembleContainer(store, img, "../escape", {t.path() + "/bundles", {}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsInvalidArgument());
  EXPECT_FALSE(Exists(t.path() + "/bundles"));
  EXPECT_FALSE(Exists(t.path() + "/escape"));
}

TEST(ImageAssembly, ExistingBundleIsAlreadyExistsAndKept) {
  TempDir t;
  Store store = OpenStore(t.path() + "/store");
  ResolvedImage img = OneLayerImage(store);
  ASSERT_TRUE(MkdirAll(t.path() + "/bundles/web", 0700));
  std::ofstream(t.path() + "/bundles/web/config.json") << "{}";
  auto r = AssembleContainer(store, img, "web", {t.path() + "/bundles", {}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsAlreadyExists()) << r.error().Message();
  EXPECT_EQ("{}", ReadText(t.path() + "/bundles/web/config.json")) << "another's bundle is kept";
  EXPECT_FALSE(HasActive(store, "web")) << "no snapshot was made";
}

TEST(ImageAssembly, AnotherContainersSnapshotIsLeftAlone) {
  TempDir t;
  Store store = OpenStore(t.path() + "/store");
  ResolvedImage img = OneLayerImage(store);
  // A snapshot "web" made by someone else (another bundles dir, or a crashed run).
  ASSERT_TRUE(store.snapshots.Prepare("web", img.chain_ids.back()));
  auto r = AssembleContainer(store, img, "web", {t.path() + "/bundles", {}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsAlreadyExists())
      << KindName(r.error().Kind()) << " " << r.error().code << " " << r.error().Message();
  EXPECT_TRUE(HasActive(store, "web")) << "the other's snapshot survives";
  EXPECT_FALSE(Exists(t.path() + "/bundles/web")) << "our bundle dir is undone";
}

TEST(ImageAssembly, MountsWritesAndRemovesRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount";
  TempDir t;
  Store store = OpenStore(t.path() + "/store");
  ResolvedImage img = OneLayerImage(store);
  AssembleOptions o{t.path() + "/bundles", {}};
  o.bundle.args = {"echo", "hi"};
  auto a = AssembleContainer(store, img, "web", o);
  ASSERT_TRUE(a) << a.error().Message();
  EXPECT_EQ(t.path() + "/bundles/web", a->bundle);
  EXPECT_EQ(a->bundle + "/rootfs", a->rootfs);
  EXPECT_EQ("from the layer", ReadText(a->rootfs + "/hello"));
  EXPECT_NE(std::string::npos, ReadText(a->bundle + "/config.json").find("\"echo\""));
  EXPECT_TRUE(HasActive(store, "web"));

  // A second container of the same name: refused, and the first keeps its mount.
  auto again = AssembleContainer(store, img, "web", o);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsAlreadyExists());
  EXPECT_EQ("from the layer", ReadText(a->rootfs + "/hello"));

  ASSERT_TRUE(UnmountAssembled(o.bundles_dir, "web"));
  EXPECT_FALSE(Exists(a->rootfs + "/hello"));
  EXPECT_TRUE(HasActive(store, "web")) << "unmount keeps the writable layer";
  auto rm = RemoveAssembled(store, o.bundles_dir, "web");
  ASSERT_TRUE(rm) << rm.error().Message();
  EXPECT_FALSE(Exists(a->bundle));
  EXPECT_FALSE(HasActive(store, "web"));
  EXPECT_TRUE(store.snapshots.HasLayer(img.chain_ids.back())) << "the image's layer stays";
  // Again, as after a crash between this removal and the caller's record of it: done.
  auto rm_again = RemoveAssembled(store, o.bundles_dir, "web");
  EXPECT_TRUE(rm_again) << rm_again.error().Message();
}

TEST(ImageAssembly, RemoveAfterAPartialRemovalRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount";
  TempDir t;
  Store store = OpenStore(t.path() + "/store");
  ResolvedImage img = OneLayerImage(store);
  AssembleOptions o{t.path() + "/bundles", {}};
  o.bundle.args = {"echo", "hi"};
  auto a = AssembleContainer(store, img, "web", o);
  ASSERT_TRUE(a) << a.error().Message();
  // The snapshot went, the bundle stayed (killed in between): the rest is removed.
  ASSERT_TRUE(UnmountAssembled(o.bundles_dir, "web"));
  ASSERT_TRUE(store.snapshots.Remove("web"));
  auto rm = RemoveAssembled(store, o.bundles_dir, "web");
  ASSERT_TRUE(rm) << rm.error().Message();
  EXPECT_FALSE(Exists(a->bundle));
  EXPECT_FALSE(HasActive(store, "web"));
}

TEST(ImageAssembly, FailureAfterMountUndoesEverythingRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount";
  TempDir t;
  Store store = OpenStore(t.path() + "/store");
  ResolvedImage img = OneLayerImage(store);
  img.config.cmd.clear();  // no command: the config cannot be written, after the mount
  auto a = AssembleContainer(store, img, "web", {t.path() + "/bundles", {}});
  ASSERT_FALSE(a);
  EXPECT_NE(std::string::npos, a.error().Message().find("no command")) << a.error().Message();
  EXPECT_FALSE(MountedUnder(t.path()));
  EXPECT_FALSE(Exists(t.path() + "/bundles/web"));
  EXPECT_FALSE(HasActive(store, "web"));
}

}  // namespace
}  // namespace berth::image
