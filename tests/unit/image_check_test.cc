// The store check: a good store is clean and untouched by --repair; each kind of damage a
// crash (or a disk, or a hand) can do is found with its message, repaired, and the next
// check is clean. Stores are built in a temp dir: blobs written directly, layers unpacked
// through UnpackImage (uncompressed tars owned by the test's own uid, so no root needed).
#include <ftw.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "image/check.h"
#include "image/digest.h"
#include "image/pull.h"
#include "image/store.h"
#include "image_tar_writer.h"
#include "sys/fs.h"
#include "test_util.h"

namespace berth::image {
namespace {

using testing::TarWriter;
using testutil::TempDir;

struct TestImage {
  std::string name, manifest, config;
  std::vector<std::string> blobs, chains;
};

std::string Tar(const std::vector<std::pair<std::string, std::string>>& files) {
  TarWriter w;
  unsigned uid = ::getuid(), gid = ::getgid();
  w.Add({.name = "etc/", .type = '5', .mode = 0755, .uid = uid, .gid = gid});
  for (const auto& [name, data] : files)
    w.Add({.name = name, .type = '0', .data = data, .mode = 0644, .uid = uid, .gid = gid});
  return w.Finish();
}

std::string Desc(std::string_view type, const std::string& digest, size_t size) {
  return "{\"mediaType\":\"" + std::string(type) + "\",\"digest\":\"" + digest +
         "\",\"size\":" + std::to_string(size) + "}";
}

// Writes the blobs of an image of `layers` (uncompressed tars), names it and unpacks it.
TestImage MakeImage(Store& s, const std::string& name, const std::vector<std::string>& layers) {
  TestImage img;
  img.name = name;
  std::string diffs, descs;
  std::vector<std::string> diff_ids;
  for (const auto& tar : layers) {
    std::string d = Sha256Digest(tar);
    EXPECT_TRUE(s.content.WriteBlob(d, static_cast<int64_t>(tar.size()), tar));
    img.blobs.push_back(d);
    diff_ids.push_back(d);
    diffs += (diffs.empty() ? "\"" : ",\"") + d + "\"";
    descs += (descs.empty() ? "" : ",") + Desc(media::kOciLayer, d, tar.size());
  }
  Platform host = HostPlatform();
  std::string config = "{\"architecture\":\"" + host.architecture + "\",\"os\":\"linux\"," +
                       "\"config\":{\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" +
                       diffs + "]}}";
  img.config = Sha256Digest(config);
  EXPECT_TRUE(s.content.WriteBlob(img.config, -1, config));
  std::string manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(media::kOciManifest) +
                         "\",\"config\":" + Desc(media::kOciConfig, img.config, config.size()) +
                         ",\"layers\":[" + descs + "]}";
  img.manifest = Sha256Digest(manifest);
  EXPECT_TRUE(s.content.WriteBlob(img.manifest, -1, manifest));
  ImageRecord rec;
  rec.name = name;
  rec.target = {std::string(media::kOciManifest), img.manifest, static_cast<int64_t>(manifest.size()), {}, {}, {}};
  EXPECT_TRUE(s.images.Put(rec));
  auto resolved = ResolveImage(s, name, host);
  EXPECT_TRUE(resolved) << resolved.error().Message();
  if (resolved) {
    auto u = UnpackImage(s, *resolved);
    EXPECT_TRUE(u) << u.error().Message();
    img.chains = resolved->chain_ids;
  }
  return img;
}

// Two images sharing their bottom layer: docker.io/t/a (base, app) and docker.io/t/b (base, tools).
struct Fixture {
  TempDir dir{"berth-check-test"};
  Store store = [&] {
    auto s = Store::Open(dir.Sub("root"));
    EXPECT_TRUE(s) << s.error().Message();
    return std::move(*s);
  }();
  std::string base = Tar({{"etc/os-release", "ID=test\n"}, {"etc/big", std::string(70000, 'b')}});
  TestImage a = MakeImage(store, "docker.io/t/a:1", {base, Tar({{"etc/app", "application\n"}})});
  TestImage b = MakeImage(store, "docker.io/t/b:1", {base, Tar({{"etc/tools", "tools\n"}})});

  std::string Layer(const std::string& chain) { return store.snapshots.LayerPath(chain); }
  std::string LayerDir(const std::string& chain) {
    return store.snapshots.Root() + "/layers/" + std::string(DigestHex(chain));
  }
  std::string Blob(const std::string& d) { return store.content.BlobPath(d); }
};

CheckReport Check(Store& s, bool repair = false, bool quick = false) {
  CheckOptions o;
  o.repair = repair;
  o.verify_blobs = !quick;
  auto r = CheckStore(s, o);
  EXPECT_TRUE(r) << r.error().Message();
  return r ? *r : CheckReport{};
}

std::string Text(const CheckReport& r) {
  std::string s;
  for (const auto& f : r.findings) s += FindingText(f) + "\n";
  return s + CheckSummary(r);
}

// The one broken finding of `r` in `area` about `object`, checked to mention `why`.
const Finding* Only(const CheckReport& r, const std::string& area, const std::string& object,
                    const std::string& why) {
  const Finding* hit = nullptr;
  int broken = 0;
  for (const auto& f : r.findings) {
    if (f.severity != Severity::kBroken) continue;
    ++broken;
    if (f.area == area && f.object == object) hit = &f;
  }
  EXPECT_EQ(broken, 1) << Text(r);
  EXPECT_NE(hit, nullptr) << "no " << area << " finding for " << object << " in\n" << Text(r);
  if (hit) {
    EXPECT_NE(hit->problem.find(why), std::string::npos) << Text(r);
  }
  return hit;
}

void ExpectClean(Store& s) {
  auto r = Check(s);
  EXPECT_TRUE(r.Clean()) << Text(r);
  EXPECT_TRUE(r.findings.empty()) << Text(r);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void FlipByte(const std::string& path, off_t at) {
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(at);
  char c = static_cast<char>(f.get());
  f.seekp(at);
  f.put(static_cast<char>(c ^ 0x20));
  f.close();
  ASSERT_EQ(::chmod(path.c_str(), 0444), 0);
}

// Every path under root with its type, mode, size, mtime and (files) content digest.
std::map<std::string, std::string>* g_listing;
int ListOne(const char* path, const struct stat* st, int, struct FTW*) {
  std::string v = std::to_string(st->st_mode) + " " + std::to_string(st->st_size) + " " +
                  std::to_string(st->st_mtim.tv_sec) + "." + std::to_string(st->st_mtim.tv_nsec);
  if (S_ISREG(st->st_mode)) v += " " + Sha256Digest(ReadText(path));
  (*g_listing)[path] = v;
  return 0;
}
std::map<std::string, std::string> Listing(const std::string& root) {
  std::map<std::string, std::string> out;
  g_listing = &out;
  ::nftw(root.c_str(), ListOne, 16, FTW_PHYS);
  return out;
}

pid_t DeadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(ImageCheck, GoodStoreIsCleanAndRepairChangesNothing) {
  Fixture f;
  auto r = Check(f.store);
  EXPECT_TRUE(r.findings.empty()) << Text(r);
  EXPECT_EQ(r.blobs, 7);  // 3 layers, 2 configs, 2 manifests
  EXPECT_EQ(r.layers, 3);
  EXPECT_EQ(r.images, 2);
  EXPECT_GT(r.bytes_hashed, 70000);
  EXPECT_NE(CheckSummary(r).find("the store is clean"), std::string::npos) << CheckSummary(r);
  auto quick = Check(f.store, false, true);
  EXPECT_TRUE(quick.findings.empty()) << Text(quick);
  EXPECT_EQ(quick.bytes_hashed, 0);

  auto before = Listing(f.store.root);
  auto repaired = Check(f.store, true);
  EXPECT_TRUE(repaired.findings.empty()) << Text(repaired);
  EXPECT_EQ(Listing(f.store.root), before) << "--repair changed a good store";
}

// Damage to a committed layer's files: found against the record, the layer (and what is
// built on it) removed and unpacked again from its blob, then clean.
void LayerDamage(const std::function<void(Fixture&, const std::string& fs)>& damage,
                 const std::string& why, bool bottom = false) {
  Fixture f;
  std::string chain = bottom ? f.a.chains[0] : f.a.chains[1];
  damage(f, f.Layer(chain));
  auto r = Check(f.store);
  EXPECT_FALSE(r.Clean());
  const Finding* hit = Only(r, "layer", chain, why);
  if (hit) {
    EXPECT_NE(hit->action.find("--repair removes it"), std::string::npos) << Text(r);
  }

  auto fixed = Check(f.store, true);
  EXPECT_TRUE(fixed.Clean()) << Text(fixed);
  hit = Only(fixed, "layer", chain, why);
  if (hit) {
    EXPECT_TRUE(hit->repaired);
    EXPECT_NE(hit->action.find("unpacked again from its blob"), std::string::npos) << Text(fixed);
    if (bottom) {
      EXPECT_NE(hit->action.find("with the 2 layers built on it"), std::string::npos) << Text(fixed);
    }
  }
  ExpectClean(f.store);
  EXPECT_EQ(ReadText(f.Layer(f.a.chains[1]) + "/etc/app"), "application\n");
  EXPECT_EQ(ReadText(f.Layer(f.a.chains[0]) + "/etc/big"), std::string(70000, 'b'));
  EXPECT_TRUE(f.store.images.Get("docker.io/t/a:1")->has_value()) << "the name stays";
}

TEST(ImageCheck, TruncatedLayerFile) {
  LayerDamage([](Fixture&, const std::string& fs) { ASSERT_EQ(::truncate((fs + "/etc/app").c_str(), 3), 0); },
              "fs/ holds 1 file, 2 dirs, 3 bytes, its commit record says 1 file, 2 dirs, 12 bytes");
}

TEST(ImageCheck, EmptiedFileInTheBottomLayerTakesTheLayersBuiltOnIt) {
  LayerDamage([](Fixture&, const std::string& fs) { ASSERT_EQ(::truncate((fs + "/etc/big").c_str(), 0), 0); },
              "fs/ holds 2 files, 2 dirs, 8 bytes, its commit record says 2 files, 2 dirs, 70008 bytes", /*bottom=*/true);
}

TEST(ImageCheck, DeletedLayerFile) {
  LayerDamage([](Fixture&, const std::string& fs) { ASSERT_EQ(::unlink((fs + "/etc/app").c_str()), 0); },
              "fs/ holds 0 files, 2 dirs, 0 bytes");
}

TEST(ImageCheck, CorruptLayerRecord) {
  LayerDamage([](Fixture&, const std::string& fs) {
    std::ofstream(fs + "/../layer.json", std::ios::trunc) << "{\"chain_id\": 12";
  }, "commit record: ");
}

TEST(ImageCheck, RecordOfAnotherChain) {
  LayerDamage([](Fixture& f, const std::string& fs) {
    ASSERT_TRUE(sys::WriteFileDurable(fs + "/../layer.json", ReadText(f.LayerDir(f.b.chains[1]) + "/layer.json")));
  }, "names chain " + std::string("sha256:"));
}

TEST(ImageCheck, MissingLayerRecord) {
  LayerDamage([](Fixture&, const std::string& fs) { ASSERT_EQ(::unlink((fs + "/../layer.json").c_str()), 0); },
              "no commit record (layer.json)");
}

TEST(ImageCheck, ParentFileDisagreesWithTheRecord) {
  LayerDamage([](Fixture& f, const std::string& fs) {
    ASSERT_TRUE(sys::WriteFileDurable(fs + "/../parent", f.b.chains[1] + "\n"));
  }, "its parent file names " + std::string("sha256:"));
}

// A store of a berth that wrote no records: every layer reported, all unpacked again from
// their blobs by --repair, which makes the store verifiable.
TEST(ImageCheck, LayersWithoutRecordsAreUnpackedAgain) {
  Fixture f;
  for (const auto& c : {f.a.chains[0], f.a.chains[1], f.b.chains[1]})
    ASSERT_EQ(::unlink((f.LayerDir(c) + "/layer.json").c_str()), 0);
  auto r = Check(f.store);
  EXPECT_EQ(r.Broken(), 3) << Text(r);
  auto fixed = Check(f.store, true);
  EXPECT_TRUE(fixed.Clean()) << Text(fixed);
  for (const auto& c : {f.a.chains[0], f.a.chains[1], f.b.chains[1]}) {
    auto rec = f.store.snapshots.ReadLayerRecord(c);
    EXPECT_TRUE(rec) << c;
  }
  ExpectClean(f.store);
}

TEST(ImageCheck, BlobWithAFlippedByte) {
  Fixture f;
  std::string blob = f.a.blobs[1];
  FlipByte(f.Blob(blob), 600);
  auto quick = Check(f.store, false, true);
  EXPECT_TRUE(quick.Clean()) << "the quick check does not hash layer blobs:\n" << Text(quick);
  auto r = Check(f.store);
  EXPECT_EQ(r.Broken(), 2) << Text(r);  // the blob, and the image that needs it
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].area + " " + r.findings[0].object, "blob " + blob) << Text(r);
  EXPECT_NE(r.findings[0].problem.find("its 2560 bytes hash to sha256:"), std::string::npos) << Text(r);

  auto fixed = Check(f.store, true);
  EXPECT_TRUE(fixed.Clean()) << Text(fixed);
  EXPECT_FALSE(f.store.content.Has(blob));
  // The image needing it loses its name (a pull fetches the blob again); the other stays.
  EXPECT_FALSE(f.store.images.Get("docker.io/t/a:1")->has_value()) << Text(fixed);
  EXPECT_TRUE(f.store.images.Get("docker.io/t/b:1")->has_value());
  bool named = false;
  for (const auto& x : fixed.findings)
    named |= x.area == "image" && x.object == "docker.io/t/a:1" && x.repaired &&
             x.problem.find("failed its digest") != std::string::npos;
  EXPECT_TRUE(named) << Text(fixed);
  EXPECT_TRUE(f.store.snapshots.HasLayer(f.a.chains[1])) << "a layer that verified good stays";
  ExpectClean(f.store);
}

TEST(ImageCheck, QuickCheckStillVerifiesManifestsAndConfigs) {
  Fixture f;
  FlipByte(f.Blob(f.b.config), 5);
  auto r = Check(f.store, false, true);
  EXPECT_FALSE(r.Clean());
  bool blob = false, image = false;
  for (const auto& x : r.findings) {
    blob |= x.area == "blob" && x.object == f.b.config;
    image |= x.area == "image" && x.object == "docker.io/t/b:1" &&
             x.problem.find("config " + f.b.config + " hashes to") != std::string::npos;
  }
  EXPECT_TRUE(blob && image) << Text(r);
  auto fixed = Check(f.store, true, true);
  EXPECT_TRUE(fixed.Clean()) << Text(fixed);
  EXPECT_FALSE(f.store.content.Has(f.b.config));
  ExpectClean(f.store);
}

TEST(ImageCheck, MissingLayerBlob) {
  Fixture f;
  ASSERT_TRUE(f.store.content.Delete(f.b.blobs[1]));
  auto r = Check(f.store);
  Only(r, "image", "docker.io/t/b:1", "layer blob " + f.b.blobs[1] + " is missing");
  auto fixed = Check(f.store, true);
  EXPECT_TRUE(fixed.Clean()) << Text(fixed);
  EXPECT_FALSE(f.store.images.Get("docker.io/t/b:1")->has_value());
  ExpectClean(f.store);
}

TEST(ImageCheck, ImagesJsonNamingAMissingManifest) {
  Fixture f;
  ImageRecord rec;
  rec.name = "docker.io/t/ghost:1";
  rec.target = {std::string(media::kOciManifest), Sha256Digest("no such manifest"), 16, {}, {}, {}};
  ASSERT_TRUE(f.store.images.Put(rec));
  auto r = Check(f.store);
  Only(r, "image", rec.name, "manifest " + rec.target.digest + " is missing");
  auto fixed = Check(f.store, true);
  EXPECT_TRUE(fixed.Clean()) << Text(fixed);
  EXPECT_FALSE(f.store.images.Get(rec.name)->has_value());
  EXPECT_TRUE(f.store.images.Get("docker.io/t/a:1")->has_value());
  ExpectClean(f.store);
}

TEST(ImageCheck, BrokenLayerUnderAnActiveSnapshotIsKept) {
  Fixture f;
  ASSERT_TRUE(f.store.snapshots.Prepare("ctr1", f.a.chains[1]));
  ASSERT_EQ(::truncate((f.Layer(f.a.chains[0]) + "/etc/big").c_str(), 1), 0);
  auto r = Check(f.store, true);
  EXPECT_FALSE(r.Clean()) << Text(r);
  const Finding* hit = Only(r, "layer", f.a.chains[0], "its commit record says");
  if (hit) {
    EXPECT_FALSE(hit->repaired);
    EXPECT_NE(hit->action.find("kept: remove layer " + f.a.chains[0] + ": active snapshot \"ctr1\" sits on it"),
              std::string::npos) << Text(r);
  }
  EXPECT_TRUE(f.store.snapshots.HasLayer(f.a.chains[0]));
  EXPECT_TRUE(f.store.snapshots.HasLayer(f.b.chains[1])) << "nothing of the subtree removed";
  ASSERT_TRUE(f.store.snapshots.Remove("ctr1"));
  auto fixed = Check(f.store, true);
  EXPECT_TRUE(fixed.Clean()) << Text(fixed);
  ExpectClean(f.store);
}

// A layer missing under a named image whose blob is there: what an import leaves. A note,
// not a problem; --repair unpacks it.
TEST(ImageCheck, LayerNotUnpackedIsANote) {
  Fixture f;
  ASSERT_TRUE(f.store.snapshots.RemoveLayer(f.b.chains[1]));
  auto r = Check(f.store);
  EXPECT_TRUE(r.Clean()) << Text(r);
  ASSERT_EQ(r.findings.size(), 1u) << Text(r);
  EXPECT_EQ(r.findings[0].severity, Severity::kNote);
  EXPECT_NE(r.findings[0].problem.find("not unpacked"), std::string::npos) << Text(r);
  auto fixed = Check(f.store, true);
  EXPECT_EQ(fixed.Repaired(), 1) << Text(fixed);
  EXPECT_TRUE(f.store.snapshots.HasLayer(f.b.chains[1]));
  ExpectClean(f.store);
}

// A bottom layer gone (moved away by hand): its children are orphans until --repair
// unpacks it again from the blob.
TEST(ImageCheck, MissingParentLayer) {
  Fixture f;
  ASSERT_EQ(::rename(f.LayerDir(f.a.chains[0]).c_str(), f.dir.Sub("away").c_str()), 0);
  auto r = Check(f.store);
  EXPECT_EQ(r.Broken(), 2) << Text(r);  // both layers built on it
  EXPECT_NE(Text(r).find("its parent layer " + f.a.chains[0] + " is missing"), std::string::npos) << Text(r);
  auto fixed = Check(f.store, true);
  EXPECT_TRUE(fixed.Clean()) << Text(fixed);
  EXPECT_TRUE(f.store.snapshots.HasLayer(f.a.chains[0]));
  EXPECT_TRUE(f.store.snapshots.HasLayer(f.b.chains[1])) << "children kept once the parent is back";
  ExpectClean(f.store);
}

TEST(ImageCheck, UnparseableLayerDirectory) {
  Fixture f;
  ASSERT_EQ(::mkdir((f.store.snapshots.Root() + "/layers/not-a-chain").c_str(), 0700), 0);
  auto r = Check(f.store);
  Only(r, "layer", f.store.snapshots.Root() + "/layers/not-a-chain", "not a chain id");
  auto fixed = Check(f.store, true);
  EXPECT_TRUE(fixed.Clean()) << Text(fixed);
  ExpectClean(f.store);
}

TEST(ImageCheck, BlobWithWrongModeIsMadeReadOnly) {
  Fixture f;
  ASSERT_EQ(::chmod(f.Blob(f.a.manifest).c_str(), 0644), 0);
  auto r = Check(f.store);
  Only(r, "blob", f.a.manifest, "mode 0644, committed blobs are 0444");
  EXPECT_TRUE(Check(f.store, true).Clean());
  struct stat st;
  ASSERT_EQ(::stat(f.Blob(f.a.manifest).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  ExpectClean(f.store);
}

TEST(ImageCheck, CrashLeftoversAreNotesAndRepairRemovesThem) {
  Fixture f;
  pid_t dead = DeadPid();
  std::string tmp = f.store.snapshots.Root() + "/tmp/layer-" + std::to_string(dead) + "-abcdef";
  ASSERT_TRUE(sys::MkdirAll(tmp + "/fs/etc", 0700));
  std::string live = f.store.snapshots.Root() + "/tmp/layer-" + std::to_string(::getpid()) + "-abcdef";
  ASSERT_TRUE(sys::MkdirAll(live + "/fs", 0700));
  std::string json_tmp = f.store.root + "/images.json.tmp-" + std::to_string(dead) + "-0";
  std::ofstream(json_tmp) << "{";
  std::string ingest = f.store.content.Root() + "/ingest/sha256-" + std::string(64, 'a');
  ASSERT_TRUE(sys::MkdirAll(ingest, 0700));
  std::ofstream(ingest + "/data") << "partial";
  // The ingest of a blob that got committed: a writer killed between rename and cleanup.
  std::string done_ingest = f.store.content.Root() + "/ingest/sha256-" + std::string(DigestHex(f.a.config));
  ASSERT_TRUE(sys::MkdirAll(done_ingest, 0700));
  std::ofstream(done_ingest + "/lock") << "";
  std::string import = f.store.root + "/import-Xy12Ab";
  ASSERT_TRUE(sys::MkdirAll(import + "/blobs", 0700));

  auto r = Check(f.store);
  EXPECT_TRUE(r.Clean()) << Text(r);
  EXPECT_EQ(r.Notes(), 5) << Text(r);  // not the live tmp dir
  std::string text = Text(r);
  for (const auto& p : {tmp, json_tmp, ingest, import, done_ingest}) EXPECT_NE(text.find(p), std::string::npos) << p << "\n" << text;
  EXPECT_EQ(text.find(live), std::string::npos) << text;
  EXPECT_NE(text.find("left by process " + std::to_string(dead) + " (gone)"), std::string::npos) << text;
  EXPECT_NE(text.find("the next pull of the blob resumes it"), std::string::npos) << text;
  EXPECT_NE(text.find("the ingest of a blob that is committed"), std::string::npos) << text;

  auto fixed = Check(f.store, true);
  EXPECT_EQ(fixed.Repaired(), 4) << Text(fixed);  // a young ingest stays for resume
  struct stat st;
  EXPECT_NE(::lstat(tmp.c_str(), &st), 0);
  EXPECT_NE(::lstat(json_tmp.c_str(), &st), 0);
  EXPECT_NE(::lstat(import.c_str(), &st), 0);
  EXPECT_NE(::lstat(done_ingest.c_str(), &st), 0);
  EXPECT_EQ(::lstat(ingest.c_str(), &st), 0);
  EXPECT_EQ(::lstat(live.c_str(), &st), 0) << "work in progress is not touched";
  EXPECT_TRUE(Check(f.store).Clean());
}

TEST(ImageCheck, ReportJson) {
  Fixture f;
  ASSERT_EQ(::unlink((f.LayerDir(f.a.chains[1]) + "/layer.json").c_str()), 0);
  auto r = Check(f.store);
  auto j = nlohmann::json::parse(CheckReportJson(r));
  EXPECT_EQ(j["clean"], false);
  EXPECT_EQ(j["broken"], 1);
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["status"], "broken");
  EXPECT_EQ(j["findings"][0]["area"], "layer");
  EXPECT_EQ(j["findings"][0]["object"], f.a.chains[1]);
}

}  // namespace
}  // namespace berth::image
