// Helpers shared by berthctl's CRI commands (cmd_cri*.cc): options, connecting, errors,
// protobuf <-> JSON, output formats.
#pragma once

#include <google/protobuf/message.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "cli/berthctl/cri_commands.h"
#include "cri/client.h"

namespace berth::cli {

namespace v1 = ::runtime::v1;

// Settles the options (cmd_cri_config.cc): each from its flag, else the environment
// (CONTAINER_RUNTIME_ENDPOINT, IMAGE_SERVICE_ENDPOINT, BERTH_NAMESPACE, CRI_CONFIG_FILE),
// else crictl's config file (--crictl-config, default /etc/crictl.yaml, which may be missing),
// else the defaults. Turns on debug logging when asked.
Result<void> ResolveOptions(CriCommands::Options& o, const CriCommands::Given& given);

Result<cri::Client> CriConnect(const CriCommands::Options& o);

// Prints the error as every berthctl command does; when the call found nobody listening
// on the endpoint (connect(2) refused: no socket, or a stale one), says what to do, and adds
// `hint` (a line of its own) then.
int CriFail(const Error& e, std::string_view hint = {});

// The docker-style commands (cmd_docker*.cc). Their pods and containers carry these labels:
// kRunLabel = "run" marks a pod and its container made by `run` (ps/rm know the pair by it),
// kRunNameLabel is the --name of both.
inline constexpr const char* kOwnNamespace = "berthctl";
inline constexpr const char* kRunLabel = "berth.io/berthctl";
inline constexpr const char* kRunNameLabel = "berth.io/berthctl-name";

// A container as the command line names it — an id, a unique prefix of one, or run's
// --name — found in the namespace that has it: the options' namespace when -n or
// BERTH_NAMESPACE chose one; else k8s.io (crictl's), and when k8s.io does not know it,
// berthctl's (run's containers). `opts` is `o` with that namespace.
struct ContainerRef {
  CriCommands::Options opts;
  v1::ContainerStatus status;
};
Result<ContainerRef> FindContainerRef(const CriCommands::Options& o, const std::string& ref);

// Removes what `run` made for a container: its pod (RemovePodSandbox stops and removes the
// container with it) and its log file and directory (berthd leaves logs to their owner, as
// kubelet owns pods' logs).
Result<void> RemoveRunPod(cri::Client& c, const std::string& pod_id, const std::string& log_path);

// Reads a request part from a JSON file in protobuf's JSON mapping (crictl's pod and container
// config files: snake_case or lowerCamelCase names). Unknown fields are errors, so a typo
// does not silently drop a setting.
Result<void> LoadJsonFile(const std::string& path, google::protobuf::Message* msg);

// The message in protobuf's JSON mapping, zero values included (exitCode: 0 is an answer).
nlohmann::json ToJson(const google::protobuf::Message& msg);

// A response's `info` map: values are JSON documents; those that do not parse stay strings.
nlohmann::json InfoJson(const google::protobuf::Map<std::string, std::string>& info);

void PrintJson(const nlohmann::json& j);
// A JSON document as block-style YAML (strings quoted where YAML would read them otherwise).
std::string ToYaml(const nlohmann::json& j);
// "json" or "yaml" (the document), as -o asks.
void PrintDocument(const nlohmann::json& j, const std::string& format);
// Columns padded to their widest cell, 3 spaces apart (crictl's tabwriter).
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// "Running", "Exited", ... as crictl prints them.
std::string ContainerStateName(v1::ContainerState s);
std::string PodStateName(v1::PodSandboxState s);
// "5 seconds ago" for a CRI timestamp in nanoseconds.
std::string Ago(int64_t unix_nanos);
// The first 13 characters of an id (crictl's short form), unless no_trunc.
std::string ShortId(const std::string& id, bool no_trunc);
// Bytes as crictl (go-units HumanSize, decimal): "0B", "512B", "1.23kB", "45.6MB".
std::string HumanSize(uint64_t bytes);

// -o for list commands: table (the default), json, yaml.
inline const std::vector<std::string> kListFormats{"table", "json", "yaml"};

// The read-only commands, in cmd_cri_view.cc.
int CriVersion(const CriCommands::Options& o);
int CriInfo(const CriCommands::Options& o);
struct CriListArgs {
  bool quiet = false, all = false, no_trunc = false;
  std::string output = "table", pod, state, name;
};
int CriPods(const CriCommands::Options& o, const CriListArgs& a);
int CriPs(const CriCommands::Options& o, const CriListArgs& a);
int CriInspect(const CriCommands::Options& o, const std::vector<std::string>& ids,
               const std::string& format);
int CriInspectPod(const CriCommands::Options& o, const std::vector<std::string>& ids,
                  const std::string& format);
int CriImages(const CriCommands::Options& o, const CriListArgs& a);
int CriInspectImage(const CriCommands::Options& o, const std::vector<std::string>& refs,
                    const std::string& format);

// stats, statsp, imagefsinfo, update (cmd_cri_stats.cc).
struct StatsArgs {
  bool all = false, no_trunc = false;
  std::string id, positional, pod, output = "table";
  std::vector<std::string> labels;
  double seconds = 1;  // between the two samples of a table's CPU %
};
int CriStats(const CriCommands::Options& o, StatsArgs a);
int CriPodStats(const CriCommands::Options& o, StatsArgs a);
int CriImageFsInfo(const CriCommands::Options& o, const std::string& output);
struct UpdateArgs {
  int64_t memory = 0, cpu_quota = 0, cpu_period = 0, cpu_shares = 0;
  std::string cpuset_cpus, cpuset_mems;
  std::vector<std::string> ids;
};
int CriUpdate(const CriCommands::Options& o, const UpdateArgs& a);

// logs, reopen-log, events (cmd_cri_logs.cc).
struct LogsArgs {
  std::string id, since;
  int64_t tail = -1;
  bool timestamps = false, follow = false;
};
int CriLogs(const CriCommands::Options& o, const LogsArgs& a);
int CriReopenLog(const CriCommands::Options& o, const std::vector<std::string>& ids);
int CriEvents(const CriCommands::Options& o, const std::string& output);

// namespaces: berthd's namespaces with their pod and container counts (Status verbose).
int CriNamespaces(const CriCommands::Options& o, const std::string& output);

// The registration of all of these and inspecti (cmd_cri_monitor.cc).
void RegisterMonitorCommands(CLI::App& app, const std::string& group, CriCommands::Options& o,
                             CriCommands::CommandList& commands);

// exec (streaming), attach and port-forward over the CRI streaming calls (cmd_stream.cc).
// CriExecStream: words are CONTAINER COMMAND [ARG...]; transport "" (websocket, spdy if
// refused), "websocket" or "spdy"; ca: PEM CAs that an https streaming server's certificate
// must chain to ("" : the system's).
int CriExecStream(const CriCommands::Options& o, const std::vector<std::string>& words,
                  bool interactive, bool tty, const std::string& transport,
                  const std::string& ca);
inline constexpr const char* kStreamCaHelp =
    "PEM file of the CAs an https streaming server's certificate must chain to (default: the "
    "system's)";
void RegisterStreamCommands(CLI::App& app, const std::string& group, CriCommands::Options& o,
                            CriCommands::CommandList& commands);

}  // namespace berth::cli
