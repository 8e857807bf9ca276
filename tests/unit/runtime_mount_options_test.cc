// Pure pieces of rootfs setup and create (no privileges): mount option names to mount(2)
// flags, propagation and mount_setattr(2) attributes, the default devices, and the device
// cgroup rules create adds so that the container can use the nodes berth makes.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <optional>
#include <string>
#include <vector>

#include "runtime/create_internal.h"
#include "runtime/rootfs_internal.h"

namespace berth::runtime {
namespace {

using rootfs_internal::MountOptions;
using rootfs_internal::ParseMountOptions;
using rootfs_internal::PropagationFlag;

TEST(RuntimeMountOptions, FlagsSetAndClearInOrder) {
  auto mo = ParseMountOptions({"ro", "nosuid", "nodev", "noexec", "sync", "dirsync", "noatime",
                               "nodiratime", "nosymfollow"});
  EXPECT_EQ(mo.flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                                 MS_SYNCHRONOUS | MS_DIRSYNC | MS_NOATIME |
                                                 MS_NODIRATIME | MS_NOSYMFOLLOW));
  EXPECT_TRUE(mo.data.empty());
  // A later opposite clears: the last word wins, as in mount(8).
  EXPECT_EQ(ParseMountOptions({"ro", "rw"}).flags, 0ul);
  EXPECT_EQ(ParseMountOptions({"rw", "ro"}).flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(ParseMountOptions({"nosuid", "suid", "nodev", "dev", "noexec", "exec"}).flags, 0ul);
  EXPECT_EQ(ParseMountOptions({"sync", "async"}).flags, 0ul);
  EXPECT_EQ(ParseMountOptions({"noatime", "atime", "strictatime"}).flags,
            static_cast<unsigned long>(MS_STRICTATIME));
  EXPECT_EQ(ParseMountOptions({"relatime", "norelatime"}).flags, 0ul);
  EXPECT_EQ(ParseMountOptions({"bind"}).flags, static_cast<unsigned long>(MS_BIND));
  EXPECT_EQ(ParseMountOptions({"rbind"}).flags, static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_EQ(ParseMountOptions({"remount", "mand"}).flags,
            static_cast<unsigned long>(MS_REMOUNT | MS_MANDLOCK));
}

TEST(RuntimeMountOptions, UnknownOptionsAreFilesystemData) {
  auto mo = ParseMountOptions({"nosuid", "mode=755", "defaults", "", "size=65536k", "uid=5"});
  EXPECT_EQ(mo.flags, static_cast<unsigned long>(MS_NOSUID));
  // fstab's "defaults" and empty entries are no options at all.
  EXPECT_EQ(mo.data, "mode=755,size=65536k,uid=5");
  EXPECT_FALSE(mo.tmpcopyup);
  EXPECT_FALSE(mo.idmap);
  EXPECT_TRUE(mo.propagation.empty());
  EXPECT_EQ(ParseMountOptions({"tmpcopyup"}).tmpcopyup, true);
  EXPECT_EQ(ParseMountOptions({"tmpcopyup"}).data, "");
  EXPECT_TRUE(ParseMountOptions({"idmap"}).idmap);
  EXPECT_TRUE(ParseMountOptions({"ridmap"}).idmap);
  EXPECT_EQ(ParseMountOptions({}).flags, 0ul);
}

TEST(RuntimeMountOptions, PropagationIsAppliedInTheGivenOrder) {
  struct {
    const char* name;
    unsigned long flag;
  } cases[] = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  for (const auto& c : cases) EXPECT_EQ(PropagationFlag(c.name), c.flag) << c.name;
  for (const char* not_propagation : {"", "rbind", "bind", "ro", "Shared", "rshared "})
    EXPECT_EQ(PropagationFlag(not_propagation), 0ul) << not_propagation;

  auto mo = ParseMountOptions({"rbind", "rshared", "ro", "private"});
  EXPECT_EQ(mo.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_EQ(mo.propagation, (std::vector<unsigned long>{MS_SHARED | MS_REC, MS_PRIVATE}));
  EXPECT_TRUE(mo.data.empty());  // propagation never reaches the filesystem's data
}

TEST(RuntimeMountOptions, RecursiveAttributes) {
  auto mo = ParseMountOptions({"rro", "rnosuid", "rnodev", "rnoexec"});
  EXPECT_EQ(mo.rec_attr_set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                                   MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  EXPECT_EQ(mo.rec_attr_clr, 0u);
  EXPECT_EQ(mo.flags, 0ul);  // not bind-remount flags: they do not reach submounts

  // The last of two opposites wins, and leaves no trace of the other.
  auto rw = ParseMountOptions({"rro", "rrw"});
  EXPECT_EQ(rw.rec_attr_set, 0u);
  EXPECT_EQ(rw.rec_attr_clr, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
  auto ro = ParseMountOptions({"rrw", "rro"});
  EXPECT_EQ(ro.rec_attr_set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
  EXPECT_EQ(ro.rec_attr_clr, 0u);
  auto sym = ParseMountOptions({"rnosymfollow", "rsymfollow", "rdev"});
  EXPECT_EQ(sym.rec_attr_set, 0u);
  EXPECT_EQ(sym.rec_attr_clr, static_cast<uint64_t>(MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_NODEV));

  // The atime mode is one field: each choice clears the field and sets its value.
  auto noatime = ParseMountOptions({"rnoatime"});
  EXPECT_EQ(noatime.rec_attr_set, static_cast<uint64_t>(MOUNT_ATTR_NOATIME));
  EXPECT_EQ(noatime.rec_attr_clr, static_cast<uint64_t>(MOUNT_ATTR__ATIME));
  auto strict = ParseMountOptions({"rnoatime", "rstrictatime"});
  EXPECT_EQ(strict.rec_attr_set, static_cast<uint64_t>(MOUNT_ATTR_STRICTATIME));
  EXPECT_EQ(strict.rec_attr_clr, static_cast<uint64_t>(MOUNT_ATTR__ATIME));
  auto rel = ParseMountOptions({"rstrictatime", "rrelatime"});
  EXPECT_EQ(rel.rec_attr_set, static_cast<uint64_t>(MOUNT_ATTR_RELATIME));
  EXPECT_EQ(rel.rec_attr_clr, static_cast<uint64_t>(MOUNT_ATTR__ATIME));
  // Recursive names are not filesystem data.
  EXPECT_TRUE(ParseMountOptions({"rro", "rnoatime"}).data.empty());
}

// ----------------------------------------------------------------------- default devices

TEST(RuntimeDevices, DefaultDevicesAreTheSpecsList) {
  // config-linux.md "Default Devices" (ptmx is a symlink into the devpts instance).
  std::vector<std::string> got;
  for (const auto& d : rootfs_internal::DefaultDevices())
    got.push_back(std::string(d.path) + " " + std::to_string(d.major) + ":" +
                  std::to_string(d.minor));
  EXPECT_EQ(got, (std::vector<std::string>{"/dev/null 1:3", "/dev/zero 1:5", "/dev/full 1:7",
                                           "/dev/random 1:8", "/dev/urandom 1:9",
                                           "/dev/tty 5:0"}));
}

spec::Mount M(std::string dest, std::string type, std::vector<std::string> options) {
  spec::Mount m;
  m.destination = std::move(dest);
  m.type = std::move(type);
  m.source = "/dev";
  m.options = std::move(options);
  return m;
}

TEST(RuntimeDevices, HostDevBindCreatesNoNodes) {
  spec::Spec s;
  EXPECT_FALSE(rootfs_internal::DevIsHostBind(s));
  s.mounts = {M("/dev", "tmpfs", {"nosuid", "mode=755"}), M("/dev/shm", "bind", {"rbind"})};
  EXPECT_FALSE(rootfs_internal::DevIsHostBind(s));
  for (const auto& dev : {M("/dev", "bind", {}), M("/dev", "none", {"rbind", "ro"}),
                          M("/dev/", "none", {"bind"}), M("//dev/.", "", {"rbind"})}) {
    s.mounts = {dev};
    EXPECT_TRUE(rootfs_internal::DevIsHostBind(s)) << dev.destination << " " << dev.type;
  }
}

// --------------------------------------------------------------- device cgroup defaults

using create_internal::WithDeviceDefaults;

spec::LinuxDeviceCgroup Rule(bool allow, std::string type, std::optional<int64_t> major,
                             std::optional<int64_t> minor, std::string access) {
  return {allow, std::move(type), major, minor, std::move(access)};
}

// The device cgroup's verdict for one access ('r', 'w' or 'm') to a device: the last
// matching rule decides; nothing matching is a deny (the spec's list starts with a deny-all).
bool Allowed(const std::vector<spec::LinuxDeviceCgroup>& rules, char type, int64_t major,
             int64_t minor, char access) {
  bool allowed = false;
  for (const auto& r : rules) {
    if (!r.type.empty() && r.type != "a" && r.type[0] != type) continue;
    if (r.major && *r.major != major) continue;
    if (r.minor && *r.minor != minor) continue;
    if (!r.access.empty() && r.access.find(access) == std::string::npos) continue;
    allowed = r.allow;
  }
  return allowed;
}

TEST(RuntimeDevices, DefaultDevicesAreUsableWhateverTheRules) {
  spec::LinuxResources res;
  res.devices = {Rule(false, "a", std::nullopt, std::nullopt, "rwm")};
  auto out = WithDeviceDefaults(res, {});
  ASSERT_GE(out.devices.size(), 1u);
  EXPECT_EQ(out.devices[0], res.devices[0]);  // the spec's rules first, unchanged
  for (const auto& d : rootfs_internal::DefaultDevices())
    for (char a : {'r', 'w', 'm'})
      EXPECT_TRUE(Allowed(out.devices, 'c', d.major, d.minor, a)) << d.path << " " << a;
  for (char a : {'r', 'w'}) {
    EXPECT_TRUE(Allowed(out.devices, 'c', 5, 2, a)) << "/dev/ptmx";
    EXPECT_TRUE(Allowed(out.devices, 'c', 136, 7, a)) << "/dev/pts/7";
    // Nothing else became usable.
    EXPECT_FALSE(Allowed(out.devices, 'c', 10, 229, a)) << "/dev/fuse";
    EXPECT_FALSE(Allowed(out.devices, 'b', 8, 0, a)) << "/dev/sda";
  }
  // Creating nodes is harmless; using them is what the rules guard.
  EXPECT_TRUE(Allowed(out.devices, 'c', 10, 229, 'm'));
  EXPECT_TRUE(Allowed(out.devices, 'b', 8, 0, 'm'));
  // The input was taken by value.
  EXPECT_EQ(res.devices.size(), 1u);
}

TEST(RuntimeDevices, LinuxDevicesAreAllowedFifosNeedNoRule) {
  spec::LinuxResources res;
  res.devices = {Rule(false, "", std::nullopt, std::nullopt, "")};
  spec::LinuxDevice fuse{"/dev/fuse", "c", 10, 229, 0600, 0, 0};
  spec::LinuxDevice disk{"/dev/xvda", "b", 202, 0, std::nullopt, std::nullopt, std::nullopt};
  spec::LinuxDevice unbuffered{"/dev/u", "u", 4, 64, std::nullopt, std::nullopt, std::nullopt};
  spec::LinuxDevice fifo{"/dev/p", "p", 0, 0, std::nullopt, std::nullopt, std::nullopt};
  const size_t without = WithDeviceDefaults(res, {}).devices.size();
  auto out = WithDeviceDefaults(res, {fuse, disk, unbuffered, fifo});
  EXPECT_EQ(out.devices.size(), without + 3);  // no rule for the fifo
  for (char a : {'r', 'w', 'm'}) {
    EXPECT_TRUE(Allowed(out.devices, 'c', 10, 229, a));
    EXPECT_TRUE(Allowed(out.devices, 'b', 202, 0, a));
    EXPECT_TRUE(Allowed(out.devices, 'c', 4, 64, a));  // "u" is a char device to the cgroup
  }
  EXPECT_FALSE(Allowed(out.devices, 'b', 202, 1, 'r'));  // only the device itself
  for (const auto& r : out.devices) EXPECT_NE(r.type, "u");
}

TEST(RuntimeDevices, ExactDeniesStillWin) {
  spec::LinuxResources res;
  res.devices = {
      Rule(false, "a", std::nullopt, std::nullopt, "rwm"),
      Rule(false, "c", 1, 7, "rwm"),            // /dev/full: kept as a node, unusable
      Rule(false, "c", 1, 9, "w"),              // /dev/urandom: read only
      Rule(false, "c", 5, std::nullopt, "rw"),  // not one exact device: the defaults win
      Rule(false, "c", 1, 5, "m"),              // only mknod: nothing to repeat
      Rule(true, "c", 1, 3, "r"),               // an allow is not repeated
  };
  auto out = WithDeviceDefaults(res, {});
  EXPECT_FALSE(Allowed(out.devices, 'c', 1, 7, 'r'));
  EXPECT_FALSE(Allowed(out.devices, 'c', 1, 7, 'w'));
  EXPECT_TRUE(Allowed(out.devices, 'c', 1, 7, 'm'));  // the init creates the node in the cgroup
  EXPECT_TRUE(Allowed(out.devices, 'c', 1, 9, 'r'));
  EXPECT_FALSE(Allowed(out.devices, 'c', 1, 9, 'w'));
  EXPECT_TRUE(Allowed(out.devices, 'c', 5, 0, 'w'));
  EXPECT_TRUE(Allowed(out.devices, 'c', 1, 5, 'w'));
  // Exactly two denies were repeated, after every allow, without their "m".
  std::vector<spec::LinuxDeviceCgroup> tail(out.devices.end() - 2, out.devices.end());
  EXPECT_EQ(tail[0], Rule(false, "c", 1, 7, "rw"));
  EXPECT_EQ(tail[1], Rule(false, "c", 1, 9, "w"));
  EXPECT_TRUE((out.devices.end() - 3)->allow);
}

}  // namespace
}  // namespace berth::runtime
