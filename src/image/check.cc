// The store check: see check.h. One pass per part of the store (leftovers, blobs, layers,
// images, active snapshots, orphaned layers), each adding Findings and, with repair,
// fixing what it found before the next part looks (so the image walk sees the layers a
// repair removed as missing and unpacks them again from their blobs).
#include "image/check.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/pull.h"
#include "sys/fs.h"

namespace berth::image {

int CheckReport::Broken() const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [](const Finding& f) {
    return f.severity == Severity::kBroken && !f.repaired;
  }));
}
int CheckReport::Repaired() const {
  return static_cast<int>(
      std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.repaired; }));
}
int CheckReport::Notes() const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [](const Finding& f) {
    return f.severity == Severity::kNote;
  }));
}

namespace {

constexpr int64_t kStaleIngestSeconds = 24 * 3600;  // as gc
constexpr size_t kHashChunk = 1 << 20;
constexpr int kMaxIndexDepth = 4;  // as gc and import
constexpr int64_t kMaxManifest = 4 << 20;
constexpr size_t kMaxChain = 500;

std::string Plural(int64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string Size(int64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

bool Exists(const std::string& path, struct stat* st = nullptr) {
  struct stat tmp;
  return ::lstat(path.c_str(), st ? st : &tmp) == 0;
}
bool IsDir(const std::string& path) {
  struct stat st;
  return Exists(path, &st) && S_ISDIR(st.st_mode);
}

// The pid in "<prefix>-<pid>-<rest>" (tmp dirs) or -1.
pid_t PidInName(const std::string& name) {
  size_t a = name.find('-'), b = name.find('-', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos || b == a + 1) return -1;
  std::string t = name.substr(a + 1, b - a - 1);
  if (t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos) return -1;
  return static_cast<pid_t>(std::stol(t));
}
bool PidGone(pid_t pid) { return pid != ::getpid() && ::kill(pid, 0) < 0 && errno == ESRCH; }

std::vector<std::string> SortedList(const std::string& dir) {
  auto names = sys::ListDir(dir);
  if (!names) return {};
  std::sort(names->begin(), names->end());
  return *names;
}

std::string ChainFromHex(const std::string& hex) {
  return (hex.size() == 128 ? "sha512:" : "sha256:") + hex;
}

class Checker {
 public:
  Checker(Store& store, const CheckOptions& opts) : s_(store), opts_(opts) {
    rep_.repair = opts.repair;
  }

  Result<CheckReport> Run() {
    // A check shares the gc lock with pulls; a repair excludes them (and waits for them).
    // Trying exclusive first tells whether anything else is running: only then are the
    // import dirs (which carry no pid) known to be leftovers.
    auto lock = LockGc(s_, LOCK_EX | LOCK_NB);
    bool exclusive = lock.has_value();
    if (!lock && lock.error().code != EWOULDBLOCK) return std::unexpected(lock.error().Wrap("check"));
    std::vector<std::string> stale_imports;
    if (exclusive)
      for (const auto& n : SortedList(s_.root))
        if (n.starts_with("import-") && IsDir(s_.root + "/" + n)) stale_imports.push_back(n);
    if (!exclusive) {
      lock = LockGc(s_, opts_.repair ? LOCK_EX : LOCK_SH);
      if (!lock) return std::unexpected(lock.error().Wrap("check"));
    } else if (!opts_.repair) {
      BERTH_TRYV(sys::Flock(lock->Get(), LOCK_SH, s_.root + "/gc.lock"));
    }

    Leftovers(stale_imports);
    BERTH_TRYV(Blobs());
    BERTH_TRYV(Layers());
    BERTH_TRYV(Images());
    BERTH_TRYV(Orphans());
    BERTH_TRYV(Snapshots());
    return std::move(rep_);
  }

 private:
  size_t Add(std::string area, std::string object, std::string problem,
             Severity sev = Severity::kBroken) {
    rep_.findings.push_back({std::move(area), std::move(object), std::move(problem), sev, "", false});
    return rep_.findings.size() - 1;
  }
  Finding& F(size_t i) { return rep_.findings[i]; }
  // Records the outcome of a repair on finding i.
  void Done(size_t i, const Result<void>& r, const std::string& what) {
    if (r) {
      F(i).action = what;
      F(i).repaired = true;
    } else {
      F(i).action = "repair failed: " + r.error().Message();
    }
  }

  // --- leftovers ------------------------------------------------------------------------

  void Leftovers(const std::vector<std::string>& stale_imports) {
    std::string tmp = s_.snapshots.Root() + "/tmp";
    for (const auto& name : SortedList(tmp)) {
      pid_t pid = PidInName(name);
      if (pid <= 0 || !PidGone(pid)) continue;  // work in progress, or not ours to judge
      size_t i = Add("leftover", tmp + "/" + name,
                     "left by process " + std::to_string(pid) +
                         " (gone): an interrupted unpack, prepare or removal",
                     Severity::kNote);
      if (opts_.repair) Done(i, sys::RemoveTree(tmp + "/" + name), "removed");
      else F(i).action = "the next pull, gc or --repair removes it";
    }

    std::string ingest = s_.content.Root() + "/ingest";
    std::vector<size_t> stale;
    time_t now = ::time(nullptr);
    for (const auto& name : SortedList(ingest)) {
      std::string dir = ingest + "/" + name;
      struct stat st;
      if (!Exists(dir, &st)) continue;
      time_t newest = st.st_mtime;
      int64_t bytes = 0;
      if (S_ISDIR(st.st_mode)) {
        // A writer holds the lock while it downloads.
        UniqueFd fd(::open((dir + "/lock").c_str(), O_RDWR | O_CLOEXEC));
        if (fd && ::flock(fd.Get(), LOCK_EX | LOCK_NB) < 0) continue;
        if (::stat((dir + "/data").c_str(), &st) == 0) {
          newest = std::max(newest, st.st_mtime);
          bytes = st.st_size;
        }
      }
      // "sha256-<hex>": an ingest of a blob already committed resumes nothing.
      std::string digest = name;
      if (size_t dash = digest.find('-'); dash != std::string::npos) digest[dash] = ':';
      if (ValidateDigest(digest) && s_.content.Has(digest)) {
        size_t i = Add("leftover", dir, "the ingest of a blob that is committed (its writer was killed)",
                       Severity::kNote);
        if (opts_.repair) Done(i, sys::RemoveTree(dir), "removed");
        else F(i).action = "gc (after 24 h) or --repair removes it";
        continue;
      }
      bool old = now - newest >= kStaleIngestSeconds;
      size_t i = Add("leftover", dir,
                     old ? "a download interrupted more than 24 h ago (" + Size(bytes) + ")"
                         : "an interrupted download (" + Size(bytes) + "): the next pull of the blob resumes it",
                     Severity::kNote);
      if (old) {
        stale.push_back(i);
        F(i).action = "gc or --repair removes it";
      }
    }
    if (opts_.repair && !stale.empty()) {
      auto r = s_.content.CleanIngests(kStaleIngestSeconds);
      for (size_t i : stale) {
        if (!r) Done(i, std::unexpected(r.error()), "");
        else if (Exists(F(i).object)) F(i).action = "kept: a writer took it meanwhile";
        else Done(i, {}, "removed");
      }
    }

    // images.json.tmp-<pid>-<n>: a record write that did not reach its rename.
    std::string images = s_.root + "/images.json";
    for (const auto& name : SortedList(s_.root)) {
      if (!name.starts_with("images.json.tmp-")) continue;
      pid_t pid = PidInName(name.substr(std::string("images.json").size()));
      if (pid > 0 && !PidGone(pid)) continue;
      size_t i = Add("leftover", s_.root + "/" + name,
                     "a temporary images.json of a process that is gone", Severity::kNote);
      if (!opts_.repair) {
        F(i).action = "--repair removes it";
        continue;
      }
      auto lock = sys::LockFile(images + ".lock", LOCK_EX);
      Result<void> r;
      if (!lock) r = std::unexpected(lock.error());
      else if (::unlink((s_.root + "/" + name).c_str()) < 0 && errno != ENOENT)
        r = Errno("unlink", s_.root + "/" + name);
      Done(i, r, "removed");
    }

    for (const auto& name : stale_imports) {
      size_t i = Add("leftover", s_.root + "/" + name, "the work dir of an interrupted import",
                     Severity::kNote);
      if (opts_.repair) Done(i, sys::RemoveTree(s_.root + "/" + name), "removed");
      else F(i).action = "--repair removes it";
    }

    // Short links whose layer is gone (a removal interrupted between its two steps).
    std::string l = s_.snapshots.Root() + "/l";
    for (const auto& name : SortedList(l)) {
      std::string link = l + "/" + name;
      struct stat st;
      if (!Exists(link, &st) || !S_ISLNK(st.st_mode) || ::stat(link.c_str(), &st) == 0) continue;
      size_t i = Add("leftover", link, "a short link to a layer that is gone", Severity::kNote);
      if (!opts_.repair) {
        F(i).action = "--repair removes it";
        continue;
      }
      Result<void> r;
      if (::unlink(link.c_str()) < 0 && errno != ENOENT) r = Errno("unlink", link);
      Done(i, r, "removed");
    }
  }

  // --- blobs ------------------------------------------------------------------------------

  struct Blob {
    std::string digest, path;
    struct stat st;
  };

  Result<std::string> Hash(const Blob& b, int64_t& done, int64_t total) {
    std::string alg = b.digest.substr(0, b.digest.find(':'));
    Hasher h = BERTH_TRY(Hasher::New(alg));
    UniqueFd fd(::open(b.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return Errno("open", b.path);
    (void)::posix_fadvise(fd.Get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    std::string buf(kHashChunk, '\0');
    for (;;) {
      ssize_t n = ::read(fd.Get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("read", b.path);
      }
      if (n == 0) break;
      h.Update(buf.data(), static_cast<size_t>(n));
      done += n;
      rep_.bytes_hashed += n;
      if (opts_.progress) opts_.progress(done, total);
    }
    // Drop the pages read: a check of a big store should not evict the node's cache.
    (void)::posix_fadvise(fd.Get(), 0, 0, POSIX_FADV_DONTNEED);
    return h.Final();
  }

  Result<void> Blobs() {
    std::string root = s_.content.Root() + "/blobs";
    std::vector<Blob> blobs;
    int64_t total = 0;
    for (const auto& alg : SortedList(root)) {
      std::string dir = root + "/" + alg;
      if (!IsDir(dir) || (alg != "sha256" && alg != "sha512")) {
        Add("blob", dir, "not a digest algorithm directory berth makes (ignored)", Severity::kNote);
        continue;
      }
      BERTH_TRYV(sys::ListDir(dir));  // unreadable: the store cannot be checked
      for (const auto& hex : SortedList(dir)) {
        Blob b{alg + ":" + hex, dir + "/" + hex, {}};
        if (!ValidateDigest(b.digest)) {
          Add("blob", b.path, "not a digest name (ignored by berth)", Severity::kNote);
          continue;
        }
        if (!Exists(b.path, &b.st)) continue;
        ++rep_.blobs;
        if (!S_ISREG(b.st.st_mode)) {
          size_t i = Add("blob", b.digest, "not a regular file");
          bad_blobs_.insert(b.digest);
          if (opts_.repair) Done(i, sys::RemoveTree(b.path), "removed");
          else F(i).action = "--repair removes it";
          continue;
        }
        total += b.st.st_size;
        blobs.push_back(std::move(b));
      }
    }
    int64_t done = 0;
    for (const auto& b : blobs) {
      std::string problem;
      if (opts_.verify_blobs) {
        auto got = Hash(b, done, total);
        if (!got) problem = "unreadable: " + got.error().Message();
        else if (*got != b.digest)
          problem = "its " + Plural(b.st.st_size, "byte") + " hash to " + *got;
      } else if (b.st.st_size == 0 && b.digest != Sha256Digest("")) {
        problem = "empty, which is not the content of this digest";
      }
      if (!problem.empty()) {
        size_t i = Add("blob", b.digest, problem);
        bad_blobs_.insert(b.digest);
        if (opts_.repair) Done(i, s_.content.Delete(b.digest), "removed: the next pull fetches it again");
        else F(i).action = "--repair removes it";
        continue;
      }
      if ((b.st.st_mode & 07777) != 0444) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", b.st.st_mode & 07777);
        size_t i = Add("blob", b.digest, std::string("mode ") + mode + ", committed blobs are 0444");
        if (!opts_.repair) {
          F(i).action = "--repair makes it 0444";
          continue;
        }
        Result<void> r;
        if (::chmod(b.path.c_str(), 0444) < 0) r = Errno("chmod", b.path);
        Done(i, r, opts_.verify_blobs ? "its digest verified: made 0444" : "made 0444");
      }
    }
    return {};
  }

  // --- layers -----------------------------------------------------------------------------

  // The parent of every committed layer whose parent file reads.
  std::map<std::string, std::string> Parents() {
    std::map<std::string, std::string> out;
    auto layers = s_.snapshots.Layers();
    if (!layers) return out;
    for (const auto& c : *layers)
      if (auto p = s_.snapshots.LayerParent(c)) out[c] = *p;
    return out;
  }

  // The active snapshot sitting on one of `chains`, or "".
  std::string ActiveUser(const std::set<std::string>& chains) {
    auto keys = s_.snapshots.ActiveKeys();
    if (!keys) return "";
    for (const auto& key : *keys) {
      auto text = sys::ReadFile(s_.snapshots.Root() + "/active/" + key + "/parent");
      if (!text) continue;
      std::string cur = *text;
      while (!cur.empty() && (cur.back() == '\n' || cur.back() == ' ')) cur.pop_back();
      for (size_t depth = 0; !cur.empty() && depth < kMaxChain; ++depth) {
        if (chains.count(cur)) return key;
        auto next = s_.snapshots.LayerParent(cur);
        if (!next) break;
        cur = *next;
      }
    }
    return "";
  }

  // Removes `chain` and every layer built on it (they sit on a layer that cannot be
  // trusted; the image walk unpacks them all again where their blobs are good), children
  // first, as RemoveLayer wants. Nothing is removed when an active snapshot sits on any.
  Result<std::vector<std::string>> RemoveWithDescendants(const std::string& chain) {
    auto parents = Parents();
    std::vector<std::string> order{chain};  // breadth first: parents before children
    for (size_t k = 0; k < order.size() && order.size() < 10000; ++k)
      for (const auto& [c, p] : parents)
        if (p == order[k] && std::find(order.begin(), order.end(), c) == order.end())
          order.push_back(c);
    std::set<std::string> all(order.begin(), order.end());
    if (std::string key = ActiveUser(all); !key.empty())
      return FailedPrecondition("remove layer", chain,
                                "active snapshot \"" + key + "\" sits on it (remove that container, then repair again)");
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      BERTH_TRYV(s_.snapshots.RemoveLayer(*it));
      removed_.insert(*it);
    }
    order.erase(order.begin());
    return order;
  }

  void RemoveBrokenLayer(size_t i, const std::string& chain) {
    auto r = RemoveWithDescendants(chain);
    if (!r) {
      F(i).action = "kept: " + r.error().Message();
      return;
    }
    F(i).repaired = true;
    F(i).action = "removed";
    if (!r->empty()) F(i).action += " with the " + Plural(static_cast<int64_t>(r->size()), "layer") + " built on it";
    layer_finding_[chain] = i;
    for (const auto& c : *r) layer_finding_.emplace(c, i);
  }

  // Why the committed layer `chain` cannot be trusted, or "".
  std::string LayerProblem(const std::string& chain) {
    std::string fs = s_.snapshots.LayerPath(chain);
    if (!IsDir(fs)) return "no fs directory";
    auto rec = s_.snapshots.ReadLayerRecord(chain);
    if (!rec) {
      if (rec.error().IsNotFound())
        return "no commit record (layer.json): committed by a berth older than the records, or "
               "by hand; its files cannot be verified";
      return "commit record: " + rec.error().Message();
    }
    auto parent = s_.snapshots.LayerParent(chain);
    if (!parent) return "parent file: " + parent.error().Message();
    if (*parent != rec->parent)
      return "its parent file names " + (parent->empty() ? std::string("no parent") : *parent) +
             ", its commit record " + (rec->parent.empty() ? std::string("none") : rec->parent);
    if (!rec->diff_id.empty()) {
      std::string want = rec->parent.empty() ? rec->diff_id : Sha256Digest(rec->parent + " " + rec->diff_id);
      if (want != chain) return "its commit record's parent and diff_id make chain " + want;
    }
    auto stats = MeasureTree(fs);
    if (!stats) return "cannot be measured: " + stats.error().Message();
    if (*stats != rec->stats)
      return "fs/ holds " + LayerStatsText(*stats) + ", its commit record says " +
             LayerStatsText(rec->stats) + " (files lost or truncated, as by a crash)";
    return "";
  }

  Result<void> Layers() {
    std::string root = s_.snapshots.Root() + "/layers";
    BERTH_TRYV(sys::ListDir(root));
    for (const auto& name : SortedList(root)) {
      std::string path = root + "/" + name;
      std::string chain = ChainFromHex(name);
      if (removed_.count(chain)) continue;  // built on a broken layer removed before it
      if (!ValidateDigest(chain)) {
        size_t i = Add("layer", path, "not a chain id: a directory berth did not make");
        if (opts_.repair) Done(i, MoveAsideAndRemove(path), "removed");
        else F(i).action = "--repair removes it";
        continue;
      }
      ++rep_.layers;
      std::string problem = LayerProblem(chain);
      if (problem.empty()) continue;
      size_t i = Add("layer", chain, problem);
      if (opts_.repair) {
        if (!removed_.count(chain)) RemoveBrokenLayer(i, chain);
      } else {
        F(i).action = "--repair removes it and unpacks it again from its blob";
      }
    }
    return {};
  }

  Result<void> MoveAsideAndRemove(const std::string& path) {
    std::string tmpl = s_.snapshots.Root() + "/tmp/remove-" + std::to_string(::getpid()) + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return Errno("mkdtemp", tmpl);
    if (::rename(path.c_str(), (tmpl + "/x").c_str()) < 0) {
      auto e = Errno("rename", path, "to " + tmpl + "/x");
      ::rmdir(tmpl.c_str());
      return e;
    }
    return sys::RemoveTree(tmpl);
  }

  // --- images -----------------------------------------------------------------------------

  struct Walk {
    std::vector<std::string> problems;
    std::vector<std::string> corrupt;        // blobs that failed verification on read
    std::vector<ResolvedImage> unpack;       // manifests with layers to unpack
    std::vector<std::pair<std::string, std::string>> missing;  // chain, blob: not unpacked
  };

  // Reads a manifest-sized blob; a failure becomes a problem of the walk.
  std::optional<std::string> Read(const std::string& what, const std::string& digest, Walk& w) {
    if (bad_blobs_.count(digest)) {
      w.problems.push_back(what + " " + digest + " failed its digest");
      return std::nullopt;
    }
    if (!s_.content.Has(digest)) {
      w.problems.push_back(what + " " + digest + " is missing");
      return std::nullopt;
    }
    // Read and hashed here (not through ReadBlob) so a wrong digest is told apart from
    // an unreadable file without looking at error text.
    std::string path = s_.content.BlobPath(digest);
    struct stat st;
    if (!Exists(path, &st)) {
      w.problems.push_back(what + " " + digest + " is missing");
      return std::nullopt;
    }
    if (st.st_size > kMaxManifest * 4) {
      w.problems.push_back(what + " " + digest + " is " + Plural(st.st_size, "byte") + ", too big for a " + what);
      w.corrupt.push_back(digest);
      return std::nullopt;
    }
    auto body = sys::ReadFile(path);
    if (!body) {
      w.problems.push_back(what + ": " + body.error().Message());
      return std::nullopt;
    }
    auto h = Hasher::New(digest.substr(0, digest.find(':')));
    if (!h) return std::nullopt;
    h->Update(body->data(), body->size());
    if (std::string got = h->Final(); got != digest) {
      w.problems.push_back(what + " " + digest + " hashes to " + got);
      w.corrupt.push_back(digest);
      return std::nullopt;
    }
    return std::move(*body);
  }

  void CheckManifest(const ImageRecord& rec, const Descriptor& d, Walk& w) {
    auto body = Read("manifest", d.digest, w);
    if (!body) return;
    auto m = ParseManifest(*body, d.digest);
    if (!m) {
      w.problems.push_back(m.error().Message());
      return;
    }
    auto cbody = Read("config", m->config.digest, w);
    if (!cbody) return;
    auto c = ParseImageConfig(*cbody, m->config.digest);
    if (!c) {
      w.problems.push_back(c.error().Message());
      return;
    }
    if (c->diff_ids.size() != m->layers.size()) {
      w.problems.push_back("config " + m->config.digest + " lists " +
                           Plural(static_cast<int64_t>(c->diff_ids.size()), "diff_id") + " for " +
                           Plural(static_cast<int64_t>(m->layers.size()), "layer"));
      return;
    }
    auto chains = ChainIds(c->diff_ids);
    bool need_unpack = false;
    size_t before = w.problems.size();
    for (size_t i = 0; i < m->layers.size(); ++i) {
      const Descriptor& l = m->layers[i];
      bool blob_ok = false;
      if (bad_blobs_.count(l.digest)) {
        w.problems.push_back("layer blob " + l.digest + " failed its digest");
      } else if (!s_.content.Has(l.digest)) {
        w.problems.push_back("layer blob " + l.digest + " is missing");
      } else if (auto size = s_.content.Size(l.digest); size && *size != l.size) {
        w.problems.push_back("layer blob " + l.digest + " holds " + Plural(*size, "byte") +
                             ", the manifest says " + std::to_string(l.size));
        w.corrupt.push_back(l.digest);
      } else {
        blob_ok = true;
      }
      if (s_.snapshots.HasLayer(chains[i])) continue;
      need_unpack = true;
      if (!blob_ok) w.problems.push_back("layer " + chains[i] + " is not unpacked and its blob is unusable");
      else if (!removed_.count(chains[i])) w.missing.push_back({chains[i], l.digest});
    }
    if (need_unpack && w.problems.size() == before) {
      ResolvedImage img;
      img.record = rec;
      img.manifest_desc = d;
      img.manifest = std::move(*m);
      img.config_desc = img.manifest.config;
      img.config = std::move(*c);
      img.chain_ids = std::move(chains);
      w.unpack.push_back(std::move(img));
    }
  }

  void CheckTarget(const ImageRecord& rec, const Descriptor& d, int depth, Walk& w) {
    if (!IsIndexType(d.media_type)) {
      if (!IsManifestType(d.media_type))
        w.problems.push_back(d.digest + " has the unsupported media type " + d.media_type);
      else
        CheckManifest(rec, d, w);
      return;
    }
    auto body = Read("index", d.digest, w);
    if (!body) return;
    auto index = ParseIndex(*body, d.digest);
    if (!index) {
      w.problems.push_back(index.error().Message());
      return;
    }
    // A pull stores the manifests of the platforms it pulled only: check those.
    int present = 0;
    for (const auto& child : index->manifests) {
      if (!s_.content.Has(child.digest) && !bad_blobs_.count(child.digest)) continue;
      ++present;
      if (depth >= kMaxIndexDepth) {
        w.problems.push_back("indexes nested more than " + std::to_string(kMaxIndexDepth) + " deep");
        return;
      }
      CheckTarget(rec, child, depth + 1, w);
    }
    if (present == 0)
      w.problems.push_back("none of the " + Plural(static_cast<int64_t>(index->manifests.size()), "manifest") +
                           " of index " + d.digest + " is in the store");
  }

  Result<void> Images() {
    auto records = BERTH_TRY(s_.images.List());
    for (const auto& rec : records) {
      ++rep_.images;
      Walk w;
      CheckTarget(rec, rec.target, 0, w);
      for (const auto& digest : w.corrupt) {
        if (!bad_blobs_.insert(digest).second) continue;
        size_t i = Add("blob", digest, "failed verification when read for image " + rec.name);
        if (opts_.repair) Done(i, s_.content.Delete(digest), "removed");
        else F(i).action = "--repair removes it";
      }
      if (!w.problems.empty()) {
        std::string text;
        for (const auto& p : w.problems) text += (text.empty() ? "" : "; ") + p;
        size_t i = Add("image", rec.name, text);
        if (!opts_.repair) {
          F(i).action = "--repair removes the name; pulling it again fetches what is missing";
          continue;
        }
        auto gone = s_.images.Remove(rec.name);
        Done(i, gone ? Result<void>() : Result<void>(std::unexpected(gone.error())),
             "name removed: `berthctl pull " + rec.name + "` fetches what is missing");
        continue;
      }
      for (const auto& [chain, blob] : w.missing) {
        size_t i = Add("layer", chain,
                       "not unpacked (as after an import); image " + rec.name + " has its blob " + blob,
                       Severity::kNote);
        layer_finding_.emplace(chain, i);
        if (!opts_.repair) F(i).action = "run or --repair unpacks it from the blob";
      }
      if (!opts_.repair) continue;
      for (const auto& img : w.unpack) {
        std::set<std::string> before;
        for (const auto& c : img.chain_ids)
          if (!s_.snapshots.HasLayer(c)) before.insert(c);
        auto r = UnpackImage(s_, img);
        for (size_t k = 0; k < img.chain_ids.size(); ++k) {
          const std::string& c = img.chain_ids[k];
          if (!before.count(c) || !s_.snapshots.HasLayer(c)) continue;
          auto it = layer_finding_.find(c);
          if (it == layer_finding_.end()) continue;
          Finding& f = F(it->second);
          std::string what = "unpacked from blob " + img.manifest.layers[k].digest;
          if (f.severity == Severity::kNote) {
            f.action = what;
            f.repaired = true;
          } else if (f.action.find("again from") == std::string::npos) {
            f.action += ", unpacked again from its blob";
          }
        }
        if (!r) {
          size_t i = Add("image", rec.name, "unpacking its layers failed: " + r.error().Message());
          F(i).action = "the next pull or run retries";
        }
      }
    }
    return {};
  }

  // --- layers whose parent is gone, active snapshots ---------------------------------------

  Result<void> Orphans() {
    for (const auto& [chain, parent] : Parents()) {
      if (parent.empty() || s_.snapshots.HasLayer(parent) || removed_.count(chain)) continue;
      if (!s_.snapshots.HasLayer(chain)) continue;  // removed with another orphan
      size_t i = Add("layer", chain, "its parent layer " + parent + " is missing");
      if (opts_.repair) RemoveBrokenLayer(i, chain);
      else F(i).action = "--repair removes it (no image could unpack its parent again)";
    }
    return {};
  }

  Result<void> Snapshots() {
    for (const auto& key : BERTH_TRY(s_.snapshots.ActiveKeys())) {
      ++rep_.snapshots;
      // A chain too long to mount is a limit, not damage; a snapshot removed meanwhile is gone.
      auto mounts = s_.snapshots.Mounts(key);
      if (mounts || !mounts.error().IsNotFound() || !IsDir(s_.snapshots.Root() + "/active/" + key))
        continue;
      size_t i = Add("snapshot", key, mounts.error().Message());
      F(i).action = "not repairable: remove the container (berthctl rm " + key + ")";
    }
    return {};
  }

  Store& s_;
  const CheckOptions& opts_;
  CheckReport rep_;
  std::set<std::string> bad_blobs_;              // failed verification (removed by repair)
  std::set<std::string> removed_;                // layers this repair removed
  std::map<std::string, size_t> layer_finding_;  // chain -> the finding that removed it
};

const char* Status(const Finding& f) {
  if (f.repaired) return "repaired";
  return f.severity == Severity::kBroken ? "broken" : "note";
}

}  // namespace

Result<CheckReport> CheckStore(Store& store, const CheckOptions& opts) {
  Checker c(store, opts);
  return c.Run();
}

std::string FindingText(const Finding& f) {
  std::string s = std::string(Status(f)) + ": " + f.area + " " + f.object + ": " + f.problem;
  if (!f.action.empty()) s += " [" + f.action + "]";
  return s;
}

std::string CheckSummary(const CheckReport& r) {
  std::string s = Plural(r.blobs, "blob");
  if (r.bytes_hashed > 0) s += " (" + Size(r.bytes_hashed) + " hashed)";
  s += ", " + Plural(r.layers, "layer") + ", " + Plural(r.images, "image") + ", " +
       Plural(r.snapshots, "snapshot") + ": ";
  int broken = r.Broken(), repaired = r.Repaired(), notes = r.Notes();
  int problems = static_cast<int>(std::count_if(r.findings.begin(), r.findings.end(), [](const Finding& f) {
    return f.severity == Severity::kBroken;
  }));
  s += problems == 0 ? "no problems" : Plural(problems, "problem");
  if (r.repair && repaired > 0) s += " (" + std::to_string(repaired) + " repaired)";
  if (notes) s += ", " + Plural(notes, "note");
  s += broken == 0 ? "; the store is clean" : "; " + std::to_string(broken) + " not repaired";
  return s;
}

std::string CheckReportJson(const CheckReport& r) {
  nlohmann::ordered_json j;
  j["clean"] = r.Clean();
  j["repair"] = r.repair;
  j["blobs"] = r.blobs;
  j["bytes_hashed"] = r.bytes_hashed;
  j["layers"] = r.layers;
  j["images"] = r.images;
  j["snapshots"] = r.snapshots;
  j["broken"] = r.Broken();
  j["repaired"] = r.Repaired();
  j["notes"] = r.Notes();
  auto arr = nlohmann::ordered_json::array();
  for (const auto& f : r.findings)
    arr.push_back({{"status", Status(f)},
                   {"area", f.area},
                   {"object", f.object},
                   {"problem", f.problem},
                   {"action", f.action}});
  j["findings"] = std::move(arr);
  return j.dump(2) + "\n";
}

}  // namespace berth::image
