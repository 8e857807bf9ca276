#include "runtime/state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cgroups/manager.h"
#include "spec/spec.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace berth::runtime {

using nlohmann::json;

const char* StatusName(Status s) {
  switch (s) {
    case Status::kCreating: return "creating";
    case Status::kCreated: return "created";
    case Status::kRunning: return "running";
    case Status::kPaused: return "paused";
    case Status::kStopped: return "stopped";
  }
  return "unknown";
}

Result<void> ValidateId(const std::string& id) {
  if (id.empty()) return InvalidArgument("invalid container id", "\"\"", "the id must not be empty");
  if (id == "." || id == "..")
    return InvalidArgument("invalid container id", "\"" + id + "\"", "\".\" and \"..\" are not allowed");
  if (id.size() > 1024) return InvalidArgument("invalid container id", id.substr(0, 32) + "...", "too long");
  for (unsigned char c : id) {
    if (!(isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.'))
      return InvalidArgument("invalid container id", "\"" + id + "\"",
                  "only letters, digits, '_', '+', '-' and '.' are allowed");
  }
  return {};
}

Result<void> StateStore::CreateDir(const std::string& id) {
  // Callers pick roots whose parents may not exist yet (containerd's shim passes
  // --root /run/containerd/runc/<namespace> on a fresh host): create the missing parents.
  BERTH_TRYV(sys::MkdirAll(root_, 0711));
  std::string d = Dir(id);
  if (mkdir(d.c_str(), 0711) < 0) {
    if (errno == EEXIST) return AlreadyExists("container", "\"" + id + "\"", "already exists");
    return Errno("mkdir", d);
  }
  return {};
}

Result<void> StateStore::Save(const State& st) {
  json j = {
      {"id", st.id},
      {"pid", st.pid},
      {"pid_start_time", st.pid_start_time},
      {"bundle", st.bundle},
      {"rootfs", st.rootfs},
      {"created", st.created},
      {"owner_uid", st.owner_uid},
      {"cgroups_path", st.cgroups_path},
      {"annotations", st.annotations},
      {"new_user_ns", st.new_user_ns},
  };
  if (!st.cgroup_parents_created.empty()) j["cgroup_parents_created"] = st.cgroup_parents_created;
  return sys::WriteFileAtomic(Dir(st.id) + "/state.json", j.dump());
}

Result<State> StateStore::Load(const std::string& id) const {
  BERTH_TRYV(ValidateId(id));
  std::string path = Dir(id) + "/state.json";
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().code == ENOENT) {
      struct stat sb;
      if (stat(Dir(id).c_str(), &sb) == 0)
        return FailedPrecondition("container", "\"" + id + "\"", "is being created or was not created completely");
      return NotFound("container", "\"" + id + "\"", "does not exist");
    }
    return std::unexpected(text.error());
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return DataLoss("parse", path, "corrupt state file");
  State st;
  try {
    st.id = j.at("id").get<std::string>();
    st.pid = j.at("pid").get<pid_t>();
    st.pid_start_time = j.value("pid_start_time", uint64_t{0});
    st.bundle = j.value("bundle", "");
    st.rootfs = j.value("rootfs", "");
    st.created = j.value("created", "");
    st.owner_uid = j.value("owner_uid", 0u);
    st.cgroups_path = j.value("cgroups_path", "");
    st.annotations = j.value("annotations", std::map<std::string, std::string>{});
    st.new_user_ns = j.value("new_user_ns", false);
    st.cgroup_parents_created =
        j.value("cgroup_parents_created", std::vector<std::string>{});
  } catch (const std::exception& e) {
    return DataLoss("parse", path, e.what());
  }
  Refresh(*this, st);
  return st;
}

Result<void> StateStore::Remove(const std::string& id) { return sys::RemoveTree(Dir(id)); }

Result<std::vector<std::string>> StateStore::Ids() const {
  auto ids = sys::ListSubdirs(root_);
  if (!ids && ids.error().code == ENOENT) return std::vector<std::string>{};
  return ids;
}

void Refresh(const StateStore& store, State& st) {
  if (!sys::ProcessAlive(st.pid, st.pid_start_time)) {
    st.status = Status::kStopped;
    return;
  }
  if (access(store.FifoPath(st.id).c_str(), F_OK) == 0) {
    st.status = Status::kCreated;
    return;
  }
  st.status = Status::kRunning;
  auto mgr = cgroups::Open(st.cgroups_path, st.id);
  if (mgr) {
    auto fs = (*mgr)->GetFreezerState();
    if (fs && *fs == cgroups::FreezerState::kFrozen) st.status = Status::kPaused;
  }
}

std::string OciStateJson(const State& st, Status status, bool pretty) {
  json j = {
      {"ociVersion", spec::kOciVersion},
      {"id", st.id},
      {"status", StatusName(status)},
  };
  if (status != Status::kStopped) j["pid"] = st.pid;
  j["bundle"] = st.bundle;
  if (!st.annotations.empty()) j["annotations"] = st.annotations;
  return pretty ? j.dump(2) : j.dump();
}

}  // namespace berth::runtime
