// Image references (berthctl pull, a CRI ImageSpec, a pod's image): ParseReference, then
// its normal forms must parse back to the same reference — String() is what the store
// records and Familiar() what berthctl shows and users paste back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "image/reference.h"

namespace {

bool Same(const berth::image::Reference& a, const berth::image::Reference& b) {
  return a.domain == b.domain && a.path == b.path && a.tag == b.tag && a.digest == b.digest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ref = image::ParseReference(text);
  if (!ref) {
    fuzz::CheckMessage(ref.error(), "ParseReference");
    return 0;
  }
  for (const std::string& form : {ref->String(), ref->Familiar()}) {
    auto again = image::ParseReference(form);
    if (!again) fuzz::Fail("normal form does not parse", form + ": " + again.error().Message());
    if (!Same(*again, *ref)) fuzz::Fail("normal form parses to another reference", form);
  }
  return 0;
}
