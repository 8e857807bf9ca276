// Registry credentials (docker config.json), WWW-Authenticate challenges (RFC 7235) and
// base64, including every error path a malformed input takes.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "image/auth.h"
#include "test_util.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

using testutil::TempDir;

// Sets an environment variable for the scope of a test, restoring the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string ErrorOf(const Result<CredentialStore>& r) {
  return r ? "(parsed)" : r.error().Message();
}

TEST(ImageAuth, NormalizeRegistryKey) {
  EXPECT_EQ(NormalizeRegistryKey("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("index.docker.io"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("registry-1.docker.io"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("docker.io"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("HTTP://Localhost:5000/v2/"), "localhost:5000");
  EXPECT_EQ(NormalizeRegistryKey("quay.io/org/repo"), "quay.io");
  EXPECT_EQ(NormalizeRegistryKey("127.0.0.1:5000"), "127.0.0.1:5000");
}

TEST(ImageAuth, ParsesEveryCredentialForm) {
  auto store = CredentialStore::Parse(R"({
    "auths": {
      "https://index.docker.io/v1/": {"auth": "dXNlcjpwYTpzcw=="},
      "quay.io/org": {"username": "q", "password": "qp"},
      "ghcr.io": {"identitytoken": "refresh-me"},
      "empty.example": {},
      "both.example": {"auth": "YTpi", "password": "override"}
    },
    "credsStore": "desktop"
  })",
                                      "test config");
  ASSERT_TRUE(store) << store.error().Message();

  auto hub = store->Lookup("registry-1.docker.io");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->username, "user");
  EXPECT_EQ(hub->password, "pa:ss");  // split at the first colon only
  ASSERT_TRUE(store->Lookup("docker.io"));

  auto quay = store->Lookup("https://quay.io");
  ASSERT_TRUE(quay);
  EXPECT_EQ(quay->username, "q");
  EXPECT_EQ(quay->password, "qp");

  auto ghcr = store->Lookup("ghcr.io");
  ASSERT_TRUE(ghcr);
  EXPECT_EQ(ghcr->identity_token, "refresh-me");
  EXPECT_TRUE(ghcr->username.empty());

  auto both = store->Lookup("both.example");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->username, "a");
  EXPECT_EQ(both->password, "override");

  EXPECT_FALSE(store->Lookup("empty.example"));
  EXPECT_FALSE(store->Lookup("other.example"));
}

TEST(ImageAuth, NoAuthsIsEmpty) {
  auto store = CredentialStore::Parse(R"({"credHelpers": {"x": "y"}})", "c");
  ASSERT_TRUE(store) << store.error().Message();
  EXPECT_TRUE(store->Empty());
}

TEST(ImageAuth, SetNormalisesTheKey) {
  CredentialStore store;
  store.Set("https://index.docker.io/v1/", {"u", "p", ""});
  auto c = store.Lookup("docker.io");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "u");
}

TEST(ImageAuth, MalformedConfigsNameTheFileAndKey) {
  EXPECT_NE(ErrorOf(CredentialStore::Parse("{not json", "/x/config.json")).find("/x/config.json"),
            std::string::npos);
  EXPECT_NE(ErrorOf(CredentialStore::Parse("[]", "c.json")).find("expected a JSON object"),
            std::string::npos);
  EXPECT_NE(ErrorOf(CredentialStore::Parse(R"({"auths": []})", "c.json")).find("auths"),
            std::string::npos);
  std::string e = ErrorOf(CredentialStore::Parse(R"({"auths": {"h": {"auth": "***"}}})", "c.json"));
  EXPECT_NE(e.find("c.json"), std::string::npos) << e;
  EXPECT_NE(e.find("auths.\"h\".auth"), std::string::npos) << e;
  EXPECT_NE(e.find("base64"), std::string::npos) << e;
  e = ErrorOf(CredentialStore::Parse(R"({"auths": {"h": {"auth": "bm9jb2xvbg=="}}})", "c.json"));
  EXPECT_NE(e.find("user:password"), std::string::npos) << e;
  e = ErrorOf(CredentialStore::Parse(R"({"auths": {"h": {"username": 5}}})", "c.json"));
  EXPECT_NE(e.find("auths.\"h\".username: expected a string"), std::string::npos) << e;
  e = ErrorOf(CredentialStore::Parse(R"({"auths": {"h": "user:pass"}})", "c.json"));
  EXPECT_NE(e.find("expected an object"), std::string::npos) << e;
}

TEST(ImageAuth, LoadFollowsTheEnvironment) {
  TempDir dir;
  std::string file = dir.path() + "/auth.json";
  std::ofstream(file) << R"({"auths": {"r.example": {"auth": "YTpi"}}})";

  {
    ScopedEnv a("REGISTRY_AUTH_FILE", file.c_str());
    auto s = CredentialStore::Load();
    ASSERT_TRUE(s) << s.error().Message();
    EXPECT_TRUE(s->Lookup("r.example"));
  }
  {
    // DOCKER_CONFIG names a directory holding config.json.
    fs::copy_file(file, dir.path() + "/config.json");
    ScopedEnv a("REGISTRY_AUTH_FILE", nullptr);
    ScopedEnv d("DOCKER_CONFIG", dir.path().c_str());
    auto s = CredentialStore::Load();
    ASSERT_TRUE(s) << s.error().Message();
    EXPECT_TRUE(s->Lookup("r.example"));
  }
  {
    ScopedEnv a("REGISTRY_AUTH_FILE", nullptr);
    ScopedEnv d("DOCKER_CONFIG", nullptr);
    ScopedEnv h("HOME", dir.path().c_str());  // no .docker/config.json there
    auto s = CredentialStore::Load();
    ASSERT_TRUE(s) << s.error().Message();
    EXPECT_TRUE(s->Empty());
  }
  auto missing = CredentialStore::Load(dir.path() + "/nope.json");
  ASSERT_TRUE(missing) << missing.error().Message();
  EXPECT_TRUE(missing->Empty());

  std::ofstream(dir.path() + "/bad.json") << "{";
  auto bad = CredentialStore::Load(dir.path() + "/bad.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().Message().find(dir.path() + "/bad.json"), std::string::npos);
}

TEST(ImageAuth, ChallengeOfDockerHub) {
  auto c = ParseChallenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_TRUE(c) << c.error().Message();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].params.at("service"), "registry.docker.io");
  EXPECT_EQ((*c)[0].params.at("scope"), "repository:library/busybox:pull");
}

TEST(ImageAuth, SeveralChallengesInOneHeader) {
  auto c = ParseChallenges(
      R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic REALM="simple", Negotiate, NTLM abc+/def==)");
  ASSERT_TRUE(c) << c.error().Message();
  ASSERT_EQ(c->size(), 4u);
  EXPECT_EQ((*c)[0].scheme, "newauth");
  EXPECT_EQ((*c)[0].params.at("realm"), "apps");
  EXPECT_EQ((*c)[0].params.at("type"), "1");
  EXPECT_EQ((*c)[0].params.at("title"), "Login to \"apps\"");
  EXPECT_EQ((*c)[1].scheme, "basic");
  EXPECT_EQ((*c)[1].params.at("realm"), "simple");  // parameter names are case-insensitive
  EXPECT_EQ((*c)[2].scheme, "negotiate");
  EXPECT_TRUE((*c)[2].params.empty());
  EXPECT_EQ((*c)[3].scheme, "ntlm");
  EXPECT_EQ((*c)[3].params.at(""), "abc+/def==");
}

TEST(ImageAuth, ChallengeWhitespaceAndEscapes) {
  auto c = ParseChallenges("  BEARER   realm = \"a\\\\b\\,c\" ,\tservice=svc ,, ");
  ASSERT_TRUE(c) << c.error().Message();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].params.at("realm"), "a\\b,c");
  EXPECT_EQ((*c)[0].params.at("service"), "svc");
}

TEST(ImageAuth, SchemeWithBareToken68) {
  // "Bearer realm" is grammatical: a token68, not a parameter without a value.
  auto c = ParseChallenges("Bearer realm");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ((*c)[0].params.at(""), "realm");
  EXPECT_FALSE((*c)[0].params.contains("realm"));
}

TEST(ImageAuth, MalformedChallenges) {
  for (std::string_view h :
       {"", "  ,  ", R"(Bearer realm="unterminated)", "Bearer a=b=c", R"(Bearer realm="a", =b)",
        R"(Bearer realm="a" service="b")", "=x", R"(Bearer realm="x\)"}) {
    auto c = ParseChallenges(h);
    ASSERT_FALSE(c) << "parsed: " << h;
    EXPECT_NE(c.error().Message().find("WWW-Authenticate"), std::string::npos)
        << c.error().Message();
  }
}

TEST(ImageAuth, Base64KnownVectorsAndRoundTrip) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("user:pass"), "dXNlcjpwYXNz");
  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  for (size_t n = 0; n <= binary.size(); n += 37) {
    auto d = Base64Decode(Base64Encode(binary.substr(0, n)));
    ASSERT_TRUE(d) << d.error().Message();
    EXPECT_EQ(*d, binary.substr(0, n));
  }
  auto unpadded = Base64Decode("Zm8");
  ASSERT_TRUE(unpadded);
  EXPECT_EQ(*unpadded, "fo");
}

TEST(ImageAuth, Base64RejectsGarbage) {
  for (std::string_view bad :
       {"!!!!", "Zg=", "Z", "Zg==Zg==", "Zm9v\n", "Zm 9v", "Zm9-", "Z===", "=Zg="}) {
    auto d = Base64Decode(bad);
    EXPECT_FALSE(d) << "decoded: " << bad;
    if (!d) {
      EXPECT_NE(d.error().Message().find("base64"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace berth::image
