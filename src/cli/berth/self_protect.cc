#include "cli/berth/self_protect.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "base/unique_fd.h"
#include "sys/sealed_copy.h"

extern char** environ;

namespace berth::cli {

namespace {
// Started from a sealed copy already: by an earlier ProtectSelf, or by berth-shim from the
// copy berthd shares (sys/sealed_copy.h).
bool RunningFromSealedCopy() {
  UniqueFd fd(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  return fd && sys::IsSealedCopy(fd.Get());
}
}  // namespace

Result<void> ProtectSelf(int argc, char** argv) {
  (void)argc;
  const char* off = getenv("BERTH_UNSAFE_NO_SELF_PROTECT");
  if (off && strcmp(off, "1") == 0) return {};
  if (RunningFromSealedCopy()) return {};
  UniqueFd src(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!src) return Errno("open", "/proc/self/exe", "copying the runtime (CVE-2019-5736)");
  auto mem = sys::SealedCopy(src.Get(), "/proc/self/exe");
  if (!mem) return std::unexpected(mem.error());
  fexecve(mem->Get(), argv, environ);
  return Errno("fexecve", "sealed copy of berth");
}

}  // namespace berth::cli
