// Image documents from a registry or an OCI layout (anyone's): manifests, indexes and
// manifest lists, image configs, descriptors, platform strings. The first byte picks the
// parser; what parses and has a serialiser must serialise to a fixed point (the store writes
// IndexJson and DescriptorJson, inspect prints ImageConfigJson).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "image/manifest.h"

namespace {

template <class T, class Parse, class Dump>
void FixedPoint(const T& first, Parse parse, Dump dump, const char* what) {
  const std::string once = dump(first);
  auto again = parse(once);
  if (!again) berth::fuzz::Fail(what, once + ": " + again.error().Message());
  if (dump(*again) != once) berth::fuzz::Fail(what, once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth;
  using namespace berth::image;
  fuzz::Input in(data, size);
  const uint8_t which = in.Byte() % 6;
  const std::string_view text = in.Rest();
  const std::string_view what = "sha256:fuzz";
  switch (which) {
    case 0: {
      auto m = ParseManifest(text, what);
      fuzz::CheckResult(m, "ParseManifest");
      if (m)
        for (const auto& l : m->layers) fuzz::CheckResult(LayerCompression(l.media_type), "LayerCompression");
      break;
    }
    case 1: {
      auto index = ParseIndex(text, what);
      fuzz::CheckResult(index, "ParseIndex");
      if (!index) break;
      FixedPoint(*index, [&](std::string_view j) { return ParseIndex(j, what); }, IndexJson,
                 "IndexJson round trip");
      fuzz::CheckResult(SelectManifest(*index, HostPlatform(), what), "SelectManifest");
      break;
    }
    case 2: {
      auto c = ParseImageConfig(text, what);
      fuzz::CheckResult(c, "ParseImageConfig");
      if (!c) break;
      FixedPoint(*c, [&](std::string_view j) { return ParseImageConfig(j, what); },
                 ImageConfigJson, "ImageConfigJson round trip");
      (void)ChainIds(c->diff_ids);
      break;
    }
    case 3: {
      auto d = ParseDescriptor(text, what);
      fuzz::CheckResult(d, "ParseDescriptor");
      if (d)
        FixedPoint(*d, [&](std::string_view j) { return ParseDescriptor(j, what); },
                   DescriptorJson, "DescriptorJson round trip");
      break;
    }
    case 4:
      fuzz::CheckResult(DetectMediaType(text, what), "DetectMediaType");
      break;
    default: {
      auto p = ParsePlatform(text);
      fuzz::CheckResult(p, "ParsePlatform");
      if (p) {
        auto again = ParsePlatform(p->String());
        if (!again || !PlatformMatches(*p, *again)) fuzz::Fail("platform round trip", p->String());
      }
    }
  }
  return 0;
}
