// The image records (images.json) and opening a whole store. Resolution and garbage
// collection live in store_resolve.cc.
#include "image/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/fault.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "image/digest.h"
#include "sys/fs.h"

namespace berth::image {

namespace {

using nlohmann::json;

// The descriptor as OCI writes it (descriptor.md field names).
json DescriptorToJson(const Descriptor& d) {
  json j{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) {
    const Platform& p = *d.platform;
    json pj{{"architecture", p.architecture}, {"os", p.os}};
    if (!p.variant.empty()) pj["variant"] = p.variant;
    if (!p.os_version.empty()) pj["os.version"] = p.os_version;
    if (!p.os_features.empty()) pj["os.features"] = p.os_features;
    j["platform"] = std::move(pj);
  }
  return j;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Throws nlohmann exceptions on wrong types; the caller turns them into an Error.
Result<Descriptor> DescriptorFromJson(const json& j, const std::string& what) {
  if (!j.is_object()) return DataLoss("parse", what, "target is not an object");
  Descriptor d;
  d.media_type = Str(j, "mediaType");
  d.digest = Str(j, "digest");
  if (auto v = ValidateDigest(d.digest); !v) return DataLoss("parse", what, v.error().Message());
  d.size = j.at("size").get<int64_t>();
  if (d.size < 0) return DataLoss("parse", what, "negative size");
  if (j.contains("urls")) d.urls = j["urls"].get<std::vector<std::string>>();
  if (j.contains("annotations"))
    d.annotations = j["annotations"].get<std::map<std::string, std::string>>();
  if (j.contains("platform")) {
    const json& pj = j["platform"];
    Platform p;
    p.architecture = Str(pj, "architecture");
    p.os = Str(pj, "os");
    p.variant = Str(pj, "variant");
    p.os_version = Str(pj, "os.version");
    if (pj.contains("os.features"))
      p.os_features = pj["os.features"].get<std::vector<std::string>>();
    d.platform = std::move(p);
  }
  return d;
}

Result<std::vector<ImageRecord>> ParseRecords(const std::string& text, const std::string& path) {
  std::vector<ImageRecord> out;
  try {
    json doc = json::parse(text);
    if (!doc.is_object() || !doc.contains("images") || !doc["images"].is_array())
      return DataLoss("parse", path, "expected {\"images\": [...]}");
    for (const json& r : doc["images"]) {
      ImageRecord rec;
      rec.name = Str(r, "name");
      if (rec.name.empty()) return DataLoss("parse", path, "an image record has no name");
      rec.target = BERTH_TRY(DescriptorFromJson(r.at("target"), path + ": " + rec.name));
      rec.created = Str(r, "created");
      out.push_back(std::move(rec));
    }
  } catch (const json::exception& e) {
    return DataLoss("parse", path, e.what());
  }
  return out;
}

std::string RecordsJson(std::vector<ImageRecord> records) {
  std::sort(records.begin(), records.end(),
            [](const ImageRecord& a, const ImageRecord& b) { return a.name < b.name; });
  json arr = json::array();
  for (const auto& r : records)
    arr.push_back(
        {{"name", r.name}, {"target", DescriptorToJson(r.target)}, {"created", r.created}});
  return json{{"images", std::move(arr)}}.dump(2) + "\n";
}

Result<std::vector<ImageRecord>> Load(const std::string& path) {
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().code == ENOENT) return std::vector<ImageRecord>{};
    return std::unexpected(text.error());
  }
  return ParseRecords(*text, path);
}

// Read-modify-write of images.json under <path>.lock; the rename makes each write atomic
// for readers, the lock keeps concurrent writers (other berthctl processes) from losing
// each other's records.
template <class F>
Result<void> Modify(const std::string& path, F&& change) {
  UniqueFd lock = BERTH_TRY(sys::LockFile(path + ".lock", LOCK_EX));
  auto records = BERTH_TRY(Load(path));
  bool changed = BERTH_TRY(change(records));
  if (!changed) return {};
  fault::Reach("image.record.commit.before");
  BERTH_TRYV(sys::WriteFileDurable(path, RecordsJson(std::move(records)), 0600));
  fault::Reach("image.record.commit.after");
  return {};
}

}  // namespace

Result<ImageStore> ImageStore::Open(std::string path) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) BERTH_TRYV(sys::MkdirAll(path.substr(0, slash), 0700));
  // Fail now, not at the first Put, when the file is unreadable or corrupt.
  BERTH_TRYV(Load(path));
  return ImageStore(std::move(path));
}

Result<std::vector<ImageRecord>> ImageStore::List() const {
  auto records = BERTH_TRY(Load(path_));
  std::sort(records.begin(), records.end(),
            [](const ImageRecord& a, const ImageRecord& b) { return a.name < b.name; });
  return records;
}

Result<std::optional<ImageRecord>> ImageStore::Get(const std::string& name) const {
  for (auto& r : BERTH_TRY(Load(path_)))
    if (r.name == name) return std::optional<ImageRecord>(std::move(r));
  return std::optional<ImageRecord>();
}

Result<void> ImageStore::Put(const ImageRecord& record) {
  if (record.name.empty()) return InvalidArgument("store image", "\"\"", "empty name");
  if (auto v = ValidateDigest(record.target.digest); !v)
    return InvalidArgument("store image", record.name, "target: " + v.error().Message());
  if (record.target.size < 0) return InvalidArgument("store image", record.name, "target: negative size");
  ImageRecord rec = record;
  if (rec.created.empty()) rec.created = log::NowRfc3339();
  return Modify(path_, [&](std::vector<ImageRecord>& records) -> Result<bool> {
    auto it = std::find_if(records.begin(), records.end(),
                           [&](const ImageRecord& r) { return r.name == rec.name; });
    if (it != records.end())
      *it = rec;
    else
      records.push_back(rec);
    return true;
  });
}

Result<bool> ImageStore::Remove(const std::string& name) {
  bool found = false;
  BERTH_TRYV(Modify(path_, [&](std::vector<ImageRecord>& records) -> Result<bool> {
    found = std::erase_if(records, [&](const ImageRecord& r) { return r.name == name; }) > 0;
    return found;
  }));
  return found;
}

Result<Store> Store::Open(const std::string& root) {
  if (root.empty()) return InvalidArgument("open image store", "\"\"", "empty root");
  BERTH_TRYV(sys::MkdirAll(root, 0700));
  auto wrap = [&](Error e) {
    e.Wrap("open image store " + root);
    return std::unexpected(std::move(e));
  };
  auto content = ContentStore::Open(root + "/content");
  if (!content) return wrap(content.error());
  auto snapshots = Snapshotter::Open(root + "/snapshots");
  if (!snapshots) return wrap(snapshots.error());
  auto images = ImageStore::Open(root + "/images.json");
  if (!images) return wrap(images.error());
  return Store{std::move(*content), std::move(*snapshots), std::move(*images), root};
}

}  // namespace berth::image
