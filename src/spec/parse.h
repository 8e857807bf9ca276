// Conversion of OCI JSON documents into the typed model (src/spec/spec.h).
// The only place that knows config.json's wire format. Errors name the file and the
// JSON path of the bad field: `config.json: linux.resources.memory.limit: expected an integer`.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "spec/spec.h"

namespace berth::spec {

// Parses config.json text. `origin` names the document in errors ("config.json").
// Type errors and unknown enum strings fail here; semantic checks are in Validate().
Result<Spec> ParseSpec(std::string_view json, std::string_view origin = "config.json");

// Reads and parses <bundle>/config.json.
Result<Spec> LoadSpec(const std::string& bundle_dir);

// A runtime-spec "process" object (berth exec --process FILE).
Result<Process> ParseProcess(std::string_view json, std::string_view origin = "process.json");

// A LinuxResources object (berth update -r FILE).
Result<LinuxResources> ParseResources(std::string_view json, std::string_view origin = "resources");

// Serialises back to JSON (used for state/annotations round-trips and tests).
std::string ToJson(const Spec& spec, int indent = 2);

}  // namespace berth::spec
