// What the shim keeps on disk under <work-dir>/<container-id>/, so that a restarted shim or
// berthd can report a container without the shim's memory:
//   container.json  what was asked at create and what the shim learnt (pid, its start time,
//                   the memory cgroup file and its OOM count at start, started_at)
//   exit.json       the exit: code, signal, oom_killed, exited_at, pid — written durably
//                   (fsync'd, renamed, directory fsync'd) before any event or state says so
// Both are small JSON objects; readers ignore fields they do not know.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/error.h"

namespace berth::shim {

struct ExitRecord {
  pid_t pid = 0;
  int exit_code = 0;  // the exit status, or 128 + signal
  int signal = 0;     // the signal that killed it, 0 when it exited
  bool oom_killed = false;
  int64_t exited_at = 0;  // ns since the epoch
};

std::string ExitRecordToJson(const ExitRecord& r);
// kDataLoss for a record that is not JSON or lacks a field (a torn or foreign file).
Result<ExitRecord> ExitRecordFromJson(std::string_view text);
// WriteFileDurable to dir/exit.json.
Result<void> WriteExitRecord(const std::string& dir, const ExitRecord& r);
// kNotFound when the container has no exit record yet.
Result<ExitRecord> ReadExitRecord(const std::string& dir);

struct ContainerRecord {
  std::string id;
  std::string bundle;
  std::string log_path;
  bool tty = false;
  bool stdin = false;
  bool stdin_once = false;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22: guards against pid reuse
  int64_t created_at = 0;
  int64_t started_at = 0;
  std::string oom_file;  // memory.events (v2) or memory.oom_control (v1); "" unknown
  uint64_t oom_kills_at_start = 0;
  // /proc/<pid>/exe of the init at create: the runtime's (berth's sealed memfd, runc init),
  // waiting for start. Once started it has exec'd the container's program, so a shim that
  // finds no started_at (killed between the runtime's start and this record's update)
  // still tells a started container from a created one.
  std::string init_exe;
};

// /proc/<pid>/exe, "" when it cannot be read (gone, or a kernel thread).
std::string ProcessExe(pid_t pid);
// The init has exec'd since create: its exe is readable and no longer init_exe.
bool InitHasExeced(const ContainerRecord& r);

std::string ContainerRecordToJson(const ContainerRecord& r);
Result<ContainerRecord> ContainerRecordFromJson(std::string_view text);
Result<void> WriteContainerRecord(const std::string& dir, const ContainerRecord& r);
Result<ContainerRecord> ReadContainerRecord(const std::string& dir);

// The memory cgroup file whose oom_kill counter covers pid (from /proc/<pid>/cgroup: the
// v1 memory hierarchy's memory.oom_control, else the v2 memory.events); "" when the
// host has neither for it.
std::string FindOomFile(pid_t pid);
// The oom_kill count in such a file (0 when it is unreadable: the cgroup may be gone).
uint64_t ReadOomKills(const std::string& file);
// The oom_kill value in memory.events / memory.oom_control text.
uint64_t ParseOomKills(std::string_view text);

}  // namespace berth::shim
