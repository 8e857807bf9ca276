#include "image/hosts.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>

#include "base/text.h"
#include "sys/fs.h"

namespace berth::image {

namespace {

std::string Quote(std::string_view s) { return QuoteText(s); }

// "http://h:1/", "h:1" -> "h:1": how --insecure-registry entries and hosts are compared.
std::string BareHost(std::string_view s) {
  if (s.starts_with("http://"))
    s.remove_prefix(7);
  else if (s.starts_with("https://"))
    s.remove_prefix(8);
  while (s.ends_with('/')) s.remove_suffix(1);
  return std::string(s);
}

// Everything one hosts.toml parse needs to name its errors.
struct FileContext {
  std::string file;
  std::string dir;
  const std::vector<std::string>* insecure;

  std::unexpected<Error> Bad(const std::string& key, const std::string& why) const {
    return InvalidArgument("parse", file, EscapeText(key + ": " + why));  // keys are the file's
  }
  bool Insecure(std::string_view host) const {
    return std::find(insecure->begin(), insecure->end(), host) != insecure->end();
  }
};

// Parses "https://host[:port][/path]" (no scheme: https, or http for an insecure host).
Result<RegistryEndpoint> ParseUrl(std::string_view url, bool override_path, const FileContext& ctx,
                                  const std::string& key) {
  RegistryEndpoint ep;
  // The URL ends up in HTTP request lines and the Host header: a space or a control
  // character there (CR LF above all) would let the file's text forge request lines.
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f)
      return ctx.Bad(key, Quote(url) + " holds a space or a control character");
  std::string_view rest = url;
  if (size_t sep = rest.find("://"); sep != std::string_view::npos) {
    ep.scheme = std::string(rest.substr(0, sep));
    if (ep.scheme != "http" && ep.scheme != "https")
      return ctx.Bad(key, "scheme of " + Quote(url) + " is not http or https");
    rest.remove_prefix(sep + 3);
  } else {
    ep.scheme.clear();
  }
  size_t slash = rest.find('/');
  ep.host = std::string(rest.substr(0, slash));
  if (ep.host.empty()) return ctx.Bad(key, Quote(url) + " has no host");
  if (ep.host.find_first_of("?#@") != std::string::npos)
    return ctx.Bad(key, Quote(url) + " is not a registry URL (scheme://host[:port][/path])");
  if (ep.scheme.empty()) ep.scheme = ctx.Insecure(ep.host) ? "http" : "https";
  std::string path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  if (path.find_first_of("?#") != std::string::npos)
    return ctx.Bad(key, Quote(url) + " has a query or fragment");
  while (path.ends_with('/')) path.pop_back();
  ep.path = override_path ? path : path + "/v2";
  return ep;
}

Result<bool> Bool(const toml::table& t, std::string_view name, bool dflt, const FileContext& ctx,
                  const std::string& prefix) {
  const toml::node* n = t.get(name);
  if (!n) return dflt;
  if (!n->is_boolean()) return ctx.Bad(prefix + std::string(name), "expected true or false");
  return n->as_boolean()->get();
}

// The settings shared by `server` (top level) and each [host."…"] table.
Result<void> ApplySettings(const toml::table& t, RegistryEndpoint& ep, const FileContext& ctx,
                           const std::string& prefix, bool top_level) {
  for (auto&& [k, v] : t) {
    std::string name(k.str());
    std::string key = prefix + name;
    if (name == "capabilities") {
      const toml::array* arr = v.as_array();
      if (!arr) return ctx.Bad(key, "expected an array of \"pull\", \"resolve\", \"push\"");
      ep.can_pull = ep.can_resolve = false;
      for (const toml::node& cap : *arr) {
        auto s = cap.value<std::string>();
        if (!s || (*s != "pull" && *s != "resolve" && *s != "push"))
          return ctx.Bad(key, "expected an array of \"pull\", \"resolve\", \"push\"");
        if (*s == "pull") ep.can_pull = true;
        if (*s == "resolve") ep.can_resolve = true;
      }
    } else if (name == "skip_verify") {
      ep.skip_verify = BERTH_TRY(Bool(t, name, false, ctx, prefix));
    } else if (name == "ca") {
      std::string ca;
      if (auto s = v.value<std::string>()) {
        ca = *s;
      } else if (const toml::array* arr = v.as_array();
                 arr && arr->size() == 1 && (*arr)[0].is_string()) {
        ca = *(*arr)[0].value<std::string>();
      } else {
        return ctx.Bad(key, "expected a path (one CA file)");
      }
      if (ca.empty()) return ctx.Bad(key, "empty path");
      // Relative CA paths are relative to the directory of hosts.toml, as in containerd.
      ep.ca_file = ca.starts_with('/') ? ca : ctx.dir + "/" + ca;
    } else if (name == "override_path") {
      // Read up front by the caller: it changes how the URL is turned into an endpoint.
      BERTH_TRYV(Bool(t, name, false, ctx, prefix));
    } else if (name == "client" || name == "header" || name == "dial_timeout") {
      return ctx.Bad(key, "not supported by berth");
    } else if (top_level && (name == "server" || name == "host")) {
      continue;
    } else {
      return ctx.Bad(key, "unknown key");
    }
  }
  return {};
}

RegistryEndpoint DefaultUpstream(std::string_view domain, const FileContext& ctx) {
  RegistryEndpoint ep;
  ep.host = domain == "docker.io" ? "registry-1.docker.io" : std::string(domain);
  ep.scheme = ctx.Insecure(domain) || ctx.Insecure(ep.host) ? "http" : "https";
  return ep;
}

Result<std::vector<RegistryEndpoint>> ParseHostsFile(std::string_view text, std::string_view domain,
                                                     const FileContext& ctx) {
  toml::table doc;
  try {
    doc = toml::parse(text, ctx.file);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return InvalidArgument("parse", ctx.file,
                "line " + std::to_string(at.line) + " column " + std::to_string(at.column) + ": " +
                    EscapeText(e.description()));  // toml++ quotes what it saw
  }

  std::vector<RegistryEndpoint> out;
  if (const toml::node* hosts = doc.get("host")) {
    const toml::table* ht = hosts->as_table();
    if (!ht) return ctx.Bad("host", "expected tables [host.\"<url>\"]");
    // toml++ keeps keys sorted; the file order (which mirror is tried first) comes from
    // the source positions of the tables.
    std::vector<std::pair<toml::source_position, std::string>> order;
    for (auto&& [k, v] : *ht) order.emplace_back(v.source().begin, std::string(k.str()));
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.first.line != b.first.line ? a.first.line < b.first.line
                                          : a.first.column < b.first.column;
    });
    for (const auto& [pos, url] : order) {
      std::string prefix = "host." + Quote(url) + ".";
      const toml::table* t = ht->get(url)->as_table();
      if (!t) return ctx.Bad("host." + Quote(url), "expected a table");
      bool override_path = BERTH_TRY(Bool(*t, "override_path", false, ctx, prefix));
      RegistryEndpoint ep = BERTH_TRY(ParseUrl(url, override_path, ctx, "host." + Quote(url)));
      ep.mirror = true;
      BERTH_TRYV(ApplySettings(*t, ep, ctx, prefix, false));
      if (ep.can_pull || ep.can_resolve) out.push_back(std::move(ep));
    }
  }

  RegistryEndpoint server = DefaultUpstream(domain, ctx);
  if (const toml::node* s = doc.get("server")) {
    auto url = s->value<std::string>();
    if (!url || url->empty()) return ctx.Bad("server", "expected a URL string");
    bool override_path = BERTH_TRY(Bool(doc, "override_path", false, ctx, ""));
    server = BERTH_TRY(ParseUrl(*url, override_path, ctx, "server"));
  }
  BERTH_TRYV(ApplySettings(doc, server, ctx, "", true));
  if (server.can_pull || server.can_resolve) out.push_back(std::move(server));
  return out;
}

}  // namespace

Result<HostsConfig> HostsConfig::Load(std::string config_dir,
                                      std::vector<std::string> insecure_registries) {
  HostsConfig c;
  while (config_dir.size() > 1 && config_dir.ends_with('/')) config_dir.pop_back();
  c.dir_ = std::move(config_dir);
  for (const std::string& r : insecure_registries) {
    std::string host = BareHost(r);
    if (host.empty() || host.find('/') != std::string::npos)
      return InvalidArgument("insecure registry", Quote(r), "expected host[:port]");
    c.insecure_.push_back(std::move(host));
  }
  return c;
}

Result<std::vector<RegistryEndpoint>> HostsConfig::Endpoints(std::string_view domain) const {
  // The domain names a directory and becomes the default upstream's Host.
  bool printable = std::none_of(domain.begin(), domain.end(), [](unsigned char c) {
    return c <= 0x20 || c == 0x7f;
  });
  if (domain.empty() || !printable || domain.find('/') != std::string_view::npos ||
      domain == "." || domain == "..")
    return InvalidArgument("registry hosts", Quote(domain), "not a registry domain");
  FileContext ctx{"", "", &insecure_};
  if (!dir_.empty()) {
    for (std::string sub : {std::string(domain), std::string("_default")}) {
      std::string dir = dir_ + "/" + sub;
      std::string file = dir + "/hosts.toml";
      auto text = sys::ReadFile(file);
      if (!text) {
        if (text.error().code == ENOENT || text.error().code == ENOTDIR) continue;
        return std::unexpected(text.error());
      }
      ctx.file = file;
      ctx.dir = dir;
      return ParseHostsFile(*text, domain, ctx);
    }
  }
  return std::vector<RegistryEndpoint>{DefaultUpstream(domain, ctx)};
}

}  // namespace berth::image
