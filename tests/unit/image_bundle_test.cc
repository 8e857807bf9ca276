// config.json from an image config: Docker's ENTRYPOINT/CMD/ENV/USER/WORKDIR rules, user
// lookup in the image's /etc/passwd and /etc/group (and only there), read back with the
// spec parser.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "image/bundle.h"
#include "spec/parse.h"
#include "spec/validate.h"
#include "test_util.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "broken line without colons\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
    "nohome:x:1001:100::\n";

constexpr const char* kGroup =
    "root:x:0:root\n"
    "bin:x:1:root,bin,daemon\n"
    "wheel:x:10:root,alice\n"
    "alice:x:1000:\n"
    "users:x:100:\n"
    "staff:x:50:bob,alice\n"
    "audio:x:63:alice\n";

class TempBundle {
 public:
  TempBundle() { fs::create_directories(path_ + "/rootfs/etc"); }
  const std::string& path() const { return path_; }
  void Write(const std::string& rel, const std::string& text) const {
    std::ofstream(path_ + "/" + rel) << text;
  }
  void WriteDb() const {
    Write("rootfs/etc/passwd", kPasswd);
    Write("rootfs/etc/group", kGroup);
  }

 private:
  testutil::TempDir dir_{"berth-bundle-test"};
  const std::string path_ = dir_.path();
};

ImageConfig NginxLike() {
  ImageConfig c;
  c.entrypoint = {"/docker-entrypoint.sh"};
  c.cmd = {"nginx", "-g", "daemon off;"};
  c.env = {"NGINX_VERSION=1.25.0", "PATH=/opt/bin:/usr/bin"};
  c.working_dir = "/srv";
  c.stop_signal = "SIGQUIT";
  return c;
}

spec::Spec Write(const TempBundle& b, const ImageConfig& c, const BundleOptions& o) {
  auto ok = WriteBundleConfig(b.path(), c, o);
  EXPECT_TRUE(ok) << ok.error().Message();
  auto s = spec::LoadSpec(b.path());
  EXPECT_TRUE(s) << s.error().Message();
  return s ? *s : spec::Spec{};
}

std::string WriteError(const TempBundle& b, const ImageConfig& c, const BundleOptions& o) {
  auto ok = WriteBundleConfig(b.path(), c, o);
  return ok ? "(written)" : ok.error().Message();
}

const std::string* FindEnv(const spec::Spec& s, const std::string& key) {
  for (const std::string& e : s.process->env)
    if (e.starts_with(key + "=")) return &e;
  return nullptr;
}

TEST(ImageBundle, ImageDefaults) {
  TempBundle b;
  b.WriteDb();
  spec::Spec s = Write(b, NginxLike(), {});
  ASSERT_TRUE(s.process);
  EXPECT_EQ(s.process->args, (Strings{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}));
  // The image sets PATH: no default PATH in front of it.
  EXPECT_EQ(s.process->env,
            (Strings{"NGINX_VERSION=1.25.0", "PATH=/opt/bin:/usr/bin", "HOME=/root"}));
  EXPECT_EQ(s.process->cwd, "/srv");
  EXPECT_FALSE(s.process->terminal);
  EXPECT_EQ(s.process->user.uid, 0u);
  EXPECT_EQ(s.process->user.gid, 0u);
  // root is listed in bin and wheel (and in root, its primary group, which is not repeated).
  EXPECT_EQ(s.process->user.additional_gids, (std::vector<uint32_t>{1, 10}));
  ASSERT_TRUE(s.root);
  EXPECT_EQ(s.root->path, "rootfs");
  EXPECT_FALSE(s.root->readonly);
  EXPECT_EQ(s.hostname, "");
  EXPECT_EQ(s.annotations.at("org.opencontainers.image.stopSignal"), "SIGQUIT");
  // The rest is `berth spec`'s default.
  EXPECT_EQ(s.oci_version, "1.2.0");
  ASSERT_TRUE(s.linux);
  EXPECT_TRUE(s.HasNamespace("mount"));
  EXPECT_TRUE(s.HasNamespace("pid"));
  EXPECT_FALSE(s.mounts.empty());
  // Docker's default capabilities, none ambient.
  ASSERT_TRUE(s.process->capabilities);
  const auto& bounding = s.process->capabilities->bounding;
  for (const char* cap : {"CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE"})
    EXPECT_NE(std::find(bounding.begin(), bounding.end(), cap), bounding.end()) << cap;
  EXPECT_EQ(std::find(bounding.begin(), bounding.end(), "CAP_SYS_ADMIN"), bounding.end());
  EXPECT_EQ(s.process->capabilities->effective, bounding);
  EXPECT_TRUE(s.process->capabilities->ambient.empty());
  // What berth will check at create time (host facts aside: the rootfs is a stub).
  auto valid = spec::Validate(s, {.bundle_dir = b.path()});
  EXPECT_TRUE(valid) << valid.error().Message();
  EXPECT_EQ(fs::status(b.path() + "/config.json").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
}

TEST(ImageBundle, OptionsOverride) {
  TempBundle b;
  b.WriteDb();
  BundleOptions o;
  o.args = {"nginx", "-T"};
  o.env = {"NGINX_VERSION=9", "EXTRA=1"};
  o.working_dir = "/tmp";
  o.hostname = "web";
  o.terminal = true;
  o.readonly_rootfs = true;
  spec::Spec s = Write(b, NginxLike(), o);
  // Arguments replace CMD, not ENTRYPOINT.
  EXPECT_EQ(s.process->args, (Strings{"/docker-entrypoint.sh", "nginx", "-T"}));
  // A key already set is replaced where it was; new keys go last.
  EXPECT_EQ(s.process->env, (Strings{"NGINX_VERSION=9", "PATH=/opt/bin:/usr/bin", "EXTRA=1",
                                     "TERM=xterm", "HOME=/root"}));
  EXPECT_EQ(s.process->cwd, "/tmp");
  EXPECT_TRUE(s.process->terminal);
  EXPECT_EQ(s.hostname, "web");
  EXPECT_TRUE(s.root->readonly);
}

TEST(ImageBundle, EntrypointOption) {
  TempBundle b;
  b.WriteDb();
  BundleOptions o;
  o.entrypoint = {"/bin/sh"};
  // --entrypoint alone drops the image's CMD.
  EXPECT_EQ(Write(b, NginxLike(), o).process->args, Strings{"/bin/sh"});
  o.args = {"-c", "echo hi"};
  EXPECT_EQ(Write(b, NginxLike(), o).process->args, (Strings{"/bin/sh", "-c", "echo hi"}));
}

TEST(ImageBundle, CmdOnlyImage) {
  TempBundle b;
  ImageConfig c;
  c.cmd = {"sh"};
  spec::Spec s = Write(b, c, {});
  EXPECT_EQ(s.process->args, Strings{"sh"});
  // No PATH in the image: the default one comes first. No passwd: HOME is "/".
  EXPECT_EQ(
      s.process->env,
      (Strings{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"}));
  EXPECT_EQ(s.process->cwd, "/");
  EXPECT_TRUE(s.process->user.additional_gids.empty());
  EXPECT_EQ(s.annotations.count("org.opencontainers.image.stopSignal"), 0u);
  // A HOME from the image or the user wins.
  BundleOptions o;
  o.env = {"HOME=/data"};
  EXPECT_EQ(*FindEnv(Write(b, c, o), "HOME"), "HOME=/data");
}

TEST(ImageBundle, NoCommandIsAnError) {
  TempBundle b;
  ImageConfig c;
  EXPECT_EQ(WriteError(b, c, {}), "bundle " + b.path() + ": image has no command: give one");
  EXPECT_FALSE(fs::exists(b.path() + "/config.json"));
  BundleOptions o;
  o.args = {"true"};
  EXPECT_EQ(Write(b, c, o).process->args, Strings{"true"});
}

TEST(ImageBundle, RelativeWorkingDirIsAnError) {
  TempBundle b;
  BundleOptions o;
  o.args = {"true"};
  o.working_dir = "srv";
  EXPECT_NE(WriteError(b, {}, o).find("working directory \"srv\" is not an absolute path"),
            std::string::npos);
}

TEST(ImageBundle, EnvMustBeKeyValue) {
  TempBundle b;
  BundleOptions o;
  o.env = {"FOO"};
  EXPECT_EQ(WriteError(b, NginxLike(), o), "bundle " + b.path() + ": env \"FOO\" is not KEY=VALUE");
  o.env = {"=x"};
  EXPECT_NE(WriteError(b, NginxLike(), o).find("env \"=x\""), std::string::npos);
  ImageConfig c = NginxLike();
  c.env.push_back("JUNK");
  EXPECT_EQ(WriteError(b, c, {}),
            "bundle " + b.path() + ": image Env entry \"JUNK\" is not KEY=VALUE");
}

TEST(ImageBundle, MissingRootfs) {
  TempBundle b;
  fs::remove_all(b.path() + "/rootfs");
  BundleOptions o;
  o.args = {"true"};
  std::string err = WriteError(b, {}, o);
  EXPECT_NE(err.find("open " + b.path() + "/rootfs"), std::string::npos) << err;
  EXPECT_NE(err.find("No such file or directory"), std::string::npos) << err;
}

struct UserCase {
  const char* user;
  uint32_t uid, gid;
  std::vector<uint32_t> extra;
  const char* home;
};

TEST(ImageBundle, UserForms) {
  TempBundle b;
  b.WriteDb();
  const UserCase cases[] = {
      {"alice", 1000, 1000, {10, 50, 63}, "/home/alice"},
      {"1000", 1000, 1000, {10, 50, 63}, "/home/alice"},
      {"alice:staff", 1000, 50, {10, 63}, "/home/alice"},
      {"alice:7", 1000, 7, {10, 50, 63}, "/home/alice"},
      {"1000:50", 1000, 50, {10, 63}, "/home/alice"},
      {"daemon", 1, 1, {}, "/usr/sbin"},  // listed in bin, its own primary group
      {"nohome", 1001, 100, {}, "/"},
      {"4242", 4242, 0, {}, "/"},  // numeric ids need no entry
      {"4242:4343", 4242, 4343, {}, "/"},
      // With another primary group, root's own group 0 becomes a supplementary one.
      {"0:users", 0, 100, {0, 1, 10}, "/root"},
      {":50", 0, 50, {0, 1, 10}, "/root"},
  };
  for (const UserCase& c : cases) {
    ImageConfig config = NginxLike();
    config.user = c.user;
    spec::Spec s = Write(b, config, {});
    EXPECT_EQ(s.process->user.uid, c.uid) << c.user;
    EXPECT_EQ(s.process->user.gid, c.gid) << c.user;
    EXPECT_EQ(s.process->user.additional_gids, c.extra) << c.user;
    EXPECT_EQ(*FindEnv(s, "HOME"), std::string("HOME=") + c.home) << c.user;
  }
  // The option overrides the image's USER.
  ImageConfig config = NginxLike();
  config.user = "alice";
  BundleOptions o;
  o.user = "daemon";
  EXPECT_EQ(Write(b, config, o).process->user.uid, 1u);
}

TEST(ImageBundle, UserErrors) {
  TempBundle b;
  b.WriteDb();
  auto err = [&](const char* user) {
    ImageConfig c = NginxLike();
    c.user = user;
    return WriteError(b, c, {});
  };
  EXPECT_EQ(
      err("bob"),
      "user \"bob\": unknown user \"bob\": not in the image's /etc/passwd; give a numeric uid");
  EXPECT_EQ(err("alice:nogroup"),
            "user \"alice:nogroup\": unknown group \"nogroup\": not in the image's /etc/group; "
            "give a numeric gid");
  EXPECT_NE(err("alice:").find("empty group"), std::string::npos);
  EXPECT_NE(err("4294967295").find("uid out of range"), std::string::npos);
  EXPECT_NE(err("99999999999").find("uid out of range"), std::string::npos);
  EXPECT_NE(err("0:4294967296").find("gid out of range"), std::string::npos);

  fs::remove(b.path() + "/rootfs/etc/passwd");
  EXPECT_NE(err("alice").find("(the image has none)"), std::string::npos) << err("alice");
}

// An image whose /etc/passwd is a symlink to an absolute path must be read inside its
// rootfs, never from the host: here the host-side target names a user the image lacks.
void CheckSymlinkStaysInside() {
  TempBundle b;
  b.Write("outside-passwd", "evil:x:666:666::/:/bin/sh\n");
  fs::create_symlink(b.path() + "/outside-passwd", b.path() + "/rootfs/etc/passwd");
  fs::create_symlink("../../../../../../../../" + b.path() + "/outside-passwd",
                     b.path() + "/rootfs/etc/group");
  ImageConfig c = NginxLike();
  c.user = "evil";
  std::string error = WriteError(b, c, {});
  EXPECT_NE(error.find("unknown user \"evil\""), std::string::npos) << error;
  // The same link inside the rootfs is followed there.
  fs::create_directories(b.path() + "/rootfs" + b.path());
  b.Write("rootfs" + b.path() + "/outside-passwd", "inside:x:77:77::/in:/bin/sh\n");
  c.user = "inside";
  spec::Spec s = Write(b, c, {});
  EXPECT_EQ(s.process->user.uid, 77u);
}

TEST(ImageBundle, PasswdSymlinkCannotEscapeRootfs) {
  CheckSymlinkStaysInside();
  // Again through the userspace walk used on kernels without openat2.
  ::setenv("BERTH_DISABLE_OPENAT2", "1", 1);
  CheckSymlinkStaysInside();
  ::unsetenv("BERTH_DISABLE_OPENAT2");
}

TEST(ImageBundle, PasswdMustBeARegularFile) {
  TempBundle b;
  b.WriteDb();
  // A FIFO would block the read forever.
  fs::remove(b.path() + "/rootfs/etc/group");
  ASSERT_EQ(::mkfifo((b.path() + "/rootfs/etc/group").c_str(), 0644), 0);
  ImageConfig c = NginxLike();
  std::string error = WriteError(b, c, {});
  EXPECT_EQ(error, "read " + b.path() + "/rootfs/etc/group: not a regular file");
}

}  // namespace
}  // namespace berth::image
