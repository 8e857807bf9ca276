// Content digests ("sha256:<hex>", OCI image-spec descriptor.md) and streaming hashing.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::image {

// Accepts "sha256:<64 lowercase hex>" and "sha512:<128 lowercase hex>"; anything else
// (unknown algorithm, wrong length, uppercase, path characters) is an error naming it.
Result<void> ValidateDigest(std::string_view digest);

// "sha256:abc…" -> "abc…" (the part after the colon; digest assumed valid).
std::string_view DigestHex(std::string_view digest);

// Incremental hash for one algorithm of a digest (OpenSSL EVP underneath).
class Hasher {
 public:
  // algorithm: "sha256" or "sha512".
  static Result<Hasher> New(std::string_view algorithm = "sha256");
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();
  void Update(const void* data, size_t n);
  // "sha256:<hex>"; the hasher can be used again after Reset().
  std::string Final();
  void Reset();

 private:
  Hasher() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string algorithm_;
};

// One-shot: "sha256:<hex>" of data.
std::string Sha256Digest(std::string_view data);

}  // namespace berth::image
