// Client of the OCI distribution spec (pull side) over libcurl: manifests by tag or digest
// (GET with Accept for every manifest type; HEAD for blobs), blobs streamed with
// redirects followed, HTTP Range to resume, auth (bearer tokens per scope, cached; basic),
// mirrors tried before the upstream, and retries with exponential backoff on transient
// failures (connection errors, 408/429/5xx) — a blob retry resumes where it stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "image/auth.h"
#include "image/hosts.h"
#include "image/manifest.h"
#include "image/reference.h"

namespace berth::image {

struct RegistryOptions {
  int retries = 4;               // attempts after the first, for transient failures
  int backoff_ms = 200;          // doubled per attempt, with jitter
  int connect_timeout_s = 15;
  int low_speed_timeout_s = 60;  // abort a transfer below 1 byte/s for this long
  // What the stall error calls that limit, so a user knows which setting to raise
  // (berthd: its config key pull_stall_timeout).
  std::string low_speed_timeout_name = "stall timeout";
  std::string user_agent = "berth/0.1";
  int64_t max_manifest_size = 4 << 20;  // Limits::max_manifest_size; 0: none
};

struct FetchedManifest {
  Descriptor descriptor;  // media type, digest (computed and, if sent, checked against
                          // Docker-Content-Digest), size
  std::string body;
};

// Receives blob bytes in order. The offset passed first equals the offset asked for; if
// the server cannot serve a range, the client discards bytes itself so the sink still
// sees a continuous stream. Returning an error aborts the transfer (not retried).
using BlobSink = std::function<Result<void>(const char* data, size_t n)>;

// Thread-safe: one client serves the parallel layer downloads of a pull (the token cache
// is shared under a lock; each transfer has its own curl handle).
class RegistryClient {
 public:
  RegistryClient(HostsConfig hosts, CredentialStore creds, RegistryOptions opts = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;

  // The manifest or index `ref` names (by its digest when it has one, else by tag), its
  // body verified against the digest when the reference has one.
  Result<FetchedManifest> FetchManifest(const Reference& ref);
  // A manifest or index by digest from the repository of ref (children of an index).
  Result<FetchedManifest> FetchManifestDigest(const Reference& ref, std::string_view digest);
  // Streams blob `digest` of the repository of ref into sink, starting at `offset`.
  // The caller verifies the digest; the client only enforces `size` when ≥ 0.
  Result<void> FetchBlob(const Reference& ref, std::string_view digest, int64_t size,
                         int64_t offset, const BlobSink& sink);
  // HEAD: whether the registry has the blob.
  Result<bool> HasBlob(const Reference& ref, std::string_view digest);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::image
