// Private helpers for reading and writing cgroupfs files, over sys/fs.h (ReadFile,
// WriteFile, MkdirAll, ListSubdirs). Every error names the file; callers Wrap() it with the
// spec field that asked for the write.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::cgroups::fs {

// sys::ReadFile without the trailing newline/whitespace.
Result<std::string> ReadTrimmed(const std::string& path);
// sys::WriteFile, with `field` (e.g. "linux.resources.memory.limit") in front of the error.
Result<void> WriteField(std::string_view field, const std::string& path, std::string_view value);

bool PathExists(const std::string& path);
bool IsDir(const std::string& path);

// Parses a decimal counter; "max" maps to UINT64_MAX.
Result<uint64_t> ParseUint(std::string_view s, const std::string& what);
Result<uint64_t> ReadUint(const std::string& path);
// "key value" lines (memory.stat, cpu.stat, cgroup.events ...).
Result<std::map<std::string, uint64_t>> ReadKeyValues(const std::string& path);

// Subdirectory names of a cgroup dir (child cgroups).
std::vector<std::string> ChildDirs(const std::string& dir);

// Reads cgroup.procs of dir and, if recursive, of every descendant cgroup.
Result<std::vector<pid_t>> ReadProcs(const std::string& dir, bool recursive);

// rmdir a cgroup dir and its child cgroups (depth first), retrying EBUSY for ~1s
// while exiting processes leave. Missing dirs are fine. (Not sys::RemoveTree: a cgroup's
// files cannot be unlinked, only the directory removed once it is empty of tasks.)
Result<void> RemoveCgroup(const std::string& dir);
// One rmdir; EBUSY/ENOTEMPTY/ENOENT are fine (a parent still shared by others).
void RemoveIfEmpty(const std::string& dir);

// True when dir is an ancestor of `of`, strictly below `mountpoint`: what a manager may
// rmdir on the word of a saved state.
bool IsAncestorInside(const std::string& dir, const std::string& of, const std::string& mountpoint);

std::string Trim(std::string_view s);

}  // namespace berth::cgroups::fs
