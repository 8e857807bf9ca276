// Helpers shared by berthctl's CRI commands (cmd_cri*.cc): connecting, protobuf <-> JSON.
#pragma once

#include <google/protobuf/message.h>

#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"
#include "cli/berthctl/cri_commands.h"
#include "cri/client.h"

namespace berth::cli {

namespace v1 = ::runtime::v1;

Result<cri::Client> CriConnect(const CriCommands::Options& o);

// Reads a request part from a JSON file in protobuf's JSON mapping (crictl's pod and container
// config files: snake_case or lowerCamelCase names). Unknown fields are errors, so a typo
// does not silently drop a setting.
Result<void> LoadJsonFile(const std::string& path, google::protobuf::Message* msg);

// The message in protobuf's JSON mapping, zero values included (exitCode: 0 is an answer).
nlohmann::json ToJson(const google::protobuf::Message& msg);

// A response's `info` map: values are JSON documents; those that do not parse stay strings.
nlohmann::json InfoJson(const google::protobuf::Map<std::string, std::string>& info);

void PrintJson(const nlohmann::json& j);

// "Running", "Exited", ... as crictl prints them.
std::string ContainerStateName(v1::ContainerState s);
std::string PodStateName(v1::PodSandboxState s);
// "5 seconds ago" for a CRI timestamp in nanoseconds.
std::string Ago(int64_t unix_nanos);
// The first 13 characters of an id (crictl's short form), unless no_trunc.
std::string ShortId(const std::string& id, bool no_trunc);

// The read-only commands, in cmd_cri_view.cc.
int CriVersion(const CriCommands::Options& o);
int CriInfo(const CriCommands::Options& o);
struct CriListArgs {
  bool quiet = false, all = false, no_trunc = false;
  std::string output = "table", pod, state, name;
};
int CriPods(const CriCommands::Options& o, const CriListArgs& a);
int CriPs(const CriCommands::Options& o, const CriListArgs& a);
int CriInspect(const CriCommands::Options& o, const std::vector<std::string>& ids);
int CriInspectPod(const CriCommands::Options& o, const std::vector<std::string>& ids);
int CriLogs(const CriCommands::Options& o, const std::string& id, int tail, bool timestamps);
int CriImages(const CriCommands::Options& o, const CriListArgs& a);
int CriInspectImage(const CriCommands::Options& o, const std::vector<std::string>& refs);

}  // namespace berth::cli
