#include "image/registry.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/registry_http.h"
#include "image/registry_session.h"

namespace berth::image {

namespace {

// distribution-spec: registries should accept manifests up to 4 MiB; a larger answer is
// not a manifest worth holding in memory.

const std::string kManifestAccept =
    "Accept: " + std::string(media::kOciIndex) + ", " + std::string(media::kOciManifest) + ", " +
    std::string(media::kDockerManifestList) + ", " + std::string(media::kDockerManifest);

bool KnownManifestType(std::string_view t) {
  return t == media::kOciIndex || t == media::kOciManifest || t == media::kDockerManifestList ||
         t == media::kDockerManifest;
}

// Content-Type without parameters ("…+json; charset=utf-8"), lowercased.
std::string BareContentType(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
  std::string out(ct);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Registries that serve manifests as application/json (or nothing) still put the type in
// the document; older OCI documents only imply it by their fields.
std::string MediaTypeOf(std::string_view content_type, std::string_view body) {
  std::string ct = BareContentType(content_type);
  if (KnownManifestType(ct)) return ct;
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object()) {
    if (auto it = doc.find("mediaType"); it != doc.end() && it->is_string())
      return it->get<std::string>();
    if (doc.contains("manifests")) return std::string(media::kOciIndex);
    if (doc.contains("config") && doc.contains("layers")) return std::string(media::kOciManifest);
  }
  return ct;
}

Result<std::string> DigestOf(std::string_view body, std::string_view algorithm) {
  Hasher h = BERTH_TRY(Hasher::New(algorithm));
  h.Update(body.data(), body.size());
  return h.Final();
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Repository paths and tags go into URLs verbatim: refuse anything the reference grammar
// would not produce ("a/../b", "t?x"), so a bad Reference cannot address another resource.
Result<void> CheckReference(const Reference& ref, std::string_view op, std::string_view subject) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument(std::string(op), std::string(subject), why);
  };
  if (ref.domain.empty()) return bad("reference has no registry domain");
  std::string_view rest = ref.path;
  do {
    std::string_view comp = rest.substr(0, rest.find('/'));
    rest = comp.size() < rest.size() ? rest.substr(comp.size() + 1) : std::string_view();
    bool ok = !comp.empty() && IsLowerAlnum(comp.front()) && IsLowerAlnum(comp.back()) &&
              std::all_of(comp.begin(), comp.end(), [](char c) {
                return IsLowerAlnum(c) || c == '.' || c == '_' || c == '-';
              });
    if (!ok) return bad("invalid repository path \"" + ref.path + "\"");
  } while (!rest.empty());
  if (ref.path.ends_with('/')) return bad("invalid repository path \"" + ref.path + "\"");
  if (ref.tag.size() > 128 || !std::all_of(ref.tag.begin(), ref.tag.end(), [](char c) {
        return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
      }))
    return bad("invalid tag \"" + ref.tag + "\"");
  return {};
}

std::string Url(const RegistryEndpoint& ep, const Reference& ref, std::string_view kind,
                std::string_view object) {
  std::string url =
      ep.BaseUrl() + "/" + ref.path + "/" + std::string(kind) + "/" + std::string(object);
  // Tell a mirror which registry the repository belongs to (containerd's convention).
  if (ep.mirror) url += "?ns=" + http::Escape(ref.domain);
  return url;
}

// "bytes <first>-<last>/<total>" -> first.
std::optional<int64_t> RangeStart(std::string_view cr) {
  if (!cr.starts_with("bytes ")) return std::nullopt;
  cr.remove_prefix(6);
  int64_t v = 0;
  size_t i = 0;
  for (; i < cr.size() && cr[i] >= '0' && cr[i] <= '9'; ++i) v = v * 10 + (cr[i] - '0');
  if (i == 0 || i >= cr.size() || cr[i] != '-') return std::nullopt;
  return v;
}

}  // namespace

struct RegistryClient::Impl {
  Impl(HostsConfig h, CredentialStore c, RegistryOptions o)
      : hosts(std::move(h)),
        max_manifest(o.max_manifest_size > 0 ? static_cast<size_t>(o.max_manifest_size) : SIZE_MAX),
        session(std::move(c), std::move(o)) {}

  // The endpoints of ref's registry that may serve this kind of request, in order.
  Result<std::vector<RegistryEndpoint>> Endpoints(const Reference& ref, bool resolve,
                                                  const std::string& op,
                                                  const std::string& subject) {
    std::vector<RegistryEndpoint> all;
    {
      // hosts.toml is read once per registry and client, not once per layer.
      std::lock_guard lock(mu);
      if (auto it = endpoints.find(ref.domain); it != endpoints.end()) {
        all = it->second;
      } else {
        auto loaded = hosts.Endpoints(ref.domain);
        if (!loaded) {
          loaded.error().Wrap(op + " " + subject);
          return std::unexpected(loaded.error());
        }
        all = endpoints[ref.domain] = std::move(*loaded);
      }
    }
    std::vector<RegistryEndpoint> out;
    for (RegistryEndpoint& ep : all)
      if (resolve ? ep.can_resolve : ep.can_pull) out.push_back(std::move(ep));
    if (out.empty())
      return FailedPrecondition(op, subject,
                  "no endpoint of " + ref.domain + " has the \"" + (resolve ? "resolve" : "pull") +
                      "\" capability (hosts.toml)");
    return out;
  }

  Result<FetchedManifest> Manifest(const Reference& ref, const std::string& object, bool by_digest,
                                   const std::string& subject);
  Result<FetchedManifest> Verify(const detail::Target& t, http::Response& r, const std::string& url,
                                 const std::string& requested) const;

  HostsConfig hosts;
  size_t max_manifest;
  detail::Session session;
  std::mutex mu;
  std::map<std::string, std::vector<RegistryEndpoint>> endpoints;  // by domain; guarded by mu
};

Result<FetchedManifest> RegistryClient::Impl::Verify(const detail::Target& t, http::Response& r,
                                                     const std::string& url,
                                                     const std::string& requested) const {
  FetchedManifest m;
  m.body = std::move(r.body);
  m.descriptor.media_type = MediaTypeOf(r.Header("content-type"), m.body);
  m.descriptor.size = static_cast<int64_t>(m.body.size());
  m.descriptor.digest = Sha256Digest(m.body);
  auto mismatch = [&](const std::string& claimed, const std::string& actual, const char* whose) {
    return DataLoss(t.op, t.subject,
                "manifest from " + url + " has digest " + actual + " but " + whose + " " + claimed);
  };
  if (!requested.empty()) {
    std::string actual = requested.starts_with("sha256:") ? m.descriptor.digest
                                                          : BERTH_TRY(DigestOf(m.body, "sha512"));
    if (actual != requested) return mismatch(requested, actual, "the reference asks for");
    m.descriptor.digest = requested;
  }
  if (std::string dcd = r.Header("docker-content-digest"); !dcd.empty()) {
    if (auto ok = ValidateDigest(dcd); !ok)
      return DataLoss(t.op, t.subject,
                  "Docker-Content-Digest from " + url + ": " + ok.error().Message());
    std::string_view alg = std::string_view(dcd).substr(0, dcd.find(':'));
    std::string actual = alg == "sha256" ? Sha256Digest(m.body) : BERTH_TRY(DigestOf(m.body, alg));
    if (actual != dcd) return mismatch(dcd, actual, "the registry's Docker-Content-Digest says");
  }
  return m;
}

Result<FetchedManifest> RegistryClient::Impl::Manifest(const Reference& ref,
                                                       const std::string& object, bool by_digest,
                                                       const std::string& subject) {
  const std::string op = "pull";
  BERTH_TRYV(CheckReference(ref, op, subject));
  if (by_digest) {
    if (auto ok = ValidateDigest(object); !ok) return InvalidArgument(op, subject, ok.error().Message());
  } else if (object.empty()) {
    return InvalidArgument(op, subject, "reference has neither tag nor digest");
  }
  std::vector<RegistryEndpoint> eps = BERTH_TRY(Endpoints(ref, !by_digest, op, subject));
  std::optional<Error> last;
  for (size_t i = 0; i < eps.size(); ++i) {
    detail::Target t{ref, eps[i], op, subject, i + 1 == eps.size()};
    std::string url = Url(eps[i], ref, "manifests", object);
    auto make = [&] {
      http::Request q;
      q.url = url;
      q.headers.push_back(kManifestAccept);
      q.max_body = max_manifest;
      return q;
    };
    auto r = session.Exchange(t, make);
    if (!r) {
      if (r.error().fatal) return std::unexpected(r.error().error);
      last = std::move(r.error().error);
      continue;
    }
    if (r->status == 200) {
      auto m = Verify(t, *r, url, by_digest ? object : "");
      if (m) return m;
      last = std::move(m.error());  // a mirror serving other content: try the next
      continue;
    }
    last = session.HttpError(t, *r, url);
  }
  return std::unexpected(*last);
}

RegistryClient::RegistryClient(HostsConfig hosts, CredentialStore creds, RegistryOptions opts)
    : impl_(std::make_unique<Impl>(std::move(hosts), std::move(creds), std::move(opts))) {}

RegistryClient::~RegistryClient() = default;

Result<FetchedManifest> RegistryClient::FetchManifest(const Reference& ref) {
  if (!ref.digest.empty()) return impl_->Manifest(ref, ref.digest, true, detail::RefString(ref));
  return impl_->Manifest(ref, ref.tag, false, detail::RefString(ref));
}

Result<FetchedManifest> RegistryClient::FetchManifestDigest(const Reference& ref,
                                                            std::string_view digest) {
  std::string d(digest);
  return impl_->Manifest(ref, d, true, ref.domain + "/" + ref.path + "@" + d);
}

Result<void> RegistryClient::FetchBlob(const Reference& ref, std::string_view digest_view,
                                       int64_t size, int64_t offset, const BlobSink& sink) {
  const std::string op = "fetch blob";
  const std::string digest(digest_view);
  const std::string subject = ref.domain + "/" + ref.path + "@" + digest;
  BERTH_TRYV(CheckReference(ref, op, subject));
  if (auto ok = ValidateDigest(digest); !ok) return InvalidArgument(op, subject, ok.error().Message());
  if (offset < 0 || (size >= 0 && offset > size))
    return Fail(ErrorKind::kOutOfRange, op, subject,
                "offset " + std::to_string(offset) + " outside the blob of " +
                    std::to_string(size) + " bytes");
  if (size >= 0 && offset == size) return {};
  std::vector<RegistryEndpoint> eps = BERTH_TRY(impl_->Endpoints(ref, false, op, subject));

  int64_t pos = offset;  // the next byte the sink expects; survives retries and endpoints
  std::optional<Error> last;
  for (size_t i = 0; i < eps.size(); ++i) {
    detail::Target t{ref, eps[i], op, subject, i + 1 == eps.size()};
    std::string url = Url(eps[i], ref, "blobs", digest);
    auto make = [&] {
      http::Request q;
      q.url = url;
      const int64_t asked = pos;
      if (asked > 0) q.headers.push_back("Range: bytes=" + std::to_string(asked) + "-");
      // Bytes before `asked` the server sends anyway (a 200 to a Range request).
      auto skip = std::make_shared<int64_t>(-1);
      q.on_body = [&, asked, skip](const http::Response& head, const char* data,
                                   size_t n) -> Result<void> {
        if (*skip < 0) {
          if (head.status == 206) {
            auto start = RangeStart(head.Header("content-range"));
            if (!start || *start > asked)
              return DataLoss(op, subject,
                          url + " answered the range from " + std::to_string(asked) +
                              " with Content-Range \"" + head.Header("content-range") + "\"");
            *skip = asked - *start;
          } else {
            *skip = asked;
          }
        }
        if (*skip > 0) {
          size_t k = static_cast<size_t>(std::min<int64_t>(*skip, static_cast<int64_t>(n)));
          data += k;
          n -= k;
          *skip -= static_cast<int64_t>(k);
          if (n == 0) return {};
        }
        if (size >= 0 && pos + static_cast<int64_t>(n) > size)
          return DataLoss(op, subject,
                      url + " sent more than the " + std::to_string(size) + " bytes expected");
        if (auto ok = sink(data, n); !ok) {
          ok.error().Wrap(op + " " + subject);
          return ok;
        }
        pos += static_cast<int64_t>(n);
        return {};
      };
      return q;
    };
    auto r = impl_->session.Exchange(t, make, [&] { return pos; });
    if (!r) {
      if (r.error().fatal) return std::unexpected(r.error().error);
      last = std::move(r.error().error);
      continue;
    }
    if (r->status == 200 || r->status == 206) {
      if (size >= 0 && pos < size) {
        last = Error{0,
                     op,
                     subject,
                     url + " ended the blob after " + std::to_string(pos) + " of " +
                         std::to_string(size) + " bytes",
                     {},
                     ErrorKind::kUnavailable};
        continue;
      }
      return {};
    }
    last = impl_->session.HttpError(t, *r, url);
  }
  return std::unexpected(*last);
}

Result<bool> RegistryClient::HasBlob(const Reference& ref, std::string_view digest_view) {
  const std::string op = "stat blob";
  const std::string digest(digest_view);
  const std::string subject = ref.domain + "/" + ref.path + "@" + digest;
  BERTH_TRYV(CheckReference(ref, op, subject));
  if (auto ok = ValidateDigest(digest); !ok) return InvalidArgument(op, subject, ok.error().Message());
  std::vector<RegistryEndpoint> eps = BERTH_TRY(impl_->Endpoints(ref, false, op, subject));
  std::optional<Error> last;
  bool not_found = false;
  for (size_t i = 0; i < eps.size(); ++i) {
    detail::Target t{ref, eps[i], op, subject, i + 1 == eps.size()};
    std::string url = Url(eps[i], ref, "blobs", digest);
    auto r = impl_->session.Exchange(t, [&] {
      http::Request q;
      q.method = "HEAD";
      q.url = url;
      return q;
    });
    if (!r) {
      last = std::move(r.error().error);
      not_found = false;
      continue;
    }
    if (r->status == 200) return true;
    not_found = r->status == 404;
    last = impl_->session.HttpError(t, *r, url);
  }
  if (not_found) return false;
  return std::unexpected(*last);
}

}  // namespace berth::image
