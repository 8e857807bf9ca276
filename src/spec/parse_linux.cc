// The "linux" object of config.json (config-linux.md) → typed model.
#include "spec/json_codec.h"

namespace berth::spec::internal {

Result<void> Decode(const Json& j, const Path& p, LinuxNamespace& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("type", out.type));
  BERTH_TRYV(o.Get("path", out.path));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxTimeOffset& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("secs", out.secs));
  BERTH_TRYV(o.Get("nanosecs", out.nanosecs));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxDevice& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("path", out.path));
  BERTH_TRYV(o.Get("type", out.type));
  BERTH_TRYV(o.Get("major", out.major));
  BERTH_TRYV(o.Get("minor", out.minor));
  BERTH_TRYV(o.Get("fileMode", out.file_mode));
  BERTH_TRYV(o.Get("uid", out.uid));
  BERTH_TRYV(o.Get("gid", out.gid));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxDeviceCgroup& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("allow", out.allow));
  BERTH_TRYV(o.Get("type", out.type));
  BERTH_TRYV(o.Get("major", out.major));
  BERTH_TRYV(o.Get("minor", out.minor));
  BERTH_TRYV(o.Get("access", out.access));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxMemory& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("limit", out.limit));
  BERTH_TRYV(o.Get("reservation", out.reservation));
  BERTH_TRYV(o.Get("swap", out.swap));
  BERTH_TRYV(o.Get("kernel", out.kernel));
  BERTH_TRYV(o.Get("kernelTCP", out.kernel_tcp));
  BERTH_TRYV(o.Get("swappiness", out.swappiness));
  BERTH_TRYV(o.Get("disableOOMKiller", out.disable_oom_killer));
  BERTH_TRYV(o.Get("useHierarchy", out.use_hierarchy));
  BERTH_TRYV(o.Get("checkBeforeUpdate", out.check_before_update));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxCpu& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("shares", out.shares));
  BERTH_TRYV(o.Get("quota", out.quota));
  BERTH_TRYV(o.Get("burst", out.burst));
  BERTH_TRYV(o.Get("period", out.period));
  BERTH_TRYV(o.Get("realtimeRuntime", out.realtime_runtime));
  BERTH_TRYV(o.Get("realtimePeriod", out.realtime_period));
  BERTH_TRYV(o.Get("cpus", out.cpus));
  BERTH_TRYV(o.Get("mems", out.mems));
  BERTH_TRYV(o.Get("idle", out.idle));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxPids& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("limit", out.limit));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxWeightDevice& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("major", out.major));
  BERTH_TRYV(o.Get("minor", out.minor));
  BERTH_TRYV(o.Get("weight", out.weight));
  BERTH_TRYV(o.Get("leafWeight", out.leaf_weight));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxThrottleDevice& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("major", out.major));
  BERTH_TRYV(o.Get("minor", out.minor));
  BERTH_TRYV(o.Get("rate", out.rate));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxBlockIo& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("weight", out.weight));
  BERTH_TRYV(o.Get("leafWeight", out.leaf_weight));
  BERTH_TRYV(o.Get("weightDevice", out.weight_device));
  BERTH_TRYV(o.Get("throttleReadBpsDevice", out.throttle_read_bps_device));
  BERTH_TRYV(o.Get("throttleWriteBpsDevice", out.throttle_write_bps_device));
  BERTH_TRYV(o.Get("throttleReadIOPSDevice", out.throttle_read_iops_device));
  BERTH_TRYV(o.Get("throttleWriteIOPSDevice", out.throttle_write_iops_device));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxHugepageLimit& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("pageSize", out.page_size));
  BERTH_TRYV(o.Get("limit", out.limit));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxInterfacePriority& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("name", out.name));
  BERTH_TRYV(o.Get("priority", out.priority));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxNetwork& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("classID", out.class_id));
  BERTH_TRYV(o.Get("priorities", out.priorities));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxRdma& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("hcaHandles", out.hca_handles));
  BERTH_TRYV(o.Get("hcaObjects", out.hca_objects));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxResources& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("devices", out.devices));
  BERTH_TRYV(o.Get("memory", out.memory));
  BERTH_TRYV(o.Get("cpu", out.cpu));
  BERTH_TRYV(o.Get("pids", out.pids));
  BERTH_TRYV(o.Get("blockIO", out.block_io));
  BERTH_TRYV(o.Get("hugepageLimits", out.hugepage_limits));
  BERTH_TRYV(o.Get("network", out.network));
  BERTH_TRYV(o.Get("rdma", out.rdma));
  BERTH_TRYV(o.Get("unified", out.unified));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, SeccompArg& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("index", out.index));
  BERTH_TRYV(o.Get("value", out.value));
  BERTH_TRYV(o.Get("valueTwo", out.value_two));
  BERTH_TRYV(o.Get("op", out.op));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, SeccompSyscall& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("names", out.names));
  BERTH_TRYV(o.Get("action", out.action));
  BERTH_TRYV(o.Get("errnoRet", out.errno_ret));
  BERTH_TRYV(o.Get("args", out.args));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Seccomp& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("defaultAction", out.default_action));
  BERTH_TRYV(o.Get("defaultErrnoRet", out.default_errno_ret));
  BERTH_TRYV(o.Get("architectures", out.architectures));
  BERTH_TRYV(o.Get("flags", out.flags));
  BERTH_TRYV(o.Get("listenerPath", out.listener_path));
  BERTH_TRYV(o.Get("listenerMetadata", out.listener_metadata));
  BERTH_TRYV(o.Get("syscalls", out.syscalls));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxPersonality& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("domain", out.domain));
  BERTH_TRYV(o.Get("flags", out.flags));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxIntelRdt& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("closID", out.clos_id));
  BERTH_TRYV(o.Get("l3CacheSchema", out.l3_cache_schema));
  BERTH_TRYV(o.Get("memBwSchema", out.mem_bw_schema));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Linux& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("namespaces", out.namespaces));
  BERTH_TRYV(o.Get("uidMappings", out.uid_mappings));
  BERTH_TRYV(o.Get("gidMappings", out.gid_mappings));
  BERTH_TRYV(o.Get("timeOffsets", out.time_offsets));
  BERTH_TRYV(o.Get("devices", out.devices));
  BERTH_TRYV(o.Get("cgroupsPath", out.cgroups_path));
  BERTH_TRYV(o.Get("resources", out.resources));
  BERTH_TRYV(o.Get("rootfsPropagation", out.rootfs_propagation));
  BERTH_TRYV(o.Get("seccomp", out.seccomp));
  BERTH_TRYV(o.Get("sysctl", out.sysctl));
  BERTH_TRYV(o.Get("maskedPaths", out.masked_paths));
  BERTH_TRYV(o.Get("readonlyPaths", out.readonly_paths));
  BERTH_TRYV(o.Get("mountLabel", out.mount_label));
  BERTH_TRYV(o.Get("personality", out.personality));
  BERTH_TRYV(o.Get("intelRdt", out.intel_rdt));
  return {};
}

}  // namespace berth::spec::internal
