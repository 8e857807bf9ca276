// Performing the mounts a Snapshotter describes.
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <string>
#include <vector>

#include "image/snapshot.h"
#include "sys/mounts.h"

namespace berth::image {

namespace {

// mount(2) copies one page of data; a longer string would be cut, not refused.
constexpr size_t kPageData = 4095;

struct MountArgs {
  unsigned long flags = 0;  // MS_* from the flag options
  bool bind = false;
  bool ro = false;
  std::string data;  // everything else, for the filesystem
};

// Options that are mount flags rather than filesystem data.
struct FlagOption {
  const char* name;
  unsigned long flag;
};
constexpr FlagOption kFlagOptions[] = {
    {"nosuid", MS_NOSUID},   {"nodev", MS_NODEV},       {"noexec", MS_NOEXEC},
    {"noatime", MS_NOATIME}, {"relatime", MS_RELATIME}, {"rbind", MS_REC},
};

MountArgs Parse(const Mount& m) {
  MountArgs a;
  a.bind = m.type == "bind";
  for (const auto& o : m.options) {
    if (o == "ro" || o == "rw") {
      a.ro = o == "ro";
      continue;
    }
    if (o == "bind" || o == "rbind") a.bind = true;
    auto flag = std::find_if(std::begin(kFlagOptions), std::end(kFlagOptions),
                             [&](const FlagOption& f) { return o == f.name; });
    if (flag != std::end(kFlagOptions))
      a.flags |= flag->flag;
    else if (o != "bind")
      a.data += (a.data.empty() ? "" : ",") + o;
  }
  return a;
}

Result<void> MountOne(const Mount& m, const std::string& target, size_t index) {
  MountArgs a = Parse(m);
  std::string what =
      m.type + " " + m.source + " on " + target + " (mounts[" + std::to_string(index) + "])";
  if (a.data.size() > kPageData)
    return InvalidArgument("mount", what, std::to_string(a.data.size()) + " bytes of options exceed one page");
  if (!a.bind) {
    return sys::Mount(m.source, target, m.type, a.flags | (a.ro ? MS_RDONLY : 0), a.data, what);
  }
  if (!a.data.empty()) return InvalidArgument("mount", what, "unknown bind option(s) \"" + a.data + "\"");
  BERTH_TRYV(sys::Mount(m.source, target, "", MS_BIND | (a.flags & MS_REC), "", what));
  unsigned long extra = a.flags & ~static_cast<unsigned long>(MS_REC);
  if (!a.ro && extra == 0) return {};
  // A bind ignores MS_RDONLY and friends; they take a remount of the new mount. Flags the
  // kernel locked (mounts inherited into a user namespace) must be kept or it says EPERM.
  auto st = sys::Statfs(target);
  unsigned long locked = st ? sys::LockedMountFlags(*st) : 0;
  auto r =
      sys::Mount("", target, "", MS_BIND | MS_REMOUNT | extra | locked | (a.ro ? MS_RDONLY : 0), "",
                 what + " remount");
  if (!r) (void)sys::Umount2(target, MNT_DETACH);
  return r;
}

}  // namespace

Result<void> MountAll(const std::vector<Mount>& mounts, const std::string& target) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    auto r = MountOne(mounts[i], target, i);
    if (!r) {
      // Leave target as we found it.
      for (size_t j = 0; j < i; ++j) (void)sys::Umount2(target, MNT_DETACH);
      return r;
    }
  }
  return {};
}

Result<void> UnmountAll(const std::string& target) {
  // Stacked mounts come off one per call; EINVAL means nothing is mounted there any more.
  for (int i = 0; i < 64; ++i) {
    auto r = sys::Umount2(target, MNT_DETACH);
    if (r) continue;
    if (r.error().code == EINVAL || r.error().code == ENOENT) return {};
    return r;
  }
  return Internal("unmount", target, "still mounted after 64 unmounts");
}

}  // namespace berth::image
