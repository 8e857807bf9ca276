// The image store on disk (like containerd's metadata for one namespace):
//   <root>/content/      ContentStore
//   <root>/snapshots/    Snapshotter
//   <root>/images.json   name -> target descriptor, rewritten atomically under a flock
// Default root: /var/lib/berth/images (berthctl --root).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "image/content.h"
#include "image/manifest.h"
#include "image/snapshot.h"

namespace berth::image {

struct ImageRecord {
  std::string name;   // fully qualified reference: "docker.io/library/busybox:latest"
  Descriptor target;  // the index or manifest pulled
  std::string created;  // RFC 3339 time it was stored
};

class ImageStore {
 public:
  static Result<ImageStore> Open(std::string path);  // the images.json path
  Result<std::vector<ImageRecord>> List() const;
  Result<std::optional<ImageRecord>> Get(const std::string& name) const;
  Result<void> Put(const ImageRecord& record);  // replaces a record of the same name
  Result<bool> Remove(const std::string& name);  // false when absent

 private:
  explicit ImageStore(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

struct Store {
  ContentStore content;
  Snapshotter snapshots;
  ImageStore images;
  std::string root;
  static Result<Store> Open(const std::string& root);
};

// An image resolved for a platform: what run/inspect/export need.
struct ResolvedImage {
  ImageRecord record;
  Descriptor manifest_desc;
  Manifest manifest;
  Descriptor config_desc;
  ImageConfig config;
  std::vector<std::string> chain_ids;  // from config.diff_ids
};

// Looks `name` up (a reference as the user typed it, normalised, or a digest / unique
// digest prefix of a stored image's target) and resolves it for `platform` from the
// content store. Errors say which blob is missing.
Result<ResolvedImage> ResolveImage(const Store& store, const std::string& name,
                                   const Platform& platform);

// <root>/gc.lock: pulls and imports hold it shared (LOCK_SH) while they write blobs no
// image names yet, gc holds it exclusive (LOCK_EX). Released when the fd closes.
Result<UniqueFd> LockGc(const Store& store, int op);

// Every blob digest an image needs (index, manifests, configs, layers) that is in the store.
Result<std::vector<std::string>> ImageBlobs(const Store& store, const Descriptor& target);

struct GcStats {
  int blobs_removed = 0;
  int64_t bytes_removed = 0;
  int layers_removed = 0;
};
// Removes blobs and layer snapshots no image references (active snapshots keep their layer
// chain), and stale ingests. Holds the store's gc lock so no pull commits meanwhile; with
// wait false it does not wait for the pulls and imports holding it: kUnavailable instead.
Result<GcStats> CollectGarbage(Store& store, bool wait = true);

}  // namespace berth::image
