// What one pull may put on the node. A decompression bomb (5 GiB of zeros in a 5 MB gzip
// blob), a sparse file claiming a terabyte, a layer of millions of empty files or an image
// bigger than the disk is refused while it unpacks, before it fills the store's filesystem;
// containerd and podman have no such limits, and kubelet reacts only once the disk is full.
// Every limit is a key of the [image] table of berth.toml (berthctl --config, later berthd)
// and a berthctl flag (--max-layer-size …); 0 turns it off. docs/images.md "Limits" says how
// the defaults were chosen.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::image {

struct Limits {
  // Unpacked size of one layer: the decompressed tar stream, and the apparent size of its
  // regular files (a sparse file by its length, a hard link not again), whichever is larger.
  int64_t max_layer_size = int64_t{32} << 30;
  int64_t max_image_size = int64_t{64} << 30;  // the same, summed over an image's layers
  int64_t max_layer_entries = 1'000'000;       // tar entries of one layer
  int64_t max_manifest_size = 4 << 20;         // a manifest or index, as the registry sends it
  int64_t max_config_size = 16 << 20;          // an image config blob
  // Unpacked bytes per compressed byte, checked once a layer has unpacked ratio_grace:
  // real layers compress 2-10x, zeros 1000x with gzip and far more with zstd.
  int64_t max_compression_ratio = 100;
  // The free-space floor of the store's filesystem: unpacking and downloading stop before
  // it would have less free than the larger of these two.
  int64_t min_free_bytes = int64_t{1} << 30;
  int64_t min_free_percent = 5;
  // Not a key: the unpacked bytes before the ratio is looked at (tests lower it).
  int64_t ratio_grace = int64_t{512} << 20;
};

// The names used in TOML and (as --max-layer-size …) on berthctl's command line.
const std::vector<std::string_view>& LimitKeys();

// The default of a key as text ("32 GiB", "1000000", "5%").
std::string LimitDefaultText(std::string_view key);

// "1073741824", "1GiB", "512 MiB", "4k", "2G" (binary multiples: K = Ki = 1024), "0".
Result<int64_t> ParseSize(std::string_view text);
// "1 GiB", "1.5 GiB", "512 MiB", "1000 bytes".
std::string FormatSize(int64_t bytes);

// Sets one limit from its text (a size, a count, a percent or a ratio as the key needs).
Result<void> SetLimit(Limits& limits, std::string_view key, std::string_view value);
// Applies the [image] table of a berth.toml text (integers or size strings; other tables
// are the daemon's and ignored here); an unknown key in [image] is an error naming `file`.
Result<void> ParseLimitsToml(Limits& limits, std::string_view text, const std::string& file);
// The same from a file; a missing file is an error only when must_exist.
Result<void> LoadLimits(Limits& limits, const std::string& path, bool must_exist);

// The free-space floor as one filesystem sees it. Check is cheap enough to call per write:
// it asks the kernel (fstatvfs) once per kCheckEvery bytes announced.
class SpaceFloor {
 public:
  static constexpr int64_t kCheckEvery = 1 << 20;
  SpaceFloor(int64_t min_free_bytes, int64_t min_free_percent)
      : min_bytes_(min_free_bytes), min_percent_(min_free_percent) {}
  explicit SpaceFloor(const Limits& l) : SpaceFloor(l.min_free_bytes, l.min_free_percent) {}
  bool Off() const { return min_bytes_ <= 0 && min_percent_ <= 0; }
  // Before writing n more bytes on fd's filesystem: fails (ResourceExhausted) when the
  // bytes announced since the last look would take it below the floor.
  Result<void> Check(int fd, int64_t n, const std::string& what);

 private:
  int64_t min_bytes_, min_percent_;
  int64_t unchecked_ = 0;
};

// The share of an image's limit its layers (unpacking in parallel) have used.
struct ImageBudget {
  int64_t max = 0;  // 0: no limit
  std::atomic<int64_t> used{0};
};

}  // namespace berth::image
