// Filesystem helpers of the image store: removing untrusted trees (an unpacked layer may hold
// anything a tar could describe), creating directories, and durable small-file writes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::image {

// Removes path and everything below it; absent is not an error. Never follows a symlink
// (a symlink is removed, not its target), never crosses into another mounted filesystem
// (fails instead), makes read-only or unreadable directories writable as it goes, and holds
// one directory fd at a time, so arbitrarily deep trees cannot exhaust descriptors.
Result<void> RemoveTree(const std::string& path);

// mkdir -p: creates missing directories with `mode` (umask applies); existing ones are kept
// as they are. Fails when a component exists and is not a directory.
Result<void> MkdirAll(const std::string& path, mode_t mode);

// Names in a directory, without "." and "..", unsorted.
Result<std::vector<std::string>> ListDir(const std::string& dir);

// fsync of a directory, so that a rename or create in it survives a crash.
Result<void> FsyncDir(const std::string& dir);

// Writes path atomically and durably: a unique temp file in the same directory, fsync,
// rename over path, fsync of the directory. Readers see the old or the new content.
Result<void> WriteFileDurable(const std::string& path, const std::string& data, mode_t mode = 0644);

// Opens (creating, 0600) the lock file at path and flock(2)s it with op (LOCK_EX or LOCK_SH,
// optionally | LOCK_NB: then EWOULDBLOCK when held), retrying EINTR. The lock lives as long
// as the returned fd; flock locks belong to the open file, so they exclude other threads
// of this process as well as other processes.
Result<UniqueFd> LockFile(const std::string& path, int op);

// rename(2) that fails with EEXIST instead of replacing an existing target
// (renameat2 RENAME_NOREPLACE; on filesystems without it, plain rename, which still refuses
// to replace a non-empty directory with ENOTEMPTY).
Result<void> RenameNoReplace(const std::string& from, const std::string& to);

}  // namespace berth::image
