// Platforms (image-spec image-index.md "platform"): parsing of "os/arch[/variant]", the
// alias normalisation every tool applies before comparing (uname says aarch64, Go says
// arm64), and choosing a manifest from an index.
#include <algorithm>
#include <array>

#include "base/text.h"
#include "image/manifest.h"

namespace berth::image {
namespace {

constexpr std::array<std::string_view, 17> kKnownOs = {
    "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios", "js",
    "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "windows", "zos"};

constexpr std::array<std::string_view, 34> kKnownArch = {
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64",
    "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64",
    "s390", "s390x", "sparc", "sparc64", "wasm",
    // aliases, normalised below
    "aarch64", "x86_64", "x86-64", "i386", "i486", "i586", "i686", "armhf", "armel", "armv7l"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool Known(std::string_view s, auto const& list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Each part of a specifier: what containerd accepts, so the same strings work in both.
bool ValidPart(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-'))
      return false;
  return true;
}

// The comparable form of a platform: lowercase, Go's architecture names, and the variant
// implied when none is given (an arm64 machine is v8, a plain "arm" image is v7).
Platform Normalize(const Platform& p) {
  Platform n = p;
  n.os = Lower(p.os);
  if (n.os == "macos") n.os = "darwin";
  n.architecture = Lower(p.architecture);
  n.variant = Lower(p.variant);
  std::string& a = n.architecture;
  std::string& v = n.variant;
  if (a == "i386" || a == "i486" || a == "i586" || a == "i686") {
    a = "386";
    v.clear();
  } else if (a == "x86_64" || a == "x86-64" || a == "amd64") {
    a = "amd64";
    if (v == "v1") v.clear();  // the baseline, what "amd64" alone means
  } else if (a == "aarch64" || a == "arm64") {
    a = "arm64";
    if (v.empty() || v == "8" || v == "v8" || v == "v8.0") v = "v8";
  } else if (a == "armhf" || a == "armv7l") {
    a = "arm";
    v = "v7";
  } else if (a == "armel") {
    a = "arm";
    v = "v6";
  } else if (a == "arm") {
    if (v.empty() || v == "7")
      v = "v7";
    else if (v == "5" || v == "6" || v == "8")
      v = "v" + v;
  }
  return n;
}

}  // namespace

std::string Platform::String() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform HostPlatform() {
  Platform p;
  p.os = "linux";
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
  p.variant = "v8";
#elif defined(__arm__)
  p.architecture = "arm";
#if defined(__ARM_ARCH) && __ARM_ARCH >= 5 && __ARM_ARCH <= 8
  p.variant = "v" + std::to_string(__ARM_ARCH);
#else
  p.variant = "v7";
#endif
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  p.architecture = "ppc64le";
#elif defined(__powerpc64__)
  p.architecture = "ppc64";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#elif defined(__loongarch64)
  p.architecture = "loong64";
#else
#error "HostPlatform: unknown architecture, add it here"
#endif
  return p;
}

Result<Platform> ParsePlatform(std::string_view text) {
  std::string quoted = QuoteText(text, 100);
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() > 3) return InvalidArgument("parse platform", quoted, "expected os/architecture[/variant]");
  for (std::string_view part : parts)
    if (!ValidPart(part))
      return InvalidArgument("parse platform", quoted,
                  "each part must be letters, digits, '_', '.' or '-' (expected "
                  "os/architecture[/variant])");

  Platform p;
  if (parts.size() == 1) {
    // One word: an OS (on this machine's architecture) or an architecture (for linux).
    std::string word = Lower(parts[0]);
    if (Known(word, kKnownOs)) {
      Platform host = HostPlatform();
      p.os = word;
      p.architecture = host.architecture;
      p.variant = host.variant;
    } else if (Known(word, kKnownArch)) {
      p.os = "linux";
      p.architecture = word;
      p.variant.clear();
    } else {
      return InvalidArgument("parse platform", quoted,
                  "not a known operating system or architecture (e.g. linux/arm64)");
    }
  } else {
    p.os = parts[0];
    p.architecture = parts[1];
    p.variant = parts.size() == 3 ? std::string(parts[2]) : std::string();
  }
  return Normalize(p);
}

bool PlatformMatches(const Platform& want, const Platform& have) {
  Platform w = Normalize(want), h = Normalize(have);
  return w.os == h.os && w.architecture == h.architecture &&
         (w.variant == h.variant || w.variant.empty() || h.variant.empty());
}

Result<Descriptor> SelectManifest(const Index& index, const Platform& want, std::string_view what) {
  Platform w = Normalize(want);
  const Descriptor* loose = nullptr;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform || !PlatformMatches(w, *d.platform)) continue;
    if (Normalize(*d.platform).variant == w.variant) return d;
    if (!loose) loose = &d;
  }
  if (loose) return *loose;

  std::vector<std::string> seen;
  std::string offered;
  for (const Descriptor& d : index.manifests) {
    // buildx stores attestations as "unknown/unknown" entries; they are not images.
    if (!d.platform || d.platform->os == "unknown") continue;
    std::string s = d.platform->String();
    if (std::find(seen.begin(), seen.end(), s) != seen.end()) continue;
    offered += (offered.empty() ? "" : ", ") + EscapeText(s);  // the index's text
    seen.push_back(std::move(s));
  }
  std::string detail = "no manifest for " + want.String() + "; ";
  detail += offered.empty() ? "the index lists no platform-specific manifests"
                            : "the index offers " + offered;
  return NotFound("select manifest", std::string(what), std::move(detail));
}

}  // namespace berth::image
