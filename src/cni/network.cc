// ADD, CHECK and DEL of a configuration list (SPEC.md "Network Configuration Lists": name
// and cniVersion of the list in every plugin's config, prevResult chained on ADD and the
// cached ADD result on CHECK/DEL, DEL in reverse order), and the result cache that makes a
// DEL after a crash of the caller complete.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "base/log.h"
#include "cni/cni.h"
#include "cni/exec.h"
#include "cni/internal.h"
#include "sys/fs.h"

namespace berth::cni {

namespace {

constexpr const char* kCacheKind = "berth.cni.cache.v1";

// SPEC.md "Well-known Error Codes" to our kinds; 999 (libcni's "internal") and plugin codes
// (100+) say nothing more than that the plugin failed.
ErrorKind KindForCniCode(int64_t code) {
  switch (code) {
    case 1:
      return ErrorKind::kFailedPrecondition;  // incompatible CNI version
    case 2:                                   // unsupported field
    case 4:                                   // invalid environment variables
    case 6:                                   // failed to decode content
    case 7:
      return ErrorKind::kInvalidArgument;  // invalid network config
    case 3:
      return ErrorKind::kNotFound;  // container unknown or gone
    case 11:
      return ErrorKind::kUnavailable;  // try again later
    default:
      return ErrorKind::kInternal;  // 5 (I/O failure), 999, 100+
  }
}

std::string Subject(const RuntimeConf& rc, const ConfigList& list) {
  return "for container " + rc.container_id + " (" + rc.ifname + ") on network " + list.name;
}

// The last non-empty line of a plugin's stderr: what a plugin without error JSON said.
std::string LastLine(const std::string& s) {
  size_t end = s.find_last_not_of("\n\r ");
  if (end == std::string::npos) return {};
  size_t start = s.rfind('\n', end);
  return s.substr(start == std::string::npos ? 0 : start + 1,
                  end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace

// The plugin's error JSON ({code, msg, details}) as an Error; a plugin that printed none is
// described by its exit status and the end of its stderr.
Error PluginFailure(const std::string& command, const std::string& type, const ConfigList& list,
                    const RuntimeConf& rc, const internal::PluginOutput& out) {
  std::string op = "CNI " + command + " " + type;
  std::string status = WIFEXITED(out.wait_status)
                           ? "exit status " + std::to_string(WEXITSTATUS(out.wait_status))
                           : "killed by signal " + std::to_string(WTERMSIG(out.wait_status));
  Json doc = Json::parse(out.out, nullptr, false);
  if (doc.is_object() && doc.contains("code") && doc["code"].is_number_integer()) {
    int64_t code = doc["code"].get<int64_t>();
    std::string detail = doc.value("msg", "");
    if (auto d = doc.find("details");
        d != doc.end() && d->is_string() && !d->get<std::string>().empty())
      detail += (detail.empty() ? "" : ": ") + d->get<std::string>();
    if (detail.empty()) detail = "no message";
    detail += " (CNI error code " + std::to_string(code) + ", " + status + ")";
    return Fail(KindForCniCode(code), op, Subject(rc, list), detail).error();
  }
  std::string said = LastLine(out.err);
  if (said.empty()) said = LastLine(out.out.substr(0, 4096));
  return Internal(op, Subject(rc, list),
                  "the plugin failed with " + status + (said.empty() ? "" : ": " + said))
      .error();
}

Network::Network(ConfigList config, Options options)
    : config_(std::move(config)), options_(std::move(options)) {}

Network LoopbackNetwork(const Options& options) {
  auto list = ParseConfigList(kLoopbackConfig, "built-in loopback config", true);
  return Network(std::move(*list), options);  // a constant that parses
}

Result<void> Network::CheckPlugins() const {
  for (auto& p : config_.plugins)
    BERTH_TRYV(FindPlugin(p["type"].get<std::string>(), options_.bin_dirs));
  return {};
}

std::string Network::CachePath(const RuntimeConf& rc) const {
  return options_.cache_dir + "/" + config_.name + "-" + rc.container_id + "-" + rc.ifname;
}

namespace {

struct Call {
  const ConfigList& list;
  const RuntimeConf& rc;
  const Options& options;
  std::string cni_args;
};

Result<void> CheckRuntimeConf(const RuntimeConf& rc, bool need_netns) {
  BERTH_TRYV(ValidateContainerId(rc.container_id));
  BERTH_TRYV(ValidateIfName(rc.ifname));
  if (need_netns && rc.netns.empty())
    return InvalidArgument("CNI", "container " + rc.container_id, "no network namespace path");
  return {};
}

// Runs plugin `index` of the list for `command`; its stdout on success.
Result<std::string> RunOne(const Call& c, const std::string& command, size_t index,
                           const Json* prev_result) {
  Json conf = c.list.plugins[index];
  const std::string type = conf["type"].get<std::string>();
  std::string path = BERTH_TRY(FindPlugin(type, c.options.bin_dirs));
  conf["name"] = c.list.name;
  conf["cniVersion"] = c.list.cni_version;
  Json rt = BuildRuntimeConfig(conf, c.rc);
  if (!rt.empty()) conf["runtimeConfig"] = std::move(rt);
  if (prev_result)
    conf["prevResult"] = *prev_result;
  else
    conf.erase("prevResult");

  std::string cni_path;
  for (auto& d : c.options.bin_dirs) cni_path += (cni_path.empty() ? "" : ":") + d;
  internal::PluginRun run;
  run.path = path;
  run.env = internal::PluginEnv({"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + c.rc.container_id,
                                 "CNI_NETNS=" + c.rc.netns, "CNI_IFNAME=" + c.rc.ifname,
                                 "CNI_ARGS=" + c.cni_args, "CNI_PATH=" + cni_path});
  run.input = conf.dump();
  run.timeout = c.options.plugin_timeout;
  run.what = "CNI " + command + " " + type;
  run.subject = Subject(c.rc, c.list);
  auto t0 = std::chrono::steady_clock::now();
  auto out = internal::RunPlugin(run);
  if (log::DebugEnabled()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    log::Debug(run.what + " " + run.subject + ": " + std::to_string(ms.count()) + " ms");
  }
  if (!out) return std::unexpected(out.error().Wrap("CNI " + command + " " + type));
  if (!WIFEXITED(out->wait_status) || WEXITSTATUS(out->wait_status) != 0)
    return std::unexpected(PluginFailure(command, type, c.list, c.rc, *out));
  return std::move(out->out);
}

// DEL of every plugin in reverse; stops at the first failure (SPEC.md: the runtime MUST stop
// execution of the list).
Result<void> DeleteAll(const Call& c, const Json* prev_result) {
  const Json* prev = internal::AtLeast(c.list.cni_version, 0, 4) ? prev_result : nullptr;
  for (size_t i = c.list.plugins.size(); i-- > 0;) BERTH_TRYV(RunOne(c, "DEL", i, prev));
  return {};
}

}  // namespace

Result<NetResult> Network::Setup(const RuntimeConf& rc) const {
  BERTH_TRYV(CheckRuntimeConf(rc, true));
  if (options_.cache_dir.empty())
    return InvalidArgument("CNI setup", config_.name, "no cache dir (Options.cache_dir)");
  BERTH_TRYV(CheckPlugins());  // before any ADD: a missing binary leaves nothing to undo
  Call c{config_, rc, options_, BERTH_TRY(BuildCniArgs(rc))};
  const bool chained = internal::AtLeast(config_.cni_version, 0, 3);

  auto undo = [&](Error e) -> Result<NetResult> {
    // SPEC.md: after a failed ADD, DEL every plugin of the list, even those not called.
    if (auto d = DeleteAll(c, nullptr); !d)
      log::Warn("undoing a failed CNI ADD: " + d.error().Message());
    return std::unexpected(std::move(e));
  };

  Json prev;
  bool have_prev = false;
  for (size_t i = 0; i < config_.plugins.size(); i++) {
    auto out = RunOne(c, "ADD", i, chained && have_prev ? &prev : nullptr);
    if (!out) return undo(std::move(out.error()));
    if (out->find_first_not_of(" \t\r\n") == std::string::npos) continue;  // nothing to pass on
    Json doc = Json::parse(*out, nullptr, false);
    auto parsed = doc.is_discarded() ? ParseResult(*out) : ResultFromJson(doc);
    if (!parsed)
      return undo(parsed.error().Wrap("CNI ADD " + config_.plugins[i]["type"].get<std::string>() +
                                      " " + Subject(rc, config_)));
    prev = std::move(doc);
    have_prev = true;
  }
  if (!have_prev)
    return undo(Internal("CNI ADD", Subject(rc, config_), "no plugin of the list printed a result")
                    .error());

  Json entry = {{"kind", kCacheKind},
                {"network", config_.name},
                {"containerId", rc.container_id},
                {"ifName", rc.ifname},
                {"netns", rc.netns},
                {"cniArgs", rc.args},
                {"capabilityArgs", internal::CapabilityArgs(rc)},
                {"config", config_.raw},
                {"result", prev}};
  // Atomic (rename), not fsync'd: after a power cut the namespaces, veths and iptables rules
  // are gone anyway, and a DEL without prevResult still releases host-local's addresses.
  auto written = sys::MkdirAll(options_.cache_dir, 0700);
  if (written) written = sys::WriteFileAtomic(CachePath(rc), entry.dump(), 0600);
  if (!written) return undo(written.error().Wrap("CNI ADD: cache the result"));
  return ResultFromJson(prev);
}

Result<std::optional<CacheEntry>> Network::ReadCache(const RuntimeConf& rc) const {
  BERTH_TRYV(ValidateContainerId(rc.container_id));
  BERTH_TRYV(ValidateIfName(rc.ifname));
  std::string path = CachePath(rc);
  auto data = sys::ReadFile(path);
  if (!data) {
    if (data.error().IsNotFound()) return std::optional<CacheEntry>();
    return std::unexpected(data.error().Wrap("CNI cache"));
  }
  auto corrupt = [&](const std::string& why) { return DataLoss("read CNI cache", path, why); };
  Json doc = Json::parse(*data, nullptr, false);
  if (!doc.is_object() || doc.value("kind", "") != kCacheKind) return corrupt("not a cache entry");
  CacheEntry e;
  auto cfg = doc.find("config");
  if (cfg == doc.end()) return corrupt("no config");
  auto list = ParseConfigList(cfg->dump(), path + " (cached config)", true);
  if (!list) return corrupt(list.error().Message());
  e.config = std::move(*list);
  try {
    e.runtime.container_id = doc.at("containerId").get<std::string>();
    e.runtime.ifname = doc.at("ifName").get<std::string>();
    e.runtime.netns = doc.value("netns", "");
    e.runtime.args = doc.value("cniArgs", std::vector<std::pair<std::string, std::string>>{});
  } catch (const Json::exception& ex) {
    return corrupt(ex.what());
  }
  if (auto caps = internal::CapabilityArgsFromJson(doc.value("capabilityArgs", Json()), e.runtime);
      !caps)
    return corrupt(caps.error().Message());
  if (auto r = doc.find("result"); r != doc.end() && !r->is_null()) {
    auto parsed = ResultFromJson(*r);
    if (!parsed) return corrupt(parsed.error().Message());
    e.result = std::move(*parsed);
  }
  return std::optional<CacheEntry>(std::move(e));
}

Result<void> Network::Check(const RuntimeConf& rc) const {
  BERTH_TRYV(CheckRuntimeConf(rc, true));
  auto entry = BERTH_TRY(ReadCache(rc));
  if (!entry || !entry->result)
    return NotFound("CNI CHECK", Subject(rc, config_),
                    "no cached ADD result in " + CachePath(rc) + " (not set up)");
  // CHECK came with 0.4.0; disableCheck: "runtimes must not call CHECK" (the admin's
  // current word counts, as well as the one the pod was added under).
  if (!internal::AtLeast(entry->config.cni_version, 0, 4) || entry->config.disable_check ||
      config_.disable_check)
    return {};
  RuntimeConf run = entry->runtime;
  run.netns = rc.netns;
  Call c{entry->config, run, options_, BERTH_TRY(BuildCniArgs(run))};
  for (size_t i = 0; i < entry->config.plugins.size(); i++)
    BERTH_TRYV(RunOne(c, "CHECK", i, &entry->result->raw));
  return {};
}

Result<void> Network::Teardown(const RuntimeConf& rc) const {
  BERTH_TRYV(CheckRuntimeConf(rc, false));
  std::string path = CachePath(rc);
  auto entry = ReadCache(rc);
  if (!entry && !entry.error().Is(ErrorKind::kDataLoss)) return std::unexpected(entry.error());
  if (!entry) log::Warn(entry.error().Message() + ": tearing down without it");
  if (entry && *entry) {
    // The ADD's own config and arguments: the conf dir may have changed since.
    CacheEntry& e = **entry;
    RuntimeConf run = e.runtime;
    struct stat st;
    if (!rc.netns.empty())
      run.netns = rc.netns;
    else if (!run.netns.empty() && stat(run.netns.c_str(), &st) != 0)
      run.netns.clear();
    Call c{e.config, run, options_, BERTH_TRY(BuildCniArgs(run))};
    BERTH_TRYV(DeleteAll(c, e.result ? &e.result->raw : nullptr));
  } else {
    // Never added, already deleted, or the cache was lost: plugins must accept a DEL
    // without prevResult and release what they hold for this container.
    BERTH_TRYV(CheckPlugins());
    Call c{config_, rc, options_, BERTH_TRY(BuildCniArgs(rc))};
    BERTH_TRYV(DeleteAll(c, nullptr));
  }
  if (unlink(path.c_str()) < 0 && errno != ENOENT) return Errno("remove CNI cache", path);
  return {};
}

}  // namespace berth::cni
