#include "image/fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "sys/mounts.h"
#include "sys/process.h"

namespace berth::image {

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
      (void)::chmod(sys::FdPath(p).c_str(), 0700);
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
        return Fail("remove", what, "a filesystem is mounted there; unmount it first");
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
      return Fail("remove", what, "its parent directory was moved during the removal");
    cur = std::move(parent);
    if (::unlinkat(cur.Get(), done.name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
      return Errno("remove", what);
  }
  cur.Reset();
  if (::rmdir(path.c_str()) < 0 && errno != ENOENT) return Errno("remove", path);
  return {};
}

Result<void> MkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return Fail("mkdir", "\"\"", "empty path");
  size_t pos = 0;
  for (;;) {
    pos = path.find('/', pos + 1);
    std::string part = path.substr(0, pos);
    if (!part.empty() && part != "/" && ::mkdir(part.c_str(), mode) < 0) {
      if (errno != EEXIST) return Errno("mkdir", part);
      struct stat st;
      if (::stat(part.c_str(), &st) < 0) return Errno("stat", part);
      if (!S_ISDIR(st.st_mode)) return Fail("mkdir", part, "exists and is not a directory");
    }
    if (pos == std::string::npos) return {};
  }
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Errno("open", dir);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoCode(err, "readdir", dir);
  return names;
}

Result<void> FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  UniqueFd guard(fd);
  if (::fsync(fd) < 0) return Errno("fsync", dir);
  return {};
}

Result<void> WriteFileDurable(const std::string& path, const std::string& data, mode_t mode) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Errno("create", path + ".tmp-*");
  UniqueFd guard(fd);
  auto fail = [&](std::unexpected<Error> e) {
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd, mode) < 0) return fail(Errno("chmod", tmp));
  if (auto w = sys::WriteAll(fd, data.data(), data.size(), tmp.c_str()); !w)
    return fail(std::unexpected(w.error()));
  if (::fsync(fd) < 0) return fail(Errno("fsync", tmp));
  guard.Reset();
  if (::rename(tmp.c_str(), path.c_str()) < 0) return fail(Errno("rename", tmp, "to " + path));
  return FsyncDir(dir);
}

Result<UniqueFd> LockFile(const std::string& path, int op) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", path);
  UniqueFd lock(fd);
  int r;
  do {
    r = ::flock(fd, op);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Errno("flock", path);
  return lock;
}

Result<void> RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  if (errno == EINVAL && ::rename(from.c_str(), to.c_str()) == 0) return {};
  return Errno("rename", from, "to " + to);
}

}  // namespace berth::image
