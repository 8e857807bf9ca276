// A CNI client (containernetworking/cni SPEC.md, versions 0.3.0-1.0.0): loads a network
// configuration list from a conf dir, runs its plugins (Debian's containernetworking-plugins
// in /usr/lib/cni) for ADD, CHECK and DEL, and caches each ADD's result on disk so that a DEL
// after a crash of the caller still gets its prevResult. berthd's pod networking.
//
// Thread-safety: a Network is immutable once made; Setup/Check/Teardown of different
// (container, ifname) pairs may run on any number of threads at once (plugins are spawned
// with posix_spawn; every fd this library opens is O_CLOEXEC). Calls for the same pair must
// not overlap (the spec forbids parallel operations on one container); the caller orders
// them. See docs/cni.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace berth::cni {

using Json = nlohmann::json;

inline constexpr const char* kDefaultConfDir = "/etc/cni/net.d";
inline constexpr const char* kDefaultIfName = "eth0";
// The loopback network containerd runs outside the conflist's chain to bring up lo.
inline constexpr const char* kLoopbackConfig =
    R"({"cniVersion":"1.0.0","name":"cni-loopback","plugins":[{"type":"loopback"}]})";
inline constexpr const char* kLoopbackIfName = "lo";

// /usr/lib/cni (Debian's plugins), and /opt/cni/bin (upstream's place) when it exists.
std::vector<std::string> DefaultBinDirs();

// A network configuration list, validated: name and cniVersion set, each plugin an object
// with a "type". A single-plugin config (.conf/.json) is wrapped as a list of one.
struct ConfigList {
  std::string name;
  std::string cni_version;
  bool disable_check = false;
  std::vector<Json> plugins;  // each plugin's config as written
  std::string source;         // the file it came from ("" when built in)
  Json raw;                   // the list as loaded (wrapped, for a .conf)
};

// Parses a conflist document (is_list) or a single-plugin config; `source` names it in errors.
Result<ConfigList> ParseConfigList(std::string_view json, const std::string& source, bool is_list);
// Reads one file: .conflist is a list, .conf and .json a single plugin.
Result<ConfigList> LoadConfigFile(const std::string& path);
// The first .conflist/.conf/.json file of dir in lexical order (as containerd picks it). None
// (or no dir): kNotFound, "no network config found in DIR", the NetworkReady=false reason.
// An invalid first file is an error naming it (not skipped: the admin meant that one).
Result<ConfigList> LoadConfigDir(const std::string& dir);

// CNI_CONTAINERID and CNI_IFNAME as the spec restricts them; checked before any plugin runs.
Result<void> ValidateContainerId(std::string_view id);
Result<void> ValidateIfName(std::string_view ifname);

struct PortMapping {
  int host_port = 0;
  int container_port = 0;
  std::string protocol = "tcp";  // tcp, udp, sctp
  std::string host_ip;           // "" for all addresses
};

// The bandwidth plugin's capability (bits per second and bits).
struct Bandwidth {
  uint64_t ingress_rate = 0, ingress_burst = 0, egress_rate = 0, egress_burst = 0;
};

// One range of host-local's ipRanges capability (a pod CIDR from UpdateRuntimeConfig).
struct IpRange {
  std::string subnet;
  std::string range_start, range_end, gateway;  // optional
};

// What one container's call passes to the plugins.
struct RuntimeConf {
  std::string container_id;
  std::string netns;  // a path: /var/run/netns/NAME, /proc/PID/ns/net; may be "" for DEL
  std::string ifname = kDefaultIfName;
  // CNI_ARGS, in order: K=V joined with ';'. Neither part may hold ';' or '='.
  std::vector<std::pair<std::string, std::string>> args;
  // Capability args: passed in runtimeConfig to the plugins whose "capabilities" enable them.
  std::vector<PortMapping> port_mappings;
  std::optional<Bandwidth> bandwidth;
  std::vector<IpRange> ip_ranges;

  // The CNI_ARGS kubelet's runtimes pass: IgnoreUnknown=1, K8S_POD_NAMESPACE, K8S_POD_NAME,
  // K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID.
  void SetKubernetesArgs(const std::string& pod_namespace, const std::string& pod_name,
                         const std::string& infra_container_id, const std::string& pod_uid);
};

// The CNI_ARGS value ("K=V;K=V"); an invalid key or value is kInvalidArgument.
Result<std::string> BuildCniArgs(const RuntimeConf& rc);
// The runtimeConfig object for one plugin: only the capabilities the plugin enables and the
// caller has values for (empty object when none).
Json BuildRuntimeConfig(const Json& plugin, const RuntimeConf& rc);

struct Interface {
  std::string name, mac, sandbox;
};
struct IpConfig {
  int version = 4;         // 4 or 6 (1.0.0 dropped the field: derived from the address)
  std::string address;     // CIDR: 10.88.0.2/16
  std::string gateway;     // may be ""
  int interface = -1;      // index into interfaces, -1 when not given
  std::string Ip() const;  // the address without its prefix length
};
struct Route {
  std::string dst, gw;
};
struct Dns {
  std::vector<std::string> nameservers, search, options;
  std::string domain;
};

// A plugin's (or a chain's) ADD result.
struct NetResult {
  std::string cni_version;
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;
  Json raw;  // as the last plugin printed it: the prevResult for CHECK and DEL

  // For PodSandboxStatus: the first IPv4 address (else the first IP), without prefix; "".
  std::string PrimaryIp() const;
  // Every other address, in result order.
  std::vector<std::string> AdditionalIps() const;
};

Result<NetResult> ParseResult(std::string_view json);
Result<NetResult> ResultFromJson(const Json& doc);

struct Options {
  std::vector<std::string> bin_dirs = DefaultBinDirs();  // searched in order; CNI_PATH
  // Where each ADD's result is kept until its DEL (berthd: /var/lib/berth/cni/results).
  // Required: Teardown after a crash depends on it.
  std::string cache_dir;
  std::chrono::milliseconds plugin_timeout{std::chrono::seconds(60)};
  // PodNetworking runs the loopback plugin for lo. berthd turns it off: it sets lo up itself
  // where it makes the netns (two plugin execs fewer per pod); lo entries an older berthd
  // cached are still deleted.
  bool loopback_plugin = true;
};

// The path of a plugin binary: the first bin dir holding an executable `type`. Missing:
// kNotFound naming the plugin and the dirs.
Result<std::string> FindPlugin(const std::string& type, const std::vector<std::string>& bin_dirs);

// What Teardown reads back: the ADD's network config, runtime conf and result.
struct CacheEntry {
  ConfigList config;
  RuntimeConf runtime;
  std::optional<NetResult> result;
};

// One network (a config list) run with Options. Copyable, immutable, thread-safe.
class Network {
 public:
  Network(ConfigList config, Options options);

  const ConfigList& Config() const { return config_; }
  const Options& GetOptions() const { return options_; }

  // Every plugin binary the list names exists (berthd's Status can report the missing one).
  Result<void> CheckPlugins() const;

  // ADD through the chain, prevResult passed along (0.3.0+); the result is cached (rename
  // into place) before it is returned. A failed ADD is undone by a DEL of the whole list in
  // reverse order (errors of that DEL are logged) and the ADD's error returned.
  Result<NetResult> Setup(const RuntimeConf& rc) const;
  // CHECK with the cached ADD result as prevResult (0.4.0+; an older version, or
  // disableCheck, succeeds without running anything). Nothing cached: kNotFound.
  Result<void> Check(const RuntimeConf& rc) const;
  // DEL in reverse order. With a cache entry: the cached config, runtime conf and (0.4.0+)
  // prevResult are used, and the entry is removed once every plugin succeeded. Without one
  // (never added, already deleted, cache lost): a DEL with this config and no prevResult,
  // which the spec says plugins must accept. Idempotent.
  Result<void> Teardown(const RuntimeConf& rc) const;

  // The cache file of (this network, container, ifname).
  std::string CachePath(const RuntimeConf& rc) const;
  Result<std::optional<CacheEntry>> ReadCache(const RuntimeConf& rc) const;

 private:
  ConfigList config_;
  Options options_;
};

// The built-in loopback network (kLoopbackConfig).
Network LoopbackNetwork(const Options& options);

// berthd's view: lo (the loopback plugin, ifname "lo", unless Options turn it off) plus
// the conf dir's network, reloaded
// on demand. Setup/Teardown of pods on many threads at once; Reload may run concurrently.
class PodNetworking {
 public:
  PodNetworking(std::string conf_dir, Options options);

  // Loads the conf dir again (the constructor loads it once). A failed load leaves no
  // network (kNotFound: no config; berthd reports NetworkReady=false with the error's text);
  // pods added before are still torn down from their cache entries.
  Result<void> Reload();
  // Ok when a network is loaded and its plugins exist; else the reason (NetworkReady=false).
  Result<void> Status() const;
  // The loaded network, or nullptr.
  std::shared_ptr<const Network> Current() const;

  // lo first, then the network (eth0 or rc.ifname). A failure of either undoes both.
  Result<NetResult> SetupPod(const RuntimeConf& rc) const;
  Result<void> CheckPod(const RuntimeConf& rc) const;
  // The network (from its cache, else the current config), then lo. Idempotent; both are
  // attempted even if the first fails, and the first error is returned.
  Result<void> TeardownPod(const RuntimeConf& rc) const;

 private:
  std::string conf_dir_;
  Options options_;
  Network loopback_;
  mutable std::mutex mu_;
  std::shared_ptr<const Network> network_;  // guarded by mu_
  std::optional<Error> load_error_;         // guarded by mu_
};

}  // namespace berth::cni
