// containerd-style hosts.toml: defaults, mirrors in file order, capabilities, TLS knobs,
// the "_default" fallback, insecure registries, and errors that name the file and key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "image/hosts.h"
#include "test_util.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

class ImageHosts : public ::testing::Test {
 protected:
  std::string Write(const std::string& registry, const std::string& toml) {
    fs::create_directories(dir_ + "/" + registry);
    std::string file = dir_ + "/" + registry + "/hosts.toml";
    std::ofstream(file) << toml;
    return file;
  }

  std::vector<RegistryEndpoint> Endpoints(const std::string& domain,
                                          std::vector<std::string> insecure = {}) {
    auto c = HostsConfig::Load(dir_, std::move(insecure));
    EXPECT_TRUE(c) << c.error().Message();
    auto eps = c->Endpoints(domain);
    EXPECT_TRUE(eps) << eps.error().Message();
    return eps ? *eps : std::vector<RegistryEndpoint>{};
  }

  std::string ErrorFor(const std::string& domain) {
    auto c = HostsConfig::Load(dir_);
    if (!c) return c.error().Message();
    auto eps = c->Endpoints(domain);
    return eps ? "(no error)" : eps.error().Message();
  }

  testutil::TempDir tmp_{"berth-hosts-test"};
  const std::string dir_ = tmp_.path();
};

TEST_F(ImageHosts, DefaultsWithoutConfig) {
  auto c = HostsConfig::Load(dir_ + "/does-not-exist");
  ASSERT_TRUE(c) << c.error().Message();
  auto hub = c->Endpoints("docker.io");
  ASSERT_TRUE(hub) << hub.error().Message();
  ASSERT_EQ(hub->size(), 1u);
  EXPECT_EQ((*hub)[0].BaseUrl(), "https://registry-1.docker.io/v2");
  EXPECT_FALSE((*hub)[0].mirror);
  EXPECT_TRUE((*hub)[0].can_pull);
  EXPECT_TRUE((*hub)[0].can_resolve);

  auto local = c->Endpoints("localhost:5000");
  ASSERT_TRUE(local);
  EXPECT_EQ((*local)[0].BaseUrl(), "https://localhost:5000/v2");

  auto none = HostsConfig::Load("");
  ASSERT_TRUE(none);
  auto q = none->Endpoints("quay.io");
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)[0].BaseUrl(), "https://quay.io/v2");
}

TEST_F(ImageHosts, InsecureRegistriesArePlainHttp) {
  auto eps = Endpoints("localhost:5000", {"localhost:5000"});
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].BaseUrl(), "http://localhost:5000/v2");
  // Written as a URL on the command line, too.
  eps = Endpoints("10.0.0.1:5000", {"http://10.0.0.1:5000/"});
  EXPECT_EQ(eps[0].BaseUrl(), "http://10.0.0.1:5000/v2");
  eps = Endpoints("10.0.0.2:5000", {"10.0.0.1:5000"});
  EXPECT_EQ(eps[0].BaseUrl(), "https://10.0.0.2:5000/v2");

  auto bad = HostsConfig::Load(dir_, {"a/b"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().Message().find("\"a/b\""), std::string::npos);
}

TEST_F(ImageHosts, MirrorsInFileOrderThenServer) {
  fs::create_directories(dir_ + "/docker.io");
  Write("docker.io", R"(
server = "https://registry-1.docker.io"

[host."https://z-mirror.example"]
  capabilities = ["pull", "resolve"]
  ca = "certs/z.pem"

[host."http://a-mirror.example:5001"]
  capabilities = ["pull"]
  skip_verify = true

[host."https://proxy.example/some/prefix/v2"]
  override_path = true

[host."https://push-only.example"]
  capabilities = ["push"]
)");
  auto eps = Endpoints("docker.io");
  ASSERT_EQ(eps.size(), 4u);
  EXPECT_EQ(eps[0].BaseUrl(), "https://z-mirror.example/v2");
  EXPECT_TRUE(eps[0].mirror);
  EXPECT_TRUE(eps[0].can_resolve);
  EXPECT_EQ(eps[0].ca_file, dir_ + "/docker.io/certs/z.pem");

  EXPECT_EQ(eps[1].BaseUrl(), "http://a-mirror.example:5001/v2");
  EXPECT_EQ(eps[1].scheme, "http");
  EXPECT_EQ(eps[1].host, "a-mirror.example:5001");
  EXPECT_TRUE(eps[1].skip_verify);
  EXPECT_TRUE(eps[1].can_pull);
  EXPECT_FALSE(eps[1].can_resolve);

  EXPECT_EQ(eps[2].BaseUrl(), "https://proxy.example/some/prefix/v2");
  EXPECT_TRUE(eps[2].can_resolve);  // all capabilities when none are listed

  EXPECT_EQ(eps[3].BaseUrl(), "https://registry-1.docker.io/v2");
  EXPECT_FALSE(eps[3].mirror);
}

TEST_F(ImageHosts, ServerSettingsAndDefaultServer) {
  Write("r.example", R"(
server = "http://127.0.0.1:5000/"
skip_verify = false
capabilities = ["pull", "resolve"]
ca = "/abs/ca.pem"
)");
  auto eps = Endpoints("r.example");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].BaseUrl(), "http://127.0.0.1:5000/v2");
  EXPECT_EQ(eps[0].ca_file, "/abs/ca.pem");

  // Without `server` the registry itself is the upstream, after the mirrors.
  Write("s.example", R"([host."mirror.example:443"])");
  eps = Endpoints("s.example");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].BaseUrl(), "https://mirror.example:443/v2");
  EXPECT_EQ(eps[1].BaseUrl(), "https://s.example/v2");

  // A host without a scheme is https unless it is an insecure registry.
  eps = Endpoints("s.example", {"mirror.example:443"});
  EXPECT_EQ(eps[0].BaseUrl(), "http://mirror.example:443/v2");
}

TEST_F(ImageHosts, DefaultDirectoryIsTheFallback) {
  Write("_default", R"([host."http://cache.local:5000"])");
  Write("quay.io", R"(server = "https://quay.io")");
  auto eps = Endpoints("ghcr.io");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].BaseUrl(), "http://cache.local:5000/v2");
  EXPECT_EQ(eps[1].BaseUrl(), "https://ghcr.io/v2");
  eps = Endpoints("quay.io");  // its own file wins over _default
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].BaseUrl(), "https://quay.io/v2");
}

TEST_F(ImageHosts, ErrorsNameTheFileAndTheKey) {
  struct Case {
    const char* toml;
    const char* want;
  } cases[] = {
      {"server = ", "line 1"},
      {"server = 5", "server: expected a URL string"},
      {"server = \"ftp://x\"", "server: scheme of \"ftp://x\" is not http or https"},
      {"server = \"https://\"", "server: \"https://\" has no host"},
      {"skip_verify = \"yes\"", "skip_verify: expected true or false"},
      {"capabilities = \"pull\"", "capabilities: expected an array"},
      {"capabilities = [\"pull\", \"fly\"]", "capabilities: expected an array"},
      {"[host.\"https://m\"]\nskip-verify = true", "host.\"https://m\".skip-verify: unknown key"},
      {"[host.\"https://m\"]\nclient = \"/c.pem\"", "host.\"https://m\".client: not supported"},
      {"[host.\"https://m\"]\nca = 3", "host.\"https://m\".ca: expected a path"},
      {"[host.\"https://m\"]\noverride_path = 1",
       "host.\"https://m\".override_path: expected true"},
      {"host = 3", "host: expected tables"},
      {"[host.\"https://m?x=1\"]", "is not a registry URL"},
  };
  for (const Case& c : cases) {
    std::string file = Write("bad.example", c.toml);
    std::string e = ErrorFor("bad.example");
    EXPECT_NE(e.find(file), std::string::npos) << c.toml << " -> " << e;
    EXPECT_NE(e.find(c.want), std::string::npos) << c.toml << " -> " << e;
  }
}

TEST_F(ImageHosts, RejectsDomainsThatAreNotHosts) {
  auto c = HostsConfig::Load(dir_);
  ASSERT_TRUE(c);
  for (const char* d : {"", "a/b", "..", "."}) {
    auto eps = c->Endpoints(d);
    EXPECT_FALSE(eps) << d;
  }
}

}  // namespace
}  // namespace berth::image
