#include "sys/sealed_copy.h"

#include <sys/mman.h>
#include <sys/sendfile.h>

namespace berth::sys {

Result<UniqueFd> SealedCopy(int src, const std::string& what) {
  struct stat sb;
  if (fstat(src, &sb) < 0) return Errno("fstat", what);
  UniqueFd mem(memfd_create("berth", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) return Errno("memfd_create", "copy of " + what);
  off_t off = 0;
  while (off < sb.st_size) {
    ssize_t n = sendfile(mem.Get(), src, &off, static_cast<size_t>(sb.st_size - off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("sendfile", what, "to a memfd");
    }
    if (n == 0) return Fail("copy", what, "the file ended before its size (shrunk meanwhile)");
  }
  if (fcntl(mem.Get(), F_ADD_SEALS, kRuntimeCopySeals) < 0)
    return Errno("fcntl F_ADD_SEALS", "copy of " + what);
  return mem;
}

bool IsSealedCopy(int fd) {
  int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (static_cast<unsigned>(seals) & kRuntimeCopySeals) == kRuntimeCopySeals;
}

std::string FileIdentity(const struct stat& st) {
  auto ns = [](const timespec& t) {
    return std::to_string(static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec);
  };
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + ns(st.st_mtim) + ":" + ns(st.st_ctim);
}

}  // namespace berth::sys
