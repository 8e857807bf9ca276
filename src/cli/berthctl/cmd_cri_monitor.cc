// The registration of the CRI commands that watch and tune: stats, statsp, events, logs,
// reopen-log, update, imagefsinfo, inspecti.
#include <memory>

#include "cli/berthctl/cri_util.h"

namespace berth::cli {

void RegisterMonitorCommands(CLI::App& app, const std::string& group, CriCommands::Options& o,
                             CriCommands::CommandList& commands) {
  auto add = [&](const char* name, const char* help) {
    auto* sub = app.add_subcommand(name, help);
    sub->group(group);
    return sub;
  };

  auto add_stats_flags = [](CLI::App* c, StatsArgs& a) {
    c->add_option("--id", a.id, "only this id (a prefix is enough)");
    c->add_option("-l,--label", a.labels, "only those with this KEY=VALUE label (repeatable)");
    c->add_option("-o,--output", a.output, "table, json or yaml (json/yaml: one sample)")
        ->check(CLI::IsMember(kListFormats));
    c->add_option("-s,--seconds", a.seconds, "seconds between the two samples of CPU %")
        ->capture_default_str();
    c->add_flag("--no-trunc", a.no_trunc, "full ids");
  };
  auto stats = std::make_shared<StatsArgs>();
  auto* c_stats = add("stats", "CRI containers' resource use: CPU %, memory working set, "
                               "writable layer (running ones unless -a)");
  c_stats->add_flag("-a,--all", stats->all, "containers in every state");
  c_stats->add_option("-p,--pod", stats->pod, "only containers of this pod sandbox");
  add_stats_flags(c_stats, *stats);
  c_stats->add_option("CONTAINER-ID", stats->positional, "only this container");
  commands.emplace_back(c_stats, [&o, stats] { return CriStats(o, *stats); });

  auto statsp = std::make_shared<StatsArgs>();
  auto* c_statsp = add("statsp", "pod sandboxes' resource use: CPU %, memory working set");
  add_stats_flags(c_statsp, *statsp);
  c_statsp->add_option("POD-ID", statsp->positional, "only this pod sandbox");
  commands.emplace_back(c_statsp, [&o, statsp] { return CriPodStats(o, *statsp); });

  auto events = std::make_shared<std::string>("table");
  auto* c_events = add("events", "follow the runtime's container events (GetContainerEvents) "
                                 "until SIGINT/SIGTERM: time, type, container id, pod id");
  c_events->add_option("-o,--output", *events, "table (one line per event), json (one "
                                              "object per line) or yaml")
      ->check(CLI::IsMember(kListFormats));
  commands.emplace_back(c_events, [&o, events] { return CriEvents(o, *events); });

  auto logs = std::make_shared<LogsArgs>();
  auto* c_logs = add("logs", "print a CRI container's log");
  c_logs->add_flag("-f,--follow", logs->follow,
                   "keep printing as the container writes, across log rotations, until it exits");
  c_logs->add_option("--tail", logs->tail, "only the last N lines (-1: all)");
  c_logs->add_option("--since", logs->since,
                     "only records since an RFC 3339 time or a duration back (42m, 1h30m)");
  c_logs->add_flag("-t,--timestamps", logs->timestamps, "prefix each line with its time");
  c_logs->add_option("CONTAINER-ID", logs->id, "container id")->required();
  commands.emplace_back(c_logs, [&o, logs] { return CriLogs(o, *logs); });

  auto reopen = std::make_shared<std::vector<std::string>>();
  auto* c_reopen = add("reopen-log", "have the runtime reopen containers' log files "
                                     "(ReopenContainerLog, after the old one was renamed)");
  c_reopen->add_option("CONTAINER-ID", *reopen, "container ids")->required();
  commands.emplace_back(c_reopen, [&o, reopen] { return CriReopenLog(o, *reopen); });

  auto update = std::make_shared<UpdateArgs>();
  auto* c_update = add("update", "change running containers' resources (UpdateContainerResources)");
  c_update->add_option("--memory", update->memory, "memory limit in bytes");
  c_update->add_option("--cpu-quota", update->cpu_quota, "CFS quota in microseconds per period");
  c_update->add_option("--cpu-period", update->cpu_period, "CFS period in microseconds");
  c_update->add_option("--cpu-shares,--cpu-share", update->cpu_shares, "CPU shares (weight)");
  c_update->add_option("--cpuset-cpus", update->cpuset_cpus, "CPUs to run on (0-3, 0,1)");
  c_update->add_option("--cpuset-mems", update->cpuset_mems, "memory nodes to use");
  c_update->add_option("CONTAINER-ID", update->ids, "container ids")->required();
  commands.emplace_back(c_update, [&o, update] { return CriUpdate(o, *update); });

  auto fsinfo = std::make_shared<std::string>("json");
  auto* c_fsinfo = add("imagefsinfo", "the image and container filesystems' use (ImageFsInfo)");
  c_fsinfo->add_option("-o,--output", *fsinfo, "json, yaml or table")
      ->check(CLI::IsMember(kListFormats));
  commands.emplace_back(c_fsinfo, [&o, fsinfo] { return CriImageFsInfo(o, *fsinfo); });

  auto inspecti = std::make_shared<std::pair<std::vector<std::string>, std::string>>(
      std::vector<std::string>{}, "json");
  auto* c_inspecti = add("inspecti", "a CRI image's status with its config (ImageStatus verbose)");
  c_inspecti->add_option("-o,--output", inspecti->second, "json or yaml")
      ->check(CLI::IsMember({"json", "yaml"}));
  c_inspecti->add_option("IMAGE", inspecti->first, "image references or ids")->required();
  commands.emplace_back(c_inspecti, [&o, inspecti] {
    return CriInspectImage(o, inspecti->first, inspecti->second);
  });
}

}  // namespace berth::cli
