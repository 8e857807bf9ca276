// berthd's metadata on disk — the truth it rebuilds memory from at start-up:
//   <root>/meta/<namespace>/pods/<id>.json        SandboxRecord
//   <root>/meta/<namespace>/containers/<id>.json  ContainerRecord
// Each record is written durably (temp file, fsync, rename, fsync of the dir) before the
// call that changed it answers. A record in state "creating" is an operation that did not
// finish: at start-up berthd undoes what it made and removes the record. What happens in
// the runtime (running, exit codes) is berth-shim's truth (its own records), not these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::daemon {

inline constexpr int kRecordVersion = 1;

struct SandboxRecord {
  std::string id, ns;
  std::string name;    // the reserved name (metadata name_namespace_uid_attempt)
  std::string digest;  // of the RunPodSandbox request (names.h)
  std::string state;   // "creating", "ready", "notready"
  int64_t created_at = 0;  // ns since the epoch
  std::string config_json;  // the PodSandboxConfig, protobuf JSON
  std::string runtime_handler;
  std::string net_ns, ipc_ns, uts_ns;  // pinned namespace files, "" = host's
  std::string pid_ns;   // the pod-shared PID namespace's file ("" unless NamespaceMode POD)
  int pause_pid = 0;    // pid 1 of that namespace (berth-shim pause)
  std::string ip;
  std::vector<std::string> additional_ips;
  bool network_set_up = false;  // CNI ADD done (DEL owed)
  std::string cgroup_parent;
};

struct ContainerRecord {
  std::string id, ns, pod_id;
  std::string name, digest;  // names.h
  std::string state;         // "creating", "created"
  int64_t created_at = 0;
  std::string config_json;  // the ContainerConfig, protobuf JSON
  std::string image_ref;    // as requested (config.image.image)
  std::string image_name;   // the stored name it resolved to
  std::string image_id;     // the image config's digest
  std::string log_path;     // absolute, "" none
  std::string bundle;
  std::string cgroups_path;  // linux.cgroupsPath given to the runtime
  int stop_signal = 15;  // the image's StopSignal, SIGTERM when it names none
};

std::string ToJson(const SandboxRecord& r);
std::string ToJson(const ContainerRecord& r);
Result<SandboxRecord> ParseSandboxRecord(const std::string& text, const std::string& what);
Result<ContainerRecord> ParseContainerRecord(const std::string& text, const std::string& what);

class MetaStore {
 public:
  explicit MetaStore(std::string root) : root_(std::move(root)) {}
  std::string PodPath(const std::string& ns, const std::string& id) const;
  std::string ContainerPath(const std::string& ns, const std::string& id) const;

  Result<void> Save(const SandboxRecord& r) const;
  Result<void> Save(const ContainerRecord& r) const;
  Result<void> RemovePod(const std::string& ns, const std::string& id) const;
  Result<void> RemoveContainer(const std::string& ns, const std::string& id) const;

  struct Loaded {
    std::vector<SandboxRecord> pods;
    std::vector<ContainerRecord> containers;
    // Records that could not be read: set aside as <file>.corrupt, reported, skipped.
    std::vector<Error> skipped;
  };
  // Every namespace's records. Leftover temporary files of an interrupted write are removed.
  Result<Loaded> LoadAll() const;
  Result<std::vector<std::string>> Namespaces() const;

 private:
  std::string root_;  // <root>/meta
};

}  // namespace berth::daemon
