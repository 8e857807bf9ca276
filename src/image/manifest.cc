// OCI image-spec / Docker schema2 documents <-> the model in manifest.h. Registries and
// archives are untrusted: every field is type-checked, digests are validated before any
// other code turns them into paths, and errors give the document (`what`) and the JSON
// path of the bad field. nlohmann exceptions never leave this file.
#include "image/manifest.h"

#include <nlohmann/json.hpp>

#include "base/text.h"
#include "image/digest.h"

namespace berth::image {
namespace {

using Json = nlohmann::json;

const char* TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    default:
      return "an unknown value";
  }
}

// The document being read, for errors: `parse manifest sha256:…: layers[1].size: …`.
struct Doc {
  std::string op;
  std::string_view what;

  std::unexpected<Error> Bad(const std::string& path, const std::string& why) const {
    // Keys and values come from the document: escaped, so a message stays one line.
    return InvalidArgument(op, std::string(what), EscapeText(path.empty() ? why : path + ": " + why));
  }
  std::unexpected<Error> TypeError(const std::string& path, const char* want,
                                   const Json& got) const {
    return Bad(path, std::string("expected ") + want + ", got " + TypeName(got));
  }
};

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string Join(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

Result<Json> ParseJson(std::string_view text, const Doc& doc) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: …".
    std::string msg = e.what();
    if (size_t close = msg.find("] "); msg.starts_with("[json.") && close != std::string::npos)
      msg.erase(0, close + 2);
    return doc.Bad("", "malformed JSON: " + msg);
  }
  if (!j.is_object()) return doc.TypeError("", "a JSON object", j);
  return j;
}

// The members of one JSON object. Absent and null members are the same (Docker writes
// "Cmd": null); unknown members are ignored, so newer documents still load.
class Fields {
 public:
  Fields(const Json& obj, std::string path, const Doc& doc)
      : obj_(obj), path_(std::move(path)), doc_(doc) {}

  const Json* Find(std::string_view key) const {
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string Path(std::string_view key) const { return Join(path_, key); }
  std::unexpected<Error> Missing(std::string_view key) const {
    return doc_.Bad(Path(key), "required field is missing");
  }

  Result<void> Str(std::string_view key, std::string& out, bool required = false) const {
    const Json* j = Find(key);
    if (!j) return required ? Missing(key) : Result<void>{};
    if (!j->is_string()) return doc_.TypeError(Path(key), "a string", *j);
    out = j->get_ref<const std::string&>();
    return {};
  }

  Result<void> Int(std::string_view key, int64_t& out, bool required = false) const {
    const Json* j = Find(key);
    if (!j) return required ? Missing(key) : Result<void>{};
    if (j->is_number_integer()) {
      // number_unsigned above INT64_MAX would wrap: reject it rather than go negative.
      if (j->is_number_unsigned() && j->get<uint64_t>() > uint64_t(INT64_MAX))
        return doc_.Bad(Path(key), "integer out of range");
      out = j->get<int64_t>();
      return {};
    }
    return doc_.TypeError(Path(key), "an integer", *j);
  }

  // An array of strings. Docker's image JSON also allows a bare string for Entrypoint
  // and Cmd (its StrSlice type), read as a one-element list.
  Result<void> StrList(std::string_view key, std::vector<std::string>& out,
                       bool allow_string = false) const {
    const Json* j = Find(key);
    out.clear();
    if (!j) return {};
    if (allow_string && j->is_string()) {
      out.push_back(j->get<std::string>());
      return {};
    }
    if (!j->is_array()) return doc_.TypeError(Path(key), "an array of strings", *j);
    out.reserve(j->size());
    for (size_t i = 0; i < j->size(); ++i) {
      const Json& e = (*j)[i];
      if (!e.is_string()) return doc_.TypeError(Join(Path(key), i), "a string", e);
      out.push_back(e.get<std::string>());
    }
    return {};
  }

  Result<void> StrMap(std::string_view key, std::map<std::string, std::string>& out) const {
    const Json* j = Find(key);
    out.clear();
    if (!j) return {};
    if (!j->is_object()) return doc_.TypeError(Path(key), "an object of strings", *j);
    for (const auto& [k, v] : j->items()) {
      if (!v.is_string()) return doc_.TypeError(Path(key) + "[" + QuoteText(k) + "]", "a string", v);
      out.emplace(k, v.get<std::string>());
    }
    return {};
  }

  // ExposedPorts and Volumes: a set written as {"80/tcp": {}}; only keys matter.
  Result<void> KeySet(std::string_view key, std::vector<std::string>& out) const {
    const Json* j = Find(key);
    out.clear();
    if (!j) return {};
    if (!j->is_object()) return doc_.TypeError(Path(key), "an object", *j);
    for (const auto& [k, v] : j->items()) out.push_back(k);
    return {};
  }

  Result<void> CheckDigest(std::string_view key, const std::string& digest) const {
    if (auto ok = ValidateDigest(digest); !ok) return doc_.Bad(Path(key), ok.error().detail);
    return {};
  }

 private:
  const Json& obj_;
  std::string path_;
  const Doc& doc_;
};

Result<Platform> DecodePlatform(const Json& j, const std::string& path, const Doc& doc) {
  if (!j.is_object()) return doc.TypeError(path, "an object", j);
  Fields f(j, path, doc);
  Platform p;
  BERTH_TRYV(f.Str("architecture", p.architecture, true));
  BERTH_TRYV(f.Str("os", p.os, true));
  BERTH_TRYV(f.Str("variant", p.variant));
  BERTH_TRYV(f.Str("os.version", p.os_version));
  BERTH_TRYV(f.StrList("os.features", p.os_features));
  return p;
}

Result<Descriptor> DecodeDescriptor(const Json& j, const std::string& path, const Doc& doc) {
  if (!j.is_object()) return doc.TypeError(path, "a descriptor object", j);
  Fields f(j, path, doc);
  Descriptor d;
  BERTH_TRYV(f.Str("mediaType", d.media_type, true));
  if (d.media_type.empty()) return doc.Bad(f.Path("mediaType"), "empty media type");
  BERTH_TRYV(f.Str("digest", d.digest, true));
  BERTH_TRYV(f.CheckDigest("digest", d.digest));
  BERTH_TRYV(f.Int("size", d.size, true));
  if (d.size < 0) return doc.Bad(f.Path("size"), std::to_string(d.size) + " is negative");
  BERTH_TRYV(f.StrList("urls", d.urls));
  BERTH_TRYV(f.StrMap("annotations", d.annotations));
  if (const Json* p = f.Find("platform"))
    d.platform = BERTH_TRY(DecodePlatform(*p, f.Path("platform"), doc));
  return d;
}

// schemaVersion must be 2: schema1 (signed, v1-compatible) manifests are deprecated and
// their layers are not content-addressed the same way.
Result<void> CheckSchemaVersion(const Fields& f, const Doc& doc, int& out) {
  int64_t v = 0;
  BERTH_TRYV(f.Int("schemaVersion", v, true));
  if (v == 1)
    return doc.Bad("schemaVersion",
                   "Docker schema1 manifests are not supported (push the image again with a "
                   "current client)");
  if (v != 2) return doc.Bad("schemaVersion", std::to_string(v) + " is not 2");
  out = 2;
  return {};
}

Json EncodePlatform(const Platform& p) {
  Json j = Json::object();
  j["architecture"] = p.architecture;
  j["os"] = p.os;
  if (!p.variant.empty()) j["variant"] = p.variant;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.os_features.empty()) j["os.features"] = p.os_features;
  return j;
}

Json EncodeDescriptor(const Descriptor& d) {
  Json j = Json::object();
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest;
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) j["platform"] = EncodePlatform(*d.platform);
  return j;
}

Json KeySetJson(const std::vector<std::string>& keys) {
  Json j = Json::object();
  for (const std::string& k : keys) j[k] = Json::object();
  return j;
}

// Strings from our own model may hold bytes that are not UTF-8 (a docker-save archive's
// names): replace them rather than let dump() throw.
std::string Dump(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

Result<Compression> LayerCompression(std::string_view media_type) {
  using namespace media;
  if (media_type == kOciLayer || media_type == kOciLayerNonDist || media_type == kDockerLayer ||
      media_type == kDockerForeignLayer)
    return Compression::kNone;
  if (media_type == kOciLayerGzip || media_type == kOciLayerNonDistGzip ||
      media_type == kDockerLayerGzip || media_type == kDockerForeignLayerGzip)
    return Compression::kGzip;
  if (media_type == kOciLayerZstd || media_type == kOciLayerNonDistZstd ||
      media_type == kDockerLayerZstd)
    return Compression::kZstd;
  return InvalidArgument("layer", QuoteText(media_type, 200),
              "not a layer media type this runtime can unpack");
}

bool IsIndexType(std::string_view media_type) {
  return media_type == media::kOciIndex || media_type == media::kDockerManifestList;
}

bool IsManifestType(std::string_view media_type) {
  return media_type == media::kOciManifest || media_type == media::kDockerManifest;
}

Result<Descriptor> ParseDescriptor(std::string_view json, std::string_view what) {
  Doc doc{"parse descriptor", what};
  Json j = BERTH_TRY(ParseJson(json, doc));
  return DecodeDescriptor(j, "", doc);
}

// The required array of descriptors `key` (a manifest's layers, an index's manifests).
Result<std::vector<Descriptor>> DecodeDescriptors(const Fields& f, const char* key,
                                                  const Doc& doc) {
  const Json* list = f.Find(key);
  if (!list) return f.Missing(key);
  if (!list->is_array()) return doc.TypeError(key, "an array", *list);
  std::vector<Descriptor> out;
  out.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i)
    out.push_back(BERTH_TRY(DecodeDescriptor((*list)[i], Join(key, i), doc)));
  return out;
}

Result<Manifest> ParseManifest(std::string_view json, std::string_view what) {
  Doc doc{"parse manifest", what};
  Json j = BERTH_TRY(ParseJson(json, doc));
  Fields f(j, "", doc);
  Manifest m;
  BERTH_TRYV(CheckSchemaVersion(f, doc, m.schema_version));
  BERTH_TRYV(f.Str("mediaType", m.media_type));
  if (m.media_type.empty()) {
    m.media_type = media::kOciManifest;  // optional in OCI manifests
  } else if (IsIndexType(m.media_type)) {
    return doc.Bad("mediaType", QuoteText(m.media_type) + " is an index, not an image manifest");
  } else if (!IsManifestType(m.media_type)) {
    return doc.Bad("mediaType", QuoteText(m.media_type) + " is not an image manifest type");
  }
  const Json* config = f.Find("config");
  if (!config) return f.Missing("config");
  m.config = BERTH_TRY(DecodeDescriptor(*config, "config", doc));
  m.layers = BERTH_TRY(DecodeDescriptors(f, "layers", doc));
  BERTH_TRYV(f.StrMap("annotations", m.annotations));
  return m;
}

Result<Index> ParseIndex(std::string_view json, std::string_view what) {
  Doc doc{"parse index", what};
  Json j = BERTH_TRY(ParseJson(json, doc));
  Fields f(j, "", doc);
  Index index;
  BERTH_TRYV(CheckSchemaVersion(f, doc, index.schema_version));
  BERTH_TRYV(f.Str("mediaType", index.media_type));
  if (index.media_type.empty()) {
    index.media_type = media::kOciIndex;
  } else if (IsManifestType(index.media_type)) {
    return doc.Bad("mediaType", QuoteText(index.media_type) + " is an image manifest, not an index");
  } else if (!IsIndexType(index.media_type)) {
    return doc.Bad("mediaType", QuoteText(index.media_type) + " is not an index type");
  }
  index.manifests = BERTH_TRY(DecodeDescriptors(f, "manifests", doc));
  BERTH_TRYV(f.StrMap("annotations", index.annotations));
  return index;
}

Result<ImageConfig> ParseImageConfig(std::string_view json, std::string_view what) {
  Doc doc{"parse image config", what};
  Json j = BERTH_TRY(ParseJson(json, doc));
  Fields f(j, "", doc);
  ImageConfig c;
  // Required by the spec, but an absent os/architecture must not pass for linux/amd64.
  c.platform.os.clear();
  c.platform.architecture.clear();
  BERTH_TRYV(f.Str("os", c.platform.os));
  BERTH_TRYV(f.Str("architecture", c.platform.architecture));
  BERTH_TRYV(f.Str("variant", c.platform.variant));
  BERTH_TRYV(f.Str("os.version", c.platform.os_version));
  BERTH_TRYV(f.StrList("os.features", c.platform.os_features));
  BERTH_TRYV(f.Str("created", c.created));
  BERTH_TRYV(f.Str("author", c.author));

  if (const Json* config = f.Find("config")) {
    if (!config->is_object()) return doc.TypeError("config", "an object", *config);
    Fields cf(*config, "config", doc);
    BERTH_TRYV(cf.Str("User", c.user));
    BERTH_TRYV(cf.StrList("Env", c.env));
    BERTH_TRYV(cf.StrList("Entrypoint", c.entrypoint, true));
    BERTH_TRYV(cf.StrList("Cmd", c.cmd, true));
    BERTH_TRYV(cf.Str("WorkingDir", c.working_dir));
    BERTH_TRYV(cf.KeySet("ExposedPorts", c.exposed_ports));
    BERTH_TRYV(cf.KeySet("Volumes", c.volumes));
    BERTH_TRYV(cf.StrMap("Labels", c.labels));
    BERTH_TRYV(cf.Str("StopSignal", c.stop_signal));
  }

  const Json* rootfs = f.Find("rootfs");
  if (!rootfs) return f.Missing("rootfs");
  if (!rootfs->is_object()) return doc.TypeError("rootfs", "an object", *rootfs);
  Fields rf(*rootfs, "rootfs", doc);
  std::string type;
  BERTH_TRYV(rf.Str("type", type, true));
  if (type != "layers") return doc.Bad("rootfs.type", QuoteText(type) + " is not \"layers\"");
  if (!rf.Find("diff_ids")) return rf.Missing("diff_ids");
  BERTH_TRYV(rf.StrList("diff_ids", c.diff_ids));
  for (size_t i = 0; i < c.diff_ids.size(); ++i)
    if (auto ok = ValidateDigest(c.diff_ids[i]); !ok)
      return doc.Bad(Join("rootfs.diff_ids", i), ok.error().detail);
  return c;
}

Result<std::string> DetectMediaType(std::string_view json, std::string_view what) {
  Doc doc{"detect media type of", what};
  Json j = BERTH_TRY(ParseJson(json, doc));
  Fields f(j, "", doc);
  std::string type;
  BERTH_TRYV(f.Str("mediaType", type));
  if (!type.empty()) return type;
  int64_t version = 0;
  // Only for the message: schema1 documents have neither mediaType nor the fields below.
  if (f.Int("schemaVersion", version) && version == 1)
    return doc.Bad("schemaVersion", "Docker schema1 manifests are not supported");
  if (f.Find("manifests")) return std::string(media::kOciIndex);
  if (f.Find("config") && f.Find("layers")) return std::string(media::kOciManifest);
  return doc.Bad("",
                 "no mediaType, and neither \"manifests\" (an index) nor \"config\" and "
                 "\"layers\" (a manifest)");
}

std::string DescriptorJson(const Descriptor& d) { return Dump(EncodeDescriptor(d)); }

std::string IndexJson(const Index& index) {
  Json j = Json::object();
  j["schemaVersion"] = index.schema_version;
  if (!index.media_type.empty()) j["mediaType"] = index.media_type;
  Json manifests = Json::array();
  for (const Descriptor& d : index.manifests) manifests.push_back(EncodeDescriptor(d));
  j["manifests"] = std::move(manifests);
  if (!index.annotations.empty()) j["annotations"] = index.annotations;
  return Dump(j);
}

std::string ImageConfigJson(const ImageConfig& c) {
  Json j = Json::object();
  if (!c.created.empty()) j["created"] = c.created;
  if (!c.author.empty()) j["author"] = c.author;
  j["architecture"] = c.platform.architecture;
  j["os"] = c.platform.os;
  if (!c.platform.variant.empty()) j["variant"] = c.platform.variant;
  if (!c.platform.os_version.empty()) j["os.version"] = c.platform.os_version;
  if (!c.platform.os_features.empty()) j["os.features"] = c.platform.os_features;

  Json config = Json::object();
  if (!c.user.empty()) config["User"] = c.user;
  if (!c.exposed_ports.empty()) config["ExposedPorts"] = KeySetJson(c.exposed_ports);
  if (!c.env.empty()) config["Env"] = c.env;
  if (!c.entrypoint.empty()) config["Entrypoint"] = c.entrypoint;
  if (!c.cmd.empty()) config["Cmd"] = c.cmd;
  if (!c.volumes.empty()) config["Volumes"] = KeySetJson(c.volumes);
  if (!c.working_dir.empty()) config["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) config["Labels"] = c.labels;
  if (!c.stop_signal.empty()) config["StopSignal"] = c.stop_signal;
  j["config"] = std::move(config);

  j["rootfs"] = {{"type", "layers"}, {"diff_ids", c.diff_ids}};
  // Indented: this is what `inspect` prints (stored config blobs are kept byte for byte).
  return Dump(j, 2);
}

std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> chain;
  chain.reserve(diff_ids.size());
  for (const std::string& diff : diff_ids)
    chain.push_back(chain.empty() ? diff : Sha256Digest(chain.back() + " " + diff));
  return chain;
}

}  // namespace berth::image
