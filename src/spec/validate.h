// Semantic validation of a parsed Spec against runtime-spec, and (given a HostProbe) against
// the host it would run on, before anything is created. Every error names the field:
// `process.rlimits[0].type: ...`.
#pragma once

#include "base/error.h"
#include "spec/host_probe.h"
#include "spec/spec.h"

namespace berth::spec {

struct ValidateOptions {
  // Who answers for the host (rlimit above the host's hard limit, rootfs exists, namespace
  // paths exist, LSM present when a label is requested, oom_score_adj allowed). nullptr:
  // the config alone, nothing of any host is looked at (pure).
  const HostProbe* host = nullptr;
  std::string bundle_dir = {};  // to resolve a relative root.path
};

// Returns the first problem found. The error's subject is the JSON path of the field
// (`linux.resources.memory.limit`) and it is wrapped with "config.json", so Message() reads
// `config.json: linux.resources.memory.limit: -5 is not a valid byte count`. A config that
// is wrong on any host has kind kInvalidArgument; one this host cannot run has the kind of
// the reason (kPermissionDenied, kFailedPrecondition, kNotFound from the errno, ...).
Result<void> Validate(const Spec& spec, const ValidateOptions& opts = {});

// The process part alone, for `berth exec --process FILE` (paths start with "process.";
// not wrapped with a document name). Validate() runs it on spec.process.
Result<void> ValidateProcess(const Process& process, const ValidateOptions& opts = {});

}  // namespace berth::spec
