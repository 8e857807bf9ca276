// OCI / Docker documents: manifests, indexes and image configs as registries serve them,
// platform parsing and selection, serialisation round trips, chain IDs, and the errors for
// malformed or mistyped documents.
#include <gtest/gtest.h>

#include <string>

#include "image/digest.h"
#include "image/manifest.h"

namespace berth::image {
namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');
const std::string kD4 = "sha256:" + std::string(64, '4');

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

const std::string kOciManifest = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "size": 1469
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
      "size": 2818413,
      "annotations": {"org.opencontainers.image.title": "base"}
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
      "digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
      "size": 0,
      "urls": ["https://mirror.example/layer"]
    }
  ],
  "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
})";

const std::string kDockerManifest = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 7023,
      "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 32654,
         "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222"
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 16724,
         "digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
         "urls": ["https://go.microsoft.com/fwlink/?linkid=837858"]
      }
   ]
})";

// A manifest list as Docker Hub serves it for an official image, with an amd64/v2 entry,
// an arm64 entry without a variant and a buildx attestation.
const std::string kIndex = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 100,
     "digest": "sha256:a000000000000000000000000000000000000000000000000000000000000000",
     "platform": {"architecture": "amd64", "os": "linux", "variant": "v2"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 101,
     "digest": "sha256:a100000000000000000000000000000000000000000000000000000000000000",
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 102,
     "digest": "sha256:a200000000000000000000000000000000000000000000000000000000000000",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v6"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 103,
     "digest": "sha256:a300000000000000000000000000000000000000000000000000000000000000",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 104,
     "digest": "sha256:a400000000000000000000000000000000000000000000000000000000000000",
     "platform": {"architecture": "arm64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 105,
     "digest": "sha256:a500000000000000000000000000000000000000000000000000000000000000",
     "platform": {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.5329",
                  "os.features": ["win32k"]}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 106,
     "digest": "sha256:a600000000000000000000000000000000000000000000000000000000000000",
     "platform": {"architecture": "unknown", "os": "unknown"},
     "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 107,
     "digest": "sha256:a700000000000000000000000000000000000000000000000000000000000000"}
  ],
  "annotations": {"org.opencontainers.image.ref.name": "1.36"}
})";

// Docker writes nulls for unset fields and {} sets for ports and volumes.
const std::string kDockerConfig = R"({
  "architecture": "arm64",
  "variant": "v8",
  "os": "linux",
  "created": "2023-05-19T20:19:17.911573982Z",
  "author": "someone",
  "config": {
    "Hostname": "",
    "User": "nginx:nginx",
    "ExposedPorts": {"80/tcp": {}, "443/tcp": {}},
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.25.0"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "Volumes": {"/var/cache/nginx": {}},
    "WorkingDir": "/srv",
    "Labels": {"maintainer": "NGINX Docker Maintainers"},
    "StopSignal": "SIGQUIT",
    "OnBuild": null
  },
  "rootfs": {
    "type": "layers",
    "diff_ids": [
      "sha256:1111111111111111111111111111111111111111111111111111111111111111",
      "sha256:2222222222222222222222222222222222222222222222222222222222222222"
    ]
  },
  "history": [{"created": "2023-05-19T20:19:17Z", "created_by": "/bin/sh"}]
})";

std::string ManifestError(const std::string& json) {
  auto r = ParseManifest(json, "sha256:m");
  return r ? "(parsed)" : r.error().Message();
}
std::string IndexError(const std::string& json) {
  auto r = ParseIndex(json, "sha256:i");
  return r ? "(parsed)" : r.error().Message();
}
std::string ConfigError(const std::string& json) {
  auto r = ParseImageConfig(json, "sha256:c");
  return r ? "(parsed)" : r.error().Message();
}

TEST(ImageManifest, ParsesOciManifest) {
  auto m = ParseManifest(kOciManifest, "test");
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->schema_version, 2);
  EXPECT_EQ(m->media_type, media::kOciManifest);
  EXPECT_EQ(m->config.media_type, media::kOciConfig);
  EXPECT_EQ(m->config.digest, kD1);
  EXPECT_EQ(m->config.size, 1469);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].media_type, media::kOciLayerGzip);
  EXPECT_EQ(m->layers[0].digest, kD2);
  EXPECT_EQ(m->layers[0].size, 2818413);
  EXPECT_EQ(m->layers[0].annotations.at("org.opencontainers.image.title"), "base");
  EXPECT_EQ(m->layers[1].size, 0);
  EXPECT_EQ(m->layers[1].urls, std::vector<std::string>{"https://mirror.example/layer"});
  EXPECT_EQ(m->annotations.at("org.opencontainers.image.created"), "2024-01-01T00:00:00Z");
}

TEST(ImageManifest, ParsesDockerManifest) {
  auto m = ParseManifest(kDockerManifest, "test");
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->media_type, media::kDockerManifest);
  EXPECT_EQ(m->config.media_type, media::kDockerConfig);
  EXPECT_EQ(m->config.size, 7023);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(*LayerCompression(m->layers[0].media_type), Compression::kGzip);
  EXPECT_EQ(*LayerCompression(m->layers[1].media_type), Compression::kGzip);
  EXPECT_EQ(m->layers[1].urls.size(), 1u);
}

TEST(ImageManifest, OciManifestWithoutMediaType) {
  std::string json =
      Replace(kOciManifest, R"("mediaType": "application/vnd.oci.image.manifest.v1+json",)", "");
  auto m = ParseManifest(json, "test");
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->media_type, media::kOciManifest);
  EXPECT_EQ(*DetectMediaType(json, "test"), media::kOciManifest);
}

TEST(ImageManifest, ManifestErrorsNameDocumentAndField) {
  // The parser's own account, without nlohmann's "[json.exception...]" tag, says where.
  EXPECT_EQ(ManifestError("{").rfind("parse manifest sha256:m: malformed JSON: ", 0), 0u)
      << ManifestError("{");
  EXPECT_NE(ManifestError("{").find("line 1, column 2"), std::string::npos) << ManifestError("{");
  EXPECT_NE(ManifestError("{\n  \"a\": 1,\n  x").find("line 3, column 3"), std::string::npos)
      << ManifestError("{\n  \"a\": 1,\n  x");
  EXPECT_EQ(ManifestError("{").find("[json."), std::string::npos) << ManifestError("{");
  EXPECT_EQ(ManifestError("[]"), "parse manifest sha256:m: expected a JSON object, got an array");
  EXPECT_EQ(
      ManifestError(Replace(kOciManifest, R"("schemaVersion": 2)", R"("schemaVersion": "2")")),
      "parse manifest sha256:m: schemaVersion: expected an integer, got a string");
  EXPECT_EQ(ManifestError(Replace(kOciManifest, R"("schemaVersion": 2)", R"("schemaVersion": 3)")),
            "parse manifest sha256:m: schemaVersion: 3 is not 2");
  EXPECT_NE(ManifestError(Replace(kOciManifest, R"("schemaVersion": 2)", R"("schemaVersion": 1)"))
                .find("schema1 manifests are not supported"),
            std::string::npos);
  EXPECT_EQ(ManifestError(Replace(kOciManifest, R"("schemaVersion": 2,)", "")),
            "parse manifest sha256:m: schemaVersion: required field is missing");
  EXPECT_EQ(ManifestError(Replace(kOciManifest, R"("size": 2818413)", R"("size": -1)")),
            "parse manifest sha256:m: layers[0].size: -1 is negative");
  EXPECT_EQ(ManifestError(Replace(kOciManifest, R"("size": 2818413)", R"("size": 1.5)")),
            "parse manifest sha256:m: layers[0].size: expected an integer, got a number");
  EXPECT_EQ(
      ManifestError(Replace(kOciManifest, R"("size": 1469)", R"("size": 18446744073709551615)")),
      "parse manifest sha256:m: config.size: integer out of range");
  EXPECT_EQ(ManifestError(Replace(kOciManifest, kD3, "sha256:../../etc/passwd")),
            "parse manifest sha256:m: layers[1].digest: expected 64 lowercase hex digits after "
            "\"sha256:\"");
  EXPECT_EQ(ManifestError(Replace(kOciManifest, R"("urls": ["https://mirror.example/layer"])",
                                  R"("urls": [7])")),
            "parse manifest sha256:m: layers[1].urls[0]: expected a string, got an integer");
  EXPECT_EQ(ManifestError(Replace(kOciManifest, R"({"org.opencontainers.image.title": "base"})",
                                  R"({"k": 1})")),
            "parse manifest sha256:m: layers[0].annotations[\"k\"]: expected a string, got an "
            "integer");
  std::string no_config = R"({"schemaVersion": 2, "layers": []})";
  EXPECT_EQ(ManifestError(no_config), "parse manifest sha256:m: config: required field is missing");
  std::string no_layers =
      R"({"schemaVersion": 2, "config": {"mediaType": "x", "size": 1, "digest": ")" + kD1 +
      R"("}})";
  EXPECT_EQ(ManifestError(no_layers), "parse manifest sha256:m: layers: required field is missing");
  EXPECT_EQ(ManifestError(Replace(no_layers, "}}", R"(}, "layers": {}})")),
            "parse manifest sha256:m: layers: expected an array, got an object");
  EXPECT_EQ(ManifestError(Replace(kOciManifest, R"("size": 1469)", R"("size": null)")),
            "parse manifest sha256:m: config.size: required field is missing");
  EXPECT_EQ(ManifestError(Replace(
                kOciManifest, R"("mediaType": "application/vnd.oci.image.config.v1+json",)", "")),
            "parse manifest sha256:m: config.mediaType: required field is missing");
  EXPECT_EQ(ManifestError(R"({"schemaVersion": 2, "config": [], "layers": []})"),
            "parse manifest sha256:m: config: expected a descriptor object, got an array");
}

// Registries and archives are untrusted: a truncated or hostile document is an error,
// never an exception or a crash.
TEST(ImageManifest, TruncatedAndHostileDocumentsFailCleanly) {
  // Every third prefix keeps this fast; each one cuts the document somewhere new.
  for (size_t n = 0; n + 1 < kOciManifest.size(); n += 3)
    EXPECT_FALSE(ParseManifest(std::string_view(kOciManifest).substr(0, n), "t")) << n;
  for (size_t n = 0; n + 1 < kIndex.size(); n += 3)
    EXPECT_FALSE(ParseIndex(std::string_view(kIndex).substr(0, n), "t")) << n;
  for (size_t n = 0; n + 1 < kDockerConfig.size(); n += 3)
    EXPECT_FALSE(ParseImageConfig(std::string_view(kDockerConfig).substr(0, n), "t")) << n;
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(ParseManifest(deep, "deep"));
  EXPECT_FALSE(ParseManifest(std::string("{\"schemaVersion\": 2, \"x\": \"\xff\"}"), "utf8"));
}

TEST(ImageManifest, ManifestAndIndexAreNotInterchangeable) {
  EXPECT_NE(ManifestError(kIndex).find("mediaType: \"application/vnd.oci.image.index.v1+json\" is "
                                       "an index, not an image manifest"),
            std::string::npos)
      << ManifestError(kIndex);
  EXPECT_NE(IndexError(kOciManifest).find("is an image manifest, not an index"), std::string::npos);
  EXPECT_NE(ManifestError(Replace(kOciManifest, "vnd.oci.image.manifest.v1+json", "json"))
                .find("\"application/json\" is not an image manifest type"),
            std::string::npos);
}

TEST(ImageManifest, ParsesIndex) {
  auto index = ParseIndex(kIndex, "test");
  ASSERT_TRUE(index) << index.error().Message();
  EXPECT_EQ(index->media_type, media::kOciIndex);
  ASSERT_EQ(index->manifests.size(), 8u);
  const Descriptor& win = index->manifests[5];
  ASSERT_TRUE(win.platform);
  EXPECT_EQ(win.platform->os, "windows");
  EXPECT_EQ(win.platform->os_version, "10.0.17763.5329");
  EXPECT_EQ(win.platform->os_features, std::vector<std::string>{"win32k"});
  EXPECT_FALSE(index->manifests[7].platform);
  EXPECT_EQ(index->annotations.at("org.opencontainers.image.ref.name"), "1.36");

  // Docker manifest lists are indexes too.
  std::string list = Replace(kIndex, "application/vnd.oci.image.index.v1+json",
                             std::string(media::kDockerManifestList));
  auto docker = ParseIndex(list, "test");
  ASSERT_TRUE(docker) << docker.error().Message();
  EXPECT_EQ(docker->media_type, media::kDockerManifestList);
}

TEST(ImageManifest, IndexErrors) {
  EXPECT_EQ(IndexError(R"({"schemaVersion": 2})"),
            "parse index sha256:i: manifests: required field is missing");
  EXPECT_EQ(IndexError(R"({"schemaVersion": 2, "manifests": [1]})"),
            "parse index sha256:i: manifests[0]: expected a descriptor object, got an integer");
  EXPECT_EQ(IndexError(Replace(kIndex, R"("architecture": "arm64", )", "")),
            "parse index sha256:i: manifests[4].platform.architecture: required field is missing");
  EXPECT_EQ(
      IndexError(Replace(kIndex, R"("os.features": ["win32k"])", R"("os.features": "win32k")")),
      "parse index sha256:i: manifests[5].platform.os.features: expected an array of "
      "strings, got a string");
  EXPECT_NE(IndexError("").find("parse index sha256:i: malformed JSON"), std::string::npos);
}

TEST(ImageManifest, DetectMediaType) {
  EXPECT_EQ(*DetectMediaType(kDockerManifest, "t"), media::kDockerManifest);
  EXPECT_EQ(*DetectMediaType(kIndex, "t"), media::kOciIndex);
  EXPECT_EQ(*DetectMediaType(R"({"schemaVersion": 2, "manifests": []})", "t"), media::kOciIndex);
  auto none = DetectMediaType(R"({"schemaVersion": 2})", "blob");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().Message().find("blob: no mediaType"), std::string::npos);
  auto schema1 = DetectMediaType(R"({"schemaVersion": 1, "fsLayers": []})", "blob");
  ASSERT_FALSE(schema1);
  EXPECT_NE(schema1.error().Message().find("schema1"), std::string::npos);
  auto typed = DetectMediaType(R"({"mediaType": 5})", "blob");
  ASSERT_FALSE(typed);
  EXPECT_NE(typed.error().Message().find("mediaType: expected a string, got an integer"),
            std::string::npos);
  EXPECT_FALSE(DetectMediaType("not json", "blob"));
}

TEST(ImageManifest, DescriptorRoundTrip) {
  Descriptor d;
  d.media_type = std::string(media::kOciManifest);
  d.digest = kD4;
  d.size = 1234;
  d.urls = {"https://x/y"};
  d.annotations = {{"a", "b"}};
  d.platform = Platform{"linux", "arm", "v7", "", {}};
  std::string json = DescriptorJson(d);
  auto back = ParseDescriptor(json, "test");
  ASSERT_TRUE(back) << back.error().Message() << "\n" << json;
  EXPECT_EQ(back->media_type, d.media_type);
  EXPECT_EQ(back->digest, d.digest);
  EXPECT_EQ(back->size, d.size);
  EXPECT_EQ(back->urls, d.urls);
  EXPECT_EQ(back->annotations, d.annotations);
  ASSERT_TRUE(back->platform);
  EXPECT_EQ(back->platform->String(), "linux/arm/v7");
  // Empty optional fields are left out.
  Descriptor bare{std::string(media::kOciConfig), kD1, 2, {}, {}, std::nullopt};
  EXPECT_EQ(DescriptorJson(bare),
            R"({"digest":")" + kD1 +
                R"(","mediaType":"application/vnd.oci.image.config.v1+json","size":2})");

  auto bad = ParseDescriptor(R"({"mediaType": "x", "digest": "sha256:1", "size": 1})", "ref.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().Message().find("parse descriptor ref.json: digest: expected 64"),
            std::string::npos);
}

TEST(ImageManifest, IndexRoundTrip) {
  auto index = ParseIndex(kIndex, "test");
  ASSERT_TRUE(index);
  std::string json = IndexJson(*index);
  auto back = ParseIndex(json, "round trip");
  ASSERT_TRUE(back) << back.error().Message();
  ASSERT_EQ(back->manifests.size(), index->manifests.size());
  for (size_t i = 0; i < back->manifests.size(); ++i) {
    EXPECT_EQ(back->manifests[i].digest, index->manifests[i].digest);
    EXPECT_EQ(back->manifests[i].size, index->manifests[i].size);
    EXPECT_EQ(back->manifests[i].platform.has_value(), index->manifests[i].platform.has_value());
    if (back->manifests[i].platform) {
      EXPECT_EQ(back->manifests[i].platform->String(), index->manifests[i].platform->String());
      EXPECT_EQ(back->manifests[i].platform->os_version, index->manifests[i].platform->os_version);
    }
  }
  EXPECT_EQ(back->annotations, index->annotations);
  // Serialisation is deterministic: the same model gives the same bytes (and digest).
  EXPECT_EQ(IndexJson(*back), json);
}

TEST(ImageManifest, LayerMediaTypes) {
  EXPECT_EQ(*LayerCompression(media::kOciLayer), Compression::kNone);
  EXPECT_EQ(*LayerCompression(media::kOciLayerGzip), Compression::kGzip);
  EXPECT_EQ(*LayerCompression(media::kOciLayerZstd), Compression::kZstd);
  EXPECT_EQ(*LayerCompression(media::kDockerLayerGzip), Compression::kGzip);
  EXPECT_EQ(*LayerCompression("application/vnd.oci.image.layer.nondistributable.v1.tar"),
            Compression::kNone);
  EXPECT_EQ(*LayerCompression("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
            Compression::kGzip);
  EXPECT_EQ(*LayerCompression("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"),
            Compression::kZstd);
  EXPECT_EQ(*LayerCompression("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
            Compression::kGzip);
  auto config = LayerCompression(media::kOciConfig);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().Message(),
            "layer \"application/vnd.oci.image.config.v1+json\": not a layer media type this "
            "runtime can unpack");
  EXPECT_FALSE(LayerCompression("application/vnd.oci.image.layer.v1.tar+bzip2"));

  EXPECT_TRUE(IsIndexType(media::kOciIndex));
  EXPECT_TRUE(IsIndexType(media::kDockerManifestList));
  EXPECT_FALSE(IsIndexType(media::kOciManifest));
  EXPECT_TRUE(IsManifestType(media::kOciManifest));
  EXPECT_TRUE(IsManifestType(media::kDockerManifest));
  EXPECT_FALSE(IsManifestType(media::kDockerManifestList));
}

TEST(ImageConfigJson, ParsesDockerConfigWithNulls) {
  auto c = ParseImageConfig(kDockerConfig, "test");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ(c->platform.String(), "linux/arm64/v8");
  EXPECT_EQ(c->created, "2023-05-19T20:19:17.911573982Z");
  EXPECT_EQ(c->author, "someone");
  EXPECT_EQ(c->user, "nginx:nginx");
  EXPECT_EQ(c->env.size(), 2u);
  EXPECT_EQ(c->env[1], "NGINX_VERSION=1.25.0");
  EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/docker-entrypoint.sh"});
  EXPECT_EQ(c->cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(c->working_dir, "/srv");
  EXPECT_EQ(c->exposed_ports, (std::vector<std::string>{"443/tcp", "80/tcp"}));
  EXPECT_EQ(c->volumes, std::vector<std::string>{"/var/cache/nginx"});
  EXPECT_EQ(c->labels.at("maintainer"), "NGINX Docker Maintainers");
  EXPECT_EQ(c->stop_signal, "SIGQUIT");
  EXPECT_EQ(c->diff_ids, (std::vector<std::string>{kD1, kD2}));

  // "Cmd": null, "Env": null, "Labels": null, "config": null are all "unset".
  std::string nulls =
      Replace(kDockerConfig, R"("Cmd": ["nginx", "-g", "daemon off;"])", R"("Cmd": null)");
  nulls = Replace(nulls, R"("Labels": {"maintainer": "NGINX Docker Maintainers"})",
                  R"("Labels": null)");
  nulls =
      Replace(nulls, R"("ExposedPorts": {"80/tcp": {}, "443/tcp": {}})", R"("ExposedPorts": null)");
  auto n = ParseImageConfig(nulls, "test");
  ASSERT_TRUE(n) << n.error().Message();
  EXPECT_TRUE(n->cmd.empty());
  EXPECT_TRUE(n->labels.empty());
  EXPECT_TRUE(n->exposed_ports.empty());
  auto minimal = ParseImageConfig(
      R"({"architecture":"amd64","os":"linux","config":null,"rootfs":{"type":"layers","diff_ids":[]}})",
      "test");
  ASSERT_TRUE(minimal) << minimal.error().Message();
  EXPECT_TRUE(minimal->entrypoint.empty());
  EXPECT_TRUE(minimal->diff_ids.empty());
}

TEST(ImageConfigJson, StringCmdIsOneArgument) {
  // Docker's StrSlice: old images store a shell-form CMD as a plain string.
  auto c = ParseImageConfig(
      Replace(kDockerConfig, R"(["nginx", "-g", "daemon off;"])", R"("nginx -g 'daemon off;'")"),
      "test");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ(c->cmd, std::vector<std::string>{"nginx -g 'daemon off;'"});
}

TEST(ImageConfigJson, MissingPlatformIsNotAmd64) {
  auto c = ParseImageConfig(R"({"rootfs":{"type":"layers","diff_ids":[]}})", "test");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ(c->platform.os, "");
  EXPECT_EQ(c->platform.architecture, "");
}

TEST(ImageConfigJson, Errors) {
  EXPECT_EQ(ConfigError(R"({"os":"linux"})"),
            "parse image config sha256:c: rootfs: required field is missing");
  EXPECT_EQ(ConfigError(Replace(kDockerConfig, R"("type": "layers")", R"("type": "tarballs")")),
            "parse image config sha256:c: rootfs.type: \"tarballs\" is not \"layers\"");
  EXPECT_EQ(ConfigError(Replace(kDockerConfig, kD2, "sha256:22")),
            "parse image config sha256:c: rootfs.diff_ids[1]: expected 64 lowercase hex digits "
            "after \"sha256:\"");
  EXPECT_EQ(ConfigError(R"({"rootfs":{"type":"layers"}})"),
            "parse image config sha256:c: rootfs.diff_ids: required field is missing");
  EXPECT_EQ(ConfigError(Replace(kDockerConfig, R"("Env": [)", R"("Env": [1, )")),
            "parse image config sha256:c: config.Env[0]: expected a string, got an integer");
  EXPECT_EQ(ConfigError(Replace(kDockerConfig, R"("User": "nginx:nginx")", R"("User": 101)")),
            "parse image config sha256:c: config.User: expected a string, got an integer");
  EXPECT_EQ(ConfigError(Replace(kDockerConfig, R"("Entrypoint": ["/docker-entrypoint.sh"])",
                                R"("Entrypoint": {"a": 1})")),
            "parse image config sha256:c: config.Entrypoint: expected an array of strings, got "
            "an object");
  EXPECT_EQ(ConfigError(Replace(kDockerConfig, R"("Volumes": {"/var/cache/nginx": {}})",
                                R"("Volumes": ["/data"])")),
            "parse image config sha256:c: config.Volumes: expected an object, got an array");
  EXPECT_EQ(
      ConfigError(Replace(kDockerConfig, R"("architecture": "arm64")", R"("architecture": true)")),
      "parse image config sha256:c: architecture: expected a string, got a boolean");
  EXPECT_NE(ConfigError(R"({"rootfs": )").find("parse image config sha256:c: malformed JSON"),
            std::string::npos);
}

TEST(ImageConfigJson, RoundTripsWithOciFieldNames) {
  auto c = ParseImageConfig(kDockerConfig, "test");
  ASSERT_TRUE(c);
  std::string json = ImageConfigJson(*c);
  for (const char* field :
       {"\"Entrypoint\"", "\"Cmd\"", "\"Env\"", "\"WorkingDir\"", "\"ExposedPorts\"", "\"Volumes\"",
        "\"Labels\"", "\"StopSignal\"", "\"User\"", "\"architecture\"", "\"os\"", "\"variant\"",
        "\"diff_ids\"", "\"80/tcp\": {}"})
    EXPECT_NE(json.find(field), std::string::npos) << field << " in\n" << json;
  auto back = ParseImageConfig(json, "round trip");
  ASSERT_TRUE(back) << back.error().Message() << "\n" << json;
  EXPECT_EQ(back->platform.String(), c->platform.String());
  EXPECT_EQ(back->created, c->created);
  EXPECT_EQ(back->author, c->author);
  EXPECT_EQ(back->user, c->user);
  EXPECT_EQ(back->env, c->env);
  EXPECT_EQ(back->entrypoint, c->entrypoint);
  EXPECT_EQ(back->cmd, c->cmd);
  EXPECT_EQ(back->working_dir, c->working_dir);
  EXPECT_EQ(back->exposed_ports, c->exposed_ports);
  EXPECT_EQ(back->volumes, c->volumes);
  EXPECT_EQ(back->labels, c->labels);
  EXPECT_EQ(back->stop_signal, c->stop_signal);
  EXPECT_EQ(back->diff_ids, c->diff_ids);

  // Bytes that are not UTF-8 (from our own model) are replaced, never thrown.
  ImageConfig odd;
  odd.labels["bad"] = "\xff\xfe";
  std::string odd_json = ImageConfigJson(odd);
  EXPECT_NE(odd_json.find("\"bad\""), std::string::npos);
}

TEST(ImagePlatform, ParseAndNormalise) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"linux/amd64", "linux/amd64"},
      {"linux/x86_64", "linux/amd64"},
      {"amd64", "linux/amd64"},
      {"x86_64", "linux/amd64"},
      {"linux/amd64/v1", "linux/amd64"},
      {"linux/amd64/v3", "linux/amd64/v3"},
      {"linux/arm64", "linux/arm64/v8"},
      {"linux/aarch64", "linux/arm64/v8"},
      {"linux/arm64/8", "linux/arm64/v8"},
      {"arm64", "linux/arm64/v8"},
      {"linux/arm", "linux/arm/v7"},
      {"linux/arm/7", "linux/arm/v7"},
      {"linux/arm/v6", "linux/arm/v6"},
      {"linux/armhf", "linux/arm/v7"},
      {"linux/armel", "linux/arm/v6"},
      {"linux/i386", "linux/386"},
      {"Linux/AMD64", "linux/amd64"},
      {"linux/s390x", "linux/s390x"},
      {"linux/riscv64", "linux/riscv64"},
      {"windows/amd64", "windows/amd64"},
      {"linux", "linux/amd64"},  // this machine's architecture (the test runs on amd64)
  };
  for (const Case& c : cases) {
    auto p = ParsePlatform(c.in);
    ASSERT_TRUE(p) << c.in << ": " << p.error().Message();
    EXPECT_EQ(p->String(), c.out) << c.in;
  }
}

TEST(ImagePlatform, ParseErrors) {
  for (const char* bad : {"", "linux/", "/amd64", "linux/arm/v7/x", "linux/am d64", "plan10"}) {
    auto p = ParsePlatform(bad);
    ASSERT_FALSE(p) << bad << " parsed as " << p->String();
    EXPECT_NE(p.error().Message().find(std::string("parse platform \"") + bad + "\""),
              std::string::npos)
        << p.error().Message();
  }
  EXPECT_NE(ParsePlatform("plan10").error().Message().find("not a known operating system"),
            std::string::npos);
}

TEST(ImagePlatform, HostIsThisMachine) {
  Platform host = HostPlatform();
  EXPECT_EQ(host.os, "linux");
#if defined(__x86_64__)
  EXPECT_EQ(host.String(), "linux/amd64");
#elif defined(__aarch64__)
  EXPECT_EQ(host.String(), "linux/arm64/v8");
#endif
}

TEST(ImagePlatform, Matches) {
  auto P = [](const char* os, const char* arch, const char* variant = "") {
    return Platform{os, arch, variant, "", {}};
  };
  EXPECT_TRUE(PlatformMatches(P("linux", "arm64", "v8"), P("linux", "arm64")));
  EXPECT_TRUE(PlatformMatches(P("linux", "arm64"), P("linux", "aarch64", "v8")));
  EXPECT_TRUE(PlatformMatches(P("linux", "amd64"), P("linux", "x86_64")));
  EXPECT_TRUE(PlatformMatches(P("linux", "amd64"), P("linux", "amd64", "v2")));
  EXPECT_TRUE(PlatformMatches(P("linux", "arm", "v7"), P("linux", "arm")));
  EXPECT_FALSE(PlatformMatches(P("linux", "arm", "v7"), P("linux", "arm", "v6")));
  EXPECT_FALSE(PlatformMatches(P("linux", "arm", "v6"), P("linux", "arm")));  // arm means v7
  EXPECT_FALSE(PlatformMatches(P("linux", "amd64"), P("linux", "arm64")));
  EXPECT_FALSE(PlatformMatches(P("linux", "amd64"), P("windows", "amd64")));
}

TEST(ImagePlatform, SelectManifest) {
  auto index = ParseIndex(kIndex, "test");
  ASSERT_TRUE(index) << index.error().Message();
  auto pick = [&](const char* platform) -> std::string {
    auto want = ParsePlatform(platform);
    EXPECT_TRUE(want) << platform;
    auto d = SelectManifest(*index, *want, "busybox:1.36");
    return d ? d->digest.substr(7, 2) : d.error().Message();
  };
  // linux/amd64 prefers the entry without a variant over the earlier amd64/v2 one.
  EXPECT_EQ(pick("linux/amd64"), "a1");
  EXPECT_EQ(pick("linux/amd64/v2"), "a0");
  // An arm64 entry without a variant is arm64/v8.
  EXPECT_EQ(pick("linux/arm64"), "a4");
  EXPECT_EQ(pick("linux/arm64/v8"), "a4");
  EXPECT_EQ(pick("linux/aarch64"), "a4");
  EXPECT_EQ(pick("linux/arm/v7"), "a3");
  EXPECT_EQ(pick("linux/arm"), "a3");
  EXPECT_EQ(pick("linux/arm/v6"), "a2");
  EXPECT_EQ(pick("windows/amd64"), "a5");
  EXPECT_EQ(pick("linux/amd64/v3"), "a1");  // no v3 entry: the generic one runs there

  auto missing = SelectManifest(*index, Platform{"linux", "s390x", "", "", {}}, "busybox:1.36");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().Message(),
            "select manifest busybox:1.36: no manifest for linux/s390x; the index offers "
            "linux/amd64/v2, linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64, windows/amd64");

  Index empty;
  auto none = SelectManifest(empty, HostPlatform(), "x");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().Message().find("lists no platform-specific manifests"), std::string::npos);
}

TEST(ImageManifest, ChainIds) {
  const std::string a = "sha256:" + std::string(64, 'a');
  const std::string b = "sha256:" + std::string(64, 'b');
  const std::string c = "sha256:" + std::string(64, 'c');
  // Computed with coreutils, independently of our hasher:
  //   printf '%s %s' "$A" "$B" | sha256sum
  //   printf '%s %s' "$CHAIN1" "$C" | sha256sum
  const std::string chain1 =
      "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c";
  const std::string chain2 =
      "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588";
  EXPECT_EQ(ChainIds({}), std::vector<std::string>{});
  EXPECT_EQ(ChainIds({a}), std::vector<std::string>{a});
  EXPECT_EQ(ChainIds({a, b}), (std::vector<std::string>{a, chain1}));
  EXPECT_EQ(ChainIds({a, b, c}), (std::vector<std::string>{a, chain1, chain2}));
}

}  // namespace
}  // namespace berth::image
