#include "daemon/records.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "sys/fs.h"

namespace berth::daemon {

using nlohmann::json;

namespace {

template <class T>
Result<T> Field(const json& j, const char* key, const std::string& what, bool required = true) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return DataLoss("read record", what, std::string("no field \"") + key + "\"");
    return T{};
  }
  try {
    return it->get<T>();
  } catch (const json::exception& e) {
    return DataLoss("read record", what, std::string("field \"") + key + "\": " + e.what());
  }
}

Result<json> ParseRecord(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return DataLoss("read record", what, "not a JSON object (a torn or damaged file)");
  int version = BERTH_TRY(Field<int>(j, "version", what));
  if (version != kRecordVersion)
    return DataLoss("read record", what,
                    "version " + std::to_string(version) + ", this berthd reads " +
                        std::to_string(kRecordVersion));
  return j;
}

bool IsJsonRecord(const std::string& name) {
  return name.size() > 5 && name.ends_with(".json") && name[0] != '.';
}

}  // namespace

std::string ToJson(const SandboxRecord& r) {
  json j = {{"version", kRecordVersion}, {"id", r.id}, {"namespace", r.ns}, {"name", r.name},
            {"digest", r.digest}, {"state", r.state}, {"created_at", r.created_at},
            {"config", r.config_json}, {"runtime_handler", r.runtime_handler},
            {"net_ns", r.net_ns}, {"ipc_ns", r.ipc_ns}, {"uts_ns", r.uts_ns}, {"pid_ns", r.pid_ns}, {"pause_pid", r.pause_pid}, {"ip", r.ip},
            {"additional_ips", r.additional_ips}, {"network_set_up", r.network_set_up},
            {"cgroup_parent", r.cgroup_parent}};
  return j.dump() + "\n";
}

std::string ToJson(const ContainerRecord& r) {
  json j = {{"version", kRecordVersion}, {"id", r.id}, {"namespace", r.ns},
            {"pod_id", r.pod_id}, {"name", r.name}, {"digest", r.digest}, {"state", r.state},
            {"created_at", r.created_at}, {"config", r.config_json},
            {"image_ref", r.image_ref}, {"image_name", r.image_name}, {"image_id", r.image_id},
            {"log_path", r.log_path}, {"bundle", r.bundle}, {"stop_signal", r.stop_signal},
            {"cgroups_path", r.cgroups_path}};
  return j.dump() + "\n";
}

Result<SandboxRecord> ParseSandboxRecord(const std::string& text, const std::string& what) {
  json j = BERTH_TRY(ParseRecord(text, what));
  SandboxRecord r;
  r.id = BERTH_TRY(Field<std::string>(j, "id", what));
  r.ns = BERTH_TRY(Field<std::string>(j, "namespace", what));
  r.name = BERTH_TRY(Field<std::string>(j, "name", what));
  r.digest = BERTH_TRY(Field<std::string>(j, "digest", what));
  r.state = BERTH_TRY(Field<std::string>(j, "state", what));
  r.created_at = BERTH_TRY(Field<int64_t>(j, "created_at", what));
  r.config_json = BERTH_TRY(Field<std::string>(j, "config", what));
  r.runtime_handler = BERTH_TRY(Field<std::string>(j, "runtime_handler", what));
  r.net_ns = BERTH_TRY(Field<std::string>(j, "net_ns", what, false));
  r.ipc_ns = BERTH_TRY(Field<std::string>(j, "ipc_ns", what, false));
  r.uts_ns = BERTH_TRY(Field<std::string>(j, "uts_ns", what, false));
  r.pid_ns = BERTH_TRY(Field<std::string>(j, "pid_ns", what, false));
  r.pause_pid = BERTH_TRY(Field<int>(j, "pause_pid", what, false));
  r.ip = BERTH_TRY(Field<std::string>(j, "ip", what, false));
  r.additional_ips = BERTH_TRY(Field<std::vector<std::string>>(j, "additional_ips", what, false));
  r.network_set_up = BERTH_TRY(Field<bool>(j, "network_set_up", what, false));
  r.cgroup_parent = BERTH_TRY(Field<std::string>(j, "cgroup_parent", what, false));
  if (r.state != "creating" && r.state != "ready" && r.state != "notready")
    return DataLoss("read record", what, "unknown state \"" + r.state + "\"");
  return r;
}

Result<ContainerRecord> ParseContainerRecord(const std::string& text, const std::string& what) {
  json j = BERTH_TRY(ParseRecord(text, what));
  ContainerRecord r;
  r.id = BERTH_TRY(Field<std::string>(j, "id", what));
  r.ns = BERTH_TRY(Field<std::string>(j, "namespace", what));
  r.pod_id = BERTH_TRY(Field<std::string>(j, "pod_id", what));
  r.name = BERTH_TRY(Field<std::string>(j, "name", what));
  r.digest = BERTH_TRY(Field<std::string>(j, "digest", what));
  r.state = BERTH_TRY(Field<std::string>(j, "state", what));
  r.created_at = BERTH_TRY(Field<int64_t>(j, "created_at", what));
  r.config_json = BERTH_TRY(Field<std::string>(j, "config", what));
  r.image_ref = BERTH_TRY(Field<std::string>(j, "image_ref", what));
  r.image_name = BERTH_TRY(Field<std::string>(j, "image_name", what, false));
  r.image_id = BERTH_TRY(Field<std::string>(j, "image_id", what, false));
  r.log_path = BERTH_TRY(Field<std::string>(j, "log_path", what, false));
  r.bundle = BERTH_TRY(Field<std::string>(j, "bundle", what, false));
  r.stop_signal = BERTH_TRY(Field<int>(j, "stop_signal", what, false));
  r.cgroups_path = BERTH_TRY(Field<std::string>(j, "cgroups_path", what, false));
  if (r.stop_signal <= 0 || r.stop_signal > 64) r.stop_signal = 15;
  if (r.state != "creating" && r.state != "created")
    return DataLoss("read record", what, "unknown state \"" + r.state + "\"");
  return r;
}

std::string MetaStore::PodPath(const std::string& ns, const std::string& id) const {
  return root_ + "/" + ns + "/pods/" + id + ".json";
}

std::string MetaStore::ContainerPath(const std::string& ns, const std::string& id) const {
  return root_ + "/" + ns + "/containers/" + id + ".json";
}

namespace {

Result<void> SaveAt(const std::string& path, const std::string& text) {
  std::string dir = path.substr(0, path.rfind('/'));
  BERTH_TRYV(sys::MkdirAll(dir, 0700));
  return sys::WriteFileDurable(path, text, 0600);
}

Result<void> RemoveAt(const std::string& path) {
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return Errno("remove record", path);
  return sys::FsyncDir(path.substr(0, path.rfind('/')));
}

// Moves an unreadable record out of the way so it is reported once, not at every start.
void SetAside(const std::string& path) {
  (void)::rename(path.c_str(), (path + ".corrupt").c_str());
}

template <class Record, class Parse>
Result<void> LoadKind(const std::string& dir, Parse parse, std::vector<Record>& out,
                      std::vector<Error>& skipped) {
  auto names = sys::ListDir(dir);
  if (!names) {
    if (names.error().IsNotFound()) return {};
    return std::unexpected(names.error());
  }
  for (const auto& name : *names) {
    std::string path = dir + "/" + name;
    if (name.find(".tmp-") != std::string::npos) {  // a write that never reached its rename
      (void)::unlink(path.c_str());
      continue;
    }
    if (!IsJsonRecord(name)) continue;
    auto text = sys::ReadFile(path);
    if (!text) {
      skipped.push_back(text.error());
      continue;
    }
    auto rec = parse(*text, path);
    if (!rec) {
      skipped.push_back(rec.error());
      SetAside(path);
      continue;
    }
    if (rec->id + ".json" != name) {
      skipped.push_back(DataLoss("read record", path, "its id is \"" + rec->id + "\"").error());
      SetAside(path);
      continue;
    }
    out.push_back(std::move(*rec));
  }
  return {};
}

}  // namespace

Result<void> MetaStore::Save(const SandboxRecord& r) const { return SaveAt(PodPath(r.ns, r.id), ToJson(r)); }
Result<void> MetaStore::Save(const ContainerRecord& r) const {
  return SaveAt(ContainerPath(r.ns, r.id), ToJson(r));
}
Result<void> MetaStore::RemovePod(const std::string& ns, const std::string& id) const {
  return RemoveAt(PodPath(ns, id));
}
Result<void> MetaStore::RemoveContainer(const std::string& ns, const std::string& id) const {
  return RemoveAt(ContainerPath(ns, id));
}

Result<std::vector<std::string>> MetaStore::Namespaces() const {
  auto dirs = sys::ListSubdirs(root_);
  if (!dirs && dirs.error().IsNotFound()) return std::vector<std::string>{};
  return dirs;
}

Result<MetaStore::Loaded> MetaStore::LoadAll() const {
  Loaded loaded;
  for (const auto& ns : BERTH_TRY(Namespaces())) {
    BERTH_TRYV(LoadKind<SandboxRecord>(root_ + "/" + ns + "/pods", ParseSandboxRecord,
                                       loaded.pods, loaded.skipped));
    BERTH_TRYV(LoadKind<ContainerRecord>(root_ + "/" + ns + "/containers",
                                         ParseContainerRecord, loaded.containers,
                                         loaded.skipped));
  }
  return loaded;
}

}  // namespace berth::daemon
