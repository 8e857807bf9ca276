// Content-addressed blob store (containerd's content store, on disk):
//   <root>/blobs/<alg>/<hex>      committed blobs, verified, read-only (0444)
//   <root>/ingest/<alg>-<hex>/    one in-progress write: data, lock (flock), total
// A blob becomes visible only by rename(2) after its size and digest were verified and the
// data fsync'd, so a reader never sees a partial or corrupt blob. The partial data of an
// interrupted write stays in ingest/ (invisible) so the next writer resumes from it (HTTP
// Range). Writers of the same digest serialise on the ingest lock: the second one, once it
// gets the lock, finds the blob committed and writes nothing — concurrent pulls of one
// blob share one download, across threads and processes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "image/digest.h"

namespace berth::image {

class ContentWriter;

struct BlobInfo {
  std::string digest;
  int64_t size = 0;
};

class ContentStore {
 public:
  // Creates root/blobs and root/ingest when missing.
  static Result<ContentStore> Open(std::string root);

  const std::string& Root() const { return root_; }
  bool Has(std::string_view digest) const;
  // Path of a committed blob (whether or not it exists); "" for an invalid digest, so a
  // digest like "sha256:../../x" never becomes a path.
  std::string BlobPath(std::string_view digest) const;
  Result<int64_t> Size(std::string_view digest) const;
  Result<UniqueFd> OpenBlob(std::string_view digest) const;
  // Whole blob into memory, for manifests and configs; fails above max_size. Re-verifies
  // the digest (cheap at these sizes) so a blob altered on disk is reported, not used.
  Result<std::string> ReadBlob(std::string_view digest, int64_t max_size = 16 << 20) const;
  // Verifies `data` against digest (and size when ≥ 0), then commits it in one step.
  Result<void> WriteBlob(std::string_view digest, int64_t size, std::string_view data);

  // Starts (or resumes, or waits for another writer of) the blob `digest` of `size` bytes
  // (size < 0: unknown). Blocks while another thread or process writes the same digest.
  Result<std::unique_ptr<ContentWriter>> Writer(std::string_view digest, int64_t size);

  Result<std::vector<BlobInfo>> List() const;
  // Removes a committed blob; absent is not an error.
  Result<void> Delete(std::string_view digest);
  // Removes ingests no writer holds (left by crashed writers) older than max_age_seconds.
  Result<int> CleanIngests(int64_t max_age_seconds);

 private:
  explicit ContentStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

class ContentWriter {
 public:
  virtual ~ContentWriter() = default;  // releases the lock; keeps partial data for resume
  // True when the blob was already committed (by an earlier or concurrent writer): write
  // nothing, the blob is there.
  virtual bool Exists() const = 0;
  // Bytes already written (resumed from an earlier interrupted writer, or written now).
  // The hash covers them: continue with the byte at this offset.
  virtual int64_t Offset() const = 0;
  // Appends; fails when the total would exceed the expected size.
  virtual Result<void> Write(const void* data, size_t n) = 0;
  // Drops what was written so far (the source could not resume): offset back to 0.
  virtual Result<void> Truncate() = 0;
  // Verifies size and digest, fsyncs, renames into blobs/. On a digest mismatch the partial
  // data is discarded (a resume would not fix it) and the error names expected and actual.
  // Too few bytes for the expected size fails too but keeps the data: a resume can finish it.
  virtual Result<void> Commit() = 0;
  // Discards the partial data.
  virtual void Abort() = 0;
};

}  // namespace berth::image
