// Namespace names of runtime-spec <-> CLONE_NEW* flags, and the plan of which namespaces
// a container creates and which it joins by path.
#pragma once

#include <sched.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080  // Linux 5.6; older libc headers lack it
#endif

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "spec/spec.h"

namespace berth::runtime {

// "network" -> CLONE_NEWNET, ... ; 0 for an unknown name.
int NamespaceFlag(const std::string& type);
// /proc/<pid>/ns/<name> file name for a spec type ("network" -> "net", "mount" -> "mnt").
const char* NamespaceProcName(const std::string& type);

struct JoinedNamespace {
  int flag = 0;
  std::string type, path;
  UniqueFd fd;
};

struct NamespacePlan {
  int new_flags = 0;                   // CLONE_NEW* to create
  std::vector<JoinedNamespace> joins;  // user first, mount last
};

// Opens every namespace path in the parent so a bad path fails before anything exists.
Result<NamespacePlan> PlanNamespaces(const spec::Spec& spec);

// Where the container's mounts live: a mount namespace of its own (new), one joined by
// path, or the runtime's own (no "mount" entry in linux.namespaces).
enum class MountNamespace { kNew, kJoined, kShared };
MountNamespace MountNamespaceOf(const NamespacePlan& plan);

// Without a new mount namespace berth makes no mount at all: each would change the mounts
// of other processes (the host's, or those in the joined namespace). Fails naming the first
// config field that needs a private mount namespace: mounts, linux.maskedPaths,
// linux.readonlyPaths, root.readonly, linux.rootfsPropagation, linux.devices.
Result<void> CheckWithoutPrivateMounts(const spec::Spec& spec, const NamespacePlan& plan);

// Orders joins so that the user namespace is joined first (joining others requires
// capabilities in their owning user ns) and mount last (it changes root and cwd).
void SortJoins(std::vector<JoinedNamespace>& joins);

}  // namespace berth::runtime
