// Digests: validation (they become file names in the content store) and hashing, against
// known values from `sha256sum` / `sha512sum`.
#include <gtest/gtest.h>

#include <string>

#include "image/digest.h"

namespace berth::image {
namespace {

constexpr const char* kSha256Abc =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kSha256Empty =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kSha512Abc =
    "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a8"
    "36ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

std::string DigestError(const std::string& d) {
  auto r = ValidateDigest(d);
  return r ? "(valid)" : r.error().Message();
}

TEST(ImageDigest, ValidDigests) {
  EXPECT_TRUE(ValidateDigest(kSha256Abc));
  EXPECT_TRUE(ValidateDigest(kSha512Abc));
  EXPECT_TRUE(ValidateDigest("sha256:" + std::string(64, '0')));
}

TEST(ImageDigest, InvalidDigests) {
  const std::string hex64(64, 'a');
  EXPECT_NE(DigestError("").find("not of the form <algorithm>:<hex>"), std::string::npos);
  EXPECT_NE(DigestError(hex64).find("not of the form"), std::string::npos);
  EXPECT_NE(DigestError("md5:" + std::string(32, 'a')).find("unsupported algorithm \"md5\""),
            std::string::npos);
  EXPECT_NE(DigestError("SHA256:" + hex64).find("unsupported algorithm"), std::string::npos);
  EXPECT_NE(DigestError("sha256:" + hex64.substr(1)).find("expected 64 lowercase hex"),
            std::string::npos);
  EXPECT_NE(DigestError("sha256:" + hex64 + "a").find("expected 64"), std::string::npos);
  EXPECT_NE(DigestError("sha256:" + std::string(64, 'A')).find("lowercase hex"), std::string::npos);
  EXPECT_NE(DigestError("sha256:" + std::string(64, 'g')).find("lowercase hex"), std::string::npos);
  // Path characters must never get through: digests name files in the content store.
  EXPECT_NE(DigestError("sha256:../../" + hex64.substr(6)).find("lowercase hex"),
            std::string::npos);
  EXPECT_NE(DigestError("sha512:" + hex64).find("expected 128"), std::string::npos);
  // The error names the digest.
  EXPECT_NE(DigestError("sha256:xyz").find("\"sha256:xyz\""), std::string::npos);
}

TEST(ImageDigest, DigestHex) {
  EXPECT_EQ(DigestHex(kSha256Abc), std::string(kSha256Abc).substr(7));
  EXPECT_EQ(DigestHex("nocolon"), "nocolon");
}

TEST(ImageDigest, OneShotSha256) {
  EXPECT_EQ(Sha256Digest("abc"), kSha256Abc);
  EXPECT_EQ(Sha256Digest(""), kSha256Empty);
}

TEST(ImageDigest, HasherStreamsAndResets) {
  auto h = Hasher::New();
  ASSERT_TRUE(h) << h.error().Message();
  h->Update("a", 1);
  h->Update("bc", 2);
  EXPECT_EQ(h->Final(), kSha256Abc);
  // Final() leaves the hasher ready for the next input.
  EXPECT_EQ(h->Final(), kSha256Empty);
  h->Update("abc", 3);
  EXPECT_EQ(h->Final(), kSha256Abc);
  // Reset() discards what was fed so far.
  h->Update("garbage", 7);
  h->Reset();
  h->Update("abc", 3);
  EXPECT_EQ(h->Final(), kSha256Abc);
  // Moved-to hashers keep working.
  Hasher moved = std::move(*h);
  moved.Update("abc", 3);
  EXPECT_EQ(moved.Final(), kSha256Abc);
}

TEST(ImageDigest, Sha512Hasher) {
  auto h = Hasher::New("sha512");
  ASSERT_TRUE(h) << h.error().Message();
  h->Update("abc", 3);
  EXPECT_EQ(h->Final(), kSha512Abc);
}

TEST(ImageDigest, UnknownAlgorithm) {
  auto h = Hasher::New("md5");
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().Message().find("unsupported algorithm"), std::string::npos);
}

}  // namespace
}  // namespace berth::image
