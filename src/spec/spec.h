// OCI runtime-spec v1.2 model: typed structs converted once from config.json.
// Optional fields use std::optional so "absent" and "zero" stay distinct, as the
// spec requires (e.g. memory.limit absent vs 0).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

// -std=gnu++23 (CMAKE_CXX_EXTENSIONS, needed for BERTH_TRY) predefines the legacy macro
// `linux` as 1, which would turn the field Spec::linux into a number. Code tests __linux__.
#undef linux

namespace berth::spec {

inline constexpr const char* kOciVersion = "1.2.0";

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;  // windows only; kept for round-trip

  friend bool operator==(const User&, const User&) = default;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;

  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;

  friend bool operator==(const Rlimit&, const Rlimit&) = default;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;

  friend bool operator==(const ConsoleSize&, const ConsoleSize&) = default;
};

struct IoPriority {
  std::string io_class;  // IOPRIO_CLASS_RT|BE|IDLE
  int priority = 0;

  friend bool operator==(const IoPriority&, const IoPriority&) = default;
};

struct Scheduler {
  std::string policy;  // SCHED_OTHER ...
  std::optional<int32_t> nice;
  std::optional<int32_t> priority;
  std::vector<std::string> flags;
  std::optional<uint64_t> runtime, deadline, period;

  friend bool operator==(const Scheduler&, const Scheduler&) = default;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::string command_line;  // windows only
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::optional<Scheduler> scheduler;
  std::string selinux_label;
  std::optional<IoPriority> io_priority;
  // exec-time only (runc exec --process); not part of config.json's process

  friend bool operator==(const Process&, const Process&) = default;
};

struct Root {
  std::string path;
  bool readonly = false;

  friend bool operator==(const Root&, const Root&) = default;
};

struct LinuxIdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;

  friend bool operator==(const LinuxIdMapping&, const LinuxIdMapping&) = default;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  std::vector<LinuxIdMapping> uid_mappings, gid_mappings;  // idmapped mounts

  friend bool operator==(const Mount&, const Mount&) = default;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0

  friend bool operator==(const Hook&, const Hook&) = default;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;

  friend bool operator==(const Hooks&, const Hooks&) = default;
};

struct LinuxNamespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // empty: create a new one

  friend bool operator==(const LinuxNamespace&, const LinuxNamespace&) = default;
};

struct LinuxTimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;

  friend bool operator==(const LinuxTimeOffset&, const LinuxTimeOffset&) = default;
};

struct LinuxDevice {
  std::string path;
  std::string type;  // c b u p
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;

  friend bool operator==(const LinuxDevice&, const LinuxDevice&) = default;
};

struct LinuxDeviceCgroup {
  bool allow = false;
  std::string type;              // a c b; empty = all
  std::optional<int64_t> major;  // absent = wildcard
  std::optional<int64_t> minor;
  std::string access;  // rwm subset; empty = all

  friend bool operator==(const LinuxDeviceCgroup&, const LinuxDeviceCgroup&) = default;
};

struct LinuxMemory {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;

  friend bool operator==(const LinuxMemory&, const LinuxMemory&) = default;
};

struct LinuxCpu {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus;
  std::string mems;
  std::optional<int64_t> idle;

  friend bool operator==(const LinuxCpu&, const LinuxCpu&) = default;
};

struct LinuxPids {
  int64_t limit = 0;

  friend bool operator==(const LinuxPids&, const LinuxPids&) = default;
};

struct LinuxWeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;

  friend bool operator==(const LinuxWeightDevice&, const LinuxWeightDevice&) = default;
};

struct LinuxThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;

  friend bool operator==(const LinuxThrottleDevice&, const LinuxThrottleDevice&) = default;
};

struct LinuxBlockIo {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<LinuxWeightDevice> weight_device;
  std::vector<LinuxThrottleDevice> throttle_read_bps_device, throttle_write_bps_device,
      throttle_read_iops_device, throttle_write_iops_device;

  friend bool operator==(const LinuxBlockIo&, const LinuxBlockIo&) = default;
};

struct LinuxHugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;

  friend bool operator==(const LinuxHugepageLimit&, const LinuxHugepageLimit&) = default;
};

struct LinuxInterfacePriority {
  std::string name;
  uint32_t priority = 0;

  friend bool operator==(const LinuxInterfacePriority&, const LinuxInterfacePriority&) = default;
};

struct LinuxNetwork {
  std::optional<uint32_t> class_id;
  std::vector<LinuxInterfacePriority> priorities;

  friend bool operator==(const LinuxNetwork&, const LinuxNetwork&) = default;
};

struct LinuxRdma {
  std::optional<uint32_t> hca_handles, hca_objects;

  friend bool operator==(const LinuxRdma&, const LinuxRdma&) = default;
};

struct LinuxResources {
  std::vector<LinuxDeviceCgroup> devices;
  std::optional<LinuxMemory> memory;
  std::optional<LinuxCpu> cpu;
  std::optional<LinuxPids> pids;
  std::optional<LinuxBlockIo> block_io;
  std::vector<LinuxHugepageLimit> hugepage_limits;
  std::optional<LinuxNetwork> network;
  std::map<std::string, LinuxRdma> rdma;
  std::map<std::string, std::string> unified;

  friend bool operator==(const LinuxResources&, const LinuxResources&) = default;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ ...

  friend bool operator==(const SeccompArg&, const SeccompArg&) = default;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;

  friend bool operator==(const SeccompSyscall&, const SeccompSyscall&) = default;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;

  friend bool operator==(const Seccomp&, const Seccomp&) = default;
};

struct LinuxPersonality {
  std::string domain;  // LINUX LINUX32
  std::vector<std::string> flags;

  friend bool operator==(const LinuxPersonality&, const LinuxPersonality&) = default;
};

struct LinuxIntelRdt {
  std::string clos_id, l3_cache_schema, mem_bw_schema;

  friend bool operator==(const LinuxIntelRdt&, const LinuxIntelRdt&) = default;
};

struct Linux {
  std::vector<LinuxNamespace> namespaces;
  std::vector<LinuxIdMapping> uid_mappings, gid_mappings;
  std::map<std::string, LinuxTimeOffset> time_offsets;  // "boottime", "monotonic"
  std::vector<LinuxDevice> devices;
  std::string cgroups_path;
  std::optional<LinuxResources> resources;
  std::string rootfs_propagation;
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
  std::optional<LinuxPersonality> personality;
  std::optional<LinuxIntelRdt> intel_rdt;

  friend bool operator==(const Linux&, const Linux&) = default;
};

struct Spec {
  std::string oci_version;
  std::optional<Root> root;
  std::optional<Process> process;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;

  bool HasNamespace(const std::string& type) const;
  const LinuxNamespace* FindNamespace(const std::string& type) const;

  friend bool operator==(const Spec&, const Spec&) = default;
};

}  // namespace berth::spec
