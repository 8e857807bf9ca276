// A container's user from an image's point of view: Docker's USER syntax ("uid", "uid:gid",
// "name", "name:group") resolved through the rootfs's own /etc/passwd and /etc/group (read
// inside the rootfs, never the host's). Shared by config.json for `berthctl run`
// (bundle.cc) and for CRI containers (daemon/container_spec.cc).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "spec/spec.h"

namespace berth::image {

struct ImageUser {
  // uid, primary gid, and additional_gids: the groups of /etc/group that list the user by
  // name (as initgroups(3) would), without the primary gid.
  spec::User user;
  std::string home;  // the passwd entry's home, "/" without one
};

// A numeric uid need not exist in /etc/passwd; a name must. A name that does not resolve
// is kInvalidArgument naming it; a rootfs or file that cannot be read has the errno's kind.
Result<ImageUser> ResolveImageUser(const std::string& rootfs, std::string_view text);

}  // namespace berth::image
