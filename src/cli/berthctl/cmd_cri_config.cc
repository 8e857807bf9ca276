// The CRI commands' options (flags > environment > crictl's config file > defaults), the
// connection and its errors, and the output formats: tables, JSON, YAML.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "base/log.h"
#include "cli/berthctl/commands.h"
#include "cli/berthctl/cri_util.h"
#include "sys/fs.h"
#include "sys/unix_socket.h"

namespace berth::cli {

namespace {

constexpr const char* kDefaultCrictlConfig = "/etc/crictl.yaml";

std::optional<std::string> Env(const char* name) {
  const char* v = getenv(name);
  if (v && *v) return std::string(v);
  return std::nullopt;
}

bool Given(const CLI::Option* opt) { return opt && opt->count() > 0; }

}  // namespace

Result<void> ResolveOptions(CriCommands::Options& o, const CriCommands::Given& g) {
  // crictl's file: a missing default is fine, a missing file someone named is not.
  bool named = true;
  if (!Given(g.crictl_config)) {
    if (auto e = Env("CRI_CONFIG_FILE")) {
      o.crictl_config = *e;
    } else {
      o.crictl_config = kDefaultCrictlConfig;
      named = false;
    }
  }
  cri::CrictlConfig file;
  if (auto text = sys::ReadFile(o.crictl_config); text) {
    file = BERTH_TRY(cri::ParseCrictlConfig(*text, o.crictl_config));
  } else if (named || !text.error().IsNotFound()) {
    return std::unexpected(text.error().Wrap("crictl config (--crictl-config, CRI_CONFIG_FILE)"));
  }

  if (!Given(g.endpoint)) {
    if (auto e = Env("CONTAINER_RUNTIME_ENDPOINT")) o.endpoint = *e;
    else if (file.runtime_endpoint && !file.runtime_endpoint->empty()) o.endpoint = *file.runtime_endpoint;
    else o.endpoint = std::string(cri::kDefaultEndpoint);
  }
  if (!Given(g.image_endpoint)) {
    if (auto e = Env("IMAGE_SERVICE_ENDPOINT")) o.image_endpoint = *e;
    else if (file.image_endpoint) o.image_endpoint = *file.image_endpoint;
  }
  if (o.image_endpoint.empty()) o.image_endpoint = o.endpoint;
  if (!Given(g.timeout) && file.timeout_s) {
    // crictl writes `timeout: 0` for "the default".
    if (*file.timeout_s < 0)
      return InvalidArgument(o.crictl_config, "timeout",
                             std::to_string(*file.timeout_s) + " is not a number of seconds > 0");
    if (*file.timeout_s > 0) o.timeout_s = *file.timeout_s;
  }
  if (!Given(g.ns))
    if (auto e = Env("BERTH_NAMESPACE")) o.ns = *e;
  if (!Given(g.debug) && file.debug) o.debug = *file.debug;
  if (o.debug) log::Init("", log::Format::kText, true);
  for (auto& k : file.other_keys)
    log::Debug(o.crictl_config + ": " + k + " is not used by berthctl");
  log::Debug("cri: runtime endpoint " + o.endpoint + ", image endpoint " + o.image_endpoint +
             ", timeout " + std::to_string(o.timeout_s) + " s, crictl config " + o.crictl_config);
  return {};
}

Result<cri::Client> CriConnect(const CriCommands::Options& o) {
  if (!(o.timeout_s > 0))
    return InvalidArgument("--timeout", std::to_string(o.timeout_s), "must be more than 0 seconds");
  cri::ClientOptions c;
  c.endpoint = o.endpoint;
  c.image_endpoint = o.image_endpoint;
  c.timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  c.ns = o.ns;
  return cri::Client::Connect(std::move(c));
}

int CriFail(const Error& e, std::string_view hint) {
  Fail(e);
  // The client names the endpoint as "on ENDPOINT"; whether anything listens there is the
  // kernel's answer to a connect(2), not something read from gRPC's message.
  if (!e.IsUnavailable() || !e.subject.starts_with("on ")) return 1;
  std::string endpoint = e.subject.substr(3);
  auto target = cri::GrpcTarget(endpoint);
  if (!target) return 1;
  std::string path = target->starts_with("unix://") ? target->substr(7) : target->substr(5);
  auto sock = sys::ConnectUnix(path, "socket");
  if (sock) return 1;
  fprintf(stderr,
          "berthctl: no CRI runtime answers on %s (%s).\n"
          "  Is berthd running? Start it with `berthd --listen %s`, or name the runtime's socket\n"
          "  with -r/--runtime-endpoint (images: --image-endpoint), CONTAINER_RUNTIME_ENDPOINT\n"
          "  or runtime-endpoint in crictl.yaml (--crictl-config, default %s).\n",
          endpoint.c_str(), sock.error().Message().c_str(), endpoint.c_str(),
          kDefaultCrictlConfig);
  if (!hint.empty()) fprintf(stderr, "%.*s\n", int(hint.size()), hint.data());
  return 1;
}

void PrintJson(const nlohmann::json& j) { printf("%s\n", j.dump(2).c_str()); }

namespace {

bool PlainSafe(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  static const std::string kBadFirst = "-?:,[]{}#&*!|>'\"%@` +.0123456789";
  if (kBadFirst.find(s[0]) != std::string::npos) return false;
  if (s.back() == ' ' || s.back() == ':') return false;
  for (unsigned char c : s)
    if (c < 0x20 || c >= 0x7f) return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  // Words YAML 1.1 reads as booleans or null.
  std::string lower;
  for (char c : s) lower += static_cast<char>(tolower(static_cast<unsigned char>(c)));
  static const char* kWords[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"};
  for (const char* w : kWords)
    if (lower == w) return false;
  return true;
}

// JSON's string escapes (\", \\, \n, \uXXXX) are YAML's double-quoted ones.
std::string YamlString(const std::string& s) {
  if (PlainSafe(s)) return s;
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool Inline(const nlohmann::json& v) { return !v.is_structured() || v.empty(); }

std::string InlineText(const nlohmann::json& v) {
  if (v.is_string()) return YamlString(v.get<std::string>());
  if (v.is_object()) return "{}";
  if (v.is_array()) return "[]";
  return v.dump();  // numbers, true/false, null
}

void Emit(const nlohmann::json& j, size_t indent, std::string& out) {
  std::string pad(indent, ' ');
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      out += pad + YamlString(k) + ":";
      if (Inline(v)) {
        out += " " + InlineText(v) + "\n";
      } else {
        out += "\n";
        Emit(v, indent + 2, out);
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) {
      if (Inline(v)) {
        out += pad + "- " + InlineText(v) + "\n";
        continue;
      }
      // "- " stands in for the indentation of the item's first line.
      std::string sub;
      Emit(v, indent + 2, sub);
      out += pad + "- " + sub.substr(indent + 2);
    }
  }
}

}  // namespace

std::string ToYaml(const nlohmann::json& j) {
  if (Inline(j)) return InlineText(j) + "\n";
  std::string out;
  Emit(j, 0, out);
  return out;
}

void PrintDocument(const nlohmann::json& j, const std::string& format) {
  if (format == "yaml") fputs(ToYaml(j).c_str(), stdout);
  else PrintJson(j);
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); i++) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); i++) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    printf("%s\n", line.c_str());
  }
}

std::string HumanSize(uint64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(kUnits)) {
    v /= 1000;
    u++;
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%.4g%s", v, kUnits[u]);
  return buf;
}

}  // namespace berth::cli
