// File helpers, one home each: whole-file reads and knob writes, the two kinds of atomic
// replacement (for /run state, and durable for the image store), directory trees that may
// hold anything a tar could describe, and flock(2).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::sys {

// Writes all of data to fd (retrying EINTR and short writes).
Result<void> WriteAll(int fd, const void* data, size_t len, const char* what);

// Reads a whole file (small files: /proc, cgroupfs, config.json, the store's records).
Result<std::string> ReadFile(const std::string& path);

// Writes a kernel knob (/proc, cgroupfs): open(O_WRONLY|O_TRUNC) and one write(2), since
// the kernel parses each write as a whole; EINTR is retried, a short write is an error.
Result<void> WriteFile(const std::string& path, std::string_view data);

// A new file beside `path` (same directory, so that rename(2) over path is atomic), created
// O_EXCL with `mode` (the umask applies) under a name no other writer uses. Commit renames
// it over path; the destructor removes it unless it was committed.
class TempFile {
 public:
  enum class Durability {
    kAtomic,   // rename only: readers see old or new content, a crash may lose both
    kDurable,  // fsync, rename, fsync of the directory: the new content survives a crash
  };
  static Result<TempFile> Create(const std::string& path, mode_t mode);
  TempFile(TempFile&& o) noexcept;
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();

  int Fd() const { return fd_.Get(); }
  const std::string& Path() const { return tmp_; }
  // Closes the file and renames it over the target.
  Result<void> Commit(Durability durability);

 private:
  TempFile(std::string path, std::string tmp, UniqueFd fd)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(std::move(fd)) {}
  std::string path_, tmp_;
  UniqueFd fd_;
  bool done_ = false;
};

// Replaces path atomically, not durably (temp file + rename): for state under /run, a
// tmpfs that a crash empties anyway. `mode` is subject to the umask.
Result<void> WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0600);

// Replaces path atomically and durably (temp file, fsync, rename, fsync of the directory):
// for the image store. The file gets exactly `mode`.
Result<void> WriteFileDurable(const std::string& path, std::string_view data, mode_t mode = 0644);

// fsync of a directory, so that a rename or create in it survives a crash.
Result<void> FsyncDir(const std::string& dir);

// rename(2) that fails with EEXIST instead of replacing an existing target
// (renameat2 RENAME_NOREPLACE; on filesystems without it, plain rename, which still refuses
// to replace a non-empty directory with ENOTEMPTY).
Result<void> RenameNoReplace(const std::string& from, const std::string& to);

// mkdir -p: creates missing directories with `mode` (umask applies); existing ones are kept
// as they are. Fails when a component exists and is not a directory. Appends each directory
// it created (outermost first) to *created. A parent removed meanwhile by another process
// (cgroups shared by containers) is created again.
Result<void> MkdirAll(const std::string& path, mode_t mode,
                      std::vector<std::string>* created = nullptr);

// Names in a directory, without "." and "..", unsorted.
Result<std::vector<std::string>> ListDir(const std::string& dir);
// The subdirectories of dir (not symlinks to directories), sorted.
Result<std::vector<std::string>> ListSubdirs(const std::string& dir);

// Removes path and everything below it; absent is not an error. Never follows a symlink
// (a symlink is removed, not its target), never crosses into another mounted filesystem
// (fails instead: rootfs and snapshot mounts live inside the trees we remove), makes
// read-only or unreadable directories writable as it goes, and holds one directory fd at a
// time, so arbitrarily deep trees cannot exhaust descriptors.
Result<void> RemoveTree(const std::string& path);

// flock(2) retrying EINTR. With LOCK_NB a lock held elsewhere fails with EWOULDBLOCK.
Result<void> Flock(int fd, int op, const std::string& what);

// Opens (creating, 0600) the lock file at path and flocks it with op (LOCK_EX or LOCK_SH,
// optionally | LOCK_NB). The lock lives as long as the returned fd; flock locks belong to
// the open file, so they exclude other threads of this process as well as other processes.
Result<UniqueFd> LockFile(const std::string& path, int op);

}  // namespace berth::sys
