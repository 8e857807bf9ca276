// Registry authentication input, all of it from outside: the WWW-Authenticate header a
// registry (or anything answering on its address) sends, a docker-style config.json of
// credentials, and the base64 inside it. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "image/auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth;
  fuzz::Input in(data, size);
  const uint8_t which = in.Byte() % 3;
  const std::string_view text = in.Rest();
  if (which == 0) {
    auto challenges = image::ParseChallenges(text);
    fuzz::CheckResult(challenges, "ParseChallenges");
    if (challenges)
      for (const auto& c : *challenges)
        if (c.scheme.empty()) fuzz::Fail("challenge without a scheme", text);
  } else if (which == 1) {
    auto store = image::CredentialStore::Parse(text, "config.json");
    fuzz::CheckResult(store, "CredentialStore::Parse");
    if (store) (void)store->Lookup("docker.io");
  } else {
    auto decoded = image::Base64Decode(text);
    fuzz::CheckResult(decoded, "Base64Decode");
    // Encoding what was decoded and decoding that again gives the same bytes.
    if (decoded) {
      auto again = image::Base64Decode(image::Base64Encode(*decoded));
      if (!again || *again != *decoded) fuzz::Fail("base64 round trip", text);
    }
  }
  return 0;
}
