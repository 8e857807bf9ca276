// The layer unpacker: decompressed bytes are hashed (diff_id) on their way into libarchive,
// which is used only to parse tar headers; every filesystem change is ours, made with
// *at() calls on a parent directory fd resolved inside the target (sys::MkdirAllInRoot),
// so hostile names and symlinks planted by earlier entries stay inside it.
#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/log.h"
#include "base/text.h"
#include "base/unique_fd.h"
#include "image/digest.h"
#include "image/unpack_fs.h"
#include "sys/path.h"

namespace berth::image {
namespace {

// Decompressed bytes handed to libarchive per read; tar data blocks are returned as
// pointers into this buffer, so file contents are written straight from it.
constexpr size_t kTarChunk = 1 << 20;
// Written file data is handed to writeback (sync_file_range) at least this often.
constexpr int64_t kWritebackChunk = 8 << 20;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kMetaPrefix = ".wh..wh.";

struct Meta {
  uid_t uid;
  gid_t gid;
  mode_t perm;               // incl. setuid/setgid/sticky
  struct timespec times[2];  // atime, mtime
};

Meta MetaOf(archive_entry* e) {
  Meta m{};
  m.uid = static_cast<uid_t>(archive_entry_uid(e));
  m.gid = static_cast<gid_t>(archive_entry_gid(e));
  m.perm = archive_entry_perm(e) & 07777;
  m.times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  // Go's archive/tar (docker, buildkit) stores no atime; use the mtime then, as containerd.
  m.times[0] = archive_entry_atime_is_set(e)
                   ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                   : m.times[1];
  if (!archive_entry_mtime_is_set(e)) m.times[0].tv_nsec = m.times[1].tv_nsec = UTIME_OMIT;
  return m;
}

// A directory's final metadata, applied after the whole layer is written (see Finish).
struct DirMeta {
  dev_t dev;
  ino_t ino;
  Meta meta;
};

// Names in errors: a bounded, quoted prefix of what the tar holds.
std::string Quoted(std::string_view s) {
  constexpr size_t kMax = 200;
  std::string q = "\"" + std::string(s.substr(0, kMax));
  if (s.size() > kMax) q += "...";
  return q + "\"";
}

// Entry names, link targets and libarchive's text come from the layer: every error of the
// unpack is escaped once, so none about a hostile layer spans lines or carries escapes.
void EscapeFields(Error& e) {
  for (std::string* f : {&e.op, &e.subject, &e.detail, &e.context_}) *f = EscapeText(*f);
}

int Depth(const std::string& clean) {
  return static_cast<int>(std::count(clean.begin(), clean.end(), '/'));
}

std::string Parent(const std::string& clean) { return sys::SplitPath(clean).first; }

// Counts the compressed bytes the decompressor takes (for the compression ratio).
class CountingReader : public Reader {
 public:
  explicit CountingReader(Reader& in) : in_(in) {}
  Result<size_t> Read(void* buf, size_t n) override {
    auto r = in_.Read(buf, n);
    if (r) bytes_ += static_cast<int64_t>(*r);
    return r;
  }
  int64_t Bytes() const { return bytes_; }

 private:
  Reader& in_;
  int64_t bytes_ = 0;
};

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

class Unpacker {
 public:
  Unpacker(Reader& tar, const CountingReader& compressed, const UnpackOptions& opts, Hasher hasher)
      : tar_(tar), compressed_(compressed), opts_(opts), hasher_(std::move(hasher)),
        buf_(new char[kTarChunk]), floor_(opts.limits ? opts.limits->min_free_bytes : 0, opts.limits ? opts.limits->min_free_percent : 0) {}

  Result<UnpackResult> Run(const std::string& dir);

 private:
  static la_ssize_t ReadCallback(archive* a, void* self, const void** out);
  Error ArchiveError(const std::string& op, const std::string& subject);

  Result<void> Entry(archive_entry* e);
  Result<void> Directory(archive_entry* e, const std::string& clean, int pfd,
                         const std::string& base, const std::string& shown);
  Result<void> File(archive_entry* e, int pfd, const std::string& base, const std::string& shown);
  Result<void> Symlink(archive_entry* e, int pfd, const std::string& base,
                       const std::string& shown);
  Result<void> Node(archive_entry* e, int pfd, const std::string& base, const std::string& shown);
  Result<void> HardLink(archive_entry* e, std::string_view target, int pfd, const std::string& base,
                        const std::string& shown);
  Result<void> Whiteout(archive_entry* e, const std::string& parent, const std::string& base,
                        const std::string& shown);
  Result<void> Opaque(const std::string& parent, const std::string& shown);
  Result<void> Finish();

  Result<int> ParentFd(const std::string& parent, const std::string& shown);
  Result<void> Replace(int pfd, const std::string& base, const std::string& shown);
  Result<void> Xattrs(archive_entry* e, int fd, int pfd, const std::string& base,
                      const std::string& shown);
  Result<void> ApplyFd(archive_entry* e, int fd, const Meta& m, const std::string& shown);
  Result<void> ApplyAt(archive_entry* e, int pfd, const std::string& base, const Meta& m,
                       bool chmod, const std::string& shown);
  Result<void> CheckName(std::string_view name, const char* what, const std::string& entry);
  Result<void> CheckLimits();
  enum class Counted { kEntries, kData };
  Result<void> LimitPassed(const char* key, int64_t limit, Counted what);
  void Track(const std::string& clean);

  Reader& tar_;
  const CountingReader& compressed_;
  const UnpackOptions& opts_;
  Hasher hasher_;
  std::unique_ptr<char[]> buf_;
  int64_t tar_bytes_ = 0;
  int64_t entries_ = 0;
  int64_t apparent_ = 0;  // lengths of the regular files so far
  int64_t charged_ = 0;   // what this layer has added to opts_.image
  SpaceFloor floor_;
  std::optional<Error> limit_error_;  // a limit passed: reported as it is, not as a tar error
  std::string last_name_;            // for errors about a header that cannot be parsed
  std::optional<Error> read_error_;  // the decompressor's own error, kept over libarchive's
  bool eof_ = false;
  // Go's archive/tar (docker, containerd, umoci) accepts a tar that stops right after the
  // last entry's data, without its padding or the two end blocks, and umoci 0.4 writes
  // such layers. When the stream ends with the current entry complete, ReadCallback
  // supplies those zero blocks once (not hashed: the diff_id covers the real bytes).
  // Data cut short inside an entry still fails.
  bool entry_complete_ = true;
  bool padded_ = false;

  std::unique_ptr<archive, ArchiveFree> a_;
  UniqueFd root_;
  // The parent directory of consecutive entries is usually the same: resolve it once.
  // Dropped whenever anything is removed (the cached directory may be what went).
  std::string cached_parent_;
  UniqueFd cached_fd_;
  std::unordered_map<std::string, DirMeta> dirs_;
  // Only without overlay whiteouts: what this layer wrote (and the directories above
  // it), which an opaque marker in the same layer must keep.
  std::unordered_set<std::string> unpacked_, ancestors_;
};

la_ssize_t Unpacker::ReadCallback(archive* a, void* self_ptr, const void** out) {
  auto* self = static_cast<Unpacker*>(self_ptr);
  auto n = self->tar_.Read(self->buf_.get(), kTarChunk);
  if (!n) {
    self->read_error_ = n.error();
    archive_set_error(a, EIO, "%s", n.error().Message().c_str());
    return -1;
  }
  if (*n == 0) {
    self->eof_ = true;
    if (self->entry_complete_ && !self->padded_ && self->tar_bytes_ > 0) {
      static const char kZeros[3 * 512] = {};
      self->padded_ = true;
      *out = kZeros;
      return sizeof kZeros;
    }
  }
  self->hasher_.Update(self->buf_.get(), *n);
  self->tar_bytes_ += static_cast<int64_t>(*n);
  if (auto lim = self->CheckLimits(); !lim) {
    self->read_error_ = lim.error();
    archive_set_error(a, EFBIG, "%s", lim.error().Message().c_str());
    return -1;
  }
  *out = self->buf_.get();
  return static_cast<la_ssize_t>(*n);
}

Error Unpacker::ArchiveError(const std::string& op, const std::string& subject) {
  if (limit_error_) return *limit_error_;
  if (read_error_) {
    Error e = *read_error_;
    e.Wrap(op + " " + subject);
    return e;
  }
  std::string msg =
      archive_error_string(a_.get()) ? archive_error_string(a_.get()) : "unknown error";
  // The stream ended and libarchive gave up: whatever it calls it, the layer is cut short.
  if (eof_) msg = "unexpected end of layer (" + msg + ")";
  return Error{0, op, subject, "malformed tar: " + msg, {}, ErrorKind::kInvalidArgument};
}

Result<UnpackResult> Unpacker::Run(const std::string& dir) {
  int rfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return Errno("unpack: open", dir);
  root_.Reset(rfd);

  a_.reset(archive_read_new());
  if (!a_) return ResourceExhausted("unpack", dir, "archive_read_new failed (out of memory)");
  // Format only, no filters: decompression (and its checksums) is ours.
  archive_read_support_format_tar(a_.get());
  archive_read_support_format_gnutar(a_.get());
  // An empty stream is an empty layer, as for Go's archive/tar (docker, containerd).
  auto empty = [this] { return eof_ && tar_bytes_ == 0 && !read_error_; };
  int r = archive_read_open(a_.get(), this, nullptr, ReadCallback, nullptr);
  if (r != ARCHIVE_OK && !empty()) return std::unexpected(ArchiveError("unpack", "layer"));
  while (r == ARCHIVE_OK) {
    archive_entry* e = nullptr;
    r = archive_read_next_header(a_.get(), &e);
    if (r == ARCHIVE_EOF || (r != ARCHIVE_OK && r != ARCHIVE_WARN && empty())) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      std::string where =
          entries_ == 0 ? "at the start of the layer" : "after entry " + Quoted(last_name_);
      return std::unexpected(ArchiveError("unpack", "tar header " + where));
    }
    if (r == ARCHIVE_WARN && log::DebugEnabled())
      log::Debug("unpack: " + std::string(archive_error_string(a_.get()) ?: ""));
    ++entries_;
    if (opts_.limits && opts_.limits->max_layer_entries > 0 &&
        entries_ > opts_.limits->max_layer_entries)
      return std::unexpected(
          LimitPassed("max_layer_entries", opts_.limits->max_layer_entries, Counted::kEntries).error());
    entry_complete_ = archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) == 0;
    const char* name = archive_entry_pathname(e);
    last_name_ = name ? name : "";
    BERTH_TRYV(Entry(e));
    r = ARCHIVE_OK;
  }

  // What follows the end-of-archive blocks (block padding) is part of the diff_id too.
  for (;;) {
    auto n = tar_.Read(buf_.get(), kTarChunk);
    if (!n) {
      Error err = n.error();
      err.Wrap("unpack layer");
      return std::unexpected(std::move(err));
    }
    if (*n == 0) break;
    hasher_.Update(buf_.get(), *n);
    tar_bytes_ += static_cast<int64_t>(*n);
    BERTH_TRYV(CheckLimits());
  }
  BERTH_TRYV(Finish());

  UnpackResult res;
  res.diff_id = hasher_.Final();
  res.tar_bytes = tar_bytes_;
  res.entries = entries_;
  return res;
}

Result<void> Unpacker::LimitPassed(const char* key, int64_t limit, Counted what) {
  bool count = what == Counted::kEntries;
  std::string lim = count ? std::to_string(limit) : FormatSize(limit);
  // A file counts by its length as soon as it begins: a layer is stopped before it writes
  // the file that would pass the limit.
  std::string got = count ? "after " + std::to_string(entries_) + " entries"
                          : "at " + FormatSize(std::max(tar_bytes_, apparent_)) +
                                ", counting each file by its length";
  std::string at = last_name_.empty() ? "" : ", at entry " + Quoted(last_name_);
  limit_error_ = ResourceExhausted("unpack", "layer",
                                   std::string("more ") + (count ? "entries" : "data") +
                                       " than the limit " + key + " = " + lim +
                                       " allows (stopped " + got + at + ")").error();
  return std::unexpected(*limit_error_);
}

// Called whenever the layer grows: the stream (ReadCallback) or a file's length (File).
Result<void> Unpacker::CheckLimits() {
  if (limit_error_) return std::unexpected(*limit_error_);
  const Limits* l = opts_.limits;
  if (!l) return {};
  int64_t size = std::max(tar_bytes_, apparent_);
  if (l->max_layer_size > 0 && size > l->max_layer_size)
    return LimitPassed("max_layer_size", l->max_layer_size, Counted::kData);
  if (l->max_compression_ratio > 0 && tar_bytes_ > l->ratio_grace &&
      tar_bytes_ / std::max<int64_t>(compressed_.Bytes(), 1) > l->max_compression_ratio) {
    std::string ratio = std::to_string(tar_bytes_ / std::max<int64_t>(compressed_.Bytes(), 1));
    limit_error_ = ResourceExhausted(
        "unpack", "layer",
        FormatSize(compressed_.Bytes()) + " of compressed data unpacked to " + FormatSize(tar_bytes_) +
            " (" + ratio + ":1), more than the limit max_compression_ratio = " +
            std::to_string(l->max_compression_ratio) + ":1 allows: a decompression bomb?").error();
    return std::unexpected(*limit_error_);
  }
  if (opts_.image && size > charged_) {
    int64_t total = opts_.image->used.fetch_add(size - charged_) + (size - charged_);
    charged_ = size;
    if (opts_.image->max > 0 && total > opts_.image->max) {
      limit_error_ = ResourceExhausted(
          "unpack", "layer",
          "the image's layers unpack to more than the limit max_image_size = " +
              FormatSize(opts_.image->max) + " allows (stopped at " + FormatSize(total) +
              ", this layer " + FormatSize(size) + ")").error();
      return std::unexpected(*limit_error_);
    }
  }
  return {};
}

Result<void> Unpacker::CheckName(std::string_view name, const char* what,
                                 const std::string& entry) {
  if (name.empty()) return InvalidArgument("unpack", entry, std::string("empty ") + what);
  if (static_cast<int64_t>(name.size()) > opts_.max_entry_name)
    return InvalidArgument("unpack", entry,
                std::string(what) + " longer than " + std::to_string(opts_.max_entry_name) +
                    " bytes (" + std::to_string(name.size()) + ")");
  return {};
}

void Unpacker::Track(const std::string& clean) {
  unpacked_.insert(clean);
  for (std::string p = Parent(clean); p != "/" && ancestors_.insert(p).second; p = Parent(p)) {
  }
}

Result<void> Unpacker::Entry(archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  std::string entry_label = "entry #" + std::to_string(entries_);
  if (!raw) return InvalidArgument("unpack", entry_label, "entry without a name");
  std::string_view name(raw);
  BERTH_TRYV(CheckName(name, "entry name", name.empty() ? entry_label : Quoted(name)));

  // ".." cannot climb above the layer root and a leading "/" is relative to it: the
  // lexical clean keeps every name inside (symlinks are dealt with by in-root resolution).
  std::string clean = sys::CleanPath(name);
  std::string shown = clean == "/" ? "." : clean.substr(1);
  auto [parent, base] = sys::SplitPath(clean);

  if (std::string_view(base).starts_with(kWhiteoutPrefix)) return Whiteout(e, parent, base, shown);
  if (!opts_.overlay_whiteouts) Track(clean);

  if (const char* link = archive_entry_hardlink(e)) {
    if (clean == "/") return InvalidArgument("unpack", shown, "hard link over the layer root");
    int pfd = BERTH_TRY(ParentFd(parent, shown));
    return HardLink(e, link, pfd, base, shown);
  }
  mode_t type = archive_entry_filetype(e);
  if (clean == "/") {
    if (type != AE_IFDIR)
      return InvalidArgument("unpack", Quoted(name), "non-directory entry names the layer root");
    return Directory(e, clean, -1, "", shown);
  }
  int pfd = BERTH_TRY(ParentFd(parent, shown));
  switch (type) {
    case AE_IFDIR:
      return Directory(e, clean, pfd, base, shown);
    case AE_IFREG:
      return File(e, pfd, base, shown);
    case AE_IFLNK:
      return Symlink(e, pfd, base, shown);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      return Node(e, pfd, base, shown);
    default:
      return InvalidArgument("unpack", shown,
                  "unsupported tar entry type (mode " + std::to_string(type) + ")");
  }
}

Result<int> Unpacker::ParentFd(const std::string& parent, const std::string& shown) {
  if (cached_fd_ && !cached_parent_.empty() && parent == cached_parent_) return cached_fd_.Get();
  auto fd = sys::MkdirAllInRoot(root_.Get(), parent, 0755);
  if (!fd) {
    Error err = fd.error();
    err.Wrap("unpack " + shown + ": parent directory");
    return std::unexpected(std::move(err));
  }
  cached_fd_ = std::move(*fd);
  cached_parent_ = parent;
  return cached_fd_.Get();
}

// A later entry replaces an earlier one of the same name (tar semantics).
Result<void> Unpacker::Replace(int pfd, const std::string& base, const std::string& shown) {
  cached_parent_.clear();  // keep the fd itself open: pfd may be it
  return unpack_fs::RemoveAllAt(pfd, base, shown);
}

Result<void> Unpacker::Xattrs(archive_entry* e, int fd, int pfd, const std::string& base,
                              const std::string& shown) {
  if (archive_entry_xattr_reset(e) == 0) return {};
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string attr = name ? name : "";
    if (attr.empty()) continue;
    // overlayfs reads trusted.overlay.* (opaque, redirect, metacopy, origin) to stitch
    // layers together; only the whiteout translation here may set them, never a layer.
    if (attr.starts_with("trusted.overlay.")) {
      log::Debug("unpack " + shown + ": ignoring xattr " + attr + " from the layer");
      continue;
    }
    bool skipped = false;
    BERTH_TRYV(unpack_fs::SetXattr(fd, pfd, base, attr, value, size, shown, &skipped));
    if (skipped) log::Debug("unpack " + shown + ": filesystem does not support xattr " + attr);
  }
  return {};
}

// Order matters: chown clears setuid/setgid (so chmod comes after it) and, like a write,
// drops security.capability (so xattrs come after both).
Result<void> Unpacker::ApplyFd(archive_entry* e, int fd, const Meta& m, const std::string& shown) {
  if (opts_.same_owner && fchown(fd, m.uid, m.gid) < 0) return Errno("unpack: chown", shown);
  if (fchmod(fd, m.perm) < 0) return Errno("unpack: chmod", shown);
  BERTH_TRYV(Xattrs(e, fd, -1, "", shown));
  if (futimens(fd, m.times) < 0) return Errno("unpack: set times", shown);
  return {};
}

// For what cannot be opened (symlinks, device nodes, fifos): by name under pfd.
Result<void> Unpacker::ApplyAt(archive_entry* e, int pfd, const std::string& base, const Meta& m,
                               bool chmod, const std::string& shown) {
  if (opts_.same_owner && fchownat(pfd, base.c_str(), m.uid, m.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return Errno("unpack: chown", shown);
  // Only called with chmod for a node this unpacker just created, never a symlink.
  if (chmod && fchmodat(pfd, base.c_str(), m.perm, 0) < 0) return Errno("unpack: chmod", shown);
  BERTH_TRYV(Xattrs(e, -1, pfd, base, shown));
  if (utimensat(pfd, base.c_str(), m.times, AT_SYMLINK_NOFOLLOW) < 0)
    return Errno("unpack: set times", shown);
  return {};
}

Result<void> Unpacker::Directory(archive_entry* e, const std::string& clean, int pfd,
                                 const std::string& base, const std::string& shown) {
  struct stat st;
  UniqueFd xfd;  // an fd for xattrs, when there are any
  bool has_xattrs = archive_entry_xattr_count(e) > 0;
  if (clean == "/") {
    if (fstat(root_.Get(), &st) < 0) return Errno("unpack: stat", shown);
    if (has_xattrs) BERTH_TRYV(Xattrs(e, root_.Get(), -1, "", shown));
  } else {
    // 0700 while the layer is written: the final mode (maybe read-only) comes at the end.
    if (mkdirat(pfd, base.c_str(), 0700) < 0) {
      if (errno != EEXIST) return Errno("unpack: mkdir", shown);
      if (fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return Errno("unpack: stat", shown);
      // A directory over a directory keeps it (and its contents), updating its metadata.
      if (!S_ISDIR(st.st_mode)) {
        BERTH_TRYV(Replace(pfd, base, shown));
        if (mkdirat(pfd, base.c_str(), 0700) < 0) return Errno("unpack: mkdir", shown);
      }
    }
    if (fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return Errno("unpack: stat", shown);
    if (has_xattrs) {
      int fd = openat(pfd, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return Errno("unpack: open", shown);
      xfd.Reset(fd);
      BERTH_TRYV(Xattrs(e, xfd.Get(), -1, "", shown));
    }
  }
  dirs_[clean] = DirMeta{st.st_dev, st.st_ino, MetaOf(e)};
  return {};
}

Result<void> Unpacker::File(archive_entry* e, int pfd, const std::string& base,
                            const std::string& shown) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat(pfd, base.c_str(), kFlags, 0600);
  if (fd < 0 && errno == EEXIST) {
    BERTH_TRYV(Replace(pfd, base, shown));
    fd = openat(pfd, base.c_str(), kFlags, 0600);
  }
  if (fd < 0) return Errno("unpack: create", shown);
  UniqueFd f(fd);
  // A sparse file counts by its length: the limit is on what the layer claims to hold.
  apparent_ += archive_entry_size(e);
  BERTH_TRYV(CheckLimits());

  // Blocks come with their offset: a sparse file's holes are skipped, not written.
  int64_t end = 0;
  int64_t written_back = 0;  // start of what has not been handed to writeback yet
  for (;;) {
    const void* data;
    size_t n;
    la_int64_t off;
    int r = archive_read_data_block(a_.get(), &data, &n, &off);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return std::unexpected(ArchiveError("unpack: read", shown));
    const char* p = static_cast<const char*>(data);
    BERTH_TRYV(floor_.Check(fd, static_cast<int64_t>(n), shown));
    while (n > 0) {
      ssize_t w = pwrite(fd, p, n, off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Errno("unpack: write", shown);
      }
      p += w;
      n -= static_cast<size_t>(w);
      off += w;
    }
    end = std::max<int64_t>(end, off);
    if (end >= archive_entry_size(e)) entry_complete_ = true;
    // Writeback starts now, in this thread and overlapping the download, instead of all
    // at the commit's syncfs (snapshot.h): a big file every kWritebackChunk.
    if (end - written_back >= kWritebackChunk) {
      (void)sync_file_range(fd, written_back, end - written_back, SYNC_FILE_RANGE_WRITE);
      written_back = end;
    }
  }
  int64_t size = archive_entry_size(e);
  if (end < size && ftruncate(fd, size) < 0) return Errno("unpack: truncate", shown);
  if (end > written_back)
    (void)sync_file_range(fd, written_back, end - written_back, SYNC_FILE_RANGE_WRITE);
  return ApplyFd(e, fd, MetaOf(e), shown);
}

Result<void> Unpacker::Symlink(archive_entry* e, int pfd, const std::string& base,
                               const std::string& shown) {
  const char* target = archive_entry_symlink(e);
  std::string_view t = target ? target : "";
  BERTH_TRYV(CheckName(t, "symlink target", shown));
  // The target is stored verbatim: it is only ever followed by resolution inside the root.
  if (symlinkat(target, pfd, base.c_str()) < 0) {
    if (errno != EEXIST) return Errno("unpack: symlink", shown);
    BERTH_TRYV(Replace(pfd, base, shown));
    if (symlinkat(target, pfd, base.c_str()) < 0) return Errno("unpack: symlink", shown);
  }
  return ApplyAt(e, pfd, base, MetaOf(e), false, shown);
}

Result<void> Unpacker::Node(archive_entry* e, int pfd, const std::string& base,
                            const std::string& shown) {
  mode_t type = archive_entry_filetype(e) == AE_IFCHR   ? S_IFCHR
                : archive_entry_filetype(e) == AE_IFBLK ? S_IFBLK
                                                        : S_IFIFO;
  dev_t dev = type == S_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
  if (mknodat(pfd, base.c_str(), type | 0600, dev) < 0) {
    if (errno != EEXIST) return Errno("unpack: mknod", shown);
    BERTH_TRYV(Replace(pfd, base, shown));
    if (mknodat(pfd, base.c_str(), type | 0600, dev) < 0) return Errno("unpack: mknod", shown);
  }
  return ApplyAt(e, pfd, base, MetaOf(e), true, shown);
}

Result<void> Unpacker::HardLink(archive_entry* e, std::string_view target, int pfd,
                                const std::string& base, const std::string& shown) {
  BERTH_TRYV(CheckName(target, "hard link target", shown));
  // The target is a name in the layer, resolved inside the root like any entry name: a
  // link to "../../etc/shadow" or "/etc/shadow" names <root>/etc/shadow or nothing.
  std::string tclean = sys::CleanPath(target);
  std::string tshown = tclean == "/" ? "." : tclean.substr(1);
  if (tclean == "/") return InvalidArgument("unpack: link", shown, "hard link to the layer root");
  auto [tparent, tbase] = sys::SplitPath(tclean);
  auto tpfd = sys::OpenInRoot(root_.Get(), tparent);
  if (!tpfd) {
    Error err = tpfd.error();
    err.Wrap("unpack: link " + shown + ": target " + tshown);
    return std::unexpected(std::move(err));
  }
  struct stat tst;
  if (fstatat(tpfd->Get(), tbase.c_str(), &tst, AT_SYMLINK_NOFOLLOW) < 0)
    return Errno("unpack: link", shown, "target " + tshown);
  if (S_ISDIR(tst.st_mode))
    return InvalidArgument("unpack: link", shown,
                "target " + tshown + " is a directory (hard links to directories are invalid)");
  // flags 0: a symlink target is linked as the symlink itself, never followed.
  if (linkat(tpfd->Get(), tbase.c_str(), pfd, base.c_str(), 0) < 0) {
    if (errno != EEXIST) return Errno("unpack: link", shown, "target " + tshown);
    struct stat st;
    if (fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == tst.st_dev &&
        st.st_ino == tst.st_ino)
      return {};  // already that file (a link to itself, or repeated)
    BERTH_TRYV(Replace(pfd, base, shown));
    if (linkat(tpfd->Get(), tbase.c_str(), pfd, base.c_str(), 0) < 0)
      return Errno("unpack: link", shown, "target " + tshown);
  }
  return {};
}

Result<void> Unpacker::Whiteout(archive_entry* e, const std::string& parent,
                                const std::string& base, const std::string& shown) {
  if (base == kOpaqueMarker) return Opaque(parent, shown);
  // The image spec defines no other ".wh..wh." names (docker used them for its own
  // bookkeeping, e.g. ".wh..wh.plnk"); refusing them beats silently guessing.
  if (std::string_view(base).starts_with(kMetaPrefix))
    return InvalidArgument("unpack", shown, "unsupported whiteout (only .wh..wh..opq is defined)");
  std::string name = base.substr(kWhiteoutPrefix.size());
  if (name.empty() || name == "." || name == "..")
    return InvalidArgument("unpack", shown, "whiteout names no file");
  std::string target_shown = (parent == "/" ? "" : parent.substr(1) + "/") + name;

  if (!opts_.overlay_whiteouts) {
    // Deletes what lower layers (already unpacked here) put at that name. A missing parent
    // means there is nothing to delete.
    auto pfd = sys::OpenInRoot(root_.Get(), parent);
    if (!pfd) {
      if (pfd.error().code == ENOENT || pfd.error().code == ENOTDIR) return {};
      Error err = pfd.error();
      err.Wrap("unpack whiteout " + shown);
      return std::unexpected(std::move(err));
    }
    cached_parent_.clear();
    return unpack_fs::RemoveAllAt(pfd->Get(), name, target_shown);
  }

  int pfd = BERTH_TRY(ParentFd(parent, shown));
  // overlayfs: a 0/0 character device hides the name in the layers below.
  if (mknodat(pfd, name.c_str(), S_IFCHR, makedev(0, 0)) < 0) {
    if (errno != EEXIST) return Errno("unpack: whiteout", target_shown);
    BERTH_TRYV(Replace(pfd, name, target_shown));
    if (mknodat(pfd, name.c_str(), S_IFCHR, makedev(0, 0)) < 0)
      return Errno("unpack: whiteout", target_shown);
  }
  Meta m = MetaOf(e);
  if (opts_.same_owner && fchownat(pfd, name.c_str(), m.uid, m.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return Errno("unpack: chown", target_shown);
  return {};
}

Result<void> Unpacker::Opaque(const std::string& parent, const std::string& shown) {
  std::string dir_shown = parent == "/" ? "." : parent.substr(1);
  int pfd = BERTH_TRY(ParentFd(parent, shown));
  int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("unpack: open", dir_shown);
  UniqueFd dir(fd);
  if (opts_.overlay_whiteouts) {
    // Not skipped on EOPNOTSUPP: a directory that silently stays see-through would show
    // the lower layers' files that the image deleted.
    if (fsetxattr(dir.Get(), "trusted.overlay.opaque", "y", 1, 0) < 0)
      return Errno("unpack: setxattr trusted.overlay.opaque", dir_shown);
    return {};
  }
  // Without overlayfs: delete what lower layers put in the directory, keeping what this
  // layer has written there already.
  cached_parent_.clear();
  std::string prefix = parent == "/" ? "/" : parent + "/";
  return unpack_fs::EmptyDirAt(dir.Get(), dir_shown, [&](const std::string& rel) {
    std::string full = prefix + rel;
    return unpacked_.contains(full) || ancestors_.contains(full) ? unpack_fs::Keep::kDescend
                                                                 : unpack_fs::Keep::kRemove;
  });
}

// Directory metadata goes last, deepest first: creating entries inside a directory
// changes its mtime, and a read-only directory could not have been filled.
Result<void> Unpacker::Finish() {
  cached_fd_.Reset();
  std::vector<std::pair<const std::string*, const DirMeta*>> order;
  order.reserve(dirs_.size());
  for (const auto& [path, meta] : dirs_) order.emplace_back(&path, &meta);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    int da = Depth(*a.first), db = Depth(*b.first);
    return da != db ? da > db : *a.first > *b.first;
  });
  for (const auto& [path, dm] : order) {
    const std::string shown = *path == "/" ? "." : path->substr(1);
    UniqueFd own;
    int fd = root_.Get();
    if (*path != "/") {
      auto [parent, base] = sys::SplitPath(*path);
      auto pfd = sys::OpenInRoot(root_.Get(), parent);
      if (!pfd) continue;  // a later entry replaced a directory above it
      int f = openat(pfd->Get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (f < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
        return Errno("unpack: open", shown);
      }
      own.Reset(f);
      fd = f;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) return Errno("unpack: stat", shown);
    if (st.st_dev != dm->dev || st.st_ino != dm->ino) continue;  // no longer the one we made
    const Meta& m = dm->meta;
    if (opts_.same_owner && fchown(fd, m.uid, m.gid) < 0) return Errno("unpack: chown", shown);
    if (fchmod(fd, m.perm) < 0) return Errno("unpack: chmod", shown);
    if (futimens(fd, m.times) < 0) return Errno("unpack: set times", shown);
  }
  return {};
}

}  // namespace

Result<UnpackResult> UnpackLayer(Reader& in, Compression c, const std::string& dir,
                                 const UnpackOptions& opts) {
  CountingReader counted(in);
  auto tar = BERTH_TRY(Decompress(counted, c));
  auto hasher = BERTH_TRY(Hasher::New("sha256"));
  Unpacker u(*tar, counted, opts, std::move(hasher));
  auto r = u.Run(dir);
  if (!r) EscapeFields(r.error());
  return r;
}

}  // namespace berth::image
