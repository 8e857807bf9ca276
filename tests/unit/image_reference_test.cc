// Image reference parsing and normalisation: docker's defaults (docker.io, library/,
// latest), domain detection, tags and digests, and each grammar rule's error.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "image/reference.h"

namespace berth::image {
namespace {

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + kHex;

Reference MustParse(std::string_view text) {
  auto r = ParseReference(text);
  EXPECT_TRUE(r) << text << ": " << r.error().Message();
  return r ? *r : Reference{};
}

std::string ParseError(std::string_view text) {
  auto r = ParseReference(text);
  if (r) return "(parsed as " + r->String() + ")";
  return r.error().Message();
}

TEST(ImageReference, OfficialImageShortName) {
  Reference r = MustParse("busybox");
  EXPECT_EQ(r.domain, "docker.io");
  EXPECT_EQ(r.path, "library/busybox");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.digest, "");
  EXPECT_EQ(r.String(), "docker.io/library/busybox:latest");
  EXPECT_EQ(r.Familiar(), "busybox:latest");
  EXPECT_EQ(r.Repository(), "docker.io/library/busybox");
  EXPECT_EQ(r.Object(), "latest");
}

TEST(ImageReference, DockerHubForms) {
  EXPECT_EQ(MustParse("library/busybox:1.36").String(), "docker.io/library/busybox:1.36");
  EXPECT_EQ(MustParse("docker.io/busybox").String(), "docker.io/library/busybox:latest");
  EXPECT_EQ(MustParse("index.docker.io/library/busybox").String(),
            "docker.io/library/busybox:latest");
  EXPECT_EQ(MustParse("index.docker.io/busybox").String(), "docker.io/library/busybox:latest");
  Reference user = MustParse("someuser/app:v2");
  EXPECT_EQ(user.String(), "docker.io/someuser/app:v2");
  EXPECT_EQ(user.Familiar(), "someuser/app:v2");
  // Only a single "library/<name>" shortens.
  EXPECT_EQ(MustParse("library/a/b").Familiar(), "library/a/b:latest");
}

TEST(ImageReference, DomainDetection) {
  Reference local = MustParse("localhost/app");
  EXPECT_EQ(local.domain, "localhost");
  EXPECT_EQ(local.path, "app");  // library/ only on docker.io

  Reference port = MustParse("localhost:5000/a/b");
  EXPECT_EQ(port.domain, "localhost:5000");
  EXPECT_EQ(port.path, "a/b");
  EXPECT_EQ(port.Familiar(), "localhost:5000/a/b:latest");

  Reference quay = MustParse("quay.io/x/y:t");
  EXPECT_EQ(quay.domain, "quay.io");
  EXPECT_EQ(quay.path, "x/y");
  EXPECT_EQ(quay.tag, "t");

  Reference ip = MustParse("10.0.0.1:5000/img");
  EXPECT_EQ(ip.domain, "10.0.0.1:5000");

  Reference v6 = MustParse("[::1]:5000/img:tag");
  EXPECT_EQ(v6.domain, "[::1]:5000");
  EXPECT_EQ(v6.path, "img");
  EXPECT_EQ(v6.tag, "tag");

  // No '.', ':' and not localhost: a Docker Hub user, not a host.
  Reference hub = MustParse("myhost/app");
  EXPECT_EQ(hub.domain, "docker.io");
  EXPECT_EQ(hub.path, "myhost/app");

  // Without a '/', "localhost:5000" is the image "localhost" with tag "5000".
  Reference tagged = MustParse("localhost:5000");
  EXPECT_EQ(tagged.String(), "docker.io/library/localhost:5000");
}

TEST(ImageReference, DigestAndTag) {
  Reference d = MustParse("localhost:5000/a/b@" + kDigest);
  EXPECT_EQ(d.tag, "");  // no "latest" when a digest is given
  EXPECT_EQ(d.digest, kDigest);
  EXPECT_EQ(d.String(), "localhost:5000/a/b@" + kDigest);
  EXPECT_EQ(d.Object(), kDigest);

  Reference both = MustParse("quay.io/x/y:t@" + kDigest);
  EXPECT_EQ(both.tag, "t");
  EXPECT_EQ(both.digest, kDigest);
  EXPECT_EQ(both.String(), "quay.io/x/y:t@" + kDigest);
  EXPECT_EQ(both.Object(), kDigest);  // the digest wins

  Reference hub = MustParse("busybox@" + kDigest);
  EXPECT_EQ(hub.Familiar(), "busybox@" + kDigest);

  const std::string sha512 = "sha512:" + std::string(128, '0');
  EXPECT_EQ(MustParse("a@" + sha512).digest, sha512);
}

TEST(ImageReference, PathComponentSeparators) {
  EXPECT_EQ(MustParse("x/a.b_c__d-e---f").path, "x/a.b_c__d-e---f");
  EXPECT_EQ(MustParse("a-b/c").path, "a-b/c");  // no '.' or ':': not a domain
  EXPECT_EQ(MustParse("0/1").path, "0/1");
  EXPECT_NE(ParseError("a..b").find("path component \"a..b\""), std::string::npos);
  EXPECT_NE(ParseError("a___b").find("path component"), std::string::npos);
  EXPECT_NE(ParseError("a/b-").find("path component \"b-\""), std::string::npos);
  EXPECT_NE(ParseError("a//b").find("path component \"\""), std::string::npos);
  EXPECT_NE(ParseError("a/_b").find("path component \"_b\""), std::string::npos);
}

TEST(ImageReference, Tags) {
  std::string max_tag = "_" + std::string(127, 'x');
  EXPECT_EQ(MustParse("a:" + max_tag).tag, max_tag);
  EXPECT_EQ(MustParse("a:V1.2-rc_3").tag, "V1.2-rc_3");
  EXPECT_NE(ParseError("a:" + max_tag + "x").find("at most 128"), std::string::npos);
  EXPECT_NE(ParseError("a:.x").find("must start with"), std::string::npos);
  EXPECT_NE(ParseError("a:-x").find("must start with"), std::string::npos);
  EXPECT_NE(ParseError("a:x+y").find("may only hold"), std::string::npos);
}

TEST(ImageReference, Errors) {
  EXPECT_EQ(ParseError(""), "parse reference \"\": empty reference");
  EXPECT_EQ(ParseError("UPPER"),
            "parse reference \"UPPER\": repository name \"UPPER\" must be lowercase");
  EXPECT_EQ(ParseError("quay.io/Org/app"),
            "parse reference \"quay.io/Org/app\": repository name \"Org/app\" must be lowercase");
  // "b:c" is not a tag.
  EXPECT_NE(ParseError("a:b:c").find("tag \"b:c\""), std::string::npos) << ParseError("a:b:c");
  EXPECT_EQ(ParseError("localhost:5000/x:"),
            "parse reference \"localhost:5000/x:\": empty tag after ':'");
  EXPECT_NE(ParseError("host:port/x").find("port \"port\" is not a number"), std::string::npos);
  EXPECT_NE(ParseError("host:/x").find("empty port"), std::string::npos);
  EXPECT_NE(ParseError("-host.io/x").find("invalid domain \"-host.io\""), std::string::npos);
  EXPECT_NE(ParseError("a.-b.io/x").find("invalid domain"), std::string::npos);
  EXPECT_NE(ParseError("[::1/x").find("unterminated IPv6"), std::string::npos);
  EXPECT_NE(ParseError("-leading").find("path component \"-leading\""), std::string::npos);
  EXPECT_NE(ParseError("localhost/").find("empty repository name"), std::string::npos);
  EXPECT_NE(ParseError(":tag").find("empty repository name"), std::string::npos);
  EXPECT_NE(ParseError("a b").find("path component \"a b\""), std::string::npos);
  // An uppercase first component is taken as a host; "Foo" is a fine host, "bar" the path.
  EXPECT_EQ(MustParse("Foo/bar").domain, "Foo");
}

TEST(ImageReference, BadDigests) {
  EXPECT_NE(ParseError("a@sha256:abc").find("invalid digest \"sha256:abc\""), std::string::npos);
  EXPECT_NE(ParseError("a@sha256:" + std::string(64, 'A')).find("lowercase hex"),
            std::string::npos);
  EXPECT_NE(ParseError("a@md5:" + std::string(32, '0')).find("unsupported algorithm"),
            std::string::npos);
  EXPECT_NE(ParseError("a@").find("invalid digest"), std::string::npos);
  EXPECT_NE(ParseError("a@" + kHex).find("invalid digest"), std::string::npos);
  EXPECT_NE(ParseError("a@" + kDigest + "@" + kDigest).find("invalid digest"), std::string::npos);
}

TEST(ImageReference, ImageIdIsNotAName) {
  EXPECT_NE(ParseError(kHex).find("image ID"), std::string::npos);
  // 63 hex characters are an ordinary name.
  EXPECT_EQ(MustParse(kHex.substr(1)).path, "library/" + kHex.substr(1));
}

TEST(ImageReference, NameLengthLimit) {
  // The limit applies to the normalised name: "docker.io/" + path.
  std::string path(255 - std::string("docker.io/u/").size(), 'x');
  EXPECT_EQ(MustParse("u/" + path).Repository().size(), 255u);
  std::string err = ParseError("u/" + path + "x");
  EXPECT_NE(err.find("256 characters (at most 255)"), std::string::npos) << err;
  // "library/" counts too: a 240-character official name is over the limit.
  EXPECT_NE(ParseError(std::string(240, 'x')).find("at most 255"), std::string::npos);
  // The tag does not count.
  EXPECT_TRUE(ParseReference("u/" + path + ":" + std::string(128, 't')));
}

TEST(ImageReference, RoundTripsThroughString) {
  for (const std::string& text : std::vector<std::string>{"busybox", "quay.io/x/y:t@" + kDigest,
                                                          "localhost:5000/a/b@" + kDigest,
                                                          "[fe80::1]/img:v1", "someuser/app"}) {
    Reference once = MustParse(text);
    Reference twice = MustParse(once.String());
    EXPECT_EQ(once.String(), twice.String()) << text;
    EXPECT_EQ(MustParse(once.Familiar()).String(), once.String()) << text;
  }
}

}  // namespace
}  // namespace berth::image
