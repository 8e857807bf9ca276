#include "image/digest.h"

#include <openssl/evp.h>

#include <cstring>

#include "base/text.h"

namespace berth::image {

namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

const EVP_MD* Algorithm(std::string_view name) {
  if (name == "sha256") return EVP_sha256();
  if (name == "sha512") return EVP_sha512();
  return nullptr;
}

}  // namespace

Result<void> ValidateDigest(std::string_view digest) {
  std::string quoted = QuoteText(digest, 160);
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos)
    return InvalidArgument("digest", quoted, "not of the form <algorithm>:<hex>");
  std::string_view alg = digest.substr(0, colon), hex = digest.substr(colon + 1);
  size_t want = alg == "sha256" ? 64 : alg == "sha512" ? 128 : 0;
  if (want == 0)
    return InvalidArgument("digest", quoted, "unsupported algorithm " + QuoteText(alg, 32));
  if (hex.size() != want || !IsLowerHex(hex))
    return InvalidArgument("digest", quoted,
                "expected " + std::to_string(want) + " lowercase hex digits after " +
                    QuoteText(std::string(alg) + ":"));
  return {};
}

std::string_view DigestHex(std::string_view digest) {
  size_t colon = digest.find(':');
  return colon == std::string_view::npos ? digest : digest.substr(colon + 1);
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  const EVP_MD* md = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Result<Hasher> Hasher::New(std::string_view algorithm) {
  const EVP_MD* md = Algorithm(algorithm);
  if (!md) return Unimplemented("hash", std::string(algorithm), "unsupported algorithm");
  Hasher h;
  h.impl_ = std::make_unique<Impl>();
  h.impl_->md = md;
  h.impl_->ctx = EVP_MD_CTX_new();
  if (!h.impl_->ctx || EVP_DigestInit_ex(h.impl_->ctx, md, nullptr) != 1)
    return Internal("hash", std::string(algorithm), "EVP_DigestInit_ex failed");
  h.algorithm_ = algorithm;
  return h;
}

Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

void Hasher::Update(const void* data, size_t n) { EVP_DigestUpdate(impl_->ctx, data, n); }

std::string Hasher::Final() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  static const char* kHex = "0123456789abcdef";
  std::string out = algorithm_ + ":";
  out.reserve(out.size() + 2 * len);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  Reset();
  return out;
}

void Hasher::Reset() { EVP_DigestInit_ex(impl_->ctx, impl_->md, nullptr); }

std::string Sha256Digest(std::string_view data) {
  auto h = Hasher::New("sha256");
  h->Update(data.data(), data.size());
  return h->Final();
}

}  // namespace berth::image
