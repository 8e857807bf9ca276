// Mount option names (runtime-spec config.md "Mounts", mount(8)) to mount(2) flags.
#include <sys/mount.h>

#include <cstring>

#include "runtime/rootfs_internal.h"

namespace berth::runtime::rootfs_internal {
namespace {

struct FlagOption {
  const char* name;
  bool clear;  // "rw", "suid" ...: clear the flag instead of setting it
  unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
};

struct PropagationOption {
  const char* name;
  unsigned long flag;
};

constexpr PropagationOption kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Recursive attributes (runtime-spec 1.1+): applied with mount_setattr(AT_RECURSIVE), which
// unlike a bind remount also reaches submounts of an rbind.
struct RecursiveOption {
  const char* name;
  uint64_t set, clr;
};

constexpr RecursiveOption kRecursive[] = {
    {"rro", MOUNT_ATTR_RDONLY, 0},
    {"rrw", 0, MOUNT_ATTR_RDONLY},
    {"rnosuid", MOUNT_ATTR_NOSUID, 0},
    {"rsuid", 0, MOUNT_ATTR_NOSUID},
    {"rnodev", MOUNT_ATTR_NODEV, 0},
    {"rdev", 0, MOUNT_ATTR_NODEV},
    {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
    {"rexec", 0, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
    {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
    {"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
    // The atime mode is one field: clearing MOUNT_ATTR__ATIME and setting the new mode.
    {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
};

}  // namespace

unsigned long PropagationFlag(const std::string& name) {
  for (const auto& p : kPropagation)
    if (name == p.name) return p.flag;
  return 0;
}

MountOptions ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions mo;
  for (const std::string& o : options) {
    bool known = false;
    for (const auto& f : kFlagOptions) {
      if (o != f.name) continue;
      if (f.clear)
        mo.flags &= ~f.flag;
      else
        mo.flags |= f.flag;
      known = true;
      break;
    }
    if (known) continue;
    if (unsigned long p = PropagationFlag(o)) {
      mo.propagation.push_back(p);
      continue;
    }
    for (const auto& r : kRecursive) {
      if (o != r.name) continue;
      mo.rec_attr_clr |= r.clr;
      mo.rec_attr_set = (mo.rec_attr_set & ~r.clr) | r.set;
      if (r.clr != MOUNT_ATTR__ATIME) mo.rec_attr_clr &= ~r.set;  // a later "rro" undoes "rrw"
      known = true;
      break;
    }
    if (known) continue;
    if (o == "tmpcopyup") {
      mo.tmpcopyup = true;
    } else if (o == "idmap" || o == "ridmap") {
      mo.idmap = true;
    } else if (o == "defaults" || o.empty()) {
      // fstab's placeholder for "no options"; the kernel would reject it as data.
    } else {
      if (!mo.data.empty()) mo.data += ',';
      mo.data += o;
    }
  }
  return mo;
}

}  // namespace berth::runtime::rootfs_internal
