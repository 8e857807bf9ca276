// events and features.
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cgroups/manager.h"
#include "cli/berth/commands.h"
#include "cli/berth/flags.h"
#include "runtime/container.h"
#include "runtime/process_setup.h"
#include "spec/spec.h"

namespace berth::cli {

using nlohmann::ordered_json;

namespace {

// The shape of runc's events "stats" data, which containerd and tools parse.
ordered_json StatsDoc(const cgroups::Stats& s) {
  ordered_json d;
  d["cpu"] = {{"usage",
               {{"total", s.cpu.usage_total_ns},
                {"percpu", s.cpu.percpu_ns},
                {"kernel", s.cpu.usage_kernel_ns},
                {"user", s.cpu.usage_user_ns}}},
              {"throttling",
               {{"periods", s.cpu.throttling_periods},
                {"throttledPeriods", s.cpu.throttled_periods},
                {"throttledTime", s.cpu.throttled_time_ns}}}};
  d["memory"] = {{"usage",
                  {{"limit", s.memory.limit},
                   {"usage", s.memory.usage},
                   {"max", s.memory.max_usage},
                   {"failcnt", s.memory.failcnt}}},
                 {"swap", {{"limit", s.memory.swap_limit}, {"usage", s.memory.swap_usage}}},
                 {"cache", s.memory.cache},
                 {"raw", s.memory.raw}};
  d["pids"] = {{"current", s.pids.current}, {"limit", s.pids.limit}};
  auto blk = [](const std::vector<cgroups::BlkioEntry>& v) {
    ordered_json a = ordered_json::array();
    for (const auto& e : v)
      a.push_back({{"major", e.major}, {"minor", e.minor}, {"op", e.op}, {"value", e.value}});
    return a;
  };
  d["blkio"] = {{"ioServiceBytesRecursive", blk(s.io_service_bytes)},
                {"ioServicedRecursive", blk(s.io_serviced)}};
  ordered_json h = ordered_json::object();
  for (const auto& [size, usage] : s.hugetlb_usage) h[size] = {{"usage", usage}};
  d["hugetlb"] = h;
  return d;
}

}  // namespace

int CmdEvents(const Globals& g, const Args& a) {
  bool stats_once = false;
  int interval = 5;
  std::string interval_s;
  FlagSet f("events");
  f.Bool("stats", &stats_once, "print the container's stats once and exit");
  f.String("interval", &interval_s, "interval between stats (e.g. 5s, 500ms)");
  auto pos = ParseWith(f, a, 1, 1, "events [--stats] [--interval 5s] <container-id>");
  if (!pos) return ReportError(pos.error().Message());
  int interval_ms = interval * 1000;
  if (!interval_s.empty()) {
    char* end = nullptr;
    double v = strtod(interval_s.c_str(), &end);
    std::string unit = end;
    if (unit == "ms") interval_ms = static_cast<int>(v);
    else if (unit == "s" || unit.empty()) interval_ms = static_cast<int>(v * 1000);
    else if (unit == "m") interval_ms = static_cast<int>(v * 60000);
    else return ReportError("events: --interval: invalid duration \"" + interval_s + "\"");
    if (interval_ms <= 0) return ReportError("events: --interval: must be positive");
  }
  const std::string& id = (*pos)[0];
  for (;;) {
    auto st = runtime::GetState(g.root, id);
    if (!st) return ReportError(st.error().Wrap("events").Message());
    if (st->status == runtime::Status::kStopped) {
      if (stats_once) return ReportError("events: container \"" + id + "\" is stopped");
      return 0;
    }
    auto mgr = cgroups::Open(st->cgroups_path, id);
    if (!mgr) return ReportError(mgr.error().Message());
    auto stats = (*mgr)->GetStats();
    if (!stats) return ReportError(stats.error().Wrap("events").Message());
    ordered_json ev;
    ev["type"] = "stats";
    ev["id"] = id;
    ev["data"] = StatsDoc(*stats);
    printf("%s\n", ev.dump().c_str());
    fflush(stdout);
    if (stats_once) return 0;
    usleep(static_cast<useconds_t>(interval_ms) * 1000);
  }
}

int CmdFeatures(const Globals& g, const Args& a) {
  FlagSet f("features");
  auto pos = ParseWith(f, a, 0, 0, "features");
  if (!pos) return ReportError(pos.error().Message());
  ordered_json j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = spec::kOciVersion;
  j["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                "poststop"};
  j["mountOptions"] = {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync",
                       "exec", "mand", "noatime", "nodev", "nodiratime", "noexec", "nomand",
                       "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
                       "rbind", "relatime", "remount", "ro", "rprivate", "rshared", "rslave",
                       "runbindable", "rw", "shared", "slave", "strictatime", "suid", "sync",
                       "tmpcopyup", "unbindable"};
  ordered_json linux;
  linux["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
  linux["capabilities"] = runtime::AllCapabilityNames();
  linux["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false},
                     {"rdma", false}};
  linux["seccomp"] = {{"enabled", true},
                      {"actions", runtime::SeccompActions()},
                      {"operators", runtime::SeccompOperators()},
                      {"archs", runtime::SeccompArchs()},
                      {"knownFlags", runtime::SeccompFlags()},
                      {"supportedFlags", runtime::SeccompFlags()}};
  linux["apparmor"] = {{"enabled", access("/sys/kernel/security/apparmor", F_OK) == 0}};
  linux["selinux"] = {{"enabled", access("/sys/fs/selinux/enforce", F_OK) == 0}};
  linux["intelRdt"] = {{"enabled", false}};
  linux["mountExtensions"] = {{"idmap", {{"enabled", false}}}};
  j["linux"] = linux;
  j["annotations"] = {{"io.github.berth.version", "0.1.0"},
                      {"io.github.berth.cgroups.mode", cgroups::ModeName(cgroups::DetectMode())}};
  printf("%s\n", j.dump(4).c_str());
  return 0;
}

}  // namespace berth::cli
