// CVE-2019-5736: a container process that reaches the runtime's binary through
// /proc/<pid>/exe of a runtime process (one that joined the container, or that the container
// tricked into exec'ing /proc/self/exe) could reopen it for writing and replace the runtime
// on the host. A runtime process that runs from an anonymous copy sealed against change
// exposes only that copy. berth makes one per exec (src/cli/berth/self_protect.cc) unless it
// already runs from one: berthd makes one per runtime binary and hands it to every shim,
// which execs `berth exec` from it (docs/runtime.md, "CVE-2019-5736").
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::sys {

// F_SEAL_FUTURE_WRITE, not F_SEAL_WRITE: both make every later write(2), fallocate and new
// writable mapping fail (no mapping of the copy exists), but F_SEAL_WRITE first waits for
// every page of the memfd to be unpinned and fails with EBUSY when one stays pinned (seen
// here on 1 of 40 `exec`s under load, right after the sendfile). SEAL_SEAL: no seal can be
// taken off; SHRINK/GROW: no truncation.
inline constexpr unsigned kRuntimeCopySeals =
    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE;

// A memfd (close-on-exec) holding the bytes of the file open at src, sealed with
// kRuntimeCopySeals. what names the file in errors.
Result<UniqueFd> SealedCopy(int src, const std::string& what);

// Whether fd is a file with every seal of kRuntimeCopySeals (a copy nobody can change).
bool IsSealedCopy(int fd);

// "dev:ino:size:mtime:ctime" (times in ns): a binary replaced or rewritten since st was
// taken has another identity.
std::string FileIdentity(const struct stat& st);

}  // namespace berth::sys
