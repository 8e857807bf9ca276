#include "cgroups/cgroup_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include "base/unique_fd.h"

namespace berth::cgroups::fs {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\n' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\n' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Errno("open", path);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.Get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> ReadTrimmed(const std::string& path) {
  auto s = BERTH_TRY(ReadFile(path));
  return Trim(s);
}

Result<void> WriteFile(const std::string& path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Errno("write", path);
  for (;;) {
    ssize_t n = ::write(fd.Get(), value.data(), value.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    if (static_cast<size_t>(n) != value.size())
      return Fail("write", path, "short write of \"" + std::string(value) + "\"");
    return {};
  }
}

Result<void> WriteField(std::string_view field, const std::string& path, std::string_view value) {
  auto r = WriteFile(path, value);
  if (!r) r.error().Wrap(std::string(field));
  return r;
}

bool PathExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<uint64_t> ParseUint(std::string_view s, const std::string& what) {
  std::string t = Trim(s);
  if (t == "max") return UINT64_MAX;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || t.empty())
    return Fail("parse", what, "expected an integer, got \"" + t + "\"");
  return v;
}

Result<uint64_t> ReadUint(const std::string& path) {
  auto s = BERTH_TRY(ReadFile(path));
  return ParseUint(s, path);
}

Result<std::map<std::string, uint64_t>> ReadKeyValues(const std::string& path) {
  auto text = BERTH_TRY(ReadFile(path));
  std::map<std::string, uint64_t> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    // Values that are not plain counters (rare, e.g. future formats) are skipped.
    auto v = ParseUint(line.substr(sp + 1), path);
    if (v) out[std::string(line.substr(0, sp))] = *v;
  }
  return out;
}

std::vector<std::string> ChildDirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR) continue;
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    out.emplace_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<pid_t>> ReadProcs(const std::string& dir, bool recursive) {
  std::vector<pid_t> out;
  auto text = ReadFile(dir + "/cgroup.procs");
  if (!text) return std::unexpected(text.error());
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) nl = text->size();
    if (nl > pos) {
      auto v = BERTH_TRY(
          ParseUint(std::string_view(*text).substr(pos, nl - pos), dir + "/cgroup.procs"));
      // Tasks outside our pid namespace read as 0; kill(0, sig) would hit our own
      // process group, so they are never returned.
      if (v > 0) out.push_back(static_cast<pid_t>(v));
    }
    pos = nl + 1;
  }
  if (recursive) {
    for (const auto& child : ChildDirs(dir)) {
      auto sub = ReadProcs(dir + "/" + child, true);
      // A child cgroup removed while we walk is not an error.
      if (!sub) {
        if (sub.error().code == ENOENT) continue;
        return sub;
      }
      out.insert(out.end(), sub->begin(), sub->end());
    }
  }
  return out;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t sl = path.find('/', pos);
    if (sl == std::string_view::npos) sl = path.size();
    if (sl > pos) out.emplace_back(path.substr(pos, sl - pos));
    pos = sl + 1;
  }
  return out;
}

Result<void> MkdirAll(const std::string& root, const std::string& rel,
                      std::vector<std::string>* created) {
  auto parts = SplitPath(rel);
  for (int attempt = 0;; ++attempt) {
    std::string cur = root;
    bool retry = false;
    for (const auto& p : parts) {
      cur += "/" + p;
      if (::mkdir(cur.c_str(), 0755) == 0) {
        if (created) created->push_back(cur);
        continue;
      }
      if (errno == EEXIST && IsDir(cur)) continue;
      if (errno == ENOENT && attempt < 3) {
        retry = true;  // a parent vanished under us (another Destroy); start over
        break;
      }
      return Errno("mkdir", cur);
    }
    if (!retry) return {};
  }
}

static bool RmdirRetry(const std::string& dir, int* err) {
  using namespace std::chrono_literals;
  auto delay = 5ms;
  auto deadline = std::chrono::steady_clock::now() + 1s;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    *err = errno;
    if (errno != EBUSY || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(100));
  }
}

Result<void> RemoveTree(const std::string& dir) {
  // Most cgroups have no children: one rmdir, and the directory is listed only when
  // the kernel refuses (child cgroups and live processes both give EBUSY).
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
  for (const auto& child : ChildDirs(dir)) BERTH_TRYV(RemoveTree(dir + "/" + child));
  int err = 0;
  if (!RmdirRetry(dir, &err)) return ErrnoCode(err, "rmdir", dir);
  return {};
}

void RemoveIfEmpty(const std::string& dir) { (void)::rmdir(dir.c_str()); }

bool IsAncestorInside(const std::string& dir, const std::string& of, const std::string& mountpoint) {
  if (!dir.starts_with(mountpoint + "/") || dir.find("/..") != std::string::npos) return false;
  return of.starts_with(dir + "/");
}

}  // namespace berth::cgroups::fs
