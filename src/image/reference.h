// Image references as docker and containerd parse them (distribution/reference grammar):
//   busybox                      -> docker.io/library/busybox:latest
//   library/busybox:1.36         -> docker.io/library/busybox:1.36
//   localhost:5000/a/b@sha256:…  -> domain localhost:5000, path a/b, digest only
//   quay.io/x/y:t@sha256:…       -> both tag and digest (the digest wins when pulling)
// The first component is a domain when it contains '.' or ':' or is "localhost"; otherwise
// the domain is docker.io and a single-component path gets "library/". Path components are
// lowercase [a-z0-9]+ joined by '.', '_', '__' or '-'+; tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::image {

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // "latest" when neither tag nor digest was given
  std::string digest;  // "sha256:<64 hex>" or empty

  // Fully qualified: "docker.io/library/busybox:1.36", "host/a@sha256:…", "h/a:t@sha256:…".
  std::string String() const;
  // docker's short form: "busybox:1.36" for docker.io/library, else as String().
  std::string Familiar() const;
  // "domain/path" without tag or digest: the repository name.
  std::string Repository() const { return domain + "/" + path; }
  // The tag or digest to ask the registry for: the digest when set, else the tag.
  std::string Object() const { return digest.empty() ? tag : digest; }
};

// Parses and normalises; errors name the reference and the rule broken.
Result<Reference> ParseReference(std::string_view text);

}  // namespace berth::image
