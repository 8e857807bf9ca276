// Spec → config.json text. Member order and omission follow the runtime-spec's Go
// structs (the de-facto wire form): readers diffing our output against runc's see the
// same layout, and absent optionals stay absent.
#include <nlohmann/json.hpp>

#include "spec/json_codec.h"
#include "spec/parse.h"

namespace berth::spec {
namespace internal {
namespace {

using OJson = nlohmann::ordered_json;

OJson Encode(const std::string& v) { return v; }
OJson Encode(bool v) { return v; }
template <std::integral T>
OJson Encode(T v) {
  return v;
}

OJson Encode(const User& v);
OJson Encode(const Rlimit& v);
OJson Encode(const LinuxIdMapping& v);
OJson Encode(const Mount& v);
OJson Encode(const Hook& v);
OJson Encode(const LinuxNamespace& v);
OJson Encode(const LinuxTimeOffset& v);
OJson Encode(const LinuxDevice& v);
OJson Encode(const LinuxDeviceCgroup& v);
OJson Encode(const LinuxWeightDevice& v);
OJson Encode(const LinuxThrottleDevice& v);
OJson Encode(const LinuxHugepageLimit& v);
OJson Encode(const LinuxInterfacePriority& v);
OJson Encode(const LinuxRdma& v);
OJson Encode(const SeccompArg& v);
OJson Encode(const SeccompSyscall& v);
OJson Encode(const Capabilities& v);
OJson Encode(const ConsoleSize& v);
OJson Encode(const Scheduler& v);
OJson Encode(const IoPriority& v);
OJson Encode(const Process& v);
OJson Encode(const Root& v);
OJson Encode(const Hooks& v);
OJson Encode(const LinuxMemory& v);
OJson Encode(const LinuxCpu& v);
OJson Encode(const LinuxPids& v);
OJson Encode(const LinuxBlockIo& v);
OJson Encode(const LinuxNetwork& v);
OJson Encode(const LinuxResources& v);
OJson Encode(const Seccomp& v);
OJson Encode(const LinuxPersonality& v);
OJson Encode(const LinuxIntelRdt& v);
OJson Encode(const Linux& v);
OJson Encode(const Spec& v);

void PutStr(OJson& o, const char* key, const std::string& v) {
  if (!v.empty()) o[key] = v;
}
template <class T>
void PutOpt(OJson& o, const char* key, const std::optional<T>& v) {
  if (v) o[key] = Encode(*v);
}
template <class T>
void PutVec(OJson& o, const char* key, const std::vector<T>& v) {
  if (v.empty()) return;
  OJson a = OJson::array();
  for (const auto& e : v) a.push_back(Encode(e));
  o[key] = std::move(a);
}
template <class T>
void PutMap(OJson& o, const char* key, const std::map<std::string, T>& v) {
  if (v.empty()) return;
  OJson m = OJson::object();
  for (const auto& [k, e] : v) m[k] = Encode(e);
  o[key] = std::move(m);
}

OJson Encode(const User& v) {
  OJson o = {{"uid", v.uid}, {"gid", v.gid}};
  PutOpt(o, "umask", v.umask);
  PutVec(o, "additionalGids", v.additional_gids);
  PutStr(o, "username", v.username);
  return o;
}

OJson Encode(const Capabilities& v) {
  OJson o = OJson::object();
  PutVec(o, "bounding", v.bounding);
  PutVec(o, "effective", v.effective);
  PutVec(o, "inheritable", v.inheritable);
  PutVec(o, "permitted", v.permitted);
  PutVec(o, "ambient", v.ambient);
  return o;
}

OJson Encode(const Rlimit& v) { return {{"type", v.type}, {"hard", v.hard}, {"soft", v.soft}}; }

OJson Encode(const ConsoleSize& v) { return {{"height", v.height}, {"width", v.width}}; }

OJson Encode(const Scheduler& v) {
  OJson o = {{"policy", v.policy}};
  PutOpt(o, "nice", v.nice);
  PutOpt(o, "priority", v.priority);
  PutVec(o, "flags", v.flags);
  PutOpt(o, "runtime", v.runtime);
  PutOpt(o, "deadline", v.deadline);
  PutOpt(o, "period", v.period);
  return o;
}

OJson Encode(const IoPriority& v) { return {{"class", v.io_class}, {"priority", v.priority}}; }

OJson Encode(const Process& v) {
  OJson o = OJson::object();
  if (v.terminal) o["terminal"] = true;
  PutOpt(o, "consoleSize", v.console_size);
  o["user"] = Encode(v.user);
  PutVec(o, "args", v.args);
  PutStr(o, "commandLine", v.command_line);
  PutVec(o, "env", v.env);
  o["cwd"] = v.cwd;
  PutOpt(o, "capabilities", v.capabilities);
  PutVec(o, "rlimits", v.rlimits);
  if (v.no_new_privileges) o["noNewPrivileges"] = true;
  PutStr(o, "apparmorProfile", v.apparmor_profile);
  PutOpt(o, "oomScoreAdj", v.oom_score_adj);
  PutOpt(o, "scheduler", v.scheduler);
  PutStr(o, "selinuxLabel", v.selinux_label);
  PutOpt(o, "ioPriority", v.io_priority);
  return o;
}

OJson Encode(const Root& v) {
  OJson o = {{"path", v.path}};
  if (v.readonly) o["readonly"] = true;
  return o;
}

OJson Encode(const LinuxIdMapping& v) {
  return {{"containerID", v.container_id}, {"hostID", v.host_id}, {"size", v.size}};
}

OJson Encode(const Mount& v) {
  OJson o = {{"destination", v.destination}};
  PutStr(o, "type", v.type);
  PutStr(o, "source", v.source);
  PutVec(o, "options", v.options);
  PutVec(o, "uidMappings", v.uid_mappings);
  PutVec(o, "gidMappings", v.gid_mappings);
  return o;
}

OJson Encode(const Hook& v) {
  OJson o = {{"path", v.path}};
  PutVec(o, "args", v.args);
  PutVec(o, "env", v.env);
  PutOpt(o, "timeout", v.timeout);
  return o;
}

OJson Encode(const Hooks& v) {
  OJson o = OJson::object();
  PutVec(o, "prestart", v.prestart);
  PutVec(o, "createRuntime", v.create_runtime);
  PutVec(o, "createContainer", v.create_container);
  PutVec(o, "startContainer", v.start_container);
  PutVec(o, "poststart", v.poststart);
  PutVec(o, "poststop", v.poststop);
  return o;
}

OJson Encode(const LinuxNamespace& v) {
  OJson o = {{"type", v.type}};
  PutStr(o, "path", v.path);
  return o;
}

OJson Encode(const LinuxTimeOffset& v) { return {{"secs", v.secs}, {"nanosecs", v.nanosecs}}; }

OJson Encode(const LinuxDevice& v) {
  OJson o = {{"path", v.path}, {"type", v.type}, {"major", v.major}, {"minor", v.minor}};
  PutOpt(o, "fileMode", v.file_mode);
  PutOpt(o, "uid", v.uid);
  PutOpt(o, "gid", v.gid);
  return o;
}

OJson Encode(const LinuxDeviceCgroup& v) {
  OJson o = {{"allow", v.allow}};
  PutStr(o, "type", v.type);
  PutOpt(o, "major", v.major);
  PutOpt(o, "minor", v.minor);
  PutStr(o, "access", v.access);
  return o;
}

OJson Encode(const LinuxMemory& v) {
  OJson o = OJson::object();
  PutOpt(o, "limit", v.limit);
  PutOpt(o, "reservation", v.reservation);
  PutOpt(o, "swap", v.swap);
  PutOpt(o, "kernel", v.kernel);
  PutOpt(o, "kernelTCP", v.kernel_tcp);
  PutOpt(o, "swappiness", v.swappiness);
  PutOpt(o, "disableOOMKiller", v.disable_oom_killer);
  PutOpt(o, "useHierarchy", v.use_hierarchy);
  PutOpt(o, "checkBeforeUpdate", v.check_before_update);
  return o;
}

OJson Encode(const LinuxCpu& v) {
  OJson o = OJson::object();
  PutOpt(o, "shares", v.shares);
  PutOpt(o, "quota", v.quota);
  PutOpt(o, "burst", v.burst);
  PutOpt(o, "period", v.period);
  PutOpt(o, "realtimeRuntime", v.realtime_runtime);
  PutOpt(o, "realtimePeriod", v.realtime_period);
  PutStr(o, "cpus", v.cpus);
  PutStr(o, "mems", v.mems);
  PutOpt(o, "idle", v.idle);
  return o;
}

OJson Encode(const LinuxPids& v) { return {{"limit", v.limit}}; }

OJson Encode(const LinuxWeightDevice& v) {
  OJson o = {{"major", v.major}, {"minor", v.minor}};
  PutOpt(o, "weight", v.weight);
  PutOpt(o, "leafWeight", v.leaf_weight);
  return o;
}

OJson Encode(const LinuxThrottleDevice& v) {
  return {{"major", v.major}, {"minor", v.minor}, {"rate", v.rate}};
}

OJson Encode(const LinuxBlockIo& v) {
  OJson o = OJson::object();
  PutOpt(o, "weight", v.weight);
  PutOpt(o, "leafWeight", v.leaf_weight);
  PutVec(o, "weightDevice", v.weight_device);
  PutVec(o, "throttleReadBpsDevice", v.throttle_read_bps_device);
  PutVec(o, "throttleWriteBpsDevice", v.throttle_write_bps_device);
  PutVec(o, "throttleReadIOPSDevice", v.throttle_read_iops_device);
  PutVec(o, "throttleWriteIOPSDevice", v.throttle_write_iops_device);
  return o;
}

OJson Encode(const LinuxHugepageLimit& v) {
  return {{"pageSize", v.page_size}, {"limit", v.limit}};
}

OJson Encode(const LinuxInterfacePriority& v) {
  return {{"name", v.name}, {"priority", v.priority}};
}

OJson Encode(const LinuxNetwork& v) {
  OJson o = OJson::object();
  PutOpt(o, "classID", v.class_id);
  PutVec(o, "priorities", v.priorities);
  return o;
}

OJson Encode(const LinuxRdma& v) {
  OJson o = OJson::object();
  PutOpt(o, "hcaHandles", v.hca_handles);
  PutOpt(o, "hcaObjects", v.hca_objects);
  return o;
}

OJson Encode(const LinuxResources& v) {
  OJson o = OJson::object();
  PutVec(o, "devices", v.devices);
  PutOpt(o, "memory", v.memory);
  PutOpt(o, "cpu", v.cpu);
  PutOpt(o, "pids", v.pids);
  PutOpt(o, "blockIO", v.block_io);
  PutVec(o, "hugepageLimits", v.hugepage_limits);
  PutOpt(o, "network", v.network);
  PutMap(o, "rdma", v.rdma);
  PutMap(o, "unified", v.unified);
  return o;
}

OJson Encode(const SeccompArg& v) {
  OJson o = {{"index", v.index}, {"value", v.value}};
  if (v.value_two != 0) o["valueTwo"] = v.value_two;
  o["op"] = v.op;
  return o;
}

OJson Encode(const SeccompSyscall& v) {
  OJson o = {{"names", OJson::array()}, {"action", v.action}};
  for (const auto& n : v.names) o["names"].push_back(n);
  PutOpt(o, "errnoRet", v.errno_ret);
  PutVec(o, "args", v.args);
  return o;
}

OJson Encode(const Seccomp& v) {
  OJson o = {{"defaultAction", v.default_action}};
  PutOpt(o, "defaultErrnoRet", v.default_errno_ret);
  PutVec(o, "architectures", v.architectures);
  PutVec(o, "flags", v.flags);
  PutStr(o, "listenerPath", v.listener_path);
  PutStr(o, "listenerMetadata", v.listener_metadata);
  PutVec(o, "syscalls", v.syscalls);
  return o;
}

OJson Encode(const LinuxPersonality& v) {
  OJson o = {{"domain", v.domain}};
  PutVec(o, "flags", v.flags);
  return o;
}

OJson Encode(const LinuxIntelRdt& v) {
  OJson o = OJson::object();
  PutStr(o, "closID", v.clos_id);
  PutStr(o, "l3CacheSchema", v.l3_cache_schema);
  PutStr(o, "memBwSchema", v.mem_bw_schema);
  return o;
}

OJson Encode(const Linux& v) {
  OJson o = OJson::object();
  PutVec(o, "uidMappings", v.uid_mappings);
  PutVec(o, "gidMappings", v.gid_mappings);
  PutMap(o, "timeOffsets", v.time_offsets);
  PutMap(o, "sysctl", v.sysctl);
  PutOpt(o, "resources", v.resources);
  PutStr(o, "cgroupsPath", v.cgroups_path);
  PutVec(o, "namespaces", v.namespaces);
  PutVec(o, "devices", v.devices);
  PutOpt(o, "seccomp", v.seccomp);
  PutStr(o, "rootfsPropagation", v.rootfs_propagation);
  PutVec(o, "maskedPaths", v.masked_paths);
  PutVec(o, "readonlyPaths", v.readonly_paths);
  PutStr(o, "mountLabel", v.mount_label);
  PutOpt(o, "intelRdt", v.intel_rdt);
  PutOpt(o, "personality", v.personality);
  return o;
}

OJson Encode(const Spec& v) {
  OJson o = {{"ociVersion", v.oci_version}};
  PutOpt(o, "process", v.process);
  PutOpt(o, "root", v.root);
  PutStr(o, "hostname", v.hostname);
  PutStr(o, "domainname", v.domainname);
  PutVec(o, "mounts", v.mounts);
  OJson hooks = Encode(v.hooks);
  if (!hooks.empty()) o["hooks"] = std::move(hooks);
  PutMap(o, "annotations", v.annotations);
  PutOpt(o, "linux", v.linux);
  return o;
}

}  // namespace

std::string Serialize(const Spec& spec, int indent, char indent_char) {
  // Strings built in code (not parsed) may hold invalid UTF-8; replace rather than throw.
  return Encode(spec).dump(indent, indent_char, false, Json::error_handler_t::replace);
}

}  // namespace internal

std::string ToJson(const Spec& spec, int indent) { return internal::Serialize(spec, indent, ' '); }

}  // namespace berth::spec
