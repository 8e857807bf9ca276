#include "image/snapshot.h"

#include <fcntl.h>
#include <fts.h>
#include <sys/file.h>  // LOCK_*
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/fault.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "image/digest.h"
#include "sys/fs.h"

namespace berth::image {

namespace {

// mount(2) copies at most one page of options; keep a margin for options a caller adds.
constexpr size_t kMaxMountData = 4000;
// overlayfs refuses more lower layers than this (OVL_MAX_STACK).
constexpr size_t kMaxLayers = 500;
constexpr size_t kShortIdLen = 12;

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

Result<void> ValidateKey(const std::string& key) {
  if (key.empty() || key.size() > 128)
    return InvalidArgument("snapshot key", Quote(key.substr(0, 160)), "must be 1 to 128 characters");
  if (key[0] == '.') return InvalidArgument("snapshot key", Quote(key), "must not start with '.'");
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return InvalidArgument("snapshot key", Quote(key), "allowed characters are A-Z a-z 0-9 _ . -");
  }
  return {};
}

Result<void> ValidateChain(const std::string& chain_id) {
  auto r = ValidateDigest(chain_id);
  if (!r) r.error().Wrap("chain id");
  return r;
}

std::string Hex(const std::string& chain_id) { return std::string(DigestHex(chain_id)); }

bool IsDir(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string ChainFromHex(const std::string& hex) {
  std::string alg = hex.size() == 128 ? "sha512:" : "sha256:";
  return alg + hex;
}

// The root's flock: removing a layer takes it exclusively, anything that starts to depend
// on a layer (commit over a parent, prepare) takes it shared, so a layer cannot vanish
// between "it exists" and "it is used".
Result<UniqueFd> LockRoot(const std::string& root, int op) { return sys::LockFile(root + "/lock", op); }

// A fresh 0700 directory under tmp/ (nothing else may read a half-built tree).
// tmp/<prefix>-<pid>-XXXXXX: the pid lets CleanTmp tell a crashed writer's leftovers from
// work in progress.
Result<std::string> MakeTmpDir(const std::string& root, const std::string& prefix) {
  std::string tmpl = root + "/tmp/" + prefix + "-" + std::to_string(::getpid()) + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return Errno("mkdtemp", root + "/tmp/" + prefix + "-*");
  return tmpl;
}

// Moves `path` out of sight (into tmp/) and then deletes it, so readers never see a
// half-removed tree under layers/ or active/.
Result<void> MoveAsideAndRemove(const std::string& root, const std::string& path, UniqueFd& lock) {
  std::string aside = BERTH_TRY(MakeTmpDir(root, "remove"));
  if (::rename(path.c_str(), (aside + "/x").c_str()) < 0) {
    auto e = Errno("rename", path, "to " + aside + "/x");
    ::rmdir(aside.c_str());
    return e;
  }
  lock.Reset();  // invisible now; the slow part needs no lock
  return sys::RemoveTree(aside);
}

}  // namespace

Result<Snapshotter> Snapshotter::Open(std::string root) {
  if (root.empty()) return InvalidArgument("open snapshots", "\"\"", "empty root");
  std::error_code ec;
  std::string abs = std::filesystem::absolute(root, ec).lexically_normal().string();
  if (ec) return ErrnoCode(ec.value(), "open snapshots", root);
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  if (abs.find_first_of(",:") != std::string::npos)
    return InvalidArgument("open snapshots", abs, "the path must not contain ',' or ':' (overlay options)");
  BERTH_TRYV(sys::MkdirAll(abs, 0700));
  for (const char* sub : {"/layers", "/active", "/tmp", "/l", "/locks"})
    BERTH_TRYV(sys::MkdirAll(abs + sub, 0700));
  return Snapshotter(std::move(abs));
}

std::string Snapshotter::LayerPath(const std::string& chain_id) const {
  if (!ValidateDigest(chain_id)) return {};
  return root_ + "/layers/" + Hex(chain_id) + "/fs";
}

bool Snapshotter::HasLayer(const std::string& chain_id) const {
  std::string p = LayerPath(chain_id);
  return !p.empty() && IsDir(p);
}

Result<int> Snapshotter::CleanTmp() {
  std::string tmp = root_ + "/tmp";
  auto names = BERTH_TRY(sys::ListDir(tmp));
  int removed = 0;
  for (const auto& name : names) {
    // "<prefix>-<pid>-XXXXXX"; names without a pid are not ours to judge.
    size_t a = name.find('-'), b = name.rfind('-');
    if (a == std::string::npos || b == a) continue;
    std::string pid_text = name.substr(a + 1, b - a - 1);
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (sys::RemoveTree(tmp + "/" + name)) ++removed;
  }
  return removed;
}

Result<std::string> Snapshotter::PrepareLayer() {
  std::string dir = BERTH_TRY(MakeTmpDir(root_, "layer"));
  std::string fs = dir + "/fs";
  if (::mkdir(fs.c_str(), 0755) < 0 || ::chmod(fs.c_str(), 0755) < 0) {
    auto e = Errno("mkdir", fs);
    ::rmdir(dir.c_str());
    return e;
  }
  return fs;
}

namespace {

// "<root>/tmp/<name>/fs" -> "<root>/tmp/<name>", refusing anything else so a caller's bad
// path can never make us rename or delete outside tmp/.
Result<std::string> TmpDirOf(const std::string& root, const std::string& tmp_fs) {
  std::string prefix = root + "/tmp/";
  if (tmp_fs.size() > prefix.size() + 3 && tmp_fs.starts_with(prefix) && tmp_fs.ends_with("/fs")) {
    std::string name = tmp_fs.substr(prefix.size(), tmp_fs.size() - prefix.size() - 3);
    if (!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos)
      return prefix + name;
  }
  return Internal("layer", tmp_fs, "not a directory from PrepareLayer under " + prefix);
}

}  // namespace

void Snapshotter::AbortLayer(const std::string& tmp_fs) {
  auto dir = TmpDirOf(root_, tmp_fs);
  if (!dir) {
    log::Warn("abort " + dir.error().Message());
    return;
  }
  if (auto r = sys::RemoveTree(*dir); !r) log::Warn("abort layer: " + r.error().Message());
}

namespace {

constexpr const char* kRecordFile = "layer.json";

std::string RecordJson(const LayerRecord& r) {
  nlohmann::json j = {{"chain_id", r.chain_id},
                      {"parent", r.parent},
                      {"diff_id", r.diff_id},
                      {"files", r.stats.files},
                      {"dirs", r.stats.dirs},
                      {"bytes", r.stats.bytes}};
  return j.dump() + "\n";
}

}  // namespace

Result<LayerStats> MeasureTree(const std::string& dir) {
  char* paths[] = {const_cast<char*>(dir.c_str()), nullptr};
  FTS* fts = ::fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, nullptr);
  if (!fts) return Errno("measure layer", dir);
  LayerStats s;
  std::set<std::pair<dev_t, ino_t>> linked;  // inodes with more than one name, seen once
  int err = 0;
  std::string where;
  while (FTSENT* e = ::fts_read(fts)) {
    switch (e->fts_info) {
      case FTS_D:
        ++s.dirs;
        break;
      case FTS_DP:
        break;
      case FTS_DNR:
      case FTS_ERR:
      case FTS_NS:
        if (!err) {
          err = e->fts_errno;
          where = e->fts_path;
        }
        break;
      default: {
        const struct stat* st = e->fts_statp;
        if (st->st_nlink > 1 && !linked.insert({st->st_dev, st->st_ino}).second) break;
        ++s.files;
        if (S_ISREG(st->st_mode)) s.bytes += st->st_size;
      }
    }
  }
  int read_errno = errno;
  ::fts_close(fts);
  if (err) return ErrnoCode(err, "measure layer", where);
  if (read_errno != 0 && read_errno != ENOENT) return ErrnoCode(read_errno, "measure layer", dir);
  return s;
}

std::string LayerStatsText(const LayerStats& s) {
  auto n = [](int64_t v, const char* one, const char* many) {
    return std::to_string(v) + " " + (v == 1 ? one : many);
  };
  return n(s.files, "file", "files") + ", " + n(s.dirs, "dir", "dirs") + ", " +
         n(s.bytes, "byte", "bytes");
}

Result<void> Snapshotter::CommitLayers(const std::vector<PendingLayer>& layers) {
  size_t done = 0;
  auto abort_rest = [&] {
    for (size_t i = done; i < layers.size(); ++i) AbortLayer(layers[i].tmp_fs);
  };
  std::vector<std::string> dirs;
  auto prepared = [&]() -> Result<void> {
    for (const auto& l : layers) {
      std::string dir = BERTH_TRY(TmpDirOf(root_, l.tmp_fs));
      BERTH_TRYV(ValidateChain(l.chain_id));
      if (!l.parent_chain_id.empty()) BERTH_TRYV(ValidateChain(l.parent_chain_id));
      if (l.chain_id == l.parent_chain_id)
        return InvalidArgument("commit layer", l.chain_id, "a layer cannot be its own parent");
      LayerRecord rec{l.chain_id, l.parent_chain_id, l.diff_id, {}};
      auto stats = MeasureTree(l.tmp_fs);
      if (!stats) return std::unexpected(stats.error().Wrap("commit layer " + l.chain_id));
      rec.stats = *stats;
      BERTH_TRYV(sys::WriteFileAtomic(dir + "/parent", l.parent_chain_id + "\n", 0644));
      BERTH_TRYV(sys::WriteFileAtomic(dir + "/" + kRecordFile, RecordJson(rec), 0644));
      dirs.push_back(std::move(dir));
    }
    // One flush of the whole filesystem makes every file of these layers durable before
    // any of them becomes visible: cheaper than an fsync per file, and a rename cannot
    // reach the disk before the data it names.
    UniqueFd root(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return Errno("open", root_);
    if (::syncfs(root.Get()) < 0) return Errno("syncfs", root_, "flushing unpacked layers");
    return {};
  }();
  if (!prepared) {
    abort_rest();
    return prepared;
  }

  UniqueFd lock = BERTH_TRY(LockRoot(root_, LOCK_SH));
  fault::Reach("image.snapshot.commit.before");
  for (; done < layers.size(); ++done) {
    const auto& l = layers[done];
    if (!l.parent_chain_id.empty() && !HasLayer(l.parent_chain_id)) {
      abort_rest();
      return FailedPrecondition("commit layer", l.chain_id,
                  "its parent layer " + l.parent_chain_id + " is not in the snapshotter");
    }
    std::string hex = Hex(l.chain_id);
    auto r = sys::RenameNoReplace(dirs[done], root_ + "/layers/" + hex);
    if (!r) {
      int e = r.error().code;
      if (e != EEXIST && e != ENOTEMPTY) {
        abort_rest();
        return r;
      }
      // Another unpack of the same chain won; its layer is as good as ours.
      if (auto rm = sys::RemoveTree(dirs[done]); !rm) log::Warn("commit layer: " + rm.error().Message());
      continue;
    }
    // The short name for long lowerdir lists; checked again at use, so a failure is harmless.
    (void)::symlink(("../layers/" + hex + "/fs").c_str(),
                    (root_ + "/l/" + hex.substr(0, kShortIdLen)).c_str());
  }
  BERTH_TRYV(sys::FsyncDir(root_ + "/layers"));
  fault::Reach("image.snapshot.commit.after");
  return {};
}

namespace {

Result<UniqueFd> OpenClaim(const std::string& root, const std::string& chain_id) {
  BERTH_TRYV(ValidateChain(chain_id));
  std::string path = root + "/locks/" + Hex(chain_id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Errno("open", path, "unpack claim");
  return fd;
}

}  // namespace

Result<UniqueFd> Snapshotter::ClaimChain(const std::string& chain_id) const {
  UniqueFd fd = BERTH_TRY(OpenClaim(root_, chain_id));
  BERTH_TRYV(sys::Flock(fd.Get(), LOCK_EX, root_ + "/locks/" + Hex(chain_id)));
  return fd;
}

Result<std::vector<UniqueFd>> Snapshotter::TryClaimChains(const std::vector<std::string>& chain_ids) const {
  UniqueFd batch = BERTH_TRY(sys::LockFile(root_ + "/locks/.acquire", LOCK_EX));
  std::vector<UniqueFd> out;
  for (const auto& chain : chain_ids) {
    UniqueFd fd = BERTH_TRY(OpenClaim(root_, chain));
    if (::flock(fd.Get(), LOCK_EX | LOCK_NB) < 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) return Errno("flock", root_ + "/locks/" + Hex(chain));
      fd.Reset();
    }
    out.push_back(std::move(fd));
  }
  return out;
}

Result<void> Snapshotter::CleanClaims() const {
  for (const auto& name : BERTH_TRY(sys::ListDir(root_ + "/locks")))
    if (!name.starts_with(".")) (void)::unlink((root_ + "/locks/" + name).c_str());
  return {};
}

Result<LayerRecord> Snapshotter::ReadLayerRecord(const std::string& chain_id) const {
  BERTH_TRYV(ValidateChain(chain_id));
  std::string path = root_ + "/layers/" + Hex(chain_id) + "/" + kRecordFile;
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().code == ENOENT)
      return NotFound("layer record", chain_id,
                      HasLayer(chain_id) ? "the layer has no " + std::string(kRecordFile)
                                         : "not in the snapshotter");
    return std::unexpected(text.error());
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  LayerRecord r;
  try {
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    r.chain_id = j.at("chain_id").get<std::string>();
    r.parent = j.at("parent").get<std::string>();
    r.diff_id = j.at("diff_id").get<std::string>();
    r.stats.files = j.at("files").get<int64_t>();
    r.stats.dirs = j.at("dirs").get<int64_t>();
    r.stats.bytes = j.at("bytes").get<int64_t>();
  } catch (const std::exception& e) {
    return DataLoss("layer record", path, std::string("unreadable: ") + e.what());
  }
  if (r.chain_id != chain_id)
    return DataLoss("layer record", path, "names chain " + r.chain_id);
  return r;
}

Result<std::vector<std::string>> Snapshotter::Layers() const {
  std::vector<std::string> out;
  for (const auto& name : BERTH_TRY(sys::ListDir(root_ + "/layers"))) {
    std::string chain = ChainFromHex(name);
    if (ValidateDigest(chain) && IsDir(root_ + "/layers/" + name + "/fs"))
      out.push_back(std::move(chain));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> Snapshotter::LayerParent(const std::string& chain_id) const {
  BERTH_TRYV(ValidateChain(chain_id));
  std::string path = root_ + "/layers/" + Hex(chain_id) + "/parent";
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().code == ENOENT && !HasLayer(chain_id))
      return ErrnoCode(ENOENT, "layer", chain_id, "not in the snapshotter");
    return std::unexpected(text.error());
  }
  std::string parent = Trim(std::move(*text));
  if (!parent.empty()) {
    auto v = ValidateDigest(parent);
    if (!v) return DataLoss("layer", chain_id, "corrupt parent file " + path);
  }
  return parent;
}

namespace {

// Chain ids from chain_id down to the bottom layer (top-most first), each checked present.
Result<std::vector<std::string>> Chain(const Snapshotter& s, const std::string& chain_id) {
  std::vector<std::string> chain;
  for (std::string cur = chain_id; !cur.empty();) {
    if (chain.size() >= kMaxLayers)
      return ResourceExhausted("layer chain", chain_id,
                  "more than " + std::to_string(kMaxLayers) + " layers (overlayfs limit)");
    if (!s.HasLayer(cur))
      return ErrnoCode(ENOENT, "layer chain", chain_id,
                       "layer " + cur + " is not in the snapshotter");
    chain.push_back(cur);
    cur = BERTH_TRY(s.LayerParent(cur));
  }
  return chain;
}

std::string JoinOptions(const std::vector<std::string>& opts) {
  std::string data;
  for (const auto& o : opts) {
    if (o == "ro" || o == "rw") continue;  // flags, not data
    if (!data.empty()) data += ",";
    data += o;
  }
  return data;
}

// The overlay options for `chain` (top-most first) plus `rest`, in the short form when the
// full one would not fit in a mount(2) page.
Result<std::vector<std::string>> OverlayOptions(const std::string& root,
                                                const std::vector<std::string>& chain,
                                                const std::vector<std::string>& rest) {
  auto build = [&](bool short_form) {
    std::string lower = "lowerdir=";
    for (size_t i = 0; i < chain.size(); ++i) {
      std::string hex = Hex(chain[i]);
      std::string full = root + "/layers/" + hex + "/fs";
      std::string path = full;
      if (short_form) {
        std::string link = root + "/l/" + hex.substr(0, kShortIdLen);
        std::string want = "../layers/" + hex + "/fs";
        char buf[256];
        ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
        if (n < 0 && errno == ENOENT && ::symlink(want.c_str(), link.c_str()) == 0)
          n = ::readlink(link.c_str(), buf, sizeof buf);
        // A prefix shared with another layer keeps this one on its full path.
        if (n > 0 && std::string(buf, static_cast<size_t>(n)) == want) path = link;
      }
      lower += (i ? ":" : "") + path;
    }
    std::vector<std::string> opts{lower};
    opts.insert(opts.end(), rest.begin(), rest.end());
    return opts;
  };
  auto opts = build(false);
  if (JoinOptions(opts).size() <= kMaxMountData) return opts;
  opts = build(true);
  size_t len = JoinOptions(opts).size();
  if (len <= kMaxMountData) return opts;
  return ResourceExhausted("overlay mount", chain.front(),
              std::to_string(chain.size()) + " layers need " + std::to_string(len) +
                  " bytes of mount options, more than fit in one page (" +
                  std::to_string(kMaxMountData) + "); use a store root with a shorter path");
}

}  // namespace

Result<void> Snapshotter::RemoveLayer(const std::string& chain_id) {
  BERTH_TRYV(ValidateChain(chain_id));
  UniqueFd lock = BERTH_TRY(LockRoot(root_, LOCK_EX));
  std::string hex = Hex(chain_id);
  std::string dir = root_ + "/layers/" + hex;
  if (!IsDir(dir)) return {};
  for (const auto& key : BERTH_TRY(ActiveKeys())) {
    auto parent = sys::ReadFile(root_ + "/active/" + key + "/parent");
    if (!parent) continue;  // being removed
    // Walk as far as the chain goes: a broken chain still protects its surviving layers.
    std::string cur = Trim(std::move(*parent));
    for (size_t depth = 0; !cur.empty() && depth < kMaxLayers; ++depth) {
      if (cur == chain_id)
        return FailedPrecondition("remove layer", chain_id, "in use by active snapshot " + Quote(key));
      auto next = LayerParent(cur);
      if (!next) break;
      cur = *next;
    }
  }
  for (const auto& other : BERTH_TRY(Layers())) {
    auto parent = LayerParent(other);
    if (parent && *parent == chain_id)
      return FailedPrecondition("remove layer", chain_id, "layer " + other + " is built on it");
  }
  std::string link = root_ + "/l/" + hex.substr(0, kShortIdLen);
  char buf[256];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n > 0 && std::string(buf, static_cast<size_t>(n)) == "../layers/" + hex + "/fs")
    ::unlink(link.c_str());
  return MoveAsideAndRemove(root_, dir, lock);
}

Result<std::vector<Mount>> Snapshotter::Prepare(const std::string& key,
                                                const std::string& chain_id) {
  BERTH_TRYV(ValidateKey(key));
  if (!chain_id.empty()) BERTH_TRYV(ValidateChain(chain_id));
  std::string target = root_ + "/active/" + key;
  {
    UniqueFd lock = BERTH_TRY(LockRoot(root_, LOCK_SH));
    if (!chain_id.empty()) (void)BERTH_TRY(Chain(*this, chain_id));
    if (IsDir(target)) return ErrnoCode(EEXIST, "prepare snapshot", Quote(key), "it exists");
    // Built in tmp/ and renamed, so active/<key> is either complete or absent.
    std::string dir = BERTH_TRY(MakeTmpDir(root_, "active"));
    auto built = [&]() -> Result<void> {
      if (::mkdir((dir + "/fs").c_str(), 0755) < 0) return Errno("mkdir", dir + "/fs");
      if (::chmod((dir + "/fs").c_str(), 0755) < 0) return Errno("chmod", dir + "/fs");
      if (::mkdir((dir + "/work").c_str(), 0700) < 0) return Errno("mkdir", dir + "/work");
      BERTH_TRYV(sys::WriteFileDurable(dir + "/parent", chain_id + "\n", 0644));
      return sys::RenameNoReplace(dir, target);
    }();
    if (!built) {
      (void)sys::RemoveTree(dir);
      int e = built.error().code;
      if (e == EEXIST || e == ENOTEMPTY)
        return ErrnoCode(EEXIST, "prepare snapshot", Quote(key), "it exists");
      return std::unexpected(built.error());
    }
  }
  return Mounts(key);
}

Result<std::vector<Mount>> Snapshotter::Mounts(const std::string& key) const {
  BERTH_TRYV(ValidateKey(key));
  std::string dir = root_ + "/active/" + key;
  auto text = sys::ReadFile(dir + "/parent");
  if (!text) {
    if (text.error().code == ENOENT)
      return ErrnoCode(ENOENT, "snapshot", Quote(key), "no such active snapshot");
    return std::unexpected(text.error());
  }
  std::string parent = Trim(std::move(*text));
  if (parent.empty()) return std::vector<Mount>{{"bind", dir + "/fs", {"rbind", "rw"}}};
  BERTH_TRYV(ValidateChain(parent));
  auto chain = BERTH_TRY(Chain(*this, parent));
  auto opts = BERTH_TRY(
      OverlayOptions(root_, chain, {"upperdir=" + dir + "/fs", "workdir=" + dir + "/work"}));
  return std::vector<Mount>{{"overlay", "overlay", std::move(opts)}};
}

Result<std::vector<Mount>> Snapshotter::View(const std::string& chain_id) const {
  if (chain_id.empty()) return InvalidArgument("view", "\"\"", "a view needs a layer chain");
  BERTH_TRYV(ValidateChain(chain_id));
  auto chain = BERTH_TRY(Chain(*this, chain_id));
  if (chain.size() == 1) return std::vector<Mount>{{"bind", LayerPath(chain_id), {"rbind", "ro"}}};
  // overlayfs without upperdir is read-only by itself; "ro" says so in the mount table too.
  auto opts = BERTH_TRY(OverlayOptions(root_, chain, {"ro"}));
  return std::vector<Mount>{{"overlay", "overlay", std::move(opts)}};
}

Result<std::vector<std::string>> Snapshotter::ActiveKeys() const {
  auto names = BERTH_TRY(sys::ListDir(root_ + "/active"));
  std::erase_if(names, [](const std::string& n) { return !ValidateKey(n); });
  std::sort(names.begin(), names.end());
  return names;
}

Result<void> Snapshotter::Remove(const std::string& key) {
  BERTH_TRYV(ValidateKey(key));
  UniqueFd lock = BERTH_TRY(LockRoot(root_, LOCK_SH));
  std::string dir = root_ + "/active/" + key;
  if (!IsDir(dir))
    return ErrnoCode(ENOENT, "remove snapshot", Quote(key), "no such active snapshot");
  return MoveAsideAndRemove(root_, dir, lock);
}

}  // namespace berth::image
