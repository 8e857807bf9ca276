// Import and export of OCI image layouts and docker-save archives (see layout.h).
// Archives are read and written with libarchive. An imported archive is first unpacked
// into a private temporary directory in the store (regular files and directories only,
// no name leaving it), then read as a directory; every blob reaches the content store
// through a verifying ContentWriter, so a corrupt archive changes nothing.
#include "image/layout.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <set>

#include "base/log.h"
#include "image/reference.h"
#include "image/unpack.h"
#include "sys/fs.h"

namespace berth::image {

namespace {

using json = nlohmann::json;

constexpr size_t kChunk = 1 << 20;

// ---- small file helpers ----

Result<void> CopyIntoStore(ContentStore& content, const std::string& file,
                           const std::string& digest, int64_t size) {
  BERTH_TRYV(ValidateDigest(digest));
  if (content.Has(digest)) return {};
  UniqueFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Errno("import: open", file);
  auto w = BERTH_TRY(content.Writer(digest, size));
  if (w->Exists()) return {};
  if (w->Offset() > 0) BERTH_TRYV(w->Truncate());
  std::string buf(kChunk, '\0');
  // An archive's bytes that fail must not stay behind as an ingest a pull would resume.
  auto abort = [&](Error e) {
    w->Abort();
    return std::unexpected(std::move(e));
  };
  for (;;) {
    ssize_t n = read(fd.Get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return abort(Errno("import: read", file).error());
    }
    if (n == 0) break;
    if (auto r = w->Write(buf.data(), n); !r) return abort(r.error());
  }
  auto r = w->Commit();
  if (!r) return std::unexpected(r.error().Wrap("import " + file));
  return {};
}

Result<std::string> HashFile(const std::string& file, int64_t* size) {
  UniqueFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Errno("import: open", file);
  auto h = BERTH_TRY(Hasher::New("sha256"));
  std::string buf(kChunk, '\0');
  *size = 0;
  for (;;) {
    ssize_t n = read(fd.Get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("import: read", file);
    }
    if (n == 0) break;
    h.Update(buf.data(), n);
    *size += n;
  }
  return h.Final();
}

// The import's temp dir: what is left of it is only logged (the import's own result wins).
void RemoveTempDir(const std::string& dir) {
  if (auto r = sys::RemoveTree(dir); !r) log::Warn("import: " + r.error().Message());
}

// Rejects names that could leave the extraction directory.
bool SafeName(const std::string& name) {
  if (name.empty() || name[0] == '/') return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    if (name.compare(start, end - start, "..") == 0 && end - start == 2) return false;
    start = end + 1;
  }
  return true;
}

// Lexical resolution of a symlink's target against the entry's directory, inside the
// archive: "" when it would leave it.
std::string ResolveLink(const std::string& name, const std::string& target) {
  if (target.empty() || target[0] == '/') return "";
  std::vector<std::string> parts;
  auto push = [&](std::string_view path) {
    size_t start = 0;
    while (start <= path.size()) {
      size_t end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      std::string_view c = path.substr(start, end - start);
      if (c == "..") {
        if (parts.empty()) return false;
        parts.pop_back();
      } else if (!c.empty() && c != ".") {
        parts.emplace_back(c);
      }
      start = end + 1;
    }
    return true;
  };
  size_t slash = name.rfind('/');
  if (slash != std::string::npos && !push(std::string_view(name).substr(0, slash))) return "";
  if (!push(target)) return "";
  std::string out;
  for (auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// Creates the directories leading to `out` (a path below the extraction dir).
Result<void> MkdirParents(const std::string& out) { return sys::MkdirAll(out.substr(0, out.rfind('/')), 0700); }

// Extracts regular files and directories only. Symlinks (docker save links a layer shared
// by several images to its first copy) become hard links to the file they name, resolved
// lexically inside the archive; no symlink is ever created, so plain paths are safe here.
Result<void> ExtractArchive(const std::string& path, const std::string& dir) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_support_filter_all(a.get());
  int r = path == "-" ? archive_read_open_fd(a.get(), 0, kChunk)
                      : archive_read_open_filename(a.get(), path.c_str(), kChunk);
  auto fail = [&](const std::string& what) {
    const char* msg = archive_error_string(a.get());
    return Fail("import", path, what + ": " + (msg ? msg : "unknown error"));
  };
  if (r != ARCHIVE_OK) return fail("open");
  struct archive_entry* e;
  std::string buf(kChunk, '\0');
  std::vector<std::pair<std::string, std::string>> links;  // name -> target in the archive
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    while (name.starts_with("./")) name.erase(0, 2);
    while (!name.empty() && name.back() == '/') name.pop_back();
    if (name.empty()) continue;
    if (!SafeName(name)) return Fail("import", path, "entry \"" + name + "\" leaves the archive");
    std::string out = dir + "/" + name;
    auto type = archive_entry_filetype(e);
    if (type == AE_IFDIR) {
      BERTH_TRYV(MkdirParents(out));
      if (mkdir(out.c_str(), 0700) < 0 && errno != EEXIST) return Errno("import: mkdir", out);
      continue;
    }
    if (type == AE_IFLNK) {
      const char* t = archive_entry_symlink(e);
      std::string target = ResolveLink(name, t ? t : "");
      if (target.empty())
        return Fail("import", path, "symlink \"" + name + "\" points outside the archive");
      links.emplace_back(name, target);
      continue;
    }
    if (type != AE_IFREG) continue;  // nothing else belongs in a layout or docker save
    BERTH_TRYV(MkdirParents(out));
    UniqueFd fd(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return Errno("import: create", out);
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) return fail("read " + name);
      if (n == 0) break;
      BERTH_TRYV(sys::WriteAll(fd.Get(), buf.data(), n, out.c_str()));
    }
  }
  if (r != ARCHIVE_EOF) return fail("read");
  for (auto& [name, target] : links) {
    std::string out = dir + "/" + name, src = dir + "/" + target;
    BERTH_TRYV(MkdirParents(out));
    struct stat st;
    if (lstat(src.c_str(), &st) < 0 || !S_ISREG(st.st_mode))
      return Fail("import", path, "symlink \"" + name + "\" names \"" + target + "\", which is not a file in the archive");
    if (link(src.c_str(), out.c_str()) < 0 && errno != EEXIST) return Errno("import: link", out);
  }
  return {};
}

// ---- OCI layout ----

std::string BlobFile(const std::string& dir, const std::string& digest) {
  size_t colon = digest.find(':');
  return dir + "/blobs/" + digest.substr(0, colon) + "/" + digest.substr(colon + 1);
}

// Copies a descriptor's blob and, for indexes and manifests, what they reference (children
// of an index that the layout does not carry are skipped: a layout may hold one platform).
Result<void> ImportGraph(ContentStore& content, const std::string& dir, const Descriptor& d,
                         int depth, std::set<std::string>& seen) {
  if (depth > 4) return Fail("import", d.digest, "indexes nested too deep");
  BERTH_TRYV(ValidateDigest(d.digest));
  if (!seen.insert(d.digest).second) return {};  // a blob shared or repeated: once
  std::string file = BlobFile(dir, d.digest);
  if (access(file.c_str(), F_OK) < 0 && !content.Has(d.digest))
    return Fail("import", d.digest, "blob missing from the layout (" + d.media_type + ")");
  if (!content.Has(d.digest)) BERTH_TRYV(CopyIntoStore(content, file, d.digest, d.size));
  if (IsIndexType(d.media_type)) {
    auto body = BERTH_TRY(content.ReadBlob(d.digest));
    auto index = BERTH_TRY(ParseIndex(body, d.digest));
    int present = 0;
    for (auto& child : index.manifests) {
      BERTH_TRYV(ValidateDigest(child.digest));
      if (access(BlobFile(dir, child.digest).c_str(), F_OK) < 0 && !content.Has(child.digest))
        continue;
      ++present;
      BERTH_TRYV(ImportGraph(content, dir, child, depth + 1, seen));
    }
    if (present == 0)
      return Fail("import", d.digest, "the index names no manifest the archive holds");
  } else if (IsManifestType(d.media_type)) {
    auto body = BERTH_TRY(content.ReadBlob(d.digest));
    auto m = BERTH_TRY(ParseManifest(body, d.digest));
    BERTH_TRYV(ImportGraph(content, dir, m.config, depth + 1, seen));
    for (auto& l : m.layers) BERTH_TRYV(ImportGraph(content, dir, l, depth + 1, seen));
  }
  return {};
}

// The image name of an index.json entry: a full reference, or a bare tag joined to
// default_name's repository.
Result<std::string> NameOf(const Descriptor& d, const std::string& default_name) {
  std::string n;
  for (const char* key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
    auto it = d.annotations.find(key);
    if (it != d.annotations.end() && !it->second.empty()) {
      n = it->second;
      break;
    }
  }
  if (!n.empty() && n.find('/') == std::string::npos && n.find(':') == std::string::npos) {
    // A tag only ("latest", as skopeo and umoci write it): the repository comes from --name.
    if (default_name.empty())
      return Fail("import", d.digest,
                  "the archive names the image only by its tag \"" + n + "\": give --name");
    auto def = BERTH_TRY(ParseReference(default_name));
    return def.Repository() + ":" + n;
  }
  if (n.empty()) n = default_name;
  if (n.empty())
    return Fail("import", d.digest, "the image has no name in the archive: give --name");
  auto ref = BERTH_TRY(ParseReference(n));
  return ref.String();
}

Result<std::vector<ImageRecord>> ImportLayout(Store& store, const std::string& dir,
                                              const std::string& default_name) {
  auto text = BERTH_TRY(sys::ReadFile(dir + "/index.json"));
  auto index = BERTH_TRY(ParseIndex(text, dir + "/index.json"));
  std::vector<ImageRecord> out;
  if (index.manifests.empty()) return Fail("import", dir + "/index.json", "names no image");
  std::set<std::string> seen;
  for (auto& d : index.manifests) {
    if (!IsIndexType(d.media_type) && !IsManifestType(d.media_type))
      return Fail("import", d.digest, "index.json entry is not a manifest or index (" + d.media_type + ")");
    BERTH_TRYV(ImportGraph(store.content, dir, d, 0, seen));
    ImageRecord rec{BERTH_TRY(NameOf(d, default_name)), d, log::NowRfc3339()};
    rec.target.annotations.clear();
    rec.target.platform.reset();
    BERTH_TRYV(store.images.Put(rec));
    out.push_back(std::move(rec));
  }
  return out;
}

// ---- docker save ----

Compression SniffCompression(const std::string& file) {
  unsigned char m[4] = {};
  UniqueFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd && read(fd.Get(), m, 4) == 4) {
    if (m[0] == 0x1f && m[1] == 0x8b) return Compression::kGzip;
    if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) return Compression::kZstd;
  }
  return Compression::kNone;
}

Result<std::vector<ImageRecord>> ImportDockerArchive(Store& store, const std::string& dir,
                                                     const std::string& default_name) {
  auto text = BERTH_TRY(sys::ReadFile(dir + "/manifest.json"));
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_array()) return Fail("import", "manifest.json", "not a JSON array");
  std::vector<ImageRecord> out;
  for (auto& item : doc) {
    if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string() ||
        !item.contains("Layers") || !item["Layers"].is_array())
      return Fail("import", "manifest.json", "entry without Config or Layers");
    auto path = [&](const json& v) -> Result<std::string> {
      if (!v.is_string() || !SafeName(v.get<std::string>()))
        return Fail("import", "manifest.json", "bad file name " + v.dump());
      return dir + "/" + v.get<std::string>();
    };
    Manifest m;
    m.media_type = std::string(media::kOciManifest);
    std::string cfile = BERTH_TRY(path(item["Config"]));
    m.config.media_type = std::string(media::kOciConfig);
    m.config.digest = BERTH_TRY(HashFile(cfile, &m.config.size));
    {
      auto ctext = BERTH_TRY(sys::ReadFile(cfile));
      auto cfg = BERTH_TRY(ParseImageConfig(ctext, item["Config"].get<std::string>()));
      if (cfg.diff_ids.size() != item["Layers"].size())
        return Fail("import", "manifest.json", "the config lists " + std::to_string(cfg.diff_ids.size()) +
                                                  " diff_ids for " + std::to_string(item["Layers"].size()) + " layers");
    }
    BERTH_TRYV(CopyIntoStore(store.content, cfile, m.config.digest, m.config.size));
    for (auto& l : item["Layers"]) {
      std::string lfile = BERTH_TRY(path(l));
      Descriptor d;
      switch (SniffCompression(lfile)) {
        case Compression::kGzip: d.media_type = std::string(media::kOciLayerGzip); break;
        case Compression::kZstd: d.media_type = std::string(media::kOciLayerZstd); break;
        default: d.media_type = std::string(media::kOciLayer);
      }
      d.digest = BERTH_TRY(HashFile(lfile, &d.size));
      BERTH_TRYV(CopyIntoStore(store.content, lfile, d.digest, d.size));
      m.layers.push_back(std::move(d));
    }
    // Serialise the manifest through the model's descriptor JSON.
    std::string body = "{\"schemaVersion\":2,\"mediaType\":\"" + m.media_type +
                       "\",\"config\":" + DescriptorJson(m.config) + ",\"layers\":[";
    for (size_t i = 0; i < m.layers.size(); ++i)
      body += (i ? "," : "") + DescriptorJson(m.layers[i]);
    body += "]}";
    Descriptor target{m.media_type, Sha256Digest(body), static_cast<int64_t>(body.size()),
                      {}, {}, std::nullopt};
    BERTH_TRYV(store.content.WriteBlob(target.digest, target.size, body));
    std::vector<std::string> names;
    if (item.contains("RepoTags") && item["RepoTags"].is_array())
      for (auto& t : item["RepoTags"])
        if (t.is_string()) names.push_back(t.get<std::string>());
    if (names.empty() && !default_name.empty()) names.push_back(default_name);
    if (names.empty())
      return Fail("import", "manifest.json", "an image has no RepoTags: give --name");
    for (auto& n : names) {
      auto ref = BERTH_TRY(ParseReference(n));
      ImageRecord rec{ref.String(), target, log::NowRfc3339()};
      BERTH_TRYV(store.images.Put(rec));
      out.push_back(std::move(rec));
    }
  }
  return out;
}

// ---- export ----

class TarWriter {
 public:
  static Result<TarWriter> Open(const std::string& path) {
    TarWriter t;
    t.a_ = archive_write_new();
    archive_write_set_format_pax_restricted(t.a_);
    int r = path == "-" ? archive_write_open_fd(t.a_, 1)
                        : archive_write_open_filename(t.a_, path.c_str());
    if (r != ARCHIVE_OK) {
      const char* msg = archive_error_string(t.a_);
      return Fail("export: open", path, msg ? msg : "unknown error");
    }
    t.path_ = path;
    return t;
  }
  TarWriter(TarWriter&& o) noexcept : a_(std::exchange(o.a_, nullptr)), path_(std::move(o.path_)) {}
  ~TarWriter() {
    if (a_) archive_write_free(a_);
  }

  Result<void> Dir(const std::string& name) { return Header(name, AE_IFDIR, 0755, 0); }
  Result<void> Bytes(const std::string& name, std::string_view data) {
    BERTH_TRYV(Header(name, AE_IFREG, 0644, data.size()));
    if (archive_write_data(a_, data.data(), data.size()) < 0) return Err("write " + name);
    return {};
  }
  // A file of known size streamed from a reader.
  Result<void> Stream(const std::string& name, int64_t size, Reader& in) {
    BERTH_TRYV(Header(name, AE_IFREG, 0644, size));
    std::string buf(kChunk, '\0');
    int64_t left = size;
    while (left > 0) {
      size_t n = BERTH_TRY(in.Read(buf.data(), std::min<int64_t>(left, buf.size())));
      if (n == 0) return Fail("export", name, "source ended early");
      if (archive_write_data(a_, buf.data(), n) < 0) return Err("write " + name);
      left -= n;
    }
    return {};
  }
  Result<void> Close() {
    if (archive_write_close(a_) != ARCHIVE_OK) return Err("close");
    return {};
  }

 private:
  TarWriter() = default;
  Result<void> Header(const std::string& name, unsigned type, int perm, int64_t size) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(a_, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) return Err("header " + name);
    return {};
  }
  std::unexpected<Error> Err(const std::string& what) {
    return Fail("export", path_, what + ": " + (archive_error_string(a_) ? archive_error_string(a_) : "?"));
  }
  struct archive* a_ = nullptr;
  std::string path_;
};

Result<void> AddBlob(TarWriter& tar, const ContentStore& content, const std::string& digest,
                     std::set<std::string>& written) {
  if (!written.insert(digest).second) return {};
  auto fd = BERTH_TRY(content.OpenBlob(digest));
  auto size = BERTH_TRY(content.Size(digest));
  FdReader in(fd.Get());
  size_t colon = digest.find(':');
  return tar.Stream("blobs/" + digest.substr(0, colon) + "/" + digest.substr(colon + 1), size, in);
}

// True when every child of the index is in the store (a complete multi-platform image).
Result<bool> IndexComplete(const ContentStore& content, const Descriptor& d) {
  auto body = BERTH_TRY(content.ReadBlob(d.digest));
  auto index = BERTH_TRY(ParseIndex(body, d.digest));
  for (auto& c : index.manifests) {
    if (!content.Has(c.digest)) return false;
  }
  return true;
}

Result<void> ExportOci(const Store& store, const std::vector<ResolvedImage>& images,
                       TarWriter& tar) {
  std::set<std::string> written;
  Index index;
  index.media_type = std::string(media::kOciIndex);
  BERTH_TRYV(tar.Bytes("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"));
  BERTH_TRYV(tar.Dir("blobs"));
  BERTH_TRYV(tar.Dir("blobs/sha256"));
  for (auto& img : images) {
    Descriptor d = img.record.target;
    if (IsIndexType(d.media_type) && !BERTH_TRY(IndexComplete(store.content, d))) {
      // Only one platform was pulled: export that platform's manifest, not a broken index.
      d = img.manifest_desc;
    }
    auto blobs = BERTH_TRY(ImageBlobs(store, d));
    for (auto& b : blobs) BERTH_TRYV(AddBlob(tar, store.content, b, written));
    auto ref = ParseReference(img.record.name);
    d.annotations["io.containerd.image.name"] = img.record.name;
    d.annotations["org.opencontainers.image.ref.name"] =
        ref ? (ref->digest.empty() ? ref->tag : ref->digest) : img.record.name;
    index.manifests.push_back(std::move(d));
  }
  return tar.Bytes("index.json", IndexJson(index));
}

Result<void> ExportDocker(const Store& store, const std::vector<ResolvedImage>& images,
                          TarWriter& tar) {
  json manifest = json::array();
  std::set<std::string> written;
  for (auto& img : images) {
    std::string chex(DigestHex(img.config_desc.digest));
    if (written.insert(chex).second) {
      auto cfg = BERTH_TRY(store.content.ReadBlob(img.config_desc.digest));
      BERTH_TRYV(tar.Bytes(chex + ".json", cfg));
    }
    json layers = json::array();
    for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
      // docker-save layers are uncompressed tars named after their diff_id.
      std::string lhex(DigestHex(img.config.diff_ids[i]));
      std::string name = lhex + "/layer.tar";
      layers.push_back(name);
      if (!written.insert(lhex).second) continue;
      const auto& l = img.manifest.layers[i];
      auto comp = BERTH_TRY(LayerCompression(l.media_type));
      // The tar header needs the size first: measure by decompressing once.
      int64_t size = 0;
      {
        auto fd = BERTH_TRY(store.content.OpenBlob(l.digest));
        FdReader raw(fd.Get());
        auto in = BERTH_TRY(Decompress(raw, comp));
        std::string buf(kChunk, '\0');
        for (;;) {
          size_t n = BERTH_TRY(in->Read(buf.data(), buf.size()));
          if (n == 0) break;
          size += n;
        }
      }
      auto fd = BERTH_TRY(store.content.OpenBlob(l.digest));
      FdReader raw(fd.Get());
      auto in = BERTH_TRY(Decompress(raw, comp));
      BERTH_TRYV(tar.Dir(lhex));
      BERTH_TRYV(tar.Stream(name, size, *in));
    }
    json tags = json::array();
    auto ref = ParseReference(img.record.name);
    if (ref && ref->digest.empty()) tags.push_back(ref->Familiar());
    manifest.push_back({{"Config", chex + ".json"}, {"RepoTags", tags}, {"Layers", layers}});
  }
  return tar.Bytes("manifest.json", manifest.dump());
}

}  // namespace

Result<std::vector<ImageRecord>> ImportImages(Store& store, const std::string& path,
                                              const std::string& default_name) {
  // Shared, as a pull: gc must not sweep blobs written before the image is named.
  auto gc_lock = LockGc(store, LOCK_SH);
  if (!gc_lock) return std::unexpected(gc_lock.error().Wrap("import"));
  struct stat st;
  std::string dir;
  std::string tmp;
  if (path != "-" && stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    dir = path;
  } else {
    if (path != "-" && access(path.c_str(), R_OK) < 0) return Errno("import", path);
    tmp = store.root + "/import-XXXXXX";
    if (!mkdtemp(tmp.data())) return Errno("import: mkdtemp", tmp);
    auto r = ExtractArchive(path, tmp);
    if (!r) {
      RemoveTempDir(tmp);
      return std::unexpected(r.error());
    }
    dir = tmp;
  }
  Result<std::vector<ImageRecord>> out;
  if (access((dir + "/oci-layout").c_str(), F_OK) == 0 && access((dir + "/index.json").c_str(), F_OK) == 0)
    out = ImportLayout(store, dir, default_name);
  else if (access((dir + "/manifest.json").c_str(), F_OK) == 0)
    out = ImportDockerArchive(store, dir, default_name);
  else
    out = Fail("import", path, "neither an OCI image layout (oci-layout, index.json) nor a docker-save archive (manifest.json)");
  if (!tmp.empty()) RemoveTempDir(tmp);
  if (!out) return std::unexpected(out.error().Wrap("import " + path));
  return out;
}

Result<void> ExportImages(const Store& store, const std::vector<std::string>& names,
                          const std::string& path, ArchiveFormat format,
                          const Platform& platform) {
  std::vector<ResolvedImage> images;
  for (auto& n : names) images.push_back(BERTH_TRY(ResolveImage(store, n, platform)));
  // Into a temporary file renamed at the end, so a failed export leaves no truncated
  // archive — unless the output exists and is not a regular file (/dev/stdout, a fifo):
  // that is written directly, never replaced.
  std::optional<sys::TempFile> tmp;
  struct stat st;
  if (path != "-" && (lstat(path.c_str(), &st) < 0 || S_ISREG(st.st_mode))) {
    auto t = sys::TempFile::Create(path, 0600);
    if (!t) return std::unexpected(t.error().Wrap("export"));
    tmp.emplace(std::move(*t));
  }
  auto tar = BERTH_TRY(TarWriter::Open(tmp ? tmp->Path() : path));
  auto r = format == ArchiveFormat::kOciLayout ? ExportOci(store, images, tar)
                                               : ExportDocker(store, images, tar);
  if (r) r = tar.Close();
  // The temporary file goes with tmp unless committed.
  if (r && tmp) r = tmp->Commit(sys::TempFile::Durability::kAtomic);
  if (!r) return std::unexpected(r.error().Wrap("export"));
  return {};
}

}  // namespace berth::image
