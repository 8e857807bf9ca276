#include "cgroups/cgroup_fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include "sys/fs.h"

namespace berth::cgroups::fs {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\n' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\n' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

Result<std::string> ReadTrimmed(const std::string& path) {
  auto s = BERTH_TRY(sys::ReadFile(path));
  return Trim(s);
}

Result<void> WriteField(std::string_view field, const std::string& path, std::string_view value) {
  auto r = sys::WriteFile(path, value);
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
  auto s = BERTH_TRY(sys::ReadFile(path));
  return ParseUint(s, path);
}

Result<std::map<std::string, uint64_t>> ReadKeyValues(const std::string& path) {
  auto text = BERTH_TRY(sys::ReadFile(path));
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
  auto dirs = sys::ListSubdirs(dir);
  return dirs ? std::move(*dirs) : std::vector<std::string>{};
}

Result<std::vector<pid_t>> ReadProcs(const std::string& dir, bool recursive) {
  std::vector<pid_t> out;
  auto text = sys::ReadFile(dir + "/cgroup.procs");
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

Result<void> RemoveCgroup(const std::string& dir) {
  // Most cgroups have no children: one rmdir, and the directory is listed only when
  // the kernel refuses (child cgroups and live processes both give EBUSY).
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
  for (const auto& child : ChildDirs(dir)) BERTH_TRYV(RemoveCgroup(dir + "/" + child));
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
