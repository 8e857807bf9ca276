#include "sys/path.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#include "sys/mounts.h"

namespace berth::sys {
namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's MAXSYMLINKS

enum class Create { kNone, kDirs, kDirsAndFile };

void SplitInto(std::string_view path, std::deque<std::string>& out, bool front) {
  std::vector<std::string> parts = PathComponents(path);
  std::erase(parts, std::string("."));
  if (front)
    out.insert(out.begin(), parts.begin(), parts.end());
  else
    out.insert(out.end(), parts.begin(), parts.end());
}

// -1 with errno set, or the fd.
int Openat2InRoot(int root_fd, const std::string& path) {
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    long fd = syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof(how));
    // EAGAIN: a concurrent rename raced with ".." resolution; the kernel asks us to retry.
    if (fd < 0 && (errno == EAGAIN || errno == EINTR) && attempt < 32) continue;
    return static_cast<int>(fd);
  }
}

// The userspace walk. Each step is openat(dir, name, O_PATH|O_NOFOLLOW) from an fd we hold,
// so neither symlinks nor concurrent renames can take us out of root_fd: symlinks are
// expanded here against root_fd, and ".." pops our own stack instead of asking the kernel.
Result<UniqueFd> Walk(int root_fd, const std::string& path, Create create, mode_t mode) {
  std::deque<std::string> todo;
  SplitInto(path, todo, false);
  std::vector<UniqueFd> stack;     // directories below root_fd, innermost last
  std::vector<std::string> names;  // for error messages: the resolved path so far
  int links = 0;
  auto current = [&] { return stack.empty() ? root_fd : stack.back().Get(); };
  auto shown = [&] {
    std::string s;
    for (auto& n : names) s += "/" + n;
    return s.empty() ? std::string("/") : s;
  };

  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == "..") {
      if (!stack.empty()) {
        stack.pop_back();
        names.pop_back();
      }
      continue;
    }
    bool last = todo.empty();
    int fd = openat(current(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create != Create::kNone) {
      if (last && create == Create::kDirsAndFile) {
        // O_EXCL|O_NOFOLLOW: never write through a symlink planted meanwhile.
        int nfd = openat(current(), comp.c_str(),
                         O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, mode);
        if (nfd < 0 && errno != EEXIST) return Errno("create", shown() + "/" + comp);
        if (nfd >= 0) close(nfd);
      } else {
        if (mkdirat(current(), comp.c_str(), last ? mode : 0755) < 0 && errno != EEXIST)
          return Errno("mkdir", shown() + "/" + comp);
      }
      fd = openat(current(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) return Errno("open", shown() + "/" + comp);
    UniqueFd f(fd);
    struct stat st;
    if (fstat(f.Get(), &st) < 0) return Errno("fstat", shown() + "/" + comp);
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return ErrnoCode(ELOOP, "resolve", path);
      char buf[PATH_MAX];
      ssize_t n = readlinkat(f.Get(), "", buf, sizeof(buf) - 1);
      if (n < 0) return Errno("readlink", shown() + "/" + comp);
      std::string_view target(buf, static_cast<size_t>(n));
      if (!target.empty() && target[0] == '/') {
        stack.clear();
        names.clear();
      }
      SplitInto(target, todo, true);
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) return ErrnoCode(ENOTDIR, "resolve", shown() + "/" + comp);
    stack.push_back(std::move(f));
    names.push_back(comp);
  }
  if (stack.empty()) {
    int fd = openat(root_fd, ".", O_PATH | O_CLOEXEC);
    if (fd < 0) return Errno("open", "/");
    return UniqueFd(fd);
  }
  return std::move(stack.back());
}

Result<UniqueFd> Resolve(int root_fd, std::string_view path, Create create, mode_t mode) {
  std::string clean = CleanPath(path);
  // Fast path: the whole path resolved by the kernel. Creation, or a kernel without openat2,
  // goes through the walk.
  if (Openat2Enabled()) {
    int fd = Openat2InRoot(root_fd, clean);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT || create == Create::kNone) return Errno("openat2", clean);
  }
  return Walk(root_fd, clean, create, mode);
}

}  // namespace

std::string CleanPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (c == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!c.empty() && c != ".") {
      out.push_back(c);
    }
    i = j + 1;
  }
  std::string s;
  for (auto c : out) {
    s += '/';
    s += c;
  }
  return s.empty() ? "/" : s;
}

std::pair<std::string, std::string> SplitPath(const std::string& clean) {
  size_t slash = clean.rfind('/');
  if (slash == std::string::npos) return {"/", clean};
  std::string parent = slash == 0 ? "/" : clean.substr(0, slash);
  return {parent, clean.substr(slash + 1)};
}

std::vector<std::string> PathComponents(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) out.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

bool Openat2Enabled() {
  // Read each time: tests flip it between runs in forked children.
  const char* off = std::getenv("BERTH_DISABLE_OPENAT2");
  if (off && std::strcmp(off, "1") == 0) return false;
  static int available = -1;
  if (available < 0) {
    struct open_how how {};
    how.flags = O_PATH | O_CLOEXEC;
    long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
    available = (fd < 0 && errno == ENOSYS) ? 0 : 1;
    if (fd >= 0) close(static_cast<int>(fd));
  }
  return available == 1;
}

Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path) {
  return Resolve(root_fd, path, Create::kNone, 0);
}

Result<UniqueFd> MkdirAllInRoot(int root_fd, std::string_view path, mode_t mode) {
  UniqueFd fd = BERTH_TRY(Resolve(root_fd, path, Create::kDirs, mode));
  struct stat st;
  if (fstat(fd.Get(), &st) < 0) return Errno("fstat", CleanPath(path));
  if (!S_ISDIR(st.st_mode)) return ErrnoCode(ENOTDIR, "mkdir", CleanPath(path));
  return fd;
}

Result<UniqueFd> CreateFileInRoot(int root_fd, std::string_view path, mode_t mode) {
  return Resolve(root_fd, path, Create::kDirsAndFile, mode);
}

Result<void> CheckInside(int fd, const std::string& root_real, const std::string& what) {
  std::string p = BERTH_TRY(FdRealPath(fd));
  if (root_real == "/") return {};
  if (p == root_real ||
      (p.size() > root_real.size() && p.compare(0, root_real.size(), root_real) == 0 &&
       p[root_real.size()] == '/'))
    return {};
  return PermissionDenied("resolve", what, "resolved to " + p + ", outside the rootfs " + root_real);
}

}  // namespace berth::sys
