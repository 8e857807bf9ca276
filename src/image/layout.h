// Import and export of images as files:
//  - OCI image layout (image-spec image-layout.md): a directory or a tar of one, with
//    oci-layout, index.json and blobs/<alg>/<hex>; image names from the
//    io.containerd.image.name annotation, else org.opencontainers.image.ref.name (a bare
//    tag there is joined to --name's repository; without --name it is an error).
//  - `docker save` archives: manifest.json [{Config, RepoTags, Layers}], the layers as
//    (possibly uncompressed) tars; imported as OCI manifests (compression sniffed per layer).
// Every imported blob is verified against its digest before it is committed.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "image/store.h"

namespace berth::image {

enum class ArchiveFormat { kOciLayout, kDocker };

// Imports from a tar file (or "-" for stdin), or from an OCI layout directory. Images
// without a name get `default_name` when given; returns the records stored.
Result<std::vector<ImageRecord>> ImportImages(Store& store, const std::string& path,
                                              const std::string& default_name = "");

// Writes the images (names as resolved by ResolveImage, for `platform`) to a tar file
// (or "-" for stdout) in `format`. The OCI layout keeps the stored index when every one
// of its manifests is in the store, else writes the platform's manifest; docker format
// writes manifest.json with uncompressed layers.
Result<void> ExportImages(const Store& store, const std::vector<std::string>& names,
                          const std::string& path, ArchiveFormat format,
                          const Platform& platform);

}  // namespace berth::image
