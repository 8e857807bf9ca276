// libFuzzer target for config.json: untrusted input (a bundle from anyone) goes through
// ParseSpec and, when it parses, through Validate and a ToJson round trip.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "spec/parse.h"
#include "spec/validate.h"

namespace {

// Every rejection must produce a message a user can read on one line (berth prints it as
// "berth: <message>" and logs it as one JSON field): not empty, and without a line break or
// another control character that the config's own text could smuggle into a terminal.
void CheckMessage(const berth::Error& e, const char* stage) {
  const std::string m = e.Message();
  bool ok = !m.empty();
  for (unsigned char c : m)
    if (c < 0x20 || c == 0x7f) ok = false;
  if (!ok) {
    std::fprintf(stderr, "%s error is not one printable line: \"%s\"\n", stage, m.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = berth::spec::ParseSpec(text);
  if (!spec) {
    CheckMessage(spec.error(), "ParseSpec");
    return 0;
  }
  berth::spec::ValidateOptions opts;
  if (auto v = berth::spec::Validate(*spec, opts); !v) CheckMessage(v.error(), "Validate");
  // What we serialise we must be able to read back, unchanged.
  auto again = berth::spec::ParseSpec(berth::spec::ToJson(*spec, -1));
  if (!again || !(*again == *spec)) std::abort();
  return 0;
}
