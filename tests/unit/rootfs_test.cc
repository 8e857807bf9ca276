// Rootfs setup: path resolution inside a root (no privileges needed), and whole container
// filesystems built from busybox in forked children with new mount/pid namespaces (tests
// named *Root need root; they skip otherwise). Each container child checks its view with
// direct syscalls and reports through a pipe; its mount namespace dies with it, and every
// test compares the host's mount table before and after.
#include "runtime/rootfs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sys/mounts.h"
#include "sys/path.h"
#include "test_util.h"

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Helpers

int MountinfoLines() {
  std::ifstream in("/proc/self/mountinfo");
  int n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

using testutil::TempDir;

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// <dir>/rootfs with busybox and a few applet links, plus empty /etc and /tmp.
std::string MakeBusyboxRootfs(const TempDir& dir) {
  std::string root = dir.path() + "/rootfs";
  fs::create_directories(root + "/bin");
  fs::create_directories(root + "/etc");
  fs::create_directories(root + "/tmp");
  fs::copy_file("/bin/busybox", root + "/bin/busybox");
  for (const char* applet : {"sh", "ls", "cat", "stat", "mount", "test", "echo", "true"})
    fs::create_symlink("busybox", root + "/bin/" + applet);
  return root;
}

spec::Mount M(std::string dest, std::string type, std::string source,
              std::vector<std::string> options = {}) {
  spec::Mount m;
  m.destination = std::move(dest);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  return m;
}

spec::Spec BaseSpec(const std::string& rootfs) {
  spec::Spec s;
  s.root = spec::Root{rootfs, false};
  s.linux.emplace();
  for (const char* ns : {"pid", "mount", "network", "ipc"}) s.linux->namespaces.push_back({ns, ""});
  return s;
}

// Accumulates failed checks inside the container child.
struct Checker {
  std::string failures;
  void Fail(const std::string& what) { failures += what + "\n"; }
  void Expect(bool ok, const std::string& what) {
    if (!ok) Fail(what);
  }
  void ExpectErrno(int rc, int want, const std::string& what) {
    if (rc >= 0)
      Fail(what + ": succeeded, expected " + strerror(want));
    else if (errno != want)
      Fail(what + ": " + strerror(errno) + ", expected " + strerror(want));
  }
  void ExpectFs(const char* path, long magic) {
    struct statfs st;
    if (statfs(path, &st) != 0)
      Fail(std::string("statfs ") + path + ": " + strerror(errno));
    else if (static_cast<long>(st.f_type) != magic)
      Fail(std::string(path) + ": wrong filesystem magic " + std::to_string(st.f_type));
  }
  void ExpectMode(const char* path, mode_t type, mode_t perm) {
    struct stat st;
    if (lstat(path, &st) != 0) return Fail(std::string("stat ") + path + ": " + strerror(errno));
    Expect((st.st_mode & S_IFMT) == type, std::string(path) + ": wrong file type");
    Expect((st.st_mode & 07777) == perm, std::string(path) + ": mode " +
                                             std::to_string(st.st_mode & 07777) +
                                             " != " + std::to_string(perm));
  }
  void ExpectCharDev(const char* path, unsigned maj, unsigned min) {
    struct stat st;
    if (stat(path, &st) != 0) return Fail(std::string("stat ") + path + ": " + strerror(errno));
    Expect(
        S_ISCHR(st.st_mode) && major(st.st_rdev) == maj && minor(st.st_rdev) == min,
        std::string(path) + ": not char device " + std::to_string(maj) + ":" + std::to_string(min));
  }
  void ExpectLink(const char* path, const std::string& target) {
    char buf[256];
    ssize_t n = readlink(path, buf, sizeof(buf));
    Expect(n >= 0 && std::string(buf, n) == target, std::string(path) + " is not -> " + target);
  }
  void ExpectReadOnly(const char* path) {
    struct statvfs st;
    Expect(statvfs(path, &st) == 0 && (st.f_flag & ST_RDONLY),
           std::string(path) + " not read-only");
  }
};

struct ContainerResult {
  int status = -1;
  std::string out;
};

// Runs `fn` as pid 1 of new namespaces (CLONE_NEWNS|CLONE_NEWPID|extra): fork, unshare, fork
// again (a new pid namespace takes effect for children). `user_ns` maps root to root in a new
// user namespace first. fn returns the failures ("" = pass), sent back through a pipe.
ContainerResult RunContainer(int extra_flags, bool user_ns, const std::function<std::string()>& fn,
                             const std::function<void(pid_t)>& before_unshare = nullptr) {
  int out[2], go[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(go, O_CLOEXEC) != 0) return {-1, "pipe failed"};
  pid_t pid = fork();
  if (pid == 0) {
    close(out[0]);
    close(go[1]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(90);  // the parent's before_unshare is done
    auto say = [&](const std::string& s) { (void)!write(out[1], s.data(), s.size()); };
    int flags = CLONE_NEWNS | CLONE_NEWPID | extra_flags | (user_ns ? CLONE_NEWUSER : 0);
    if (unshare(flags) != 0) {
      say(std::string("unshare: ") + strerror(errno));
      _exit(91);
    }
    if (user_ns) {
      // One line mapping our own ids is what a process may write for itself.
      WriteFile("/proc/self/setgroups", "deny");
      WriteFile("/proc/self/uid_map", "0 0 1");
      WriteFile("/proc/self/gid_map", "0 0 1");
    }
    pid_t inner = fork();
    if (inner == 0) {
      std::string failures;
      try {
        failures = fn();
      } catch (const std::exception& e) {
        failures = std::string("exception: ") + e.what();
      }
      say(failures);
      _exit(failures.empty() ? 0 : 1);
    }
    close(out[1]);
    int st = 0;
    if (inner < 0 || waitpid(inner, &st, 0) != inner) _exit(92);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 93);
  }
  close(out[1]);
  close(go[0]);
  if (before_unshare) before_unshare(pid);
  (void)!write(go[1], "x", 1);
  close(go[1]);
  ContainerResult r;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) r.out.append(buf, n);
  close(out[0]);
  waitpid(pid, &r.status, 0);
  return r;
}

// Prepare, enter and finalize; the error message on failure.
std::string SetUpRootfs(const spec::Spec& s, const RootfsOptions& o) {
  if (auto r = PrepareRootfs(s, o); !r) return "PrepareRootfs: " + r.error().Message();
  if (auto r = EnterRootfs(o); !r) return "EnterRootfs: " + r.error().Message();
  if (auto r = FinalizeRootfs(s, o); !r) return "FinalizeRootfs: " + r.error().Message();
  return "";
}

// Runs `/bin/sh -c script` in the container and returns its exit code.
int RunShell(const char* script) {
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/sh", "sh", "-c", script, nullptr);
    _exit(127);
  }
  int st = 0;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// ---------------------------------------------------------------------------------------
// Path resolution (no root needed), with openat2 and with the userspace fallback.

class ResolveTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (const char* old = getenv("BERTH_DISABLE_OPENAT2")) saved_env_ = old;
    if (GetParam())
      setenv("BERTH_DISABLE_OPENAT2", "1", 1);
    else
      unsetenv("BERTH_DISABLE_OPENAT2");
    root_ = dir_.path() + "/root";
    fs::create_directories(root_ + "/etc");
    fs::create_directories(root_ + "/d");
    WriteFile(root_ + "/etc/passwd", "inside");
    fs::create_symlink("/etc", root_ + "/abs");
    fs::create_symlink("../../../../../../etc", root_ + "/up");
    fs::create_symlink("../../etc", root_ + "/d/rel");
    fs::create_symlink("loop", root_ + "/loop");
    unique_ = "berth-resolve-" + std::to_string(getpid());
    fs::create_symlink("/etc/" + unique_ + "/sub", root_ + "/dangling");
    root_fd_.Reset(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override {
    if (saved_env_)
      setenv("BERTH_DISABLE_OPENAT2", saved_env_->c_str(), 1);
    else
      unsetenv("BERTH_DISABLE_OPENAT2");
  }

  std::string Real(const UniqueFd& fd) { return sys::FdRealPath(fd.Get()).value_or("?"); }

  TempDir dir_;
  std::string root_, unique_;
  UniqueFd root_fd_;
  std::optional<std::string> saved_env_;
};

TEST_P(ResolveTest, SymlinksStayInsideRoot) {
  EXPECT_EQ(sys::Openat2Enabled(), !GetParam());
  for (const char* p : {"/etc/passwd", "abs/passwd", "/up/passwd", "d/rel/passwd",
                        "/../../etc/passwd", "d/../../abs/./passwd"}) {
    auto fd = sys::OpenInRoot(root_fd_.Get(), p);
    ASSERT_TRUE(fd) << p << ": " << fd.error().Message();
    EXPECT_EQ(Real(*fd), root_ + "/etc/passwd") << p;
  }
  auto loop = sys::OpenInRoot(root_fd_.Get(), "/loop/x");
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().code, ELOOP);
  auto missing = sys::OpenInRoot(root_fd_.Get(), "/abs/nonexistent");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
}

TEST_P(ResolveTest, CreationFollowsSymlinksInsideRoot) {
  auto dir = sys::MkdirAllInRoot(root_fd_.Get(), "/abs/" + unique_ + "/a/b", 0755);
  ASSERT_TRUE(dir) << dir.error().Message();
  EXPECT_EQ(Real(*dir), root_ + "/etc/" + unique_ + "/a/b");
  EXPECT_FALSE(fs::exists("/etc/" + unique_));

  // A dangling symlink to "/etc/<unique>/sub" creates <root>/etc/<unique>/sub, never /etc/...
  auto file = sys::CreateFileInRoot(root_fd_.Get(), "/dangling", 0600);
  ASSERT_TRUE(file) << file.error().Message();
  EXPECT_EQ(Real(*file), root_ + "/etc/" + unique_ + "/sub");
  EXPECT_TRUE(fs::is_regular_file(root_ + "/etc/" + unique_ + "/sub"));
  EXPECT_FALSE(fs::exists("/etc/" + unique_));

  auto up = sys::MkdirAllInRoot(root_fd_.Get(), "/up/" + unique_ + "-up", 0755);
  ASSERT_TRUE(up) << up.error().Message();
  EXPECT_EQ(Real(*up), root_ + "/etc/" + unique_ + "-up");

  auto not_dir = sys::MkdirAllInRoot(root_fd_.Get(), "/etc/passwd/x", 0755);
  ASSERT_FALSE(not_dir);
  EXPECT_EQ(not_dir.error().code, ENOTDIR);
  EXPECT_TRUE(sys::CheckInside(up->Get(), root_, "up"));
  EXPECT_FALSE(sys::CheckInside(up->Get(), root_ + "/d", "up"));
}

INSTANTIATE_TEST_SUITE_P(Openat2AndFallback, ResolveTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Fallback" : "Openat2"; });

TEST(CleanPathTest, Lexical) {
  EXPECT_EQ(sys::CleanPath(""), "/");
  EXPECT_EQ(sys::CleanPath("a/./b//c/"), "/a/b/c");
  EXPECT_EQ(sys::CleanPath("/../../x/../y"), "/y");
  EXPECT_EQ(sys::SplitPath("/a/b"), std::make_pair(std::string("/a"), std::string("b")));
  EXPECT_EQ(sys::SplitPath("/a"), std::make_pair(std::string("/"), std::string("a")));
}

// ---------------------------------------------------------------------------------------
// Whole containers (root).

class RootfsContainerTest : public ::testing::Test {
 protected:
  void SetUp() override { mounts_before_ = MountinfoLines(); }
  void TearDown() override { EXPECT_EQ(MountinfoLines(), mounts_before_) << "host mounts changed"; }
  int mounts_before_ = 0;
};

void RunFullContainer(bool no_pivot) {
  TempDir dir;
  std::string rootfs = MakeBusyboxRootfs(dir);
  fs::create_directories(dir.path() + "/data");
  WriteFile(dir.path() + "/data/hello", "hi");
  WriteFile(dir.path() + "/hostfile", "from host");

  spec::Spec s = BaseSpec(rootfs);
  s.root->readonly = true;
  s.mounts = {
      M("/proc", "proc", "proc"),
      M("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      M("/dev/pts", "devpts", "devpts",
        {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      M("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      M("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      M("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      M("/tmp", "tmpfs", "tmpfs", {"mode=1700", "size=1m", "rprivate"}),
      M("/data", "bind", dir.path() + "/data", {"rbind", "ro", "nosuid"}),
      M("/etc/hostfile", "none", dir.path() + "/hostfile", {"bind", "ro"}),
  };
  spec::LinuxDevice fuse;
  fuse.path = "/dev/fuse";
  fuse.type = "c";
  fuse.major = 10;
  fuse.minor = 229;
  fuse.file_mode = 0600;
  fuse.uid = 1;
  fuse.gid = 2;
  spec::LinuxDevice fifo;
  fifo.path = "/dev/myfifo";
  fifo.type = "p";
  s.linux->devices = {fuse, fifo};
  s.linux->masked_paths = {"/proc/timer_list", "/proc/acpi", "/proc/does-not-exist",
                           "/sys/firmware"};
  // sysrq-trigger is missing on some kernels (this one): missing paths are ignored.
  s.linux->readonly_paths = {"/proc/sys", "/proc/sysrq-trigger", "/proc/does-not-exist"};
  const bool have_sysrq = access("/proc/sysrq-trigger", F_OK) == 0;
  s.linux->rootfs_propagation = "rslave";
  RootfsOptions o{rootfs, no_pivot, false, false};

  auto r = RunContainer(CLONE_NEWNET | CLONE_NEWIPC, false, [&]() -> std::string {
    if (std::string e = SetUpRootfs(s, o); !e.empty()) return e;
    Checker c;
    c.Expect(getpid() == 1, "not pid 1");
    c.ExpectFs("/proc", sys::kProcSuperMagic);
    c.Expect(access("/proc/1/status", F_OK) == 0, "/proc does not show our pid namespace");
    c.ExpectFs("/dev", sys::kTmpfsMagic);
    c.ExpectMode("/dev", S_IFDIR, 0755);
    c.ExpectCharDev("/dev/null", 1, 3);
    c.ExpectMode("/dev/null", S_IFCHR, 0666);
    c.ExpectCharDev("/dev/zero", 1, 5);
    c.ExpectCharDev("/dev/full", 1, 7);
    c.ExpectCharDev("/dev/random", 1, 8);
    c.ExpectCharDev("/dev/urandom", 1, 9);
    c.ExpectCharDev("/dev/tty", 5, 0);
    c.ExpectCharDev("/dev/fuse", 10, 229);
    c.ExpectMode("/dev/fuse", S_IFCHR, 0600);
    struct stat st;
    c.Expect(stat("/dev/fuse", &st) == 0 && st.st_uid == 1 && st.st_gid == 2, "/dev/fuse owner");
    c.ExpectMode("/dev/myfifo", S_IFIFO, 0666);
    c.ExpectLink("/dev/ptmx", "pts/ptmx");
    c.ExpectLink("/dev/fd", "/proc/self/fd");
    c.ExpectLink("/dev/stdin", "/proc/self/fd/0");
    c.ExpectLink("/dev/stdout", "/proc/self/fd/1");
    c.ExpectLink("/dev/stderr", "/proc/self/fd/2");
    c.ExpectFs("/dev/pts", sys::kDevptsSuperMagic);
    c.ExpectFs("/dev/shm", sys::kTmpfsMagic);
    c.ExpectMode("/dev/shm", S_IFDIR, 01777);
    c.ExpectFs("/dev/mqueue", 0x19800202);  // MQUEUE_MAGIC
    c.ExpectFs("/sys", sys::kSysfsMagic);
    c.ExpectReadOnly("/sys");
    c.ExpectFs("/tmp", sys::kTmpfsMagic);
    c.ExpectMode("/tmp", S_IFDIR, 01700);
    c.Expect(open("/tmp/w", O_CREAT | O_WRONLY | O_CLOEXEC, 0600) >= 0, "/tmp not writable");
    c.Expect(ReadFile("/data/hello") == "hi", "/data/hello content");
    c.ExpectErrno(open("/data/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0600), EROFS,
                  "create in ro bind");
    struct statvfs vs;
    c.Expect(statvfs("/data", &vs) == 0 && (vs.f_flag & ST_NOSUID), "/data not nosuid");
    c.Expect(ReadFile("/etc/hostfile") == "from host", "/etc/hostfile content");
    c.ExpectErrno(open("/etc/hostfile", O_WRONLY | O_CLOEXEC), EROFS, "write ro file bind");
    // maskedPaths
    c.Expect(ReadFile("/proc/timer_list").empty(), "/proc/timer_list not masked");
    c.ExpectCharDev("/proc/timer_list", 1, 3);
    c.ExpectFs("/proc/acpi", sys::kTmpfsMagic);
    c.ExpectReadOnly("/proc/acpi");
    c.ExpectFs("/sys/firmware", sys::kTmpfsMagic);
    c.Expect(access("/sys/firmware/memmap", F_OK) != 0, "/sys/firmware not empty");
    // readonlyPaths
    c.ExpectErrno(open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC), EROFS,
                  "write /proc/sys/kernel/hostname");
    if (have_sysrq)
      c.ExpectErrno(open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC), EROFS,
                    "write sysrq-trigger");
    c.Expect(ReadFile("/proc/sys/kernel/ostype") == "Linux\n", "/proc/sys not readable");
    // readonly root; the host is out of sight
    c.ExpectErrno(open("/newfile", O_CREAT | O_WRONLY | O_CLOEXEC, 0600), EROFS,
                  "create in ro root");
    c.ExpectErrno(access("/work", F_OK), ENOENT, "host path visible");
    c.Expect(RunShell("test -c /dev/null && test -d /proc/self && exit 7") == 7,
             "busybox sh did not run in the rootfs");
    return c.failures;
  });
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(RootfsContainerTest, FullContainerRoot) {
  REQUIRE_ROOT();
  RunFullContainer(false);
}

TEST_F(RootfsContainerTest, FullContainerNoPivotRoot) {
  REQUIRE_ROOT();
  RunFullContainer(true);
}

void RunSymlinkEscape(bool disable_openat2) {
  TempDir dir;
  std::string rootfs = MakeBusyboxRootfs(dir);
  std::string u = "berth-escape-" + std::to_string(getpid());
  fs::create_symlink("/etc", rootfs + "/evil");
  fs::create_symlink("../../../../../../../" + u, rootfs + "/up");
  fs::create_symlink("/etc/" + u + "-file", rootfs + "/evilfile");
  WriteFile(dir.path() + "/hostfile", "x");

  spec::Spec s = BaseSpec(rootfs);
  s.mounts = {
      M("/proc", "proc", "proc"),
      M("/evil/" + u, "tmpfs", "tmpfs"),
      M("/up/y", "tmpfs", "tmpfs"),
      M("/evilfile", "bind", dir.path() + "/hostfile", {"bind"}),
  };
  RootfsOptions o{rootfs, false, false, false};
  auto r = RunContainer(CLONE_NEWNET, false, [&]() -> std::string {
    if (disable_openat2) setenv("BERTH_DISABLE_OPENAT2", "1", 1);
    if (disable_openat2 && sys::Openat2Enabled()) return "openat2 still enabled";
    if (std::string e = SetUpRootfs(s, o); !e.empty()) return e;
    Checker c;
    c.ExpectFs(("/etc/" + u).c_str(), sys::kTmpfsMagic);
    c.ExpectFs(("/" + u + "/y").c_str(), sys::kTmpfsMagic);
    c.Expect(ReadFile("/etc/" + u + "-file") == "x", "file bind through dangling symlink");
    return c.failures;
  });
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // Mount points were created inside the rootfs, nothing on the host.
  EXPECT_TRUE(fs::is_directory(rootfs + "/etc/" + u));
  EXPECT_TRUE(fs::is_directory(rootfs + "/" + u + "/y"));
  EXPECT_TRUE(fs::is_regular_file(rootfs + "/etc/" + u + "-file"));
  EXPECT_FALSE(fs::exists("/etc/" + u));
  EXPECT_FALSE(fs::exists("/" + u));
  EXPECT_FALSE(fs::exists("/etc/" + u + "-file"));
}

TEST_F(RootfsContainerTest, SymlinkEscapeStaysInsideRoot) {
  REQUIRE_ROOT();
  RunSymlinkEscape(false);
}

TEST_F(RootfsContainerTest, SymlinkEscapeStaysInsideFallbackRoot) {
  REQUIRE_ROOT();
  RunSymlinkEscape(true);
}

TEST_F(RootfsContainerTest, ErrorNamesMountIndexRoot) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string rootfs = MakeBusyboxRootfs(dir);
  spec::Spec s = BaseSpec(rootfs);
  s.mounts = {M("/proc", "proc", "proc"), M("/bogus", "bogusfs", "bogus")};
  RootfsOptions o{rootfs, false, false, false};
  auto r = RunContainer(CLONE_NEWNET, false, [&]() -> std::string {
    auto res = PrepareRootfs(s, o);
    if (res) return "PrepareRootfs succeeded with a bogus filesystem type";
    return "ERR " + res.error().Message();
  });
  EXPECT_NE(r.out.find("ERR mount bogus on /bogus (mounts[1])"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bogusfs"), std::string::npos) << r.out;

  // Options that do not fit the mount fail by name too.
  s.mounts = {M("/t", "bind", "/tmp", {"rbind", "tmpcopyup"})};
  r = RunContainer(CLONE_NEWNET, false, [&]() -> std::string {
    auto res = PrepareRootfs(s, o);
    return res ? "ok" : res.error().Message();
  });
  EXPECT_NE(r.out.find("(mounts[0])"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tmpcopyup"), std::string::npos) << r.out;

  // Only procfs (or lxcfs-style file binds) may be mounted inside /proc; idmap is refused.
  s.mounts = {M("/proc", "proc", "proc"), M("/proc/acpi", "tmpfs", "tmpfs"),
              M("/x", "bind", "/tmp", {"rbind", "idmap"})};
  for (size_t bad : {1, 2}) {
    r = RunContainer(CLONE_NEWNET, false, [&]() -> std::string {
      spec::Spec one = s;
      one.mounts.erase(one.mounts.begin() + (bad == 1 ? 2 : 1));
      auto res = PrepareRootfs(one, o);
      return res ? "ok" : res.error().Message();
    });
    EXPECT_NE(r.out.find("(mounts[1])"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(bad == 1 ? "/proc" : "idmap"), std::string::npos) << r.out;
  }
}

// tmpcopyup (podman --read-only puts it on /tmp, /var/tmp, /run): the tmpfs starts with a
// copy of the directory it covers — files, symlinks (not followed), owner and mode.
TEST_F(RootfsContainerTest, TmpfsCopyUpRoot) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string rootfs = MakeBusyboxRootfs(dir);
  ASSERT_EQ(mkdir((rootfs + "/t").c_str(), 0750), 0);
  ASSERT_EQ(chown((rootfs + "/t").c_str(), 1000, 1000), 0);
  ASSERT_EQ(mkdir((rootfs + "/t/sub").c_str(), 0755), 0);
  WriteFile(rootfs + "/t/sub/f", "kept");
  ASSERT_EQ(symlink("/etc/passwd", (rootfs + "/t/ln").c_str()), 0);
  spec::Spec s = BaseSpec(rootfs);
  s.mounts = {M("/t", "tmpfs", "tmpfs", {"tmpcopyup", "nosuid"})};
  RootfsOptions o{rootfs, false, false, false};
  auto r = RunContainer(CLONE_NEWNET, false, [&]() -> std::string {
    auto res = PrepareRootfs(s, o);
    if (!res) return "ERR " + res.error().Message();
    struct statfs sf;
    struct stat st;
    char link[64] = {};
    std::ifstream f(rootfs + "/t/sub/f");
    std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (statfs((rootfs + "/t").c_str(), &sf) != 0 || stat((rootfs + "/t").c_str(), &st) != 0 ||
        readlink((rootfs + "/t/ln").c_str(), link, sizeof link - 1) < 0)
      return std::string("stat/readlink: ") + strerror(errno);
    std::ostringstream os;
    os << (sf.f_type == TMPFS_MAGIC ? "tmpfs" : "not-tmpfs") << " " << content << " " << link
       << " " << std::oct << (st.st_mode & 07777) << std::dec << " " << st.st_uid;
    return os.str();
  });
  EXPECT_EQ(r.out, "tmpfs kept /etc/passwd 750 1000");
}

// /sys/fs/cgroup shows the container's own cgroup, with and without a cgroup namespace. The
// test makes a parent memory cgroup of its own holding two children: the container's, into
// which the forked child (and only it) is moved before it unshares, and a sibling. Seen from
// the container, neither the parent nor the sibling may exist: they would if the host's
// hierarchy (or any cgroup above the container's own) showed through.
void RunCgroupContainer(bool cgroupns) {
  const std::string memcg = "/sys/fs/cgroup/memory";
  if (!fs::is_directory(memcg)) GTEST_SKIP() << "no cgroup v1 memory hierarchy";
  const std::string parent_rel = "/berth-rootfs-test-" + std::to_string(getpid());
  const std::string parent = memcg + parent_rel, mine = parent + "/ctr",
                    sibling = parent + "/sibling";
  ASSERT_EQ(mkdir(parent.c_str(), 0755), 0) << strerror(errno);
  struct RemoveCgroups {
    std::vector<std::string> dirs;  // innermost first
    void Run() {
      for (const auto& d : dirs)
        for (int i = 0; i < 50 && rmdir(d.c_str()) != 0 && errno != ENOENT; ++i) usleep(20000);
    }
    ~RemoveCgroups() { Run(); }
  } cleanup{{mine, sibling, parent}};
  ASSERT_EQ(mkdir(mine.c_str(), 0755), 0) << strerror(errno);
  ASSERT_EQ(mkdir(sibling.c_str(), 0755), 0) << strerror(errno);
  TempDir dir;
  std::string rootfs = MakeBusyboxRootfs(dir);
  spec::Spec s = BaseSpec(rootfs);
  if (cgroupns) s.linux->namespaces.push_back({"cgroup", ""});
  s.mounts = {
      M("/proc", "proc", "proc"),
      M("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev"}),
      M("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  };
  RootfsOptions o{rootfs, false, false, cgroupns};
  auto r = RunContainer(
      CLONE_NEWNET | (cgroupns ? CLONE_NEWCGROUP : 0), false,
      [&]() -> std::string {
        if (std::string e = SetUpRootfs(s, o); !e.empty()) return e;
        Checker c;
        c.ExpectFs("/sys/fs/cgroup", sys::kTmpfsMagic);
        c.ExpectReadOnly("/sys/fs/cgroup");
        c.ExpectFs("/sys/fs/cgroup/memory", sys::kCgroupSuperMagic);
        c.ExpectReadOnly("/sys/fs/cgroup/memory");
        c.ExpectFs("/sys/fs/cgroup/cpu", sys::kCgroupSuperMagic);
        c.ExpectFs("/sys/fs/cgroup/systemd", sys::kCgroupSuperMagic);
        c.ExpectFs("/sys/fs/cgroup/unified", sys::kCgroup2SuperMagic);
        // Our own memory cgroup is the root of what we see: only our pids, no siblings.
        std::string procs = ReadFile("/sys/fs/cgroup/memory/cgroup.procs");
        c.Expect(procs == "1\n", "memory cgroup.procs is \"" + procs + "\", expected our pid 1");
        // Where the sibling would be if the view were rooted at the hierarchy's root, or at
        // the test's parent cgroup.
        for (const std::string& p : {"/sys/fs/cgroup/memory" + parent_rel + "/sibling",
                                     std::string("/sys/fs/cgroup/memory/sibling")})
          c.Expect(access(p.c_str(), F_OK) != 0, "a sibling cgroup is visible: " + p);
        return c.failures;
      },
      [&](pid_t child) { WriteFile(mine + "/cgroup.procs", std::to_string(child)); });
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // The check above looked for something that exists.
  EXPECT_TRUE(fs::is_directory(sibling));
  cleanup.Run();
  for (const auto& d : cleanup.dirs) EXPECT_FALSE(fs::exists(d)) << d;
}

TEST_F(RootfsContainerTest, CgroupNamespaceRoot) {
  REQUIRE_ROOT();
  RunCgroupContainer(true);
}

TEST_F(RootfsContainerTest, CgroupBindWithoutNamespaceRoot) {
  REQUIRE_ROOT();
  RunCgroupContainer(false);
}

// In a user namespace: devices are bind mounts of the host's nodes, sysfs without a new
// network namespace falls back to a bind of /sys, and remounts keep the locked flags.
TEST_F(RootfsContainerTest, UserNamespaceRoot) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string rootfs = MakeBusyboxRootfs(dir);
  fs::create_directories(dir.path() + "/data");
  spec::Spec s = BaseSpec(rootfs);
  s.linux->namespaces = {{"pid", ""}, {"mount", ""}, {"user", ""}};
  s.root->readonly = true;
  s.mounts = {
      M("/proc", "proc", "proc"),
      M("/dev", "tmpfs", "tmpfs", {"nosuid", "mode=755"}),
      M("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      M("/data", "bind", dir.path() + "/data", {"rbind", "ro"}),
  };
  s.linux->masked_paths = {"/proc/timer_list"};
  s.linux->readonly_paths = {"/proc/sys"};
  RootfsOptions o{rootfs, false, true, false};
  // The directories must be reachable by the mapped root: they are, it is host root.
  auto r = RunContainer(0, true, [&]() -> std::string {
    if (std::string e = SetUpRootfs(s, o); !e.empty()) return e;
    Checker c;
    c.Expect(getuid() == 0, "not root in the user namespace");
    c.ExpectCharDev("/dev/null", 1, 3);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    c.Expect(fd >= 0 && write(fd, "x", 1) == 1, "write /dev/null");
    if (fd >= 0) close(fd);
    c.ExpectCharDev("/dev/tty", 5, 0);
    c.ExpectLink("/dev/ptmx", "pts/ptmx");
    c.ExpectFs("/sys", sys::kSysfsMagic);
    c.ExpectReadOnly("/sys");
    c.ExpectReadOnly("/data");
    c.Expect(ReadFile("/proc/timer_list").empty(), "/proc/timer_list not masked");
    c.ExpectErrno(open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC), EROFS, "ro /proc/sys");
    c.ExpectErrno(open("/newfile", O_CREAT | O_WRONLY | O_CLOEXEC, 0600), EROFS, "ro root");
    return c.failures;
  });
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace
}  // namespace berth::runtime
