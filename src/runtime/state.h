// Container state on disk under --root: <root>/<id>/state.json (written atomically), a
// copy of the config the container was created with, and exec.fifo while it waits for
// start. The status is never stored: it is derived from the live process and cgroup each
// time, so a crash cannot leave a stale "running".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::runtime {

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* StatusName(Status s);

struct State {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // guards against pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  uid_t owner_uid = 0;
  std::string cgroups_path;  // linux.cgroupsPath as given (the manager re-derives dirs)
  std::vector<std::string> cgroup_parents_created;  // for delete (Manager::CreatedParents)
  std::map<std::string, std::string> annotations;
  bool new_user_ns = false;
  Status status = Status::kCreated;  // filled by Refresh()
};

// Rejects ids that could escape --root or confuse tools: runc's [\w+-.]+, not "." / "..".
Result<void> ValidateId(const std::string& id);

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string Dir(const std::string& id) const { return root_ + "/" + id; }
  std::string FifoPath(const std::string& id) const { return Dir(id) + "/exec.fifo"; }
  std::string ConfigPath(const std::string& id) const { return Dir(id) + "/config.json"; }

  // Creates <root>/<id>; fails with "container "id" already exists" if present.
  Result<void> CreateDir(const std::string& id);
  Result<void> Save(const State& st);
  Result<State> Load(const std::string& id) const;  // status refreshed
  Result<void> Remove(const std::string& id);
  Result<std::vector<std::string>> Ids() const;

 private:
  std::string root_;
};

// Derives the status from the process (alive? zombie?), exec.fifo and the freezer.
void Refresh(const StateStore& store, State& st);

// The runtime-spec state document (ociVersion, id, status, pid, bundle, annotations),
// given to hooks on stdin and printed by `berth state`.
std::string OciStateJson(const State& st, Status status, bool pretty = false);

}  // namespace berth::runtime
