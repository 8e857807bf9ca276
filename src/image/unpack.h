// Layer unpacking: a (compressed) tar stream into a directory in overlayfs form, streaming:
// bytes are decompressed (ISA-L igzip for gzip, libzstd, or none), hashed for the diff_id,
// parsed as tar (libarchive, format only) and written, in one pass, never buffering a layer.
//
// Safe against hostile layers: every entry is resolved inside the target directory
// (openat2 RESOLVE_IN_ROOT, see sys/path.h): "../x", "/abs", a symlink followed by a file
// written through it, or a hard link to a path outside — none can create or change
// anything outside it. Malformed or oversize headers fail with the entry's name.
//
// Whiteouts become overlayfs whiteouts: ".wh.NAME" -> character device 0/0 NAME;
// ".wh..wh..opq" -> xattr trusted.overlay.opaque="y" on its directory.
// Ownership, mode (incl. setuid/sticky), mtimes (after the directory's contents are
// written), xattrs, hard links, symlinks, devices and fifos are preserved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/error.h"
#include "image/limits.h"
#include "image/manifest.h"

namespace berth::image {

// A pull-style byte stream. Read returns 0 at the end.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual Result<size_t> Read(void* buf, size_t n) = 0;
};

// Reads an fd (not owned).
class FdReader : public Reader {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  Result<size_t> Read(void* buf, size_t n) override;

 private:
  int fd_;
};

// Wraps `in` (not owned) with a decompressor; kNone returns a pass-through.
Result<std::unique_ptr<Reader>> Decompress(Reader& in, Compression c);

struct UnpackOptions {
  bool overlay_whiteouts = true;  // false: apply whiteouts by deleting (a flat rootfs)
  bool same_owner = true;         // lchown to the tar's uid/gid (root); else keep ours
  int64_t max_entry_name = 4096;  // longer names are malformed
  // Size, entry, ratio and free-space limits (nullptr: none); the first one passed stops
  // the unpack with ResourceExhausted within one 1 MiB buffer of it.
  const Limits* limits = nullptr;
  ImageBudget* image = nullptr;  // shared by the layers of one image (max_image_size)
};

struct UnpackResult {
  std::string diff_id;     // "sha256:" of the uncompressed tar
  int64_t tar_bytes = 0;   // uncompressed size
  int64_t entries = 0;
};

// Unpacks the tar in `in` (compressed with c) into the existing directory `dir`.
Result<UnpackResult> UnpackLayer(Reader& in, Compression c, const std::string& dir,
                                 const UnpackOptions& opts = {});

}  // namespace berth::image
