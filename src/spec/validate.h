// Semantic validation of a parsed Spec against runtime-spec and this host,
// before anything is created. Every error names the field: `process.rlimits[0].type: ...`.
#pragma once

#include "base/error.h"
#include "spec/spec.h"

namespace berth::spec {

struct ValidateOptions {
  // Check host-dependent facts too (rlimit above the host's hard limit, rootfs exists,
  // namespace paths exist, LSM present when a label is requested).
  bool check_host = true;
  std::string bundle_dir;  // to resolve a relative root.path
};

// Returns the first problem found. The error's subject is the JSON path of the field
// (`linux.resources.memory.limit`) and it is wrapped with "config.json", so Message() reads
// `config.json: linux.resources.memory.limit: -5 is not a valid byte count`.
Result<void> Validate(const Spec& spec, const ValidateOptions& opts = {});

// The process part alone, for `berth exec --process FILE` (paths start with "process.";
// not wrapped with a document name). Validate() runs it on spec.process.
Result<void> ValidateProcess(const Process& process, const ValidateOptions& opts = {});

}  // namespace berth::spec
