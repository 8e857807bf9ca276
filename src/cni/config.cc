// Network configuration: files, lists, validation (SPEC.md "Network Configuration" and
// "Network Configuration Lists"), and the names the spec restricts.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "cni/cni.h"
#include "cni/internal.h"
#include "sys/fs.h"

namespace berth::cni {

namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// "Must start with an alphanumeric character, optionally followed by any combination of one
// or more alphanumeric characters, underscore, dot or hyphen" (network name, container id).
bool ValidName(std::string_view s) {
  if (s.empty() || !IsAlnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '_' || c == '.' || c == '-'; });
}

std::string JsonError(const Json::exception& e) {
  std::string msg = e.what();
  // "[json.exception.parse_error.101] parse error at line 1, …": the tag says nothing.
  if (size_t close = msg.find("] "); msg.starts_with("[json.") && close != std::string::npos)
    msg = msg.substr(close + 2);
  return msg;
}

}  // namespace

namespace internal {

std::optional<Version> ParseVersion(std::string_view v) {
  Version out{};
  int* parts[3] = {&out.major, &out.minor, &out.patch};
  size_t pos = 0;
  for (int i = 0; i < 3; i++) {
    size_t end = v.find('.', pos);
    if ((end == std::string_view::npos) != (i == 2)) return std::nullopt;
    std::string_view num = v.substr(pos, end == std::string_view::npos ? v.npos : end - pos);
    if (num.empty() || num.size() > 4 ||
        !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    *parts[i] = std::stoi(std::string(num));
    pos = end + 1;
  }
  return out;
}

bool SupportedVersion(std::string_view v) {
  return v == "0.3.0" || v == "0.3.1" || v == "0.4.0" || v == "1.0.0";
}

bool AtLeast(std::string_view v, int major, int minor) {
  auto p = ParseVersion(v);
  return p && (p->major > major || (p->major == major && p->minor >= minor));
}

}  // namespace internal

std::vector<std::string> DefaultBinDirs() {
  std::vector<std::string> dirs{"/usr/lib/cni"};
  struct stat st;
  if (stat("/opt/cni/bin", &st) == 0 && S_ISDIR(st.st_mode)) dirs.push_back("/opt/cni/bin");
  return dirs;
}

Result<void> ValidateContainerId(std::string_view id) {
  if (!ValidName(id))
    return InvalidArgument("CNI container id", std::string(id),
                           "must start with a letter or digit, followed by letters, digits, "
                           "'_', '.' or '-'");
  return {};
}

Result<void> ValidateIfName(std::string_view ifname) {
  bool bad = ifname.empty() || ifname == "." || ifname == ".." || ifname.size() >= 16 ||
             std::any_of(ifname.begin(), ifname.end(), [](char c) {
               return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
                      c == '\v' || c == '\f';
             });
  if (bad)
    return InvalidArgument("CNI interface name", std::string(ifname),
                           "must be 1-15 characters, not \".\" or \"..\", without '/', ':' "
                           "or whitespace");
  return {};
}

Result<ConfigList> ParseConfigList(std::string_view json, const std::string& source, bool is_list) {
  Json doc;
  try {
    doc = Json::parse(json);
  } catch (const Json::exception& e) {
    return InvalidArgument("parse CNI config", source, JsonError(e));
  }
  if (!doc.is_object()) return InvalidArgument("parse CNI config", source, "not a JSON object");
  if (!is_list) {
    // A single plugin's config: the list is {name, cniVersion, plugins: [it]}.
    if (doc.contains("plugins"))
      return InvalidArgument("parse CNI config", source,
                             "has \"plugins\": a configuration list must be named *.conflist");
    Json list = {{"plugins", Json::array({doc})}};
    for (const char* k : {"name", "cniVersion"})
      if (doc.contains(k)) list[k] = doc[k];
    if (doc.contains("disableCheck")) list["disableCheck"] = doc["disableCheck"];
    doc = std::move(list);
  }
  auto field_error = [&](const std::string& field, const std::string& detail) {
    return InvalidArgument("CNI config " + source, field, detail);
  };
  ConfigList out;
  out.source = source;
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string())
    return field_error("name", "missing (a string naming the network)");
  out.name = name->get<std::string>();
  if (!ValidName(out.name))
    return field_error("name", "\"" + out.name +
                                   "\" must start with a letter or digit, followed by "
                                   "letters, digits, '_', '.' or '-'");
  auto version = doc.find("cniVersion");
  if (version == doc.end() || !version->is_string())
    return field_error("cniVersion", "missing (a string such as \"1.0.0\")");
  out.cni_version = version->get<std::string>();
  if (!internal::SupportedVersion(out.cni_version))
    return field_error("cniVersion",
                       "\"" + out.cni_version + "\" is not supported (0.3.0, 0.3.1, 0.4.0, 1.0.0)");
  if (auto dc = doc.find("disableCheck"); dc != doc.end()) {
    // The spec says string; libcni and its users write a boolean too.
    if (dc->is_boolean())
      out.disable_check = dc->get<bool>();
    else if (dc->is_string() && (*dc == "true" || *dc == "false"))
      out.disable_check = *dc == "true";
    else
      return field_error("disableCheck", "must be true or false");
  }
  auto plugins = doc.find("plugins");
  if (plugins == doc.end() || !plugins->is_array() || plugins->empty())
    return field_error("plugins", "missing or empty (a list of plugin configs)");
  for (size_t i = 0; i < plugins->size(); i++) {
    const Json& p = (*plugins)[i];
    std::string field = "plugins[" + std::to_string(i) + "]";
    if (!p.is_object()) return field_error(field, "not an object");
    auto type = p.find("type");
    if (type == p.end() || !type->is_string() || type->get<std::string>().empty())
      return field_error(field + ".type", "missing (the plugin's executable name)");
    std::string t = type->get<std::string>();
    // The type is a file name in the bin dirs, never a path.
    if (t.find('/') != std::string::npos || t == "." || t == "..")
      return field_error(field + ".type", "\"" + t + "\" is not a plugin name");
    if (auto caps = p.find("capabilities"); caps != p.end() && !caps->is_object())
      return field_error(field + ".capabilities", "must be an object of name: true|false");
    out.plugins.push_back(p);
  }
  out.raw = std::move(doc);
  return out;
}

Result<ConfigList> LoadConfigFile(const std::string& path) {
  auto data = sys::ReadFile(path);
  if (!data) return std::unexpected(data.error().Wrap("CNI config"));
  return ParseConfigList(*data, path, path.ends_with(".conflist"));
}

Result<ConfigList> LoadConfigDir(const std::string& dir) {
  auto names = sys::ListDir(dir);
  if (!names) {
    if (names.error().IsNotFound())
      return NotFound("load CNI config", dir,
                      "no network config found in " + dir + " (the directory does not exist)");
    return std::unexpected(names.error().Wrap("load CNI config"));
  }
  std::vector<std::string> files;
  for (auto& n : *names) {
    if (!n.ends_with(".conflist") && !n.ends_with(".conf") && !n.ends_with(".json")) continue;
    struct stat st;
    std::string path = dir + "/" + n;
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) files.push_back(n);
  }
  if (files.empty())
    return NotFound(
        "load CNI config", dir,
        "no network config found in " + dir + " (no *.conflist, *.conf or *.json file)");
  std::sort(files.begin(), files.end());
  return LoadConfigFile(dir + "/" + files.front());
}

Result<std::string> FindPlugin(const std::string& type, const std::vector<std::string>& bin_dirs) {
  std::string dirs;
  for (auto& d : bin_dirs) {
    std::string path = d + "/" + type;
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0)
      return path;
    dirs += (dirs.empty() ? "" : ":") + d;
  }
  return NotFound("find CNI plugin", type,
                  "no executable \"" + type + "\" in " + (dirs.empty() ? "(no bin dirs)" : dirs) +
                      " (Debian: apt-get install containernetworking-plugins)");
}

}  // namespace berth::cni
