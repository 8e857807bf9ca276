#include "image/content.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <utility>

#include "base/fault.h"
#include "base/log.h"
#include "sys/fs.h"

namespace berth::image {

namespace {

constexpr size_t kHashChunk = 1 << 20;

std::string_view Algorithm(std::string_view digest) { return digest.substr(0, digest.find(':')); }

std::string IngestDir(const std::string& root, std::string_view digest) {
  return root + "/ingest/" + std::string(Algorithm(digest)) + "-" + std::string(DigestHex(digest));
}

// True when fd is still the file at path: a lock taken on a file that the previous holder
// unlinked (commit, abort, clean) protects nothing, since a new writer creates a new file.
bool SameFile(int fd, const std::string& path) {
  struct stat a, b;
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

// Creates (when missing) the ingest dir and locks its lock file, blocking while another
// writer holds it.
Result<UniqueFd> LockIngest(const std::string& dir) {
  std::string lock = dir + "/lock";
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return Errno("mkdir", dir);
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // dir removed between mkdir and open
      return Errno("open", lock);
    }
    UniqueFd guard(fd);
    BERTH_TRYV(sys::Flock(fd, LOCK_EX, lock));
    if (SameFile(fd, lock)) return guard;
  }
  return Fail("lock", lock, "the ingest was removed repeatedly while waiting for it");
}

Result<Hasher> HashPrefix(int fd, int64_t len, std::string_view alg, const std::string& what) {
  Hasher h = BERTH_TRY(Hasher::New(alg));
  std::string buf(kHashChunk, '\0');
  int64_t off = 0;
  while (off < len) {
    size_t want = static_cast<size_t>(std::min<int64_t>(len - off, kHashChunk));
    ssize_t n = ::pread(fd, buf.data(), want, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", what);
    }
    if (n == 0) return Fail("read", what, "file shrank while resuming");
    h.Update(buf.data(), static_cast<size_t>(n));
    off += n;
  }
  return h;
}

class IngestWriter final : public ContentWriter {
 public:
  IngestWriter(std::string digest, int64_t size, std::string ingest_dir, std::string blob_path)
      : digest_(std::move(digest)),
        size_(size),
        ingest_dir_(std::move(ingest_dir)),
        data_path_(ingest_dir_ + "/data"),
        blob_path_(std::move(blob_path)) {}

  static std::unique_ptr<IngestWriter> Existing(std::string digest) {
    auto w = std::make_unique<IngestWriter>(std::move(digest), -1, "", "");
    w->exists_ = true;
    return w;
  }

  // Under the lock: opens the data file and restores the hash of what it already holds.
  Result<void> Start(UniqueFd lock) {
    lock_ = std::move(lock);
    int fd = ::open(data_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("open", data_path_);
    data_.Reset(fd);
    struct stat st;
    if (::fstat(fd, &st) < 0) return Errno("stat", data_path_);
    int64_t have = st.st_size;
    if (size_ >= 0 && have > size_) {
      // Longer than the blob can be: left by a writer told a different size. Start over.
      if (::ftruncate(fd, 0) < 0) return Errno("truncate", data_path_);
      have = 0;
    }
    hasher_.emplace(BERTH_TRY(HashPrefix(fd, have, Algorithm(digest_), data_path_)));
    offset_ = have;
    if (size_ >= 0) {
      // For tools that show progress of ingests; nothing here reads it back.
      std::string total = std::to_string(size_) + "\n";
      std::string path = ingest_dir_ + "/total";
      int t = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (t >= 0) {
        UniqueFd tg(t);
        (void)!::write(t, total.data(), total.size());
      }
    }
    return {};
  }

  bool Exists() const override { return exists_; }
  int64_t Offset() const override { return offset_; }

  Result<void> Write(const void* data, size_t n) override {
    BERTH_TRYV(CheckOpen("write"));
    if (size_ >= 0 && offset_ + static_cast<int64_t>(n) > size_)
      return Fail("write blob", digest_,
                  "expected size " + std::to_string(size_) + " bytes, got at least " +
                      std::to_string(offset_ + static_cast<int64_t>(n)));
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = ::pwrite(data_.Get(), p, n, offset_);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOSPC || errno == EDQUOT)
          return Errno("write blob", digest_,
                       "disk full at byte " + std::to_string(offset_) + " in " + data_path_ +
                           "; the partial data stays invisible and resumes once space is freed");
        return Errno("write", data_path_);
      }
      // Hash only what reached the file, so offset and hash agree after a short write.
      hasher_->Update(p, static_cast<size_t>(w));
      p += w;
      n -= static_cast<size_t>(w);
      offset_ += w;
    }
    return {};
  }

  Result<void> Truncate() override {
    BERTH_TRYV(CheckOpen("truncate"));
    if (::ftruncate(data_.Get(), 0) < 0) return Errno("truncate", data_path_);
    hasher_->Reset();
    offset_ = 0;
    return {};
  }

  Result<void> Commit() override {
    if (exists_) return {};
    BERTH_TRYV(CheckOpen("commit"));
    if (size_ >= 0 && offset_ != size_)
      return Fail("commit blob", digest_,
                  "expected size " + std::to_string(size_) + " bytes, got " +
                      std::to_string(offset_) + " (the partial data is kept to resume)");
    // The hasher is finished from here on: whatever happens, this writer is done.
    closed_ = true;
    std::string actual = hasher_->Final();
    if (actual != digest_) {
      Discard();
      return Fail("digest mismatch for", digest_, "got " + actual);
    }
    int fd = data_.Get();
    if (::fdatasync(fd) < 0) return Errno("fsync", data_path_);
    if (::fchmod(fd, 0444) < 0) return Errno("chmod", data_path_);
    std::string blob_dir = blob_path_.substr(0, blob_path_.rfind('/'));
    BERTH_TRYV(sys::MkdirAll(blob_dir, 0755));
    fault::Reach("image.blob.commit.before");
    if (::rename(data_path_.c_str(), blob_path_.c_str()) < 0) {
      auto e = Errno("rename", data_path_, "to " + blob_path_);
      (void)::fchmod(fd, 0600);  // stays resumable
      return e;
    }
    data_.Reset();
    BERTH_TRYV(sys::FsyncDir(blob_dir));
    fault::Reach("image.blob.commit.after");
    // Under the lock still; waiters then find the blob. A leftover ingest dir (a waiter
    // recreated its lock meanwhile) is harmless.
    (void)sys::RemoveTree(ingest_dir_);
    lock_.Reset();
    return {};
  }

  void Abort() override {
    if (exists_ || closed_) return;
    Discard();
  }

 private:
  Result<void> CheckOpen(const char* op) const {
    if (exists_) return Fail(std::string(op) + " blob", digest_, "the blob is already committed");
    if (closed_)
      return Fail(std::string(op) + " blob", digest_, "the writer was committed or aborted");
    return {};
  }

  void Discard() {
    closed_ = true;
    data_.Reset();
    if (auto r = sys::RemoveTree(ingest_dir_); !r) log::Warn(r.error().Message());
    lock_.Reset();
  }

  std::string digest_;
  int64_t size_;
  std::string ingest_dir_, data_path_, blob_path_;
  UniqueFd lock_, data_;
  std::optional<Hasher> hasher_;
  int64_t offset_ = 0;
  bool exists_ = false;
  bool closed_ = false;
};

}  // namespace

Result<ContentStore> ContentStore::Open(std::string root) {
  BERTH_TRYV(sys::MkdirAll(root, 0700));
  BERTH_TRYV(sys::MkdirAll(root + "/blobs", 0755));
  BERTH_TRYV(sys::MkdirAll(root + "/ingest", 0700));
  return ContentStore(std::move(root));
}

std::string ContentStore::BlobPath(std::string_view digest) const {
  if (!ValidateDigest(digest)) return {};
  return root_ + "/blobs/" + std::string(Algorithm(digest)) + "/" + std::string(DigestHex(digest));
}

bool ContentStore::Has(std::string_view digest) const {
  std::string path = BlobPath(digest);
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<int64_t> ContentStore::Size(std::string_view digest) const {
  BERTH_TRYV(ValidateDigest(digest));
  struct stat st;
  if (::stat(BlobPath(digest).c_str(), &st) < 0)
    return Errno("blob", std::string(digest), errno == ENOENT ? "not in the content store" : "");
  return static_cast<int64_t>(st.st_size);
}

Result<UniqueFd> ContentStore::OpenBlob(std::string_view digest) const {
  BERTH_TRYV(ValidateDigest(digest));
  int fd = ::open(BlobPath(digest).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Errno("open blob", std::string(digest),
                 errno == ENOENT ? "not in the content store" : BlobPath(digest));
  return UniqueFd(fd);
}

Result<std::string> ContentStore::ReadBlob(std::string_view digest, int64_t max_size) const {
  UniqueFd fd = BERTH_TRY(OpenBlob(digest));
  std::string d(digest);
  struct stat st;
  if (::fstat(fd.Get(), &st) < 0) return Errno("stat blob", d);
  if (st.st_size > max_size)
    return Fail(
        "read blob", d,
        std::to_string(st.st_size) + " bytes exceeds the limit of " + std::to_string(max_size));
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.Get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read blob", d);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  Hasher h = BERTH_TRY(Hasher::New(Algorithm(digest)));
  h.Update(out.data(), out.size());
  if (std::string actual = h.Final(); actual != d)
    return Fail("read blob", d,
                "the stored content has digest " + actual +
                    " (altered on disk; delete the blob and pull again)");
  return out;
}

Result<void> ContentStore::WriteBlob(std::string_view digest, int64_t size, std::string_view data) {
  BERTH_TRYV(ValidateDigest(digest));
  std::string d(digest);
  if (size >= 0 && static_cast<int64_t>(data.size()) != size)
    return Fail(
        "write blob", d,
        "expected size " + std::to_string(size) + " bytes, got " + std::to_string(data.size()));
  // Checked before taking the ingest lock: bad data never touches the disk.
  Hasher h = BERTH_TRY(Hasher::New(Algorithm(digest)));
  h.Update(data.data(), data.size());
  if (std::string actual = h.Final(); actual != d)
    return Fail("digest mismatch for", d, "got " + actual);
  auto w = BERTH_TRY(Writer(digest, static_cast<int64_t>(data.size())));
  if (w->Exists()) return {};
  if (w->Offset() > 0) BERTH_TRYV(w->Truncate());
  BERTH_TRYV(w->Write(data.data(), data.size()));
  return w->Commit();
}

Result<std::unique_ptr<ContentWriter>> ContentStore::Writer(std::string_view digest, int64_t size) {
  BERTH_TRYV(ValidateDigest(digest));
  std::string d(digest);
  if (Has(digest)) return std::unique_ptr<ContentWriter>(IngestWriter::Existing(d));
  std::string dir = IngestDir(root_, digest);
  UniqueFd lock = BERTH_TRY(LockIngest(dir));
  if (Has(digest)) {
    // Committed by the writer we waited for; the ingest we recreated is empty.
    (void)sys::RemoveTree(dir);
    return std::unique_ptr<ContentWriter>(IngestWriter::Existing(d));
  }
  auto w = std::make_unique<IngestWriter>(d, size, dir, BlobPath(digest));
  BERTH_TRYV(w->Start(std::move(lock)));
  return std::unique_ptr<ContentWriter>(std::move(w));
}

Result<std::vector<BlobInfo>> ContentStore::List() const {
  std::vector<BlobInfo> out;
  std::string blobs = root_ + "/blobs";
  for (const auto& alg : BERTH_TRY(sys::ListDir(blobs))) {
    std::string dir = blobs + "/" + alg;
    struct stat st;
    if (::lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    for (const auto& hex : BERTH_TRY(sys::ListDir(dir))) {
      std::string digest = alg + ":" + hex;
      if (!ValidateDigest(digest)) continue;  // not ours
      std::string path = dir + "/" + hex;
      if (::lstat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) continue;  // deleted meanwhile
        return Errno("stat", path);
      }
      if (S_ISREG(st.st_mode)) out.push_back({digest, static_cast<int64_t>(st.st_size)});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const BlobInfo& a, const BlobInfo& b) { return a.digest < b.digest; });
  return out;
}

Result<void> ContentStore::Delete(std::string_view digest) {
  BERTH_TRYV(ValidateDigest(digest));
  std::string path = BlobPath(digest);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return Errno("delete blob", path);
  return {};
}

Result<int> ContentStore::CleanIngests(int64_t max_age_seconds) {
  std::string ingest = root_ + "/ingest";
  int removed = 0;
  time_t now = ::time(nullptr);
  for (const auto& name : BERTH_TRY(sys::ListDir(ingest))) {
    std::string dir = ingest + "/" + name;
    struct stat st;
    if (::lstat(dir.c_str(), &st) < 0) continue;
    time_t newest = st.st_mtime;
    UniqueFd lock;
    if (S_ISDIR(st.st_mode)) {
      std::string lock_path = dir + "/lock";
      int fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd >= 0) {
        lock.Reset(fd);
        // A live writer holds it: not ours to touch, however old.
        if (!sys::Flock(fd, LOCK_EX | LOCK_NB, lock_path) || !SameFile(fd, lock_path)) continue;
      }
      if (::stat((dir + "/data").c_str(), &st) == 0) newest = std::max(newest, st.st_mtime);
    }
    if (now - newest < max_age_seconds) continue;
    if (auto r = sys::RemoveTree(dir); !r) {
      log::Warn("clean ingests: " + r.error().Message());
      continue;
    }
    ++removed;
  }
  return removed;
}

}  // namespace berth::image
