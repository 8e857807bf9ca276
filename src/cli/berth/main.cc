// berth — an OCI runtime with runc's command line.
#include <cstdio>
#include <cstring>
#include <map>

#include "base/log.h"
#include "cli/berth/commands.h"
#include "cli/berth/flags.h"
#include "cli/berth/self_protect.h"

namespace berth::cli {

int ReportError(const std::string& msg) {
  log::Error(msg);
  // With --log, runc's callers read the file; people still want to see the error.
  if (log::LoggingToFile()) fprintf(stderr, "berth: %s\n", msg.c_str());
  return 1;
}

namespace {

constexpr const char* kUsage =
    "berth — an OCI container runtime (runc-compatible command line)\n\n"
    "Usage: berth [global options] command [command options] [arguments...]\n\n"
    "Commands:\n"
    "   create    create a container\n"
    "   start     start the user process of a created container\n"
    "   run       create and start a container\n"
    "   state     output the state of a container\n"
    "   kill      send a signal to the container's init process\n"
    "   delete    delete a container and everything it holds\n"
    "   list      list containers started by berth with the given root\n"
    "   exec      execute a new process inside a container\n"
    "   ps        list processes running inside a container\n"
    "   pause     suspend all processes in a container\n"
    "   resume    resume all processes of a paused container\n"
    "   events    display container events and resource statistics\n"
    "   update    update the resource limits of a container\n"
    "   spec      create a new specification file (config.json)\n"
    "   features  show the features berth supports (JSON)\n\n";

int Main(int argc, char** argv) {
  Args args(argv + 1, argv + argc);
  Globals g;
  bool version = false;
  FlagSet flags("berth");
  flags.String("root", &g.root, "root directory for container state (default /run/berth)");
  flags.String("log", &g.log_file, "log file (default stderr)");
  flags.String("log-format", &g.log_format, "log format: text or json");
  flags.Bool("debug", &g.debug, "enable debug logging");
  flags.Bool("systemd-cgroup", &g.systemd_cgroup, "use the systemd cgroup driver");
  flags.Bool("v,version", &version, "print the version");
  flags.Ignored("criu", true, "accepted for runc compatibility (checkpoint is not supported)");
  flags.Ignored("rootless", true, "accepted for runc compatibility");
  auto rest = flags.Parse(args);
  if (!rest) {
    fprintf(stderr, "berth: %s\n", rest.error().Message().c_str());
    return 1;
  }
  if (g.log_format != "text" && g.log_format != "json") {
    fprintf(stderr, "berth: --log-format: unknown format \"%s\" (text or json)\n",
            g.log_format.c_str());
    return 1;
  }
  log::Init(g.log_file, g.log_format == "json" ? log::Format::kJson : log::Format::kText,
            g.debug);
  if (version) {
    printf("berth version 0.1.0\nspec: 1.2.0\n");
    return 0;
  }
  if (rest->empty() || flags.HelpRequested()) {
    printf("%s%s", kUsage, flags.Usage().c_str());
    return rest->empty() && !flags.HelpRequested() ? 1 : 0;
  }
  std::string cmd = rest->front();
  Args sub(rest->begin() + 1, rest->end());
  if (g.systemd_cgroup)
    log::Debug("--systemd-cgroup: no systemd driver; a cgroupsPath slice:prefix:name is "
               "mapped to <slice>/<prefix>-<name>.scope and managed through cgroupfs");

  static const std::map<std::string, int (*)(const Globals&, const Args&)> kCommands = {
      {"create", CmdCreate}, {"run", CmdRun},       {"start", CmdStart},
      {"state", CmdState},   {"kill", CmdKill},     {"delete", CmdDelete},
      {"list", CmdList},     {"ps", CmdPs},         {"pause", CmdPause},
      {"resume", CmdResume}, {"exec", CmdExec},     {"events", CmdEvents},
      {"update", CmdUpdate}, {"spec", CmdSpec},     {"features", CmdFeatures},
  };
  auto it = kCommands.find(cmd);
  if (it == kCommands.end()) {
    // runc's callers (containerd's `ctr task checkpoint`, podman container checkpoint) pass
    // these through; name the missing feature instead of a bare "unknown command".
    if (cmd == "checkpoint" || cmd == "restore")
      return ReportError(cmd + ": checkpoint/restore is not supported by berth (no CRIU "
                         "integration); use runc or crun to checkpoint containers");
    return ReportError("unknown command \"" + cmd + "\" (see berth --help)");
  }
  // exec puts a process into a running container: it always re-execs from a sealed copy
  // first. create and run decide once config.json is read (NeedsSealedRuntime).
  g.argc = argc;
  g.argv = argv;
  if (cmd == "exec") {
    auto r = ProtectSelf(argc, argv);
    if (!r) return ReportError(r.error().Message());
  }
  return it->second(g, sub);
}

}  // namespace
}  // namespace berth::cli

int main(int argc, char** argv) { return berth::cli::Main(argc, argv); }
