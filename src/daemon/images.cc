// ImageService: ListImages, ImageStatus, PullImage, RemoveImage, ImageFsInfo on berth_image.
// The store (<root>/images) is shared by every namespace and by berthctl's own image
// commands (same layout, same locks). An image's id is its config digest, as containerd's.
#include <sys/statvfs.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "daemon/daemon.h"
#include "image/auth.h"
#include "image/hosts.h"
#include "image/pull.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/store.h"

namespace berth::daemon {

namespace {

struct ImageEntry {
  image::ResolvedImage resolved;
  std::vector<std::string> names;
};

// Stored images grouped by id; an image that does not resolve for this host is skipped
// (logged): a half-removed or foreign-platform image is not listed.
std::map<std::string, ImageEntry> LoadImages(const image::Store& store) {
  std::map<std::string, ImageEntry> out;
  auto records = store.images.List();
  if (!records) {
    log::Warn("list images: " + records.error().Message());
    return out;
  }
  for (const auto& rec : *records) {
    auto r = image::ResolveImage(store, rec.name, image::HostPlatform());
    if (!r) {
      log::Debug("list images: skip " + rec.name + ": " + r.error().Message());
      continue;
    }
    auto& e = out[r->config_desc.digest];
    if (e.names.empty()) e.resolved = *r;
    e.names.push_back(rec.name);
  }
  return out;
}

void FillImage(const ImageEntry& e, v1::Image* img) {
  const auto& r = e.resolved;
  img->set_id(r.config_desc.digest);
  for (const auto& n : e.names) {
    auto ref = image::ParseReference(n);
    if (ref && ref->digest.empty()) img->add_repo_tags(n);
    std::string repo = ref ? ref->Repository() : n.substr(0, n.rfind(':'));
    std::string digest = repo + "@" + r.record.target.digest;
    bool have = false;
    for (const auto& d : img->repo_digests()) have |= d == digest;
    if (!have) img->add_repo_digests(digest);
  }
  uint64_t size = uint64_t(r.config_desc.size);
  for (const auto& l : r.manifest.layers) size += uint64_t(l.size);
  img->set_size(size);
  const std::string& user = r.config.user;
  std::string name = user.substr(0, user.find(':'));
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
    img->mutable_uid()->set_value(std::stoll(name));
  else
    img->set_username(name);
  img->mutable_spec()->set_image(r.config_desc.digest);
}

// The entry `ref` names: an id (sha256:… or its hex, or a unique prefix) or a reference.
const ImageEntry* Lookup(const std::map<std::string, ImageEntry>& images, const std::string& ref) {
  std::string id = ref.starts_with("sha256:") ? ref : "sha256:" + ref;
  if (auto it = images.find(id); it != images.end()) return &it->second;
  auto parsed = image::ParseReference(ref);
  for (const auto& [k, e] : images) {
    for (const auto& n : e.names)
      if (n == ref || (parsed && n == parsed->String())) return &e;
    if (parsed && !parsed->digest.empty() && e.resolved.record.target.digest == parsed->digest &&
        !e.names.empty())
      return &e;
  }
  if (ref.size() >= 12 && ref.find_first_not_of("0123456789abcdef") == std::string::npos) {
    const ImageEntry* found = nullptr;
    for (auto it = images.lower_bound("sha256:" + ref);
         it != images.end() && it->first.starts_with("sha256:" + ref); ++it) {
      if (found) return nullptr;
      found = &it->second;
    }
    return found;
  }
  return nullptr;
}

bool MatchesFilter(const ImageEntry& e, const std::string& filter) {
  if (filter.empty()) return true;
  if (e.resolved.config_desc.digest == filter ||
      e.resolved.config_desc.digest == "sha256:" + filter)
    return true;
  auto parsed = image::ParseReference(filter);
  for (const auto& n : e.names)
    if (n == filter || (parsed && n == parsed->String())) return true;
  return false;
}

// Frees the blobs and layers no image names any more, as containerd's synchronous image
// delete does: kubelet's image GC removes images to bring ImageFsInfo below its threshold,
// so a RemoveImage that freed nothing would have it remove every image in vain. A pull or
// import holding the store's gc lock is not waited for (it may run for minutes, past the
// caller's deadline): `pending` is set and the next PullImage collects.
void CollectImageGarbage(image::Store& store, std::atomic<bool>& pending) {
  auto st = image::CollectGarbage(store, false);
  if (!st) {
    if (st.error().IsUnavailable()) {
      pending = true;
      log::Debug("image gc deferred: " + st.error().Message());
    } else {
      log::Warn("image gc: " + st.error().Message());
    }
    return;
  }
  log::Info("image gc: removed " + std::to_string(st->blobs_removed) + " blobs (" +
            std::to_string(st->bytes_removed) + " bytes) and " +
            std::to_string(st->layers_removed) + " layers");
}

}  // namespace

Result<v1::ListImagesResponse> Daemon::ListImages(const v1::ListImagesRequest& req) {
  v1::ListImagesResponse resp;
  for (const auto& [id, e] : LoadImages(*images_))
    if (MatchesFilter(e, req.filter().image().image())) FillImage(e, resp.add_images());
  return resp;
}

Result<v1::ImageStatusResponse> Daemon::ImageStatus(const v1::ImageStatusRequest& req) {
  const std::string& ref = req.image().image();
  if (ref.empty()) return InvalidArgument("image status", "image.image", "empty");
  v1::ImageStatusResponse resp;
  auto images = LoadImages(*images_);
  const ImageEntry* e = Lookup(images, ref);
  if (!e) return resp;  // CRI: no image, no error
  FillImage(*e, resp.mutable_image());
  if (req.verbose()) {
    auto blob = images_->content.ReadBlob(e->resolved.config_desc.digest);
    nlohmann::json info = {{"id", e->resolved.config_desc.digest},
                           {"manifest", e->resolved.manifest_desc.digest},
                           {"chainIDs", e->resolved.chain_ids}};
    if (blob) {
      auto cfg = nlohmann::json::parse(*blob, nullptr, false);
      if (!cfg.is_discarded()) info["imageSpec"] = cfg;
    }
    (*resp.mutable_info())["info"] = info.dump();
  }
  return resp;
}

Result<v1::PullImageResponse> Daemon::PullImage(const v1::PullImageRequest& req) {
  const std::string& text = req.image().image();
  if (text.empty()) return InvalidArgument("pull image", "image.image", "empty");
  auto ref = image::ParseReference(text);
  if (!ref) return std::unexpected(ref.error().Wrap("pull image"));
  auto hosts = image::HostsConfig::Load(config_.hosts_dir, config_.insecure_registries);
  if (!hosts) return std::unexpected(hosts.error().Wrap("pull " + text));
  image::CredentialStore creds;
  if (!config_.auth_file.empty()) {
    auto loaded = image::CredentialStore::Load(config_.auth_file);
    if (!loaded) return std::unexpected(loaded.error().Wrap("pull " + text));
    creds = std::move(*loaded);
  }
  const v1::AuthConfig& a = req.auth();
  if (!a.username().empty() || !a.auth().empty() || !a.identity_token().empty() ||
      !a.registry_token().empty()) {
    image::Credentials c;
    c.username = a.username();
    c.password = a.password();
    if (!a.auth().empty()) {
      // "auth" is base64(user:pass), as in docker's config.json.
      auto parsed = image::CredentialStore::Parse(
          "{\"auths\":{\"" + ref->domain + "\":{\"auth\":\"" + a.auth() + "\"}}}", "auth");
      if (!parsed) return InvalidArgument("pull image", "auth.auth", "not base64 of user:password");
      if (auto got = parsed->Lookup(ref->domain)) c = *got;
    }
    c.identity_token = !a.identity_token().empty() ? a.identity_token() : a.registry_token();
    creds.Set(ref->domain, c);
  }
  image::RegistryOptions ro;
  ro.max_manifest_size = config_.limits.max_manifest_size;
  ro.low_speed_timeout_s = int(config_.pull_stall_timeout.count());
  ro.low_speed_timeout_name = "pull_stall_timeout";
  image::RegistryClient client(std::move(*hosts), std::move(creds), ro);
  image::PullOptions po;
  po.limits = config_.limits;
  auto rec = image::Pull(*images_, client, *ref, po);
  if (image_gc_pending_.exchange(false)) CollectImageGarbage(*images_, image_gc_pending_);
  if (!rec) return std::unexpected(rec.error().Wrap("pull " + text));
  auto resolved = image::ResolveImage(*images_, rec->name, po.platform);
  if (!resolved) return std::unexpected(resolved.error().Wrap("pull " + text));
  log::Info("pulled " + rec->name + " " + resolved->config_desc.digest);
  v1::PullImageResponse resp;
  resp.set_image_ref(resolved->config_desc.digest);
  return resp;
}

Result<v1::RemoveImageResponse> Daemon::RemoveImage(const v1::RemoveImageRequest& req) {
  const std::string& ref = req.image().image();
  if (ref.empty()) return InvalidArgument("remove image", "image.image", "empty");
  auto images = LoadImages(*images_);
  const ImageEntry* e = Lookup(images, ref);
  if (!e) return v1::RemoveImageResponse{};  // idempotent
  // containerd removes every name of the image: the image, not one of its tags, goes.
  for (const auto& n : e->names) {
    auto r = images_->images.Remove(n);
    if (!r) return std::unexpected(r.error().Wrap("remove image " + ref));
  }
  log::Info("removed image " + e->resolved.config_desc.digest);
  CollectImageGarbage(*images_, image_gc_pending_);
  return v1::RemoveImageResponse{};
}

Result<v1::ImageFsInfoResponse> Daemon::ImageFsInfo(const v1::ImageFsInfoRequest&) {
  // From what the store already knows: blob sizes and each layer's commit record, no walk.
  int64_t bytes = 0, inodes = 0;
  if (auto blobs = images_->content.List()) {
    for (const auto& b : *blobs) bytes += b.size;
    inodes += int64_t(blobs->size());
  }
  if (auto layers = images_->snapshots.Layers()) {
    for (const auto& chain : *layers) {
      auto rec = images_->snapshots.ReadLayerRecord(chain);
      if (!rec) continue;
      bytes += rec->stats.bytes;
      inodes += rec->stats.files + rec->stats.dirs;
    }
  }
  v1::ImageFsInfoResponse resp;
  auto* fs = resp.add_image_filesystems();
  fs->set_timestamp(NowNs());
  fs->mutable_fs_id()->set_mountpoint(images_->root);
  fs->mutable_used_bytes()->set_value(uint64_t(bytes));
  fs->mutable_inodes_used()->set_value(uint64_t(inodes));
  return resp;
}

}  // namespace berth::daemon
