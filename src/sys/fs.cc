#include "sys/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "sys/mounts.h"
#include "sys/path.h"

namespace berth::sys {

Result<void> WriteAll(int fd, const void* data, size_t len, const char* what) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", what);
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return {};
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Errno("open", path);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.Get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<void> WriteFile(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return Errno("write", path);
  for (;;) {
    ssize_t n = ::write(fd.Get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path, "\"" + std::string(data) + "\"");
    if (static_cast<size_t>(n) != data.size())
      return Fail(ErrorKind::kResourceExhausted, "write", path, "short write of \"" + std::string(data) + "\"");
    return {};
  }
}

// ---- temp files and atomic replacement ----

namespace {
std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
}  // namespace

Result<TempFile> TempFile::Create(const std::string& path, mode_t mode) {
  // pid + a counter: unique among threads and processes; a stale name left by a crashed
  // writer that had our pid is skipped (EEXIST).
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                      std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) return TempFile(path, std::move(tmp), UniqueFd(fd));
    if (errno != EEXIST) return Errno("create", tmp);
  }
  return Fail(ErrorKind::kAlreadyExists, "create", path + ".tmp-*",
              "every temporary name tried exists");
}

TempFile::TempFile(TempFile&& o) noexcept
    : path_(std::move(o.path_)), tmp_(std::move(o.tmp_)), fd_(std::move(o.fd_)),
      done_(std::exchange(o.done_, true)) {}

TempFile::~TempFile() {
  if (done_) return;
  fd_.Reset();
  (void)::unlink(tmp_.c_str());
}

Result<void> TempFile::Commit(Durability durability) {
  if (done_) return Fail(ErrorKind::kFailedPrecondition, "commit", tmp_, "already committed");
  if (durability == Durability::kDurable && fd_ && ::fsync(fd_.Get()) < 0)
    return Errno("fsync", tmp_);
  fd_.Reset();
  if (::rename(tmp_.c_str(), path_.c_str()) < 0) return Errno("rename", tmp_, "to " + path_);
  done_ = true;
  if (durability == Durability::kDurable) return FsyncDir(ParentDir(path_));
  return {};
}

Result<void> WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  TempFile tmp = BERTH_TRY(TempFile::Create(path, mode));
  BERTH_TRYV(WriteAll(tmp.Fd(), data.data(), data.size(), tmp.Path().c_str()));
  return tmp.Commit(TempFile::Durability::kAtomic);
}

Result<void> WriteFileDurable(const std::string& path, std::string_view data, mode_t mode) {
  TempFile tmp = BERTH_TRY(TempFile::Create(path, 0600));
  if (::fchmod(tmp.Fd(), mode) < 0) return Errno("chmod", tmp.Path());
  BERTH_TRYV(WriteAll(tmp.Fd(), data.data(), data.size(), tmp.Path().c_str()));
  return tmp.Commit(TempFile::Durability::kDurable);
}

Result<void> FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Errno("open", dir);
  if (::fsync(fd.Get()) < 0) return Errno("fsync", dir);
  return {};
}

Result<void> RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  if (errno == EINVAL && ::rename(from.c_str(), to.c_str()) == 0) return {};
  return Errno("rename", from, "to " + to);
}

// ---- directories ----

Result<void> MkdirAll(const std::string& path, mode_t mode, std::vector<std::string>* created) {
  if (path.empty()) return InvalidArgument("mkdir", "\"\"", "empty path");
  const std::vector<std::string> parts = PathComponents(path);
  for (int attempt = 0;; ++attempt) {
    std::string cur = path[0] == '/' ? "" : ".";
    bool retry = false;
    for (size_t i = 0; i < parts.size(); ++i) {
      cur += "/" + parts[i];
      if (::mkdir(cur.c_str(), mode) == 0) {
        if (created) created->push_back(cur);
        continue;
      }
      if (errno == EEXIST) {
        // An intermediate non-directory makes the next mkdir fail with ENOTDIR; only the
        // last component needs a look.
        if (i + 1 < parts.size()) continue;
        struct stat st;
        if (::stat(cur.c_str(), &st) < 0) return Errno("stat", cur);
        if (!S_ISDIR(st.st_mode))
          return FailedPrecondition("mkdir", cur, "exists and is not a directory");
        continue;
      }
      if (errno == ENOENT && attempt < 3) {
        retry = true;  // a parent vanished under us (another container's cleanup): again
        break;
      }
      return Errno("mkdir", cur);
    }
    if (!retry) return {};
  }
}

namespace {
// The names in dir but "." and ".."; with dirs_only, only those that are directories.
Result<std::vector<std::string>> ReadNames(const std::string& dir, bool dirs_only) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Errno("open", dir);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    bool keep = n != "." && n != "..";
    if (keep && dirs_only) {
      keep = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) {  // filesystems without d_type
        struct stat st;
        keep = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISDIR(st.st_mode);
      }
    }
    if (keep) names.emplace_back(n);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoCode(err, "readdir", dir);
  return names;
}
}  // namespace

Result<std::vector<std::string>> ListDir(const std::string& dir) { return ReadNames(dir, false); }

Result<std::vector<std::string>> ListSubdirs(const std::string& dir) {
  auto names = BERTH_TRY(ReadNames(dir, true));
  std::sort(names.begin(), names.end());
  return names;
}

// ---- removing trees ----

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

struct DirId {
  uint64_t mnt_id = 0;
  dev_t dev = 0;
  ino_t ino = 0;
};

Result<DirId> IdOf(int fd, const std::string& what) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &stx) < 0)
    return Errno("statx", what);
  DirId id;
  id.mnt_id = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
  id.dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
  id.ino = stx.stx_ino;
  return id;
}

// Opens directory `name` (in dirfd) for removing its entries: without following a symlink,
// and with owner rwx added when missing (a layer can hold 0555 or 0000 directories; root
// does not need it, an unprivileged caller does).
Result<UniqueFd> OpenDirForRemoval(int dirfd, const char* name, const std::string& what) {
  int fd = ::openat(dirfd, name, kDirFlags);
  if (fd < 0 && errno == EACCES) {
    // chmod through an O_PATH fd: a racing swap of the directory for a symlink cannot
    // redirect it.
    int p = ::openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (p >= 0) {
      UniqueFd pg(p);
      (void)::chmod(FdPath(p).c_str(), 0700);
    }
    fd = ::openat(dirfd, name, kDirFlags);
  }
  if (fd < 0) return Errno("open", what);
  UniqueFd dir(fd);
  struct stat st;
  if (::fstat(fd, &st) < 0) return Errno("stat", what);
  if ((st.st_mode & 0700) != 0700 && ::fchmod(fd, (st.st_mode & 07777) | 0700) < 0)
    return Errno("chmod", what, "to remove its entries");
  return dir;
}

struct Frame {
  std::string name;  // in the parent frame's directory
  DirId id;
  std::vector<std::string> subdirs;  // still to remove
};

// Unlinks every non-directory of the directory fd and returns its subdirectories.
Result<std::vector<std::string>> ClearFiles(int fd, const std::string& what) {
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return Errno("dup", what);
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return Errno("opendir", what);
  }
  std::vector<std::string> subdirs, files;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
    }
    (type == DT_DIR ? subdirs : files).emplace_back(n);
    errno = 0;
  }
  int read_errno = errno;
  ::closedir(d);
  if (read_errno != 0) return ErrnoCode(read_errno, "readdir", what);
  for (const auto& f : files) {
    if (::unlinkat(fd, f.c_str(), 0) == 0 || errno == ENOENT) continue;
    // Replaced by a directory meanwhile: remove it as one.
    if (errno == EISDIR) {
      subdirs.push_back(f);
      continue;
    }
    return Errno("remove", what + "/" + f);
  }
  return subdirs;
}

std::string Join(const std::string& root, const std::vector<Frame>& frames) {
  std::string p = root;
  for (size_t i = 1; i < frames.size(); ++i) p += "/" + frames[i].name;
  return p;
}

}  // namespace

Result<void> RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return {};
    return Errno("stat", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return Errno("remove", path);
    return {};
  }
  UniqueFd cur = BERTH_TRY(OpenDirForRemoval(AT_FDCWD, path.c_str(), path));
  std::vector<Frame> frames;
  frames.push_back(Frame{"", BERTH_TRY(IdOf(cur.Get(), path)), {}});
  const uint64_t root_mnt = frames[0].id.mnt_id;
  const dev_t root_dev = frames[0].id.dev;
  frames[0].subdirs = BERTH_TRY(ClearFiles(cur.Get(), path));

  // Depth-first with one open directory: descend by name, come back up through ".." and
  // check it is still the directory we came from (nothing was moved under us).
  for (;;) {
    Frame& top = frames.back();
    if (!top.subdirs.empty()) {
      std::string name = std::move(top.subdirs.back());
      top.subdirs.pop_back();
      std::string what = Join(path, frames) + "/" + name;
      auto child = OpenDirForRemoval(cur.Get(), name.c_str(), what);
      if (!child) {
        int e = child.error().code;
        if (e == ENOENT) continue;
        if (e == ENOTDIR || e == ELOOP) {  // now a file or a symlink
          if (::unlinkat(cur.Get(), name.c_str(), 0) < 0 && errno != ENOENT)
            return Errno("remove", what);
          continue;
        }
        return std::unexpected(child.error());
      }
      DirId id = BERTH_TRY(IdOf(child->Get(), what));
      if (id.dev != root_dev || (root_mnt != 0 && id.mnt_id != root_mnt))
        return FailedPrecondition("remove", what,
                                  "a filesystem is mounted there; unmount it first");
      std::vector<std::string> subdirs = BERTH_TRY(ClearFiles(child->Get(), what));
      frames.push_back(Frame{std::move(name), id, std::move(subdirs)});
      cur = std::move(*child);
      continue;
    }
    if (frames.size() == 1) break;
    std::string what = Join(path, frames);
    Frame done = std::move(frames.back());
    frames.pop_back();
    int p = ::openat(cur.Get(), "..", kDirFlags);
    if (p < 0) return Errno("open", what + "/..");
    UniqueFd parent(p);
    DirId pid = BERTH_TRY(IdOf(p, what + "/.."));
    if (pid.dev != frames.back().id.dev || pid.ino != frames.back().id.ino)
      return Fail(ErrorKind::kAborted, "remove", what,
                  "its parent directory was moved during the removal");
    cur = std::move(parent);
    if (::unlinkat(cur.Get(), done.name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
      return Errno("remove", what);
  }
  cur.Reset();
  if (::rmdir(path.c_str()) < 0 && errno != ENOENT) return Errno("remove", path);
  return {};
}

// ---- locks ----

Result<void> Flock(int fd, int op, const std::string& what) {
  int r;
  do {
    r = ::flock(fd, op);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Errno("flock", what);
  return {};
}

Result<UniqueFd> LockFile(const std::string& path, int op) {
  UniqueFd lock(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return Errno("open", path);
  BERTH_TRYV(Flock(lock.Get(), op, path));
  return lock;
}

}  // namespace berth::sys
