// libFuzzer target for config.json: untrusted input (a bundle from anyone) goes through
// ParseSpec and, when it parses, through Validate and a ToJson round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "spec/parse.h"
#include "spec/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = berth::spec::ParseSpec(text);
  if (!spec) {
    // Every rejection must still produce a printable one-line message.
    (void)spec.error().Message();
    return 0;
  }
  berth::spec::ValidateOptions opts;
  (void)berth::spec::Validate(*spec, opts);
  // What we serialise we must be able to read back, unchanged.
  auto again = berth::spec::ParseSpec(berth::spec::ToJson(*spec, -1));
  if (!again || !(*again == *spec)) std::abort();
  return 0;
}
