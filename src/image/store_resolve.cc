// Resolution of stored images and garbage collection: the parts of store.h that walk the
// graph image -> index -> manifest -> config/layers -> layer snapshots.
#include <sys/file.h>

#include <algorithm>
#include <fcntl.h>
#include <map>
#include <set>

#include "image/reference.h"
#include "image/store.h"
#include "sys/fs.h"

namespace berth::image {

namespace {

// Up to 12 hex digits, as `images` shows IDs, or a full digest: matched against the
// stored images' targets and configs.
bool LooksLikeId(const std::string& s) {
  std::string_view hex = s;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  if (hex.size() < 4 || hex.size() > 64) return false;
  return std::all_of(hex.begin(), hex.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<Descriptor> PlatformManifest(const Store& store, const Descriptor& target,
                                    const Platform& platform) {
  if (IsManifestType(target.media_type)) return target;
  if (!IsIndexType(target.media_type))
    return Unimplemented("resolve", target.digest, "unsupported media type " + target.media_type);
  auto body = BERTH_TRY(store.content.ReadBlob(target.digest));
  auto index = BERTH_TRY(ParseIndex(body, target.digest));
  return SelectManifest(index, platform, target.digest);
}

Result<ImageConfig> ConfigOf(const Store& store, const Descriptor& manifest_desc,
                             Manifest* manifest_out) {
  auto body = store.content.ReadBlob(manifest_desc.digest);
  if (!body) return std::unexpected(body.error().Wrap("manifest " + manifest_desc.digest));
  auto m = BERTH_TRY(ParseManifest(*body, manifest_desc.digest));
  auto cbody = store.content.ReadBlob(m.config.digest);
  if (!cbody) return std::unexpected(cbody.error().Wrap("config " + m.config.digest));
  auto c = BERTH_TRY(ParseImageConfig(*cbody, m.config.digest));
  if (manifest_out) *manifest_out = std::move(m);
  return c;
}

// The config digest of a stored image for `platform`, or "" when it cannot be read.
std::string ConfigDigest(const Store& store, const Descriptor& target, const Platform& platform) {
  auto md = PlatformManifest(store, target, platform);
  if (!md) return "";
  auto body = store.content.ReadBlob(md->digest);
  if (!body) return "";
  auto m = ParseManifest(*body, md->digest);
  return m ? m->config.digest : "";
}

}  // namespace

Result<ResolvedImage> ResolveImage(const Store& store, const std::string& name,
                                   const Platform& platform) {
  std::optional<ImageRecord> rec;
  auto ref = ParseReference(name);
  if (ref) rec = BERTH_TRY(store.images.Get(ref->String()));
  if (!rec && LooksLikeId(name)) {
    std::string hex = name.starts_with("sha256:") ? name.substr(7) : name;
    auto all = BERTH_TRY(store.images.List());
    std::vector<ImageRecord> hits;
    for (auto& r : all) {
      bool match = DigestHex(r.target.digest).starts_with(hex);
      if (!match) {
        std::string config = ConfigDigest(store, r.target, platform);
        match = !config.empty() && DigestHex(config).starts_with(hex);
      }
      if (match) hits.push_back(std::move(r));
    }
    if (hits.size() > 1) {
      // The same image under several names (or as index and as manifest) is one image:
      // ambiguous only when the platform's configs differ.
      auto config_of = [&](const ImageRecord& r) {
        std::string c = ConfigDigest(store, r.target, platform);
        return c.empty() ? r.target.digest : c;
      };
      std::string first = config_of(hits[0]);
      bool same = std::all_of(hits.begin(), hits.end(),
                              [&](const ImageRecord& r) { return config_of(r) == first; });
      if (!same) return InvalidArgument("image", "\"" + name + "\"", "ambiguous: several images match");
    }
    if (!hits.empty()) rec = std::move(hits[0]);
  }
  if (!rec) {
    if (!ref && !LooksLikeId(name)) return std::unexpected(ref.error());
    return NotFound("image", "\"" + name + "\"", "no such image");
  }
  ResolvedImage out;
  out.record = *rec;
  auto md = PlatformManifest(store, rec->target, platform);
  if (!md) return std::unexpected(md.error().Wrap("image " + rec->name));
  out.manifest_desc = *md;
  auto cfg = ConfigOf(store, *md, &out.manifest);
  if (!cfg) return std::unexpected(cfg.error().Wrap("image " + rec->name));
  out.config = std::move(*cfg);
  out.config_desc = out.manifest.config;
  if (out.config.diff_ids.size() != out.manifest.layers.size())
    return DataLoss("image", rec->name,
                "config lists " + std::to_string(out.config.diff_ids.size()) +
                    " diff_ids for " + std::to_string(out.manifest.layers.size()) + " layers");
  out.chain_ids = ChainIds(out.config.diff_ids);
  return out;
}

namespace {

// Walks index -> manifests (nested indexes up to 4 deep, each blob once) and collects the
// manifests present in the store.
Result<void> CollectManifests(const Store& store, const Descriptor& d, int depth,
                              std::set<std::string>& seen, std::vector<std::string>& out,
                              std::vector<Descriptor>& manifests) {
  if (depth > 4 || !seen.insert(d.digest).second || !store.content.Has(d.digest)) return {};
  out.push_back(d.digest);
  if (!IsIndexType(d.media_type)) {
    manifests.push_back(d);
    return {};
  }
  auto body = BERTH_TRY(store.content.ReadBlob(d.digest));
  auto index = BERTH_TRY(ParseIndex(body, d.digest));
  // Only the platforms pulled are in the store.
  for (auto& child : index.manifests)
    BERTH_TRYV(CollectManifests(store, child, depth + 1, seen, out, manifests));
  return {};
}

}  // namespace

Result<std::vector<std::string>> ImageBlobs(const Store& store, const Descriptor& target) {
  std::vector<std::string> out;
  std::vector<Descriptor> manifests;
  std::set<std::string> seen;
  BERTH_TRYV(CollectManifests(store, target, 0, seen, out, manifests));
  for (auto& md : manifests) {
    auto body = BERTH_TRY(store.content.ReadBlob(md.digest));
    auto m = BERTH_TRY(ParseManifest(body, md.digest));
    if (store.content.Has(m.config.digest)) out.push_back(m.config.digest);
    for (auto& l : m.layers)
      if (store.content.Has(l.digest)) out.push_back(l.digest);
  }
  return out;
}

Result<UniqueFd> LockGc(const Store& store, int op) { return sys::LockFile(store.root + "/gc.lock", op); }

Result<GcStats> CollectGarbage(Store& store, bool wait) {
  auto lock = LockGc(store, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
  if (!lock && !wait && lock.error().code == EWOULDBLOCK)
    return Unavailable("gc", store.root, "a pull or import holds the store's gc lock");
  if (!lock) return std::unexpected(lock.error().Wrap("gc"));

  std::set<std::string> blobs, layers;
  auto images = BERTH_TRY(store.images.List());
  for (auto& rec : images) {
    auto used = BERTH_TRY(ImageBlobs(store, rec.target));
    blobs.insert(used.begin(), used.end());
  }
  // Layer snapshots of every manifest still referenced.
  std::map<std::string, int64_t> sizes;
  auto all_blobs = BERTH_TRY(store.content.List());
  for (auto& b : all_blobs) sizes[b.digest] = b.size;
  for (auto& d : blobs) {
    // Manifests are small (the registry client takes 4 MiB at most): skip reading layers.
    if (sizes[d] > (4 << 20)) continue;
    auto body = store.content.ReadBlob(d);
    if (!body) continue;
    auto type = DetectMediaType(*body, d);
    if (!type || !IsManifestType(*type)) continue;
    auto m = ParseManifest(*body, d);
    if (!m) continue;
    auto cbody = store.content.ReadBlob(m->config.digest);
    if (!cbody) continue;
    auto c = ParseImageConfig(*cbody, m->config.digest);
    if (!c) continue;
    for (auto& id : ChainIds(c->diff_ids)) layers.insert(id);
  }
  GcStats st;
  for (auto& b : all_blobs) {
    if (blobs.count(b.digest)) continue;
    BERTH_TRYV(store.content.Delete(b.digest));
    st.blobs_removed++;
    st.bytes_removed += b.size;
  }
  // Children before parents: repeat while something could be removed. RemoveLayer refuses
  // a layer a container's snapshot (or a kept layer) sits on, which keeps their chains.
  auto all_layers = BERTH_TRY(store.snapshots.Layers());
  std::vector<std::string> pending;
  for (auto& l : all_layers)
    if (!layers.count(l)) pending.push_back(l);
  bool progress = true;
  while (!pending.empty() && progress) {
    progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      if (store.snapshots.RemoveLayer(*it)) {
        st.layers_removed++;
        it = pending.erase(it);
        progress = true;
      } else {
        ++it;
      }
    }
  }
  (void)store.content.CleanIngests(24 * 3600);
  (void)store.snapshots.CleanTmp();
  (void)store.snapshots.CleanClaims();  // no pull runs: they hold gc.lock shared
  return st;
}

}  // namespace berth::image
