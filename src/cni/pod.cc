// A pod's networking: the loopback plugin for lo (outside the conflist's chain, as
// containerd runs it; optional — berthd sets lo up itself), then the conf dir's network;
// teardown from the cache first, so that a pod added under an older (or since removed)
// config is deleted with that config.
#include "base/log.h"
#include "cni/cni.h"
#include "sys/fs.h"

namespace berth::cni {

namespace {

RuntimeConf LoopbackConf(const RuntimeConf& rc) {
  RuntimeConf lo = rc;
  lo.ifname = kLoopbackIfName;
  // Capability args are for the pod's network; loopback enables none anyway.
  lo.port_mappings.clear();
  lo.bandwidth.reset();
  lo.ip_ranges.clear();
  return lo;
}

}  // namespace

PodNetworking::PodNetworking(std::string conf_dir, Options options)
    : conf_dir_(std::move(conf_dir)),
      options_(std::move(options)),
      loopback_(LoopbackNetwork(options_)) {
  (void)Reload();  // the outcome is what Status() reports
}

Result<void> PodNetworking::Reload() {
  auto list = LoadConfigDir(conf_dir_);
  std::lock_guard lock(mu_);
  if (!list) {
    // No (valid) config: no network, as containerd's NetworkReady=false. Pods added before
    // are still torn down from their cache entries.
    network_.reset();
    load_error_ = list.error();
    return std::unexpected(list.error());
  }
  network_ = std::make_shared<const Network>(std::move(*list), options_);
  load_error_.reset();
  return {};
}

std::shared_ptr<const Network> PodNetworking::Current() const {
  std::lock_guard lock(mu_);
  return network_;
}

Result<void> PodNetworking::Status() const {
  std::shared_ptr<const Network> net;
  {
    std::lock_guard lock(mu_);
    if (!network_)
      return std::unexpected(load_error_ ? *load_error_
                                         : NotFound("load CNI config", conf_dir_,
                                                    "no network config found in " + conf_dir_)
                                               .error());
    net = network_;
  }
  if (options_.loopback_plugin) BERTH_TRYV(loopback_.CheckPlugins());
  return net->CheckPlugins();
}

Result<NetResult> PodNetworking::SetupPod(const RuntimeConf& rc) const {
  auto net = Current();
  if (!net) return std::unexpected(Status().error());
  if (!options_.loopback_plugin) return net->Setup(rc);
  RuntimeConf lo = LoopbackConf(rc);
  BERTH_TRYV(loopback_.Setup(lo));
  auto res = net->Setup(rc);
  if (!res) {
    if (auto d = loopback_.Teardown(lo); !d)
      log::Warn("undoing lo after a failed CNI setup: " + d.error().Message());
  }
  return res;
}

Result<void> PodNetworking::CheckPod(const RuntimeConf& rc) const {
  auto net = Current();
  if (!net) return std::unexpected(Status().error());
  if (options_.loopback_plugin) BERTH_TRYV(loopback_.Check(LoopbackConf(rc)));
  return net->Check(rc);
}

Result<void> PodNetworking::TeardownPod(const RuntimeConf& rc) const {
  BERTH_TRYV(ValidateContainerId(rc.container_id));
  BERTH_TRYV(ValidateIfName(rc.ifname));
  std::optional<Error> first;
  auto note = [&](Result<void> r) {
    if (!r && !first) first = std::move(r.error());
  };
  auto net = Current();
  bool current_done = false;
  // Every network this container was added to on rc.ifname: "<network>-<id>-<ifname>".
  const std::string suffix = "-" + rc.container_id + "-" + rc.ifname;
  auto names = sys::ListDir(options_.cache_dir);
  if (!names && !names.error().IsNotFound()) note(std::unexpected(names.error()));
  for (auto& name : names ? *names : std::vector<std::string>{}) {
    if (!name.ends_with(suffix) || name.size() == suffix.size()) continue;
    std::string network = name.substr(0, name.size() - suffix.size());
    if (network == loopback_.Config().name) continue;
    if (net && network == net->Config().name) {
      note(net->Teardown(rc));
      current_done = true;
      continue;
    }
    // A network no longer in the conf dir: its cached config is all there is.
    ConfigList placeholder;
    placeholder.name = network;
    Network old(std::move(placeholder), options_);
    auto entry = old.ReadCache(rc);
    if (!entry) {
      note(std::unexpected(entry.error()));
      continue;
    }
    if (*entry) note(Network((*entry)->config, options_).Teardown(rc));
  }
  // Not in the cache (never added, deleted, or the cache lost): a DEL with the current config.
  if (net && !current_done) note(net->Teardown(rc));
  // lo: always with the plugin on; else only for an entry an older berthd cached.
  RuntimeConf lo = LoopbackConf(rc);
  bool lo_cached = false;
  if (!options_.loopback_plugin) {
    auto entry = loopback_.ReadCache(lo);
    lo_cached = entry && *entry;
  }
  if (options_.loopback_plugin || lo_cached) note(loopback_.Teardown(lo));
  if (first) return std::unexpected(std::move(*first));
  return {};
}

}  // namespace berth::cni
