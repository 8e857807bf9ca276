// Docker's USER rules over the image's own account files (see image_user.h).
#include "image/image_user.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <vector>

#include "base/unique_fd.h"
#include "sys/path.h"

namespace berth::image {
namespace {

// An image's /etc/passwd or /etc/group is untrusted input; real ones are a few KiB.
constexpr size_t kMaxDbFile = 4 << 20;

std::optional<uint32_t> ParseId(std::string_view s) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // (uint32_t)-1 means "no change" to setresuid/setgroups: never a real id.
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == UINT32_MAX)
    return std::nullopt;
  return v;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string_view> SplitColon(std::string_view line) {
  std::vector<std::string_view> f;
  size_t start = 0;
  while (true) {
    size_t c = line.find(':', start);
    f.push_back(line.substr(start, c == std::string_view::npos ? c : c - start));
    if (c == std::string_view::npos) return f;
    start = c + 1;
  }
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// Calls fn(line) for each line that is not blank or a comment. NIS "+"/"-" lines are
// skipped: they name no local account.
template <class Fn>
void ForEachLine(std::string_view text, Fn fn) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') continue;
    fn(line);
  }
}

// Malformed lines are skipped, as glibc's nss_files does.
std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  ForEachLine(text, [&](std::string_view line) {
    auto f = SplitColon(line);
    if (f.size() < 4 || f[0].empty()) return;
    auto uid = ParseId(f[2]), gid = ParseId(f[3]);
    if (!uid || !gid) return;
    out.push_back({std::string(f[0]), *uid, *gid, f.size() > 5 ? std::string(f[5]) : ""});
  });
  return out;
}

std::vector<GroupEntry> ParseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  ForEachLine(text, [&](std::string_view line) {
    auto f = SplitColon(line);
    if (f.size() < 3 || f[0].empty()) return;
    auto gid = ParseId(f[2]);
    if (!gid) return;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (f.size() > 3) {
      std::string_view m = f[3];
      size_t start = 0;
      while (start <= m.size()) {
        size_t comma = m.find(',', start);
        std::string_view name =
            m.substr(start, comma == std::string_view::npos ? comma : comma - start);
        if (!name.empty()) g.members.emplace_back(name);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
    }
    out.push_back(std::move(g));
  });
  return out;
}

// Reads a file of the image: resolved inside the rootfs (a symlink /etc/passwd ->
// /etc/shadow in the image reads the image's shadow, never the host's), and only a regular
// file, so a FIFO or device planted there cannot hang or feed us. Absent: nullopt.
Result<std::optional<std::string>> ReadImageFile(int rootfs_fd, const std::string& rootfs,
                                                 std::string_view path) {
  std::string shown = rootfs + std::string(path);
  auto pathfd = sys::OpenInRoot(rootfs_fd, path);
  if (!pathfd) {
    if (pathfd.error().code == ENOENT || pathfd.error().code == ENOTDIR)
      return std::optional<std::string>();
    Error e = std::move(pathfd.error());
    e.Wrap("read " + shown);
    return std::unexpected(std::move(e));
  }
  struct stat st;
  if (fstat(pathfd->Get(), &st) < 0) return Errno("fstat", shown);
  if (!S_ISREG(st.st_mode)) return Fail("read", shown, "not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxDbFile)
    return Fail("read", shown, "larger than 4 MiB; not a passwd/group file");
  // An O_PATH fd cannot be read; reopening it through /proc keeps the resolution we checked.
  std::string proc = "/proc/self/fd/" + std::to_string(pathfd->Get());
  UniqueFd fd(::open(proc.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return Errno("open", shown);
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd.Get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read", shown);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxDbFile) return Fail("read", shown, "larger than 4 MiB");
  }
  return std::optional<std::string>(std::move(out));
}

}  // namespace

Result<ImageUser> ResolveImageUser(const std::string& rootfs, std::string_view text) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Errno("open", rootfs, "the rootfs is needed to resolve the user");
  auto passwd_text = BERTH_TRY(ReadImageFile(root.Get(), rootfs, "/etc/passwd"));
  auto group_text = BERTH_TRY(ReadImageFile(root.Get(), rootfs, "/etc/group"));
  std::vector<PasswdEntry> passwd = ParsePasswd(passwd_text.value_or(""));
  std::vector<GroupEntry> groups = ParseGroup(group_text.value_or(""));

  std::string quoted = "\"" + std::string(text) + "\"";
  size_t colon = text.find(':');
  std::string_view user_part = text.substr(0, colon);
  std::optional<std::string_view> group_part;
  if (colon != std::string_view::npos) group_part = text.substr(colon + 1);
  if (user_part.empty()) user_part = "0";  // ":gid" as Docker reads it: root, that group

  ImageUser r;
  const PasswdEntry* entry = nullptr;
  if (AllDigits(user_part)) {
    auto uid = ParseId(user_part);
    if (!uid) return InvalidArgument("user", quoted, "uid out of range");
    r.user.uid = *uid;
    for (const PasswdEntry& e : passwd)
      if (e.uid == *uid) {
        entry = &e;
        break;
      }
  } else {
    for (const PasswdEntry& e : passwd)
      if (e.name == user_part) {
        entry = &e;
        break;
      }
    if (!entry)
      return InvalidArgument("user", quoted,
                  "unknown user \"" + std::string(user_part) +
                      "\": not in the image's /etc/passwd" +
                      (passwd_text ? "" : " (the image has none)") + "; give a numeric uid");
    r.user.uid = entry->uid;
  }
  r.user.gid = entry ? entry->gid : 0;
  r.home = entry && !entry->home.empty() ? entry->home : "/";

  if (group_part) {
    if (group_part->empty()) return InvalidArgument("user", quoted, "empty group after ':'");
    if (AllDigits(*group_part)) {
      auto gid = ParseId(*group_part);
      if (!gid) return InvalidArgument("user", quoted, "gid out of range");
      r.user.gid = *gid;
    } else {
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const GroupEntry& g) { return g.name == *group_part; });
      if (it == groups.end())
        return InvalidArgument("user", quoted,
                    "unknown group \"" + std::string(*group_part) +
                        "\": not in the image's /etc/group; give a numeric gid");
      r.user.gid = it->gid;
    }
  }

  // Supplementary groups: every group listing the user by name, as initgroups(3) would.
  if (entry) {
    for (const GroupEntry& g : groups) {
      if (g.gid == r.user.gid) continue;
      if (std::find(g.members.begin(), g.members.end(), entry->name) == g.members.end()) continue;
      auto& extra = r.user.additional_gids;
      if (std::find(extra.begin(), extra.end(), g.gid) == extra.end()) extra.push_back(g.gid);
    }
  }
  return r;
}


}  // namespace berth::image
