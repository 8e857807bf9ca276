// Image commands: pull, images, rmi, inspect, gc, import, export.
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "cli/berthctl/commands.h"
#include "cli/berthctl/progress.h"
#include "image/layout.h"
#include "image/pull.h"

namespace berth::cli {

using namespace berth::image;

Result<Store> OpenStore(const Globals& g) {
  auto s = Store::Open(g.root);
  if (!s) return std::unexpected(s.error().Wrap("image store " + g.root));
  return s;
}

Result<std::unique_ptr<RegistryClient>> NewClient(const Globals& g, const Reference& ref) {
  auto hosts = BERTH_TRY(HostsConfig::Load(g.hosts_dir, g.insecure));
  auto creds = BERTH_TRY(CredentialStore::Load(g.auth_file));
  if (!g.user.empty()) {
    size_t colon = g.user.find(':');
    if (colon == std::string::npos)
      return berth::Fail("--user", g.user.substr(0, 64), "expected USER:PASS");
    creds.Set(ref.domain, Credentials{g.user.substr(0, colon), g.user.substr(colon + 1), ""});
  }
  RegistryOptions ro;
  ro.max_manifest_size = g.limits.max_manifest_size;
  return std::make_unique<RegistryClient>(std::move(hosts), std::move(creds), ro);
}

Result<Platform> PlatformOrHost(const std::string& text) {
  if (text.empty()) return HostPlatform();
  return ParsePlatform(text);
}

Result<ImageRecord> PullWithProgress(const Globals& g, Store& store, const Reference& ref,
                                     const Platform& platform, bool quiet, FILE* out) {
  auto client = BERTH_TRY(NewClient(g, ref));
  ProgressDisplay display(out, isatty(fileno(out)), quiet);
  PullOptions opts;
  opts.platform = platform;
  opts.limits = g.limits;
  opts.progress = [&](const PullProgress& p) { display.Update(p); };
  auto rec = Pull(store, *client, ref, opts);
  display.Finish();
  return rec;
}

int CmdPull(const Globals& g, const PullArgs& a) {
  auto ref = ParseReference(a.ref);
  if (!ref) return Fail(ref.error());
  auto platform = PlatformOrHost(a.platform);
  if (!platform) return Fail(platform.error());
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  auto rec = PullWithProgress(g, *store, *ref, *platform, a.quiet, stdout);
  if (!rec) return Fail(rec.error());
  printf("Pulled %s %s\n", rec->name.c_str(), rec->target.digest.c_str());
  return 0;
}

namespace {

// Compressed size of the platform's image (config + layers), as `docker images` shows.
int64_t ImageSize(const ResolvedImage& img) {
  int64_t n = img.config_desc.size + img.manifest_desc.size;
  for (auto& l : img.manifest.layers) n += l.size;
  return n;
}

}  // namespace

int CmdImages(const Globals& g, bool quiet, bool digests) {
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  auto list = store->images.List();
  if (!list) return Fail(list.error());
  if (quiet) {
    for (auto& r : *list) printf("%s\n", r.name.c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"REPOSITORY", "TAG"});
  if (digests) rows.back().push_back("DIGEST");
  rows.back().insert(rows.back().end(), {"IMAGE ID", "SIZE"});
  for (auto& r : *list) {
    auto ref = ParseReference(r.name);
    std::string repo = ref ? ref->Repository() : r.name;
    std::string tag = ref && ref->digest.empty() ? ref->tag : "<none>";
    std::string id = "<unknown>", size = "-";
    auto img = ResolveImage(*store, r.name, HostPlatform());
    if (img) {
      id = std::string(DigestHex(img->config_desc.digest).substr(0, 12));
      size = HumanSize(ImageSize(*img));
    }
    std::vector<std::string> row{repo, tag};
    if (digests) row.push_back(r.target.digest);
    row.insert(row.end(), {id, size});
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 3, ' ');
    }
    printf("%s\n", line.c_str());
  }
  return 0;
}

int CmdRmi(const Globals& g, const std::vector<std::string>& refs) {
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  int rc = 0;
  for (auto& name : refs) {
    auto ref = ParseReference(name);
    std::string key = ref ? ref->String() : name;
    auto removed = store->images.Remove(key);
    if (!removed) {
      rc = Fail(removed.error());
      continue;
    }
    if (*removed) {
      printf("Untagged: %s\n", key.c_str());
      continue;
    }
    // An ID or digest removes the image it names under all its names (`docker rmi ID`).
    auto img = ResolveImage(*store, name, HostPlatform());
    if (!img) {
      rc = Fail(img.error().Wrap("rmi"));
      continue;
    }
    auto all = store->images.List();
    if (!all) {
      rc = Fail(all.error());
      continue;
    }
    for (auto& r : *all) {
      if (r.target.digest != img->record.target.digest) continue;
      auto gone = store->images.Remove(r.name);
      if (!gone) rc = Fail(gone.error());
      else if (*gone) printf("Untagged: %s\n", r.name.c_str());
    }
  }
  return rc;
}

int CmdInspect(const Globals& g, const std::string& name, const std::string& platform_text) {
  auto platform = PlatformOrHost(platform_text);
  if (!platform) return Fail(platform.error());
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  auto img = ResolveImage(*store, name, *platform);
  if (!img) return Fail(img.error());
  nlohmann::ordered_json out;
  out["Id"] = img->config_desc.digest;
  out["RepoTags"] = nlohmann::json::array({img->record.name});
  out["Digest"] = img->record.target.digest;
  out["ManifestDigest"] = img->manifest_desc.digest;
  out["Size"] = ImageSize(*img);
  auto config = nlohmann::ordered_json::parse(ImageConfigJson(img->config), nullptr, false);
  for (auto& [k, v] : config.items()) out[k] = v;
  printf("%s\n", out.dump(2).c_str());
  return 0;
}

int CmdGc(const Globals& g) {
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  auto st = CollectGarbage(*store);
  if (!st) return Fail(st.error());
  printf("Removed %d blobs (%s) and %d layers\n", st->blobs_removed,
         HumanSize(st->bytes_removed).c_str(), st->layers_removed);
  return 0;
}

int CmdImport(const Globals& g, const std::string& path, const std::string& name) {
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  auto recs = ImportImages(*store, path, name);
  if (!recs) return Fail(recs.error());
  for (auto& r : *recs) printf("Imported %s %s\n", r.name.c_str(), r.target.digest.c_str());
  return 0;
}

int CmdExport(const Globals& g, const std::vector<std::string>& refs, const std::string& out,
              const std::string& format, const std::string& platform_text) {
  ArchiveFormat f;
  if (format == "oci") {
    f = ArchiveFormat::kOciLayout;
  } else if (format == "docker") {
    f = ArchiveFormat::kDocker;
  } else {
    return Fail(Error{0, "export", "--format " + format, "expected oci or docker", {}});
  }
  auto platform = PlatformOrHost(platform_text);
  if (!platform) return Fail(platform.error());
  auto store = OpenStore(g);
  if (!store) return Fail(store.error());
  auto r = ExportImages(*store, refs, out, f, *platform);
  if (!r) return Fail(r.error());
  return 0;
}

}  // namespace berth::cli
