// The layer unpacker on a hostile layer: the first byte picks whiteout handling and the
// compression, the rest is the (compressed) tar. Each input is unpacked into a fresh
// directory "layer" inside a private sandbox (on /dev/shm: tmpfs, no disk writes), beside a
// sentinel file; afterwards the sandbox must hold exactly "layer" and the unchanged sentinel
// (an entry that got out of the layer — "../x", an absolute symlink written through, a hard
// link to outside — would show there), and the layer is removed again.
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_util.h"
#include "image/limits.h"
#include "image/unpack.h"
#include "image/unpack_fs.h"

namespace {

constexpr char kSentinel[] = "outside";
constexpr char kSentinelText[] = "nothing may change me";

class BytesReader : public berth::image::Reader {
 public:
  explicit BytesReader(std::string_view b) : b_(b) {}
  berth::Result<size_t> Read(void* buf, size_t n) override {
    n = std::min(n, b_.size());
    std::memcpy(buf, b_.data(), n);
    b_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view b_;
};

// Never destroyed: the atexit handler below runs after static destructors registered later.
const std::string& Sandbox() {
  static const std::string& dir = *new std::string([] {
    const char* shm = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string tmpl = std::string(shm) + "/berth-unpack-fuzz.XXXXXX";
    if (!mkdtemp(tmpl.data())) berth::fuzz::Fail("mkdtemp", tmpl);
    int fd = open((tmpl + "/" + kSentinel).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, kSentinelText, sizeof kSentinelText - 1) < 0) berth::fuzz::Fail("sentinel");
    close(fd);
    atexit([] {
      unlink((Sandbox() + "/" + kSentinel).c_str());
      rmdir(Sandbox().c_str());
    });
    return tmpl;
  }());
  return dir;
}

void CheckSandbox(const std::string& sandbox) {
  DIR* d = opendir(sandbox.c_str());
  if (!d) berth::fuzz::Fail("opendir", sandbox);
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && n != "layer" && n != kSentinel)
      berth::fuzz::Fail("the layer wrote outside its directory", n);
  }
  closedir(d);
  struct stat st;
  if (lstat((sandbox + "/" + kSentinel).c_str(), &st) < 0 || !S_ISREG(st.st_mode) ||
      st.st_nlink != 1 || st.st_size != sizeof kSentinelText - 1)
    berth::fuzz::Fail("the sentinel beside the layer changed (linked, replaced or written)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth;
  using namespace berth::image;
  fuzz::Input in(data, size);
  const uint8_t flags = in.Byte();
  const std::string sandbox = Sandbox();
  const std::string dir = sandbox + "/layer";
  if (mkdir(dir.c_str(), 0755) < 0) fuzz::Fail("mkdir", dir);

  Limits limits;
  limits.max_layer_size = 64 << 20;  // counted by file length: sparse giants stop here
  limits.max_layer_entries = 4096;
  limits.min_free_bytes = limits.min_free_percent = 0;
  UnpackOptions opts;
  opts.overlay_whiteouts = (flags & 1) != 0;
  opts.limits = &limits;
  const Compression c = (flags >> 1) % 3 == 0   ? Compression::kNone
                        : (flags >> 1) % 3 == 1 ? Compression::kGzip
                                                : Compression::kZstd;
  BytesReader layer(in.Rest());
  auto r = UnpackLayer(layer, c, dir, opts);
  if (!r) fuzz::CheckMessage(r.error(), "UnpackLayer");

  CheckSandbox(sandbox);
  int sfd = open(sandbox.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0) fuzz::Fail("open sandbox");
  auto removed = unpack_fs::RemoveAllAt(sfd, "layer", "layer");
  close(sfd);
  if (!removed) fuzz::Fail("remove the layer", removed.error().Message());
  return 0;
}
