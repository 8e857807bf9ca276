// OCI image-spec and Docker schema2 documents, converted into one internal model here and
// nowhere else: descriptors, image manifests, indexes (and Docker manifest lists), image
// configs, platforms and platform selection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::image {

namespace media {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayoutHeader = "application/vnd.oci.image.layout.v1+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerZstd =
    "application/vnd.docker.image.rootfs.diff.tar.zstd";
// Non-distributable ("foreign") layers: registries may refuse them and a descriptor may
// carry `urls` to fetch them from; unpacked like any other layer.
inline constexpr std::string_view kOciLayerNonDist =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNonDistGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNonDistZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr std::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media

enum class Compression { kNone, kGzip, kZstd };

// Compression of a layer media type; error for a media type that is not a layer.
Result<Compression> LayerCompression(std::string_view media_type);
bool IsIndexType(std::string_view media_type);     // OCI index or Docker manifest list
bool IsManifestType(std::string_view media_type);  // OCI manifest or Docker schema2

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // "v8" for arm64, "v7" for arm…
  std::string os_version;
  std::vector<std::string> os_features;

  // "linux/amd64", "linux/arm64/v8".
  std::string String() const;
};

// "linux/arm64", "linux/arm/v7", "amd64" (os defaults to linux); normalises aliases as
// containerd does (aarch64 -> arm64, x86_64 -> amd64, arm64 gets variant v8, armhf -> arm/v7).
Result<Platform> ParsePlatform(std::string_view text);
// The platform this binary runs on (linux/amd64 here).
Platform HostPlatform();
// True when a manifest for `have` can run where `want` is asked for (os and architecture
// equal, variant equal or unspecified on one side, after normalisation).
bool PlatformMatches(const Platform& want, const Platform& have);

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// The parts of an image config (OCI config.md / Docker image JSON) a runtime uses.
struct ImageConfig {
  Platform platform;  // os, architecture, variant
  std::string created;
  std::string author;
  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> volumes;        // "/data"
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, in layer order
};

// Each parser validates what it relies on (digests, sizes ≥ 0, mediaType consistent with
// the document) and names `what` (e.g. the digest it came from) in errors.
Result<Descriptor> ParseDescriptor(std::string_view json, std::string_view what);
Result<Manifest> ParseManifest(std::string_view json, std::string_view what);
Result<Index> ParseIndex(std::string_view json, std::string_view what);
Result<ImageConfig> ParseImageConfig(std::string_view json, std::string_view what);

// The media type of a manifest or index document: its "mediaType" field, else (older
// OCI documents omit it) "manifests" means an index and "config"+"layers" a manifest.
Result<std::string> DetectMediaType(std::string_view json, std::string_view what);

// Serialisation (for export, OCI layouts, inspect): canonical JSON of the model.
std::string DescriptorJson(const Descriptor& d);  // one object
std::string IndexJson(const Index& index);
std::string ImageConfigJson(const ImageConfig& c);  // "inspect": OCI config field names

// The manifest in `index` for `want`: the first entry matching it (an exact variant match
// is preferred over an unspecified one); entries without a platform are skipped. The error
// lists the platforms the index offers.
Result<Descriptor> SelectManifest(const Index& index, const Platform& want, std::string_view what);

// chainID per image-spec config.md: chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)).
std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids);

}  // namespace berth::image
