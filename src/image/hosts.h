// Where to pull a registry's content from, configured per registry the way containerd's
// hosts.toml does (<config_dir>/<registry>/hosts.toml; "_default" applies to any registry):
//
//   server = "https://registry.example:5000"      # the upstream (default https://<registry>;
//                                                  # docker.io -> https://registry-1.docker.io)
//   [host."http://127.0.0.1:5001"]                 # a mirror, tried first in file order
//     capabilities = ["pull", "resolve"]
//     skip_verify = true
//     ca = "/etc/certs/mirror.pem"
//     override_path = false                        # true: the URL already ends in /v2
//
// An "http://" server or host is a plain-HTTP (insecure) registry: opt-in, per registry.
// `insecure_registries` given on the command line (--insecure-registry) do the same
// without a file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::image {

struct RegistryEndpoint {
  std::string scheme = "https";  // "https" or "http"
  std::string host;              // "registry-1.docker.io", "127.0.0.1:5000"
  std::string path = "/v2";      // API root
  bool skip_verify = false;
  std::string ca_file;
  bool can_resolve = true;  // may resolve tags to digests
  bool can_pull = true;     // may serve blobs and manifests by digest
  bool mirror = false;
  std::string BaseUrl() const { return scheme + "://" + host + path; }  // no trailing "/"
};

class HostsConfig {
 public:
  // config_dir may not exist (then only defaults apply).
  static Result<HostsConfig> Load(std::string config_dir,
                                  std::vector<std::string> insecure_registries = {});
  // Endpoints for a registry domain ("docker.io", "localhost:5000"), mirrors first.
  // Parse errors of that registry's hosts.toml are reported here, naming the file.
  Result<std::vector<RegistryEndpoint>> Endpoints(std::string_view domain) const;

 private:
  std::string dir_;
  std::vector<std::string> insecure_;
};

}  // namespace berth::image
