// The registry client against a real registry: Debian's docker-registry (distribution
// 2.x) started per test suite on a free port, content pushed over plain HTTP by the test,
// then pulled back: manifests by tag and digest, an index, whole and ranged blobs, HEAD,
// distribution errors, a dead mirror, and htpasswd basic auth.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "image/digest.h"
#include "image/registry.h"
#include "test_util.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

constexpr char kRegistryBinary[] = "/usr/bin/docker-registry";

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

size_t CollectBody(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

size_t CollectHeader(char* d, size_t s, size_t n, void* out) {
  std::string line(d, s * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(c));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return s * n;
}

struct Reply {
  long status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

// Plain libcurl, independent of the client under test: what the tests push with.
Reply Http(const std::string& method, const std::string& url, const std::string& body = "",
           const std::string& content_type = "", const std::string& userpwd = "") {
  Reply r;
  CURL* h = curl_easy_init();
  curl_slist* hdrs = nullptr;
  if (!content_type.empty())
    hdrs = curl_slist_append(hdrs, ("Content-Type: " + content_type).c_str());
  hdrs = curl_slist_append(hdrs, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  if (method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (method == "PUT" || method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  if (!userpwd.empty()) curl_easy_setopt(h, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &CollectHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  return r;
}

// A docker-registry process serving a temp dir; stopped by PID.
class RegistryProcess {
 public:
  // htpasswd: "" for an open registry, else the htpasswd file content.
  bool Start(const std::string& htpasswd, std::string* why) {
    tmp_ = std::make_unique<testutil::TempDir>("berth-registry-test");
    dir_ = tmp_->path();
    port_ = FreePort();
    std::string config =
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: " +
        dir_ +
        "/data\n"
        "http:\n  addr: 127.0.0.1:" +
        std::to_string(port_) +
        "\n"
        "  secret: berth-test-secret\n";
    if (!htpasswd.empty()) {
      std::ofstream(dir_ + "/htpasswd") << htpasswd;
      config += "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + dir_ + "/htpasswd\n";
    }
    std::ofstream(dir_ + "/config.yml") << config;
    std::string log = dir_ + "/registry.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(log.c_str(), "w");
      if (f) {
        ::dup2(fileno(f), 1);
        ::dup2(fileno(f), 2);
      }
      std::string cfg = dir_ + "/config.yml";
      ::execl(kRegistryBinary, kRegistryBinary, "serve", cfg.c_str(), nullptr);
      ::_exit(127);
    }
    // Ready when /v2/ answers (200 open, 401 with auth).
    for (int i = 0; i < 200; ++i) {
      long s = Http("GET", Base() + "/v2/").status;
      if (s == 200 || s == 401) return true;
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::ifstream l(log);
    *why = "docker-registry did not come up; its log: " +
           std::string(std::istreambuf_iterator<char>(l), {});
    return false;
  }

  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    tmp_.reset();
    dir_.clear();
  }

  std::string Base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<testutil::TempDir> tmp_;
  std::string dir_;
};

// Monolithic upload: POST to open a session, PUT the bytes with ?digest=.
std::string PushBlob(const RegistryProcess& reg, const std::string& repo, const std::string& data,
                     const std::string& userpwd = "") {
  std::string digest = Sha256Digest(data);
  Reply open = Http("POST", reg.Base() + "/v2/" + repo + "/blobs/uploads/", "", "", userpwd);
  EXPECT_EQ(open.status, 202) << open.body;
  std::string loc = open.headers["location"];
  if (loc.starts_with("/")) loc = reg.Base() + loc;
  loc += (loc.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
  Reply put = Http("PUT", loc, data, "application/octet-stream", userpwd);
  EXPECT_EQ(put.status, 201) << put.body;
  return digest;
}

std::string PushManifest(const RegistryProcess& reg, const std::string& repo,
                         const std::string& ref, const std::string& media_type,
                         const std::string& body, const std::string& userpwd = "") {
  Reply put =
      Http("PUT", reg.Base() + "/v2/" + repo + "/manifests/" + ref, body, media_type, userpwd);
  EXPECT_EQ(put.status, 201) << put.body;
  return Sha256Digest(body);
}

std::string RandomBytes(size_t n) {
  std::mt19937_64 rng(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Descriptor(std::string_view media_type, const std::string& digest, size_t size) {
  return R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + digest +
         R"(","size":)" + std::to_string(size) + "}";
}

struct Image {
  std::string config, layer, manifest, index, docker_manifest;
  std::string config_digest, layer_digest, manifest_digest, index_digest, docker_digest;
};

Image PushImage(const RegistryProcess& reg, const std::string& repo,
                const std::string& userpwd = "") {
  Image im;
  im.config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
  im.layer = RandomBytes(3 * 1024 * 1024 + 17);  // several curl buffers
  im.config_digest = PushBlob(reg, repo, im.config, userpwd);
  im.layer_digest = PushBlob(reg, repo, im.layer, userpwd);
  im.manifest =
      R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) + R"(","config":)" +
      Descriptor(media::kOciConfig, im.config_digest, im.config.size()) + R"(,"layers":[)" +
      Descriptor(media::kOciLayerGzip, im.layer_digest, im.layer.size()) + "]}";
  im.manifest_digest =
      PushManifest(reg, repo, "v1", std::string(media::kOciManifest), im.manifest, userpwd);
  im.index = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciIndex) +
             R"(","manifests":[{"mediaType":")" + std::string(media::kOciManifest) +
             R"(","digest":")" + im.manifest_digest + R"(","size":)" +
             std::to_string(im.manifest.size()) +
             R"(,"platform":{"architecture":"amd64","os":"linux"}}]})";
  im.index_digest =
      PushManifest(reg, repo, "multi", std::string(media::kOciIndex), im.index, userpwd);
  im.docker_manifest = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kDockerManifest) +
                       R"(","config":)" +
                       Descriptor(media::kDockerConfig, im.config_digest, im.config.size()) +
                       R"(,"layers":[)" +
                       Descriptor(media::kDockerLayerGzip, im.layer_digest, im.layer.size()) + "]}";
  im.docker_digest = PushManifest(reg, repo, "docker", std::string(media::kDockerManifest),
                                  im.docker_manifest, userpwd);
  return im;
}

RegistryOptions FastOptions() {
  RegistryOptions o;
  o.retries = 2;
  o.backoff_ms = 5;
  o.connect_timeout_s = 5;
  o.low_speed_timeout_s = 10;
  return o;
}

class ImageRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access(kRegistryBinary, X_OK) != 0) {
      skip_ = std::string(kRegistryBinary) + " is missing (Debian package docker-registry)";
      return;
    }
    std::string why;
    if (!open_.Start("", &why)) {
      skip_ = why;
      return;
    }
    image_ = PushImage(open_, "berth/app");
  }
  static void TearDownTestSuite() { open_.Stop(); }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    hosts_tmp_ = std::make_unique<testutil::TempDir>("berth-registry-hosts");
    hosts_dir_ = hosts_tmp_->path();
  }

  // A client for the open registry, addressed by its own host:port over plain HTTP.
  RegistryClient Client(CredentialStore creds = {}) {
    auto hosts = HostsConfig::Load(hosts_dir_, {open_.HostPort()});
    EXPECT_TRUE(hosts);
    return RegistryClient(std::move(*hosts), std::move(creds), FastOptions());
  }
  Reference Ref(const std::string& path, const std::string& tag, const std::string& digest = "") {
    return Reference{open_.HostPort(), path, tag, digest};
  }

  static inline RegistryProcess open_;
  static inline Image image_;
  static inline std::string skip_;
  std::unique_ptr<testutil::TempDir> hosts_tmp_;
  std::string hosts_dir_;
};

std::string Fetch(RegistryClient& c, const Reference& ref, const std::string& digest, int64_t size,
                  int64_t offset, Result<void>* result, int* calls = nullptr) {
  std::string got;
  *result = c.FetchBlob(ref, digest, size, offset, [&](const char* d, size_t n) -> Result<void> {
    got.append(d, n);
    if (calls) ++*calls;
    return {};
  });
  return got;
}

TEST_F(ImageRegistry, ManifestByTag) {
  RegistryClient c = Client();
  auto m = c.FetchManifest(Ref("berth/app", "v1"));
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->body, image_.manifest);
  EXPECT_EQ(m->descriptor.media_type, media::kOciManifest);
  EXPECT_EQ(m->descriptor.digest, image_.manifest_digest);
  EXPECT_EQ(m->descriptor.size, static_cast<int64_t>(image_.manifest.size()));

  auto d = c.FetchManifest(Ref("berth/app", "docker"));
  ASSERT_TRUE(d) << d.error().Message();
  EXPECT_EQ(d->descriptor.media_type, media::kDockerManifest);
  EXPECT_EQ(d->descriptor.digest, image_.docker_digest);
}

TEST_F(ImageRegistry, ManifestByDigestIsVerified) {
  RegistryClient c = Client();
  // The digest wins over the tag (which names another manifest here).
  auto m = c.FetchManifest(Ref("berth/app", "multi", image_.manifest_digest));
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->body, image_.manifest);
  EXPECT_EQ(m->descriptor.digest, image_.manifest_digest);

  auto child = c.FetchManifestDigest(Ref("berth/app", "multi"), image_.manifest_digest);
  ASSERT_TRUE(child) << child.error().Message();
  EXPECT_EQ(child->body, image_.manifest);

  auto bad = c.FetchManifestDigest(Ref("berth/app", ""), "sha256:nothex");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().Message().find("sha256:nothex"), std::string::npos);
}

TEST_F(ImageRegistry, Index) {
  RegistryClient c = Client();
  auto m = c.FetchManifest(Ref("berth/app", "multi"));
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->descriptor.media_type, media::kOciIndex);
  EXPECT_EQ(m->descriptor.digest, image_.index_digest);
  EXPECT_EQ(m->body, image_.index);
}

TEST_F(ImageRegistry, BlobStreamedWhole) {
  RegistryClient c = Client();
  Result<void> r;
  int calls = 0;
  std::string got = Fetch(c, Ref("berth/app", "v1"), image_.layer_digest,
                          static_cast<int64_t>(image_.layer.size()), 0, &r, &calls);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(got.size(), image_.layer.size());
  EXPECT_TRUE(got == image_.layer);
  EXPECT_GT(calls, 1);  // streamed in pieces, not buffered whole

  // Unknown size (-1) is not enforced.
  got = Fetch(c, Ref("berth/app", "v1"), image_.config_digest, -1, 0, &r);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(got, image_.config);
}

TEST_F(ImageRegistry, BlobFromOffset) {
  RegistryClient c = Client();
  Result<void> r;
  const int64_t offset = 1'000'003;
  std::string got = Fetch(c, Ref("berth/app", "v1"), image_.layer_digest,
                          static_cast<int64_t>(image_.layer.size()), offset, &r);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_TRUE(got == image_.layer.substr(offset)) << got.size();

  // Nothing left to fetch is not an error, an offset beyond the end is.
  got = Fetch(c, Ref("berth/app", "v1"), image_.config_digest,
              static_cast<int64_t>(image_.config.size()), image_.config.size(), &r);
  EXPECT_TRUE(r);
  EXPECT_TRUE(got.empty());
  Fetch(c, Ref("berth/app", "v1"), image_.config_digest, 3, 4, &r);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().Message().find("offset 4"), std::string::npos) << r.error().Message();
}

TEST_F(ImageRegistry, BlobLargerThanExpectedAndSinkErrors) {
  RegistryClient c = Client();
  Result<void> r;
  Fetch(c, Ref("berth/app", "v1"), image_.config_digest, 10, 0, &r);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().Message().find("more than the 10 bytes"), std::string::npos)
      << r.error().Message();

  int calls = 0;
  r = c.FetchBlob(Ref("berth/app", "v1"), image_.layer_digest, -1, 0,
                  [&](const char*, size_t) -> Result<void> {
                    ++calls;
                    return Fail("write", "/store/ingest", "disk full");
                  });
  ASSERT_FALSE(r);
  EXPECT_EQ(calls, 1);  // the sink's failure is final: no retry, no other endpoint
  EXPECT_EQ(r.error().Message(), "fetch blob " + open_.HostPort() + "/berth/app@" +
                                     image_.layer_digest + ": write /store/ingest: disk full");
}

TEST_F(ImageRegistry, HasBlob) {
  RegistryClient c = Client();
  auto yes = c.HasBlob(Ref("berth/app", "v1"), image_.layer_digest);
  ASSERT_TRUE(yes) << yes.error().Message();
  EXPECT_TRUE(*yes);
  auto no = c.HasBlob(Ref("berth/app", "v1"), Sha256Digest("not pushed"));
  ASSERT_TRUE(no) << no.error().Message();
  EXPECT_FALSE(*no);
}

TEST_F(ImageRegistry, UnknownTagNamesReferenceEndpointAndCode) {
  // Addressed through hosts.toml under another name, as a user would configure it.
  fs::create_directories(hosts_dir_ + "/registry.test");
  std::ofstream(hosts_dir_ + "/registry.test/hosts.toml")
      << "server = \"" << open_.Base() << "\"\n";
  auto hosts = HostsConfig::Load(hosts_dir_);
  ASSERT_TRUE(hosts);
  RegistryClient c(std::move(*hosts), {}, FastOptions());
  auto m = c.FetchManifest(Reference{"registry.test", "berth/app", "nope", ""});
  ASSERT_FALSE(m);
  std::string e = m.error().Message();
  EXPECT_EQ(e, "pull registry.test/berth/app:nope: manifest unknown (MANIFEST_UNKNOWN, 404 from " +
                   open_.Base() + "/v2/berth/app/manifests/nope)");

  Result<void> r;
  Fetch(c, Reference{"registry.test", "berth/app", "", ""}, Sha256Digest("x"), -1, 0, &r);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().Message().find("BLOB_UNKNOWN"), std::string::npos) << r.error().Message();
}

TEST_F(ImageRegistry, UnknownRepository) {
  RegistryClient c = Client();
  auto m = c.FetchManifest(Ref("no/such/repo", "latest"));
  ASSERT_FALSE(m);
  std::string e = m.error().Message();
  EXPECT_NE(e.find(open_.HostPort() + "/no/such/repo:latest"), std::string::npos) << e;
  // distribution 2.8 answers MANIFEST_UNKNOWN here, other registries NAME_UNKNOWN.
  EXPECT_TRUE(e.find("NAME_UNKNOWN") != std::string::npos ||
              e.find("MANIFEST_UNKNOWN") != std::string::npos)
      << e;
  EXPECT_NE(e.find("404 from " + open_.Base() + "/v2/no/such/repo/manifests/latest"),
            std::string::npos)
      << e;
}

TEST_F(ImageRegistry, DeadMirrorFallsThroughToUpstream) {
  int dead = FreePort();  // nothing listens there: connection refused
  fs::create_directories(hosts_dir_ + "/registry.test");
  std::ofstream(hosts_dir_ + "/registry.test/hosts.toml")
      << "server = \"" << open_.Base() << "\"\n"
      << "[host.\"http://127.0.0.1:" << dead << "\"]\n  capabilities = [\"pull\", \"resolve\"]\n";
  auto hosts = HostsConfig::Load(hosts_dir_);
  ASSERT_TRUE(hosts);
  RegistryOptions slow_retries = FastOptions();
  slow_retries.backoff_ms = 2000;  // would be noticed if the dead mirror were retried
  RegistryClient c(std::move(*hosts), {}, slow_retries);
  auto start = std::chrono::steady_clock::now();
  Reference ref{"registry.test", "berth/app", "v1", ""};
  auto m = c.FetchManifest(ref);
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->descriptor.digest, image_.manifest_digest);
  Result<void> r;
  std::string got = Fetch(c, ref, image_.config_digest, -1, 0, &r);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(got, image_.config);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));

  // With only the dead endpoint, the error says what could not be reached.
  std::ofstream(hosts_dir_ + "/registry.test/hosts.toml")
      << "server = \"http://127.0.0.1:" << dead << "\"\n";
  auto only = HostsConfig::Load(hosts_dir_);
  RegistryOptions fast = FastOptions();
  RegistryClient d(std::move(*only), {}, fast);
  auto fail = d.FetchManifest(ref);
  ASSERT_FALSE(fail);
  std::string e = fail.error().Message();
  EXPECT_NE(e.find("127.0.0.1:" + std::to_string(dead)), std::string::npos) << e;
  EXPECT_NE(e.find("after 3 attempts"), std::string::npos) << e;
}

TEST_F(ImageRegistry, TagResolvedOnlyWhereAllowed) {
  // A mirror that may only pull is not asked for tags; the upstream, which may only
  // resolve, is not asked for blobs.
  fs::create_directories(hosts_dir_ + "/registry.test");
  std::ofstream(hosts_dir_ + "/registry.test/hosts.toml")
      << "server = \"" << open_.Base() << "\"\ncapabilities = [\"resolve\"]\n";
  auto hosts = HostsConfig::Load(hosts_dir_);
  RegistryClient c(std::move(*hosts), {}, FastOptions());
  Reference ref{"registry.test", "berth/app", "v1", ""};
  ASSERT_TRUE(c.FetchManifest(ref));
  Result<void> r;
  Fetch(c, ref, image_.config_digest, -1, 0, &r);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().Message().find("\"pull\" capability"), std::string::npos)
      << r.error().Message();
}

TEST_F(ImageRegistry, ParallelBlobFetches) {
  RegistryClient c = Client();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      Result<void> r;
      std::string got = Fetch(c, Ref("berth/app", "v1"), image_.layer_digest,
                              static_cast<int64_t>(image_.layer.size()), i * 1000, &r);
      if (r && got == image_.layer.substr(i * 1000)) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
}

class ImageRegistryBasicAuth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access(kRegistryBinary, X_OK) != 0) {
      skip_ = std::string(kRegistryBinary) + " is missing (Debian package docker-registry)";
      return;
    }
    FILE* p = ::popen("htpasswd -Bbn user pass 2>/dev/null", "r");
    std::string entry;
    char buf[256];
    while (p && std::fgets(buf, sizeof buf, p)) entry += buf;
    if (!p || ::pclose(p) != 0 || entry.empty()) {
      skip_ = "htpasswd (Debian package apache2-utils) is needed to make the password file";
      return;
    }
    std::string why;
    if (!reg_.Start(entry, &why)) {
      skip_ = why;
      return;
    }
    image_ = PushImage(reg_, "private/app", "user:pass");
  }
  static void TearDownTestSuite() { reg_.Stop(); }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  RegistryClient Client(std::optional<Credentials> creds) {
    CredentialStore store;
    if (creds) store.Set(reg_.HostPort(), *creds);
    auto hosts = HostsConfig::Load("", {reg_.HostPort()});
    return RegistryClient(std::move(*hosts), std::move(store), FastOptions());
  }
  Reference Ref() { return Reference{reg_.HostPort(), "private/app", "v1", ""}; }

  static inline RegistryProcess reg_;
  static inline Image image_;
  static inline std::string skip_;
};

TEST_F(ImageRegistryBasicAuth, RightCredentials) {
  RegistryClient c = Client(Credentials{"user", "pass", ""});
  auto m = c.FetchManifest(Ref());
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->descriptor.digest, image_.manifest_digest);
  Result<void> r;
  std::string got = Fetch(c, Ref(), image_.layer_digest, -1, 5, &r);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_TRUE(got == image_.layer.substr(5));
  auto has = c.HasBlob(Ref(), image_.config_digest);
  ASSERT_TRUE(has) << has.error().Message();
  EXPECT_TRUE(*has);
}

TEST_F(ImageRegistryBasicAuth, WrongCredentials) {
  RegistryClient c = Client(Credentials{"user", "wrong", ""});
  auto m = c.FetchManifest(Ref());
  ASSERT_FALSE(m);
  std::string e = m.error().Message();
  EXPECT_NE(e.find("unauthorized: " + reg_.HostPort() + " rejected the credentials of \"user\""),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("401 from " + reg_.Base()), std::string::npos) << e;
}

TEST_F(ImageRegistryBasicAuth, NoCredentials) {
  RegistryClient c = Client(std::nullopt);
  auto m = c.FetchManifest(Ref());
  ASSERT_FALSE(m);
  std::string e = m.error().Message();
  EXPECT_NE(e.find("unauthorized: " + reg_.HostPort() + " requires credentials"), std::string::npos)
      << e;
}

}  // namespace
}  // namespace berth::image
