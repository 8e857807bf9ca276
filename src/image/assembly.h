// A container's filesystem from an image: the layers unpacked, a writable snapshot named
// after the container, its mounts performed on <bundles>/<id>/rootfs (snapshotters
// describe mounts, their users perform them) and config.json written from the image
// config. What berthctl run (and berthd's CreateContainer) hands to an OCI runtime.
//
//   <bundles>/<id>/config.json
//   <bundles>/<id>/rootfs        the snapshot `id` mounted here
#pragma once

#include <string>

#include "base/error.h"
#include "image/limits.h"
#include "image/bundle.h"
#include "image/store.h"

namespace berth::image {

// Container ids name a directory under the bundles dir and a snapshot: 1-128 of
// [A-Za-z0-9_.-], not starting with '.'. kInvalidArgument otherwise.
Result<void> ValidateContainerName(const std::string& id);

struct AssembleOptions {
  std::string bundles_dir;  // the parent of every container's bundle (created if missing)
  BundleOptions bundle;     // the config.json's command, env, user, ...
  Limits limits;            // for layers unpacked from the content store (after import)
};

struct Assembled {
  std::string id;
  std::string bundle;  // <bundles>/<id>
  std::string rootfs;  // <bundle>/rootfs, mounted
};

// Unpacks the image's layers (when not yet), prepares the snapshot `id`, mounts it and
// writes the bundle. A bundle of that id already there is kAlreadyExists. On failure it
// undoes exactly what this call made: a snapshot `id` it did not prepare (another
// container's) is left alone.
Result<Assembled> AssembleContainer(Store& store, const ResolvedImage& image,
                                    const std::string& id, const AssembleOptions& options);

// Unmounts the rootfs of a bundle made by AssembleContainer (the container stopped; the
// bundle and snapshot stay for a later RemoveAssembled).
Result<void> UnmountAssembled(const std::string& bundles_dir, const std::string& id);

// Unmounts the rootfs, removes the snapshot `id` (when remove_snapshot) and the bundle;
// every step is tried and the first failure returned. The caller has checked that no
// runtime still uses the bundle.
Result<void> RemoveAssembled(Store& store, const std::string& bundles_dir, const std::string& id,
                             bool remove_snapshot = true);

}  // namespace berth::image
