#include "cli/berth/self_protect.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "base/unique_fd.h"

extern char** environ;

namespace berth::cli {

namespace {
// F_SEAL_FUTURE_WRITE, not F_SEAL_WRITE: both make every later write(2) and new writable
// mapping fail (no mapping of the copy exists), but F_SEAL_WRITE first waits for every
// page of the memfd to be unpinned and fails with EBUSY when one stays pinned (seen here
// on 1 of 40 `exec`s under load, right after the sendfile).
constexpr unsigned kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE;

bool RunningFromSealedCopy() {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int seals = fcntl(fd, F_GET_SEALS);
  close(fd);
  return seals >= 0 && (static_cast<unsigned>(seals) & kSeals) == kSeals;
}
}  // namespace

Result<void> ProtectSelf(int argc, char** argv) {
  const char* off = getenv("BERTH_UNSAFE_NO_SELF_PROTECT");
  if (off && strcmp(off, "1") == 0) return {};
  if (RunningFromSealedCopy()) return {};
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src < 0) return Errno("open", "/proc/self/exe", "copying the runtime (CVE-2019-5736)");
  UniqueFd src_fd(src);
  struct stat sb;
  if (fstat(src, &sb) < 0) return Errno("fstat", "/proc/self/exe");
  int mfd = memfd_create("berth", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) return Errno("memfd_create", "berth");
  UniqueFd mem(mfd);
  off_t done = 0;
  while (done < sb.st_size) {
    ssize_t n = sendfile(mfd, src, nullptr, static_cast<size_t>(sb.st_size - done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("sendfile", "/proc/self/exe", "to memfd");
    }
    if (n == 0) break;
    done += n;
  }
  if (fcntl(mfd, F_ADD_SEALS, kSeals) < 0) return Errno("fcntl", "memfd", "F_ADD_SEALS");
  fexecve(mfd, argv, environ);
  return Errno("fexecve", "sealed copy of berth");
}

}  // namespace berth::cli
