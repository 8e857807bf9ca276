// The registry client against a scripted in-test HTTP server, for what a real registry
// does not do on demand: bearer token flow and re-authentication, redirects to another
// origin (no Authorization leaks), a server ignoring Range, transient failures with
// resume, lying digests, oversized manifests, and a mirror answering 404.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "image/digest.h"
#include "image/registry.h"
#include "test_util.h"

namespace berth::image {
namespace {

struct SeenRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // lowercased names
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

std::string Respond(int status, const std::string& body,
                    const std::vector<std::string>& headers = {}) {
  std::string r = "HTTP/1.1 " + std::to_string(status) +
                  " X\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nConnection: close\r\n";
  for (const std::string& h : headers) r += h + "\r\n";
  return r + "\r\n" + body;
}

// One connection at a time, one request per connection; the handler returns the raw
// response bytes (so a test can send a truncated body).
class TinyServer {
 public:
  using Handler = std::function<std::string(const SeenRequest&)>;

  explicit TinyServer(Handler h) : handler_(std::move(h)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~TinyServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }

  std::string Base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<SeenRequest> Requests() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  size_t Count(const std::string& prefix) {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& r : seen_) n += r.target.starts_with(prefix);
    return n;
  }

 private:
  void Loop() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (stop_) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      Serve(c);
      ::close(c);
    }
  }

  void Serve(int c) {
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, n);
    }
    SeenRequest req;
    std::string head = in.substr(0, in.find("\r\n\r\n"));
    size_t eol = head.find("\r\n");
    std::string line = head.substr(0, eol);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = eol;
    while (pos != std::string::npos && pos + 2 < head.size()) {
      size_t next = head.find("\r\n", pos + 2);
      std::string h =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string name = h.substr(0, colon);
        for (char& ch : name) ch = static_cast<char>(std::tolower(ch));
        req.headers[name] = h.substr(h.find_first_not_of(' ', colon + 1));
      }
      pos = next;
    }
    size_t want =
        req.headers.contains("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    size_t have = in.size() - head.size() - 4;
    while (have < want) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      have += n;
    }
    {
      std::lock_guard lock(mu_);
      seen_.push_back(req);
    }
    std::string out = handler_(req);
    for (size_t off = 0; off < out.size();) {
      ssize_t n = ::write(c, out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += n;
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<SeenRequest> seen_;
};

RegistryOptions Fast() {
  RegistryOptions o;
  o.retries = 3;
  o.backoff_ms = 1;
  o.connect_timeout_s = 5;
  o.low_speed_timeout_s = 5;
  return o;
}

RegistryClient ClientFor(const std::vector<std::string>& insecure, CredentialStore creds = {},
                         RegistryOptions opts = Fast()) {
  auto hosts = HostsConfig::Load("", insecure);
  return RegistryClient(std::move(*hosts), std::move(creds), opts);
}

const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]})";
const std::string kOciType = "Content-Type: application/vnd.oci.image.manifest.v1+json";

std::string Collect(RegistryClient& c, const Reference& ref, const std::string& digest,
                    int64_t size, int64_t offset, Result<void>* r) {
  std::string got;
  *r = c.FetchBlob(ref, digest, size, offset, [&](const char* d, size_t n) -> Result<void> {
    got.append(d, n);
    return {};
  });
  return got;
}

TEST(ImageRegistryHttp, BearerTokenFlowCachesAndReauthenticates) {
  std::mutex mu;
  int issued = 0;
  std::string valid;  // the token the registry accepts now
  std::string blob = "layer bytes";
  std::string blob_digest = Sha256Digest(blob);
  TinyServer* self = nullptr;
  TinyServer server([&](const SeenRequest& r) {
    std::lock_guard lock(mu);
    if (r.target.starts_with("/token?")) {
      if (r.Header("authorization") != "Basic dTpw") return Respond(401, "{}");
      valid = valid == "never" ? valid : "T" + std::to_string(++issued);
      return Respond(200, R"({"token":"T)" + std::to_string(issued) + R"(","expires_in":300})");
    }
    if (r.Header("authorization") != "Bearer " + valid)
      return Respond(401,
                     R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
                     {"WWW-Authenticate: Bearer realm=\"" + self->Base() +
                      "/token\",service=\"tiny registry\",scope=\"repository:team/app:pull\""});
    if (r.target == "/v2/team/app/manifests/t") return Respond(200, kManifest, {kOciType});
    if (r.target == "/v2/team/app/blobs/" + blob_digest) return Respond(200, blob);
    return Respond(404, "");
  });
  self = &server;
  CredentialStore creds;
  creds.Set(server.HostPort(), Credentials{"u", "p", ""});
  RegistryClient c = ClientFor({server.HostPort()}, creds);
  Reference ref{server.HostPort(), "team/app", "t", ""};

  auto m = c.FetchManifest(ref);
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->body, kManifest);
  auto seen = server.Requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].Header("authorization"), "");
  EXPECT_EQ(seen[1].target, "/token?service=tiny%20registry&scope=repository%3Ateam%2Fapp%3Apull");
  EXPECT_EQ(seen[2].Header("authorization"), "Bearer T1");

  // Same scope: the cached token goes out first time.
  Result<void> r;
  EXPECT_EQ(Collect(c, ref, blob_digest, -1, 0, &r), blob);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(server.Count("/token"), 1u);
  EXPECT_EQ(server.Requests().size(), 4u);

  // The registry stops accepting T1: one 401, a new token, success.
  {
    std::lock_guard lock(mu);
    valid = "revoked";
  }
  EXPECT_EQ(Collect(c, ref, blob_digest, -1, 0, &r), blob);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(server.Count("/token"), 2u);
  EXPECT_EQ(server.Requests().back().Header("authorization"), "Bearer T2");

  // Tokens that never work: re-authenticate once, then a clear "unauthorized".
  {
    std::lock_guard lock(mu);
    valid = "never";
  }
  auto bad = c.FetchManifest(ref);
  ASSERT_FALSE(bad);
  std::string e = bad.error().Message();
  EXPECT_NE(e.find("unauthorized: " + server.HostPort() + " rejected the credentials of \"u\""),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("UNAUTHORIZED"), std::string::npos) << e;
  EXPECT_EQ(server.Count("/token"), 3u);
}

TEST(ImageRegistryHttp, TokenServerRejectingCredentials) {
  TinyServer* self = nullptr;
  TinyServer server([&](const SeenRequest& r) {
    if (r.target.starts_with("/token")) return Respond(401, R"({"details":"bad password"})");
    return Respond(401, "", {"WWW-Authenticate: Bearer realm=\"" + self->Base() + "/token\""});
  });
  self = &server;
  CredentialStore creds;
  creds.Set(server.HostPort(), Credentials{"u", "wrong", ""});
  RegistryClient c = ClientFor({server.HostPort()}, creds);
  auto m = c.FetchManifest(Reference{server.HostPort(), "team/app", "t", ""});
  ASSERT_FALSE(m);
  std::string e = m.error().Message();
  EXPECT_NE(e.find("unauthorized: token server of " + server.HostPort() +
                   " rejected the credentials of \"u\""),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("401 from " + server.Base() + "/token?scope="), std::string::npos) << e;
}

TEST(ImageRegistryHttp, AnonymousTokenAndAccessTokenField) {
  TinyServer* self = nullptr;
  TinyServer server([&](const SeenRequest& r) {
    if (r.target.starts_with("/token")) {
      if (!r.Header("authorization").empty()) return Respond(400, "");
      return Respond(200, R"({"access_token":"anon"})");
    }
    if (r.Header("authorization") == "Bearer anon") return Respond(200, kManifest, {kOciType});
    return Respond(401, "", {"www-authenticate: bearer REALM=\"" + self->Base() + "/token?x=1\""});
  });
  self = &server;
  RegistryClient c = ClientFor({server.HostPort()});
  auto m = c.FetchManifest(Reference{server.HostPort(), "team/app", "t", ""});
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(server.Requests()[1].target, "/token?x=1&scope=repository%3Ateam%2Fapp%3Apull");
}

TEST(ImageRegistryHttp, RedirectToAnotherOriginDropsAuthorization) {
  std::string blob = "content from the blob store";
  std::string digest = Sha256Digest(blob);
  TinyServer store([&](const SeenRequest&) { return Respond(200, blob); });
  TinyServer registry([&](const SeenRequest& r) {
    if (r.Header("authorization") != "Basic dTpw")
      return Respond(401, "", {"WWW-Authenticate: Basic realm=\"tiny\""});
    if (r.target == "/v2/team/app/blobs/" + digest)
      return Respond(302, "", {"Location: /moved/" + digest});  // same origin: keeps auth
    if (r.target == "/moved/" + digest)
      return Respond(307, "", {"Location: " + store.Base() + "/signed?sig=abc"});
    return Respond(404, "");
  });
  CredentialStore creds;
  creds.Set(registry.HostPort(), Credentials{"u", "p", ""});
  RegistryClient c = ClientFor({registry.HostPort()}, creds);
  Result<void> r;
  std::string got = Collect(c, Reference{registry.HostPort(), "team/app", "", ""}, digest,
                            static_cast<int64_t>(blob.size()), 0, &r);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_EQ(got, blob);
  auto reg_seen = registry.Requests();
  ASSERT_EQ(reg_seen.size(), 3u);  // 401, then 302, then the relative target with auth
  EXPECT_EQ(reg_seen[2].target, "/moved/" + digest);
  EXPECT_EQ(reg_seen[2].Header("authorization"), "Basic dTpw");
  auto store_seen = store.Requests();
  ASSERT_EQ(store_seen.size(), 1u);
  EXPECT_EQ(store_seen[0].target, "/signed?sig=abc");
  EXPECT_EQ(store_seen[0].Header("authorization"), "");
}

TEST(ImageRegistryHttp, ServerIgnoringRangeIsSkippedByTheClient) {
  std::string blob(100'000, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 7);
  std::string digest = Sha256Digest(blob);
  TinyServer server([&](const SeenRequest&) { return Respond(200, blob); });
  RegistryClient c = ClientFor({server.HostPort()});
  Result<void> r;
  std::string got = Collect(c, Reference{server.HostPort(), "a", "", ""}, digest,
                            static_cast<int64_t>(blob.size()), 40'000, &r);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_TRUE(got == blob.substr(40'000)) << got.size();
  EXPECT_EQ(server.Requests()[0].Header("range"), "bytes=40000-");
}

TEST(ImageRegistryHttp, TransientFailuresRetryAndResume) {
  std::string blob(200'000, 'x');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i % 251);
  std::string digest = Sha256Digest(blob);
  const size_t half = 70'000;
  int n = 0;
  TinyServer server([&](const SeenRequest& r) -> std::string {
    switch (n++) {
      case 0:
        return Respond(503, "busy");
      case 1:
        return Respond(429, "", {"Retry-After: 0"});
      case 2:  // promises the whole blob, sends a part, hangs up
        return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(blob.size()) +
               "\r\nConnection: close\r\n\r\n" + blob.substr(0, half);
      default: {
        std::string want = "bytes=" + std::to_string(half) + "-";
        if (r.Header("range") != want) return Respond(400, "bad range " + r.Header("range"));
        return Respond(206, blob.substr(half),
                       {"Content-Range: bytes " + std::to_string(half) + "-" +
                        std::to_string(blob.size() - 1) + "/" + std::to_string(blob.size())});
      }
    }
  });
  RegistryClient c = ClientFor({server.HostPort()});
  Result<void> r;
  std::string got = Collect(c, Reference{server.HostPort(), "a", "", ""}, digest,
                            static_cast<int64_t>(blob.size()), 0, &r);
  ASSERT_TRUE(r) << r.error().Message();
  EXPECT_TRUE(got == blob) << got.size();
  EXPECT_EQ(n, 4);
}

TEST(ImageRegistryHttp, GivesUpAfterTheRetries) {
  TinyServer server([&](const SeenRequest&) { return Respond(500, "<html>oops</html>"); });
  RegistryClient c = ClientFor({server.HostPort()});
  auto m = c.FetchManifest(Reference{server.HostPort(), "a", "t", ""});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().Message(), "pull " + server.HostPort() +
                                     "/a:t: internal server error (500 from " + server.Base() +
                                     "/v2/a/manifests/t)");
  EXPECT_EQ(server.Requests().size(), 4u);  // the first attempt and 3 retries
}

// A server that accepts and then sends nothing: the low-speed limit is the bound on the
// whole stall, not per attempt (retries would multiply it).
TEST(ImageRegistryHttp, StalledTransferFailsOnceWithTheStallTimeout) {
  TinyServer server([&](const SeenRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    return Respond(200, "late");
  });
  RegistryOptions o = Fast();
  o.low_speed_timeout_s = 1;
  o.low_speed_timeout_name = "pull_stall_timeout";
  RegistryClient c = ClientFor({server.HostPort()}, {}, o);
  Result<void> r;
  Collect(c, Reference{server.HostPort(), "a", "", ""}, Sha256Digest("late"), 4, 0, &r);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().Kind(), ErrorKind::kDeadlineExceeded) << r.error().Message();
  EXPECT_NE(r.error().Message().find("stalled: no data for 1 s (pull_stall_timeout = 1 s)"),
            std::string::npos)
      << r.error().Message();
  EXPECT_EQ(server.Requests().size(), 1u);  // not retried
}

TEST(ImageRegistryHttp, ManifestHeadersAndMediaType) {
  TinyServer server([&](const SeenRequest& r) {
    if (r.target.ends_with("/params"))
      return Respond(200, kManifest,
                     {"Content-Type: Application/vnd.oci.image.manifest.v1+json; charset=utf-8"});
    // application/json: the document's mediaType decides.
    return Respond(
        200,
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]})",
        {"Content-Type: application/json"});
  });
  RegistryClient c = ClientFor({server.HostPort()});
  auto m = c.FetchManifest(Reference{server.HostPort(), "a", "params", ""});
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->descriptor.media_type, media::kOciManifest);
  std::string accept = server.Requests()[0].Header("accept");
  for (auto t :
       {media::kOciIndex, media::kOciManifest, media::kDockerManifestList, media::kDockerManifest})
    EXPECT_NE(accept.find(t), std::string::npos) << accept;

  auto list = c.FetchManifest(Reference{server.HostPort(), "a", "json", ""});
  ASSERT_TRUE(list) << list.error().Message();
  EXPECT_EQ(list->descriptor.media_type, media::kDockerManifestList);
}

TEST(ImageRegistryHttp, ManifestDigestsAreChecked) {
  std::string wrong = Sha256Digest("something else");
  TinyServer server([&](const SeenRequest& r) {
    if (r.target.ends_with("/lies"))
      return Respond(200, kManifest, {kOciType, "Docker-Content-Digest: " + wrong});
    return Respond(200, kManifest, {kOciType});
  });
  RegistryClient c = ClientFor({server.HostPort()});
  auto lies = c.FetchManifest(Reference{server.HostPort(), "a", "lies", ""});
  ASSERT_FALSE(lies);
  EXPECT_NE(lies.error().Message().find("Docker-Content-Digest says " + wrong), std::string::npos)
      << lies.error().Message();

  auto by_digest = c.FetchManifestDigest(Reference{server.HostPort(), "a", "", ""}, wrong);
  ASSERT_FALSE(by_digest);
  EXPECT_NE(by_digest.error().Message().find("has digest " + Sha256Digest(kManifest) +
                                             " but the reference asks for " + wrong),
            std::string::npos)
      << by_digest.error().Message();

  auto ok =
      c.FetchManifestDigest(Reference{server.HostPort(), "a", "", ""}, Sha256Digest(kManifest));
  ASSERT_TRUE(ok) << ok.error().Message();
}

TEST(ImageRegistryHttp, OversizedManifestIsRefused) {
  std::string huge(5 << 20, ' ');
  TinyServer server([&](const SeenRequest&) { return Respond(200, huge, {kOciType}); });
  RegistryClient c = ClientFor({server.HostPort()});
  auto m = c.FetchManifest(Reference{server.HostPort(), "a", "t", ""});
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().Message().find("/v2/a/manifests/t sent more than 4 MiB"), std::string::npos)
      << m.error().Message();
}

TEST(ImageRegistryHttp, MirrorAnswering404FallsThrough) {
  TinyServer mirror([&](const SeenRequest&) {
    return Respond(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
  });
  TinyServer upstream([&](const SeenRequest&) { return Respond(200, kManifest, {kOciType}); });
  testutil::TempDir tmp("berth-registry-mirror");
  const std::string& dir = tmp.path();
  std::filesystem::create_directories(dir + "/registry.test");
  {
    FILE* f = std::fopen((dir + "/registry.test/hosts.toml").c_str(), "w");
    std::fprintf(f, "server = \"%s\"\n[host.\"%s\"]\n", upstream.Base().c_str(),
                 mirror.Base().c_str());
    std::fclose(f);
  }
  auto hosts = HostsConfig::Load(dir);
  ASSERT_TRUE(hosts);
  RegistryClient c(std::move(*hosts), {}, Fast());
  auto m = c.FetchManifest(Reference{"registry.test", "library/app", "t", ""});
  ASSERT_TRUE(m) << m.error().Message();
  ASSERT_EQ(mirror.Requests().size(), 1u);
  EXPECT_EQ(mirror.Requests()[0].target, "/v2/library/app/manifests/t?ns=registry.test");
  EXPECT_EQ(upstream.Requests()[0].target, "/v2/library/app/manifests/t");
}

TEST(ImageRegistryHttp, RejectsReferencesThatWouldEscapeTheUrl) {
  TinyServer server([&](const SeenRequest&) { return Respond(200, kManifest, {kOciType}); });
  RegistryClient c = ClientFor({server.HostPort()});
  for (Reference ref : {Reference{server.HostPort(), "a/../b", "t", ""},
                        Reference{server.HostPort(), "a", "t?x=1", ""},
                        Reference{server.HostPort(), "", "t", ""}}) {
    auto m = c.FetchManifest(ref);
    EXPECT_FALSE(m) << ref.path << ":" << ref.tag;
  }
  EXPECT_TRUE(server.Requests().empty());
}

}  // namespace
}  // namespace berth::image
