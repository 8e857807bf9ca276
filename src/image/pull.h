// Pull: resolve a reference, pick the platform's manifest, fetch config and layers into the
// content store and unpack the layers into snapshots — each layer streamed once through
// digest verification, decompression and unpacking, several layers in parallel — then
// record the image. Blobs and layers already present are not fetched again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/error.h"
#include "image/limits.h"
#include "image/registry.h"
#include "image/store.h"

namespace berth::image {

struct PullProgress {
  std::string id;      // short digest of the blob ("a1b2c3d4e5f6")
  std::string status;  // "resolving", "waiting", "downloading", "extracting", "done",
                       // "exists", "failed"
  int64_t current = 0;
  int64_t total = 0;
};

struct PullOptions {
  Platform platform = HostPlatform();
  int parallel = 4;  // layers at once
  bool unpack = true;
  Limits limits;  // image/limits.h: sizes, entries, ratio, the free-space floor
  std::function<void(const PullProgress&)> progress;  // called from several threads, serialised
};

Result<ImageRecord> Pull(Store& store, RegistryClient& client, const Reference& ref,
                         const PullOptions& opts = {});

// Unpacks the layers of an image already in the content store (after import).
Result<void> UnpackImage(Store& store, const ResolvedImage& image, const Limits& limits = {});

}  // namespace berth::image
