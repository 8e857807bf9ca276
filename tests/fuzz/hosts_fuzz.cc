// hosts.toml (a registry's mirrors and upstream, <hosts_dir>/<registry>/hosts.toml): the
// input is "<registry domain>\0<file>". The file is written once per input into a private
// temporary directory (HostsConfig reads files by name) and the endpoints for the domain
// are resolved. An endpoint's URL goes into HTTP requests (the request line, Host):
// it must never carry a space or a control character.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "fuzz_util.h"
#include "image/hosts.h"

namespace {

// Never destroyed: the atexit handler below runs after static destructors registered later.
const std::string& Dir() {
  static const std::string& dir = *new std::string([] {
    char tmpl[] = "/tmp/berth-hosts-fuzz.XXXXXX";
    if (!mkdtemp(tmpl)) berth::fuzz::Fail("mkdtemp");
    std::string d = tmpl;
    if (mkdir((d + "/_default").c_str(), 0700) < 0) berth::fuzz::Fail("mkdir");
    // The directory goes when the process ends (the replay test, or libFuzzer's exit).
    atexit([] {
      unlink((Dir() + "/_default/hosts.toml").c_str());
      rmdir((Dir() + "/_default").c_str());
      rmdir(Dir().c_str());
    });
    return d;
  }());
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth;
  fuzz::Input in(data, size);
  const std::string domain(in.Field());
  {
    std::ofstream f(Dir() + "/_default/hosts.toml", std::ios::binary | std::ios::trunc);
    f << in.Rest();
  }
  auto config = image::HostsConfig::Load(Dir(), {"127.0.0.1:5000", "insecure.example"});
  if (!config) fuzz::Fail("Load", config.error().Message());
  auto endpoints = config->Endpoints(domain);
  if (!endpoints) {
    fuzz::CheckMessage(endpoints.error(), "Endpoints");
    return 0;
  }
  for (const auto& ep : *endpoints) {
    const std::string url = ep.BaseUrl();
    if (ep.host.empty()) fuzz::Fail("endpoint without a host", url);
    for (unsigned char c : url)
      if (c <= 0x20 || c == 0x7f) fuzz::Fail("endpoint URL with a space or control character", url);
  }
  return 0;
}
