// Image records (images.json): put/get/list/remove, round trip of descriptors, corrupt files
// reported with their path, concurrent writers in separate processes, and Store::Open's
// layout.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "image/digest.h"
#include "image/store.h"
#include "sys/fs.h"
#include "test_util.h"

namespace berth::image {
namespace {

using testutil::TempDir;

ImageRecord Record(const std::string& name, const std::string& content) {
  ImageRecord r;
  r.name = name;
  r.target.media_type = std::string(media::kOciIndex);
  r.target.digest = Sha256Digest(content);
  r.target.size = static_cast<int64_t>(content.size());
  return r;
}

TEST(ImageStore, PutGetListRemove) {
  TempDir t;
  std::string path = t.path() + "/images.json";
  auto s = ImageStore::Open(path);
  ASSERT_TRUE(s.has_value()) << s.error().Message();
  EXPECT_TRUE(s->List()->empty());
  EXPECT_FALSE(s->Get("docker.io/library/busybox:latest")->has_value());

  ImageRecord busybox = Record("docker.io/library/busybox:latest", "bb");
  busybox.target.annotations["org.opencontainers.image.ref.name"] = "latest";
  busybox.target.urls = {"https://example.com/blob"};
  busybox.target.platform = Platform{"linux", "arm64", "v8", "", {"f1"}};
  busybox.created = "2024-01-02T03:04:05Z";
  ASSERT_TRUE(s->Put(busybox).has_value());
  ASSERT_TRUE(s->Put(Record("docker.io/library/alpine:3", "al")).has_value());

  auto got = s->Get(busybox.name);
  ASSERT_TRUE(got.has_value() && got->has_value());
  const ImageRecord& g = **got;
  EXPECT_EQ(g.target.digest, busybox.target.digest);
  EXPECT_EQ(g.target.size, 2);
  EXPECT_EQ(g.target.media_type, busybox.target.media_type);
  EXPECT_EQ(g.target.annotations, busybox.target.annotations);
  EXPECT_EQ(g.target.urls, busybox.target.urls);
  ASSERT_TRUE(g.target.platform.has_value());
  EXPECT_EQ(g.target.platform->os, "linux");
  EXPECT_EQ(g.target.platform->architecture, "arm64");
  EXPECT_EQ(g.target.platform->variant, "v8");
  EXPECT_EQ(g.target.platform->os_features, std::vector<std::string>{"f1"});
  EXPECT_EQ(g.created, "2024-01-02T03:04:05Z");

  auto list = s->List();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "docker.io/library/alpine:3");
  EXPECT_FALSE((*list)[0].created.empty()) << "Put fills in the time";

  // Same name: replaced, not duplicated.
  ASSERT_TRUE(s->Put(Record(busybox.name, "bb2")).has_value());
  EXPECT_EQ(s->List()->size(), 2u);
  EXPECT_EQ((*s->Get(busybox.name))->target.digest, Sha256Digest("bb2"));

  // Persisted: a fresh handle sees it.
  auto reopened = ImageStore::Open(path);
  ASSERT_TRUE(reopened.has_value());
  EXPECT_EQ(reopened->List()->size(), 2u);

  EXPECT_TRUE(*s->Remove(busybox.name));
  EXPECT_FALSE(*s->Remove(busybox.name));
  EXPECT_EQ(s->List()->size(), 1u);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ImageStore, RejectsBadRecordsAndCorruptFiles) {
  TempDir t;
  std::string path = t.path() + "/images.json";
  auto s = ImageStore::Open(path);
  ASSERT_TRUE(s.has_value());
  ImageRecord bad = Record("x:1", "x");
  bad.target.digest = "sha256:../../etc/passwd";
  EXPECT_FALSE(s->Put(bad).has_value());
  EXPECT_FALSE(s->Put(Record("", "x")).has_value());
  EXPECT_TRUE(s->List()->empty());

  for (const std::string& text :
       {std::string("{not json"), std::string("{\"images\": 3}"),
        std::string(
            "{\"images\":[{\"name\":\"a\",\"target\":{\"digest\":\"sha256:zz\",\"size\":1}}]}"),
        std::string("{\"images\":[{\"name\":\"a\",\"target\":{\"digest\":\"" + Sha256Digest("a") +
                    "\",\"size\":\"big\"}}]}")}) {
    std::ofstream(path, std::ios::trunc) << text;
    auto l = s->List();
    ASSERT_FALSE(l.has_value()) << text;
    EXPECT_NE(l.error().Message().find(path), std::string::npos) << l.error().Message();
    EXPECT_FALSE(ImageStore::Open(path).has_value());
    EXPECT_FALSE(s->Put(Record("y:1", "y")).has_value()) << "must not overwrite a corrupt file";
  }
}

TEST(ImageStore, ConcurrentPutsFromProcessesAllLand) {
  TempDir t;
  std::string path = t.path() + "/images.json";
  constexpr int kProcs = 4, kEach = 15;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto s = ImageStore::Open(path);
      if (!s) ::_exit(2);
      for (int i = 0; i < kEach; ++i) {
        std::string name = "example.com/p" + std::to_string(p) + ":" + std::to_string(i);
        if (!s->Put(Record(name, name))) ::_exit(3);
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  auto s = ImageStore::Open(path);
  ASSERT_TRUE(s.has_value());
  auto list = s->List();
  ASSERT_TRUE(list.has_value()) << list.error().Message();
  std::set<std::string> names;
  for (const auto& r : *list) {
    names.insert(r.name);
    EXPECT_EQ(r.target.digest, Sha256Digest(r.name));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kProcs * kEach));
}

TEST(ImageStore, StoreOpenLaysOutRoot) {
  TempDir t;
  std::string root = t.path() + "/var/lib/berth/images";
  auto s = Store::Open(root);
  ASSERT_TRUE(s.has_value()) << s.error().Message();
  EXPECT_EQ(s->root, root);
  struct stat st;
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(s->content.Root(), root + "/content");
  EXPECT_EQ(s->snapshots.Root(), root + "/snapshots");
  for (const char* sub : {"/content/blobs", "/content/ingest", "/snapshots/layers",
                          "/snapshots/active", "/snapshots/tmp"})
    EXPECT_EQ(::stat((root + sub).c_str(), &st), 0) << sub;
  ASSERT_TRUE(s->images.Put(Record("a:1", "a")).has_value());
  EXPECT_EQ(::stat((root + "/images.json").c_str(), &st), 0);

  std::ofstream(t.path() + "/file") << "x";
  auto bad = Store::Open(t.path() + "/file");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().Message().find("not a directory"), std::string::npos)
      << bad.error().Message();
}

}  // namespace
}  // namespace berth::image
