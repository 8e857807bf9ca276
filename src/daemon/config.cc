#include "daemon/config.h"

#include <toml++/toml.h>

#include "sys/fs.h"

namespace berth::daemon {

namespace {

std::string Where(const std::string& file, std::string_view table, std::string_view key) {
  return file + " [" + std::string(table) + "] " + std::string(key);
}

Result<std::string> String(const toml::node& n, const std::string& where) {
  if (auto s = n.as_string()) return s->get();
  return InvalidArgument("config", where, "must be a string");
}

Result<std::vector<std::string>> Strings(const toml::node& n, const std::string& where) {
  const toml::array* a = n.as_array();
  if (!a) return InvalidArgument("config", where, "must be an array of strings");
  std::vector<std::string> out;
  for (const auto& e : *a) out.push_back(BERTH_TRY(String(e, where)));
  return out;
}

Result<int64_t> Seconds(const toml::node& n, const std::string& where) {
  if (auto i = n.as_integer(); i && i->get() >= 0) return i->get();
  return InvalidArgument("config", where, "must be a number of seconds >= 0");
}

Result<int64_t> Integer(const toml::node& n, const std::string& where, int64_t lo, int64_t hi) {
  if (auto i = n.as_integer(); i && i->get() >= lo && i->get() <= hi) return i->get();
  return InvalidArgument("config", where,
                         "must be an integer in " + std::to_string(lo) + "-" + std::to_string(hi));
}

// The [berthd] table: one entry per flag of berthd, same names with '_' for '-'.
Result<void> ParseDaemonTable(Config& c, const toml::table& t, const std::string& file) {
  for (const auto& [name, value] : t) {
    std::string key(name.str());
    std::string where = Where(file, "berthd", key);
    if (key == "listen") c.listen = BERTH_TRY(String(value, where));
    else if (key == "root") c.root = BERTH_TRY(String(value, where));
    else if (key == "state") c.state = BERTH_TRY(String(value, where));
    else if (key == "hosts_dir") c.hosts_dir = BERTH_TRY(String(value, where));
    else if (key == "insecure_registries") c.insecure_registries = BERTH_TRY(Strings(value, where));
    else if (key == "auth_file") c.auth_file = BERTH_TRY(String(value, where));
    else if (key == "cni_conf_dir") c.cni_conf_dir = BERTH_TRY(String(value, where));
    else if (key == "cni_bin_dirs") c.cni_bin_dirs = BERTH_TRY(Strings(value, where));
    else if (key == "default_runtime") c.default_runtime = BERTH_TRY(String(value, where));
    else if (key == "shim_binary") c.shim_binary = BERTH_TRY(String(value, where));
    else if (key == "pause_image") c.pause_image = BERTH_TRY(String(value, where));
    else if (key == "log_level") c.log_level = BERTH_TRY(String(value, where));
    else if (key == "cgroup_driver") c.cgroup_driver = BERTH_TRY(String(value, where));
    else if (key == "pull_stall_timeout") c.pull_stall_timeout = std::chrono::seconds(BERTH_TRY(Seconds(value, where)));
    else if (key == "cni_plugin_timeout") c.cni_plugin_timeout = std::chrono::seconds(BERTH_TRY(Seconds(value, where)));
    else if (key == "runtime_timeout") c.runtime_timeout = std::chrono::seconds(BERTH_TRY(Seconds(value, where)));
    else if (key == "stream_server_address") c.stream_address = BERTH_TRY(String(value, where));
    else if (key == "stream_server_port") c.stream_port = static_cast<int>(BERTH_TRY(Integer(value, where, 0, 65535)));
    else if (key == "stream_tls_cert") c.stream_tls_cert = BERTH_TRY(String(value, where));
    else if (key == "stream_tls_key") c.stream_tls_key = BERTH_TRY(String(value, where));
    else if (key == "stream_token_ttl") c.stream_token_ttl = std::chrono::seconds(BERTH_TRY(Seconds(value, where)));
    else if (key == "stream_max_sessions") c.stream_max_sessions = static_cast<int>(BERTH_TRY(Integer(value, where, 1, 100000)));
    else if (key == "runtimes") {
      const toml::table* rt = value.as_table();
      if (!rt) return InvalidArgument("config", where, "must be a table of NAME = \"PATH\"");
      for (const auto& [rname, rpath] : *rt)
        c.runtimes[std::string(rname.str())] =
            BERTH_TRY(String(rpath, where + "." + std::string(rname.str())));
    } else {
      return InvalidArgument("config", where, "unknown key (docs/berthd.md lists the keys)");
    }
  }
  return {};
}

}  // namespace

Result<void> ParseConfigToml(Config& config, std::string_view text, const std::string& file) {
  toml::table doc;
  try {
    doc = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return InvalidArgument("config", file + ":" + std::to_string(b.line) + ":" +
                                         std::to_string(b.column),
                           std::string(e.description()));
  }
  for (const auto& [name, value] : doc) {
    std::string key(name.str());
    if (key == "image") continue;  // image::ParseLimitsToml below
    if (key != "berthd")
      return InvalidArgument("config", file + " [" + key + "]",
                             "unknown table (berth.toml has [berthd] and [image])");
    const toml::table* t = value.as_table();
    if (!t) return InvalidArgument("config", file + " berthd", "must be a table");
    BERTH_TRYV(ParseDaemonTable(config, *t, file));
  }
  return image::ParseLimitsToml(config.limits, text, file);
}

Result<void> LoadConfigFile(Config& config, const std::string& path, bool must_exist) {
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().IsNotFound() && !must_exist) return {};
    return std::unexpected(text.error().Wrap("config"));
  }
  return ParseConfigToml(config, *text, path);
}

Result<void> ValidateConfig(const Config& c) {
  auto absolute = [](const std::string& key, const std::string& v) -> Result<void> {
    if (v.empty() || v[0] != '/')
      return InvalidArgument("config", key, "must be an absolute path, not \"" + v + "\"");
    return {};
  };
  BERTH_TRYV(absolute("root", c.root));
  BERTH_TRYV(absolute("state", c.state));
  BERTH_TRYV(absolute("cni_conf_dir", c.cni_conf_dir));
  if (c.default_runtime != "berth" && !c.runtimes.contains(c.default_runtime))
    return InvalidArgument("config", "default_runtime",
                           "\"" + c.default_runtime + "\" is not a configured runtime handler");
  if (c.stream_tls_cert.empty() != c.stream_tls_key.empty())
    return InvalidArgument("config", c.stream_tls_cert.empty() ? "stream_tls_key" : "stream_tls_cert",
                           "stream_tls_cert and stream_tls_key go together");
  if (c.stream_port < 0 || c.stream_port > 65535)
    return InvalidArgument("config", "stream_server_port",
                           std::to_string(c.stream_port) + " is not in 0-65535");
  if (c.cgroup_driver == "systemd")
    return Unimplemented("config", "cgroup_driver",
                         "the systemd cgroup driver is not supported yet: use cgroupfs "
                         "(kubelet --cgroup-driver=cgroupfs)");
  if (c.cgroup_driver != "cgroupfs")
    return InvalidArgument("config", "cgroup_driver",
                           "\"" + c.cgroup_driver + "\": expected cgroupfs");
  static const char* kLevels[] = {"debug", "info", "warn", "error"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok |= c.log_level == l;
  if (!level_ok)
    return InvalidArgument("config", "log_level",
                           "\"" + c.log_level + "\": expected debug, info, warn or error");
  return {};
}

}  // namespace berth::daemon
