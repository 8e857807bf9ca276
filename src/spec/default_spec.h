// The config.json that `berth spec` writes (like runc spec).
#pragma once

#include <string>

namespace berth::spec {

// JSON text of a default runtime-spec config: /bin/sh with a terminal... as runc's template,
// `rootless` adds a user namespace mapped to the caller's uid/gid and drops the network ns.
std::string DefaultSpecJson(bool rootless);

}  // namespace berth::spec
