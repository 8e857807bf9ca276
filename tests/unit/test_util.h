// Helpers shared by the unit tests: a temporary directory that is removed without ever
// crossing into a mount, and REQUIRE_ROOT for tests that need root.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::testutil {

inline bool IsRoot() { return ::geteuid() == 0; }

// Mount points at or below `dir` in this mount namespace, deepest first.
inline std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    // Field 5 is the mount point, with space, tab, newline and backslash as \ooo.
    size_t pos = 0;
    for (int i = 0; i < 4 && pos != std::string::npos; ++i) pos = line.find(' ', pos + 1);
    if (pos == std::string::npos) continue;
    size_t end = line.find(' ', pos + 1);
    std::string raw = line.substr(pos + 1, end - pos - 1), mp;
    for (size_t i = 0; i < raw.size(); ++i) {
      auto octal = [&](size_t k) { return k < raw.size() && raw[k] >= '0' && raw[k] <= '7'; };
      if (raw[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
        mp += static_cast<char>((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 + (raw[i + 3] - '0'));
        i += 3;
      } else {
        mp += raw[i];
      }
    }
    if (mp == dir || mp.starts_with(dir + "/")) out.push_back(mp);
  }
  // Deeper (longer) first; the same mount point stacked twice is listed twice, top last.
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

// The id of the mount `name` (relative to dirfd, not followed) is on; 0 if unknown.
inline uint64_t MountId(int dirfd, const char* name, struct statx* stx) {
  if (::statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_MNT_ID,
              stx) != 0)
    return 0;
  return (stx->stx_mask & STATX_MNT_ID) ? stx->stx_mnt_id : 0;
}

// Removes the tree at `path` without leaving the mount it starts on: entries on another
// mount (a bind of the same filesystem included) are left alone, as is their parent. Holds
// two fds at a time, so trees deeper than the fd limit or PATH_MAX go too. Returns true when
// everything went.
inline bool RemoveTreeOnOneMount(const std::string& path) {
  int top = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0) {
    if (errno == ENOENT) return true;
    return ::unlink(path.c_str()) == 0;
  }
  struct statx stx;
  const uint64_t mnt = MountId(top, "", &stx);
  struct Level {
    std::string name;  // in the parent
    uint64_t ino;      // of the parent, to check that ".." leads back to it
  };
  std::vector<Level> stack;
  std::set<std::pair<uint64_t, std::string>> kept;  // (parent ino, name): not removable
  uint64_t cur_ino = stx.stx_ino;
  int fd = top;
  bool ok = true;
  for (;;) {
    (void)::fchmod(fd, 0700);  // a read-only directory's entries cannot go otherwise
    std::string sub;
    int dfd = ::dup(fd);
    DIR* d = dfd < 0 ? nullptr : ::fdopendir(dfd);
    if (!d) {
      if (dfd >= 0) ::close(dfd);
      ok = false;
    } else {
      ::rewinddir(d);  // the dup shares the offset an earlier pass over this directory left
    }
    while (d) {
      struct dirent* e = ::readdir(d);
      if (!e) break;
      std::string n = e->d_name;
      if (n == "." || n == ".." || kept.count({cur_ino, n})) continue;
      struct statx est = {};
      uint64_t emnt = MountId(fd, n.c_str(), &est);
      if (mnt != 0 && emnt != mnt) {  // a mount point left mounted: never go in
        kept.insert({cur_ino, n});
        ok = false;
        continue;
      }
      if (S_ISDIR(est.stx_mode)) {
        sub = n;
        break;
      }
      if (::unlinkat(fd, n.c_str(), 0) != 0 && errno != ENOENT) {
        kept.insert({cur_ino, n});
        ok = false;
      }
    }
    if (d) ::closedir(d);
    if (!sub.empty()) {
      (void)::fchmodat(fd, sub.c_str(), 0700, 0);
      int nfd = ::openat(fd, sub.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (nfd < 0 || MountId(nfd, "", &stx) != mnt) {
        if (nfd >= 0) ::close(nfd);
        kept.insert({cur_ino, sub});
        ok = false;
        continue;
      }
      stack.push_back({sub, cur_ino});
      if (fd != top) ::close(fd);
      fd = nfd;
      cur_ino = stx.stx_ino;
      continue;
    }
    // No subdirectory left here: go back up and remove this one.
    if (stack.empty()) break;
    Level me = stack.back();
    stack.pop_back();
    int up = stack.empty() ? top : ::openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd != top) ::close(fd);
    if (up < 0 || MountId(up, "", &stx) != mnt || stx.stx_ino != me.ino) {
      if (up >= 0 && up != top) ::close(up);
      ::close(top);
      return false;  // moved under us: stop rather than remove the wrong tree
    }
    fd = up;
    cur_ino = me.ino;
    if (::unlinkat(fd, me.name.c_str(), AT_REMOVEDIR) != 0) {
      kept.insert({cur_ino, me.name});
      ok = false;
    }
  }
  ::close(top);
  if (::rmdir(path.c_str()) != 0) ok = false;
  return ok;
}

// A fresh directory under /tmp (or `base` when given), removed when the object
// goes. Tests mount inside theirs (rootfs, snapshots): the cleanup first detaches every
// mount at or below it, then removes the tree without crossing into any mount that stayed.
class TempDir {
 public:
  explicit TempDir(std::string_view name = "berth-test", std::string base = {}) {
    if (base.empty()) base = "/tmp";
    std::string tmpl = base + "/" + std::string(name) + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
      return;
    }
    // mountinfo shows canonical paths: match mounts against the same spelling.
    char real[PATH_MAX];
    path_ = ::realpath(tmpl.c_str(), real) ? real : tmpl;
  }
  ~TempDir() { Remove(); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + rel.
  std::string Sub(std::string_view rel) const { return path_ + "/" + std::string(rel); }

  // Unmounts what is mounted inside (as root), then removes the tree. Safe to call twice.
  void Remove() {
    if (path_.empty()) return;
    for (const auto& mp : MountsUnder(path_)) (void)::umount2(mp.c_str(), MNT_DETACH);
    if (!RemoveTreeOnOneMount(path_))
      ADD_FAILURE() << "could not remove all of " << path_ << " (a mount inside stayed?)";
    path_.clear();
  }

 private:
  std::string path_;
};

}  // namespace berth::testutil

// Skips the test (with the reason, if given) unless it runs as root:
//   REQUIRE_ROOT();  REQUIRE_ROOT("mounts overlayfs");
#define REQUIRE_ROOT(...)                                                       \
  do {                                                                          \
    if (!::berth::testutil::IsRoot())                                           \
      GTEST_SKIP() << "needs root" __VA_OPT__(<< ": " << __VA_ARGS__);          \
  } while (0)
