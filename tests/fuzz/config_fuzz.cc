// config.json: untrusted input (a bundle from anyone) goes through ParseSpec and, when it
// parses, through Validate and a ToJson round trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "spec/parse.h"
#include "spec/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = spec::ParseSpec(text);
  if (!spec) {
    fuzz::CheckMessage(spec.error(), "ParseSpec");
    return 0;
  }
  spec::ValidateOptions opts;
  fuzz::CheckResult(spec::Validate(*spec, opts), "Validate");
  // What we serialise we must be able to read back, unchanged.
  auto again = spec::ParseSpec(spec::ToJson(*spec, -1));
  if (!again || !(*again == *spec)) fuzz::Fail("ToJson round trip", spec::ToJson(*spec, -1));
  return 0;
}
