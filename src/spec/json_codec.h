// Internal to src/spec: the typed JSON decoders shared by parse.cc and parse_linux.cc.
// Not part of the public API; nothing outside src/spec includes nlohmann.
#pragma once

#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "spec/spec.h"

namespace berth::spec::internal {

using Json = nlohmann::json;

// A JSON path such as `process.rlimits[2].hard`, kept as a chain of stack frames and
// only turned into a string when an error is reported: parsing a valid config allocates
// no path strings at all.
class Path {
 public:
  Path() = default;
  Path(const Path& parent, std::string_view key) : parent_(&parent), key_(key), kind_(kKey) {}
  Path(const Path& parent, size_t index) : parent_(&parent), index_(index), kind_(kIndex) {}
  // A key of a free-form map (sysctl, unified, annotations): printed as ["key"] because
  // such keys contain dots themselves.
  static Path MapKey(const Path& parent, std::string_view key) {
    Path p(parent, key);
    p.kind_ = kMapKey;
    return p;
  }
  std::string Str() const;

 private:
  enum Kind { kRoot, kKey, kIndex, kMapKey };
  const Path* parent_ = nullptr;
  std::string_view key_;
  size_t index_ = 0;
  Kind kind_ = kRoot;
};

// The error form every decoder returns: subject = JSON path, detail = why.
// The document name ("config.json") is added by the caller with Error::Wrap.
std::unexpected<Error> FieldError(const Path& p, std::string detail);

// "a string", "an integer", "an object" ... for "expected X, got Y" messages.
const char* TypeName(const Json& j);
std::unexpected<Error> TypeError(const Path& p, const char* expected, const Json& got);

// Parses text into a DOM; a syntax error names the byte offset.
Result<Json> ParseDocument(std::string_view text);

// Spec → JSON text (serialize.cc); indent < 0 gives one line.
std::string Serialize(const Spec& spec, int indent, char indent_char);

// --- Decoders: Decode(json, path, out). `null` never reaches them (treated as absent). ---
Result<void> Decode(const Json& j, const Path& p, bool& out);
Result<void> Decode(const Json& j, const Path& p, std::string& out);

template <std::integral T>
requires(!std::same_as<T, bool>) Result<void> Decode(const Json& j, const Path& p, T& out);

// Struct decoders (parse.cc).
Result<void> Decode(const Json& j, const Path& p, User& out);
Result<void> Decode(const Json& j, const Path& p, Capabilities& out);
Result<void> Decode(const Json& j, const Path& p, Rlimit& out);
Result<void> Decode(const Json& j, const Path& p, ConsoleSize& out);
Result<void> Decode(const Json& j, const Path& p, IoPriority& out);
Result<void> Decode(const Json& j, const Path& p, Scheduler& out);
Result<void> Decode(const Json& j, const Path& p, Process& out);
Result<void> Decode(const Json& j, const Path& p, Root& out);
Result<void> Decode(const Json& j, const Path& p, LinuxIdMapping& out);
Result<void> Decode(const Json& j, const Path& p, Mount& out);
Result<void> Decode(const Json& j, const Path& p, Hook& out);
Result<void> Decode(const Json& j, const Path& p, Hooks& out);
Result<void> Decode(const Json& j, const Path& p, Spec& out);
// Struct decoders (parse_linux.cc).
Result<void> Decode(const Json& j, const Path& p, LinuxNamespace& out);
Result<void> Decode(const Json& j, const Path& p, LinuxTimeOffset& out);
Result<void> Decode(const Json& j, const Path& p, LinuxDevice& out);
Result<void> Decode(const Json& j, const Path& p, LinuxDeviceCgroup& out);
Result<void> Decode(const Json& j, const Path& p, LinuxMemory& out);
Result<void> Decode(const Json& j, const Path& p, LinuxCpu& out);
Result<void> Decode(const Json& j, const Path& p, LinuxPids& out);
Result<void> Decode(const Json& j, const Path& p, LinuxWeightDevice& out);
Result<void> Decode(const Json& j, const Path& p, LinuxThrottleDevice& out);
Result<void> Decode(const Json& j, const Path& p, LinuxBlockIo& out);
Result<void> Decode(const Json& j, const Path& p, LinuxHugepageLimit& out);
Result<void> Decode(const Json& j, const Path& p, LinuxInterfacePriority& out);
Result<void> Decode(const Json& j, const Path& p, LinuxNetwork& out);
Result<void> Decode(const Json& j, const Path& p, LinuxRdma& out);
Result<void> Decode(const Json& j, const Path& p, LinuxResources& out);
Result<void> Decode(const Json& j, const Path& p, SeccompArg& out);
Result<void> Decode(const Json& j, const Path& p, SeccompSyscall& out);
Result<void> Decode(const Json& j, const Path& p, Seccomp& out);
Result<void> Decode(const Json& j, const Path& p, LinuxPersonality& out);
Result<void> Decode(const Json& j, const Path& p, LinuxIntelRdt& out);
Result<void> Decode(const Json& j, const Path& p, Linux& out);

template <class T>
Result<void> Decode(const Json& j, const Path& p, std::optional<T>& out);
template <class T>
Result<void> Decode(const Json& j, const Path& p, std::vector<T>& out);
template <class T>
Result<void> Decode(const Json& j, const Path& p, std::map<std::string, T>& out);

// Reads the members of one JSON object. Absent and null members leave the output
// untouched; unknown members are ignored, as runc does, so newer configs still load.
class Object {
 public:
  static Result<Object> Of(const Json& j, const Path& p) {
    if (!j.is_object()) return TypeError(p, "an object", j);
    return Object(j, p);
  }
  template <class T>
  Result<void> Get(std::string_view key, T& out) const {
    auto it = j_->find(key);
    if (it == j_->end() || it->is_null()) return {};
    Path child(*p_, key);
    return Decode(*it, child, out);
  }

 private:
  Object(const Json& j, const Path& p) : j_(&j), p_(&p) {}
  const Json* j_;
  const Path* p_;
};

// --- Template definitions ---

template <std::integral T>
requires(!std::same_as<T, bool>) Result<void> Decode(const Json& j, const Path& p, T& out) {
  using Lim = std::numeric_limits<T>;
  auto range_error = [&](const std::string& v) {
    return FieldError(p, v + " is out of range (expected an integer in [" +
                             std::to_string(Lim::min()) + ", " + std::to_string(Lim::max()) + "])");
  };
  switch (j.type()) {
    case Json::value_t::number_unsigned: {
      uint64_t v = j.get<uint64_t>();
      if (v > static_cast<uint64_t>(Lim::max())) return range_error(std::to_string(v));
      out = static_cast<T>(v);
      return {};
    }
    case Json::value_t::number_integer: {
      int64_t v = j.get<int64_t>();
      // nlohmann stores only negative values here; unsigned targets reject them.
      if constexpr (std::is_unsigned_v<T>) {
        return range_error(std::to_string(v));
      } else {
        if (v < static_cast<int64_t>(Lim::min()) || v > static_cast<int64_t>(Lim::max()))
          return range_error(std::to_string(v));
        out = static_cast<T>(v);
        return {};
      }
    }
    default:
      return TypeError(p, "an integer", j);
  }
}

template <class T>
Result<void> Decode(const Json& j, const Path& p, std::optional<T>& out) {
  T value{};
  BERTH_TRYV(Decode(j, p, value));
  out = std::move(value);
  return {};
}

template <class T>
Result<void> Decode(const Json& j, const Path& p, std::vector<T>& out) {
  if (!j.is_array()) return TypeError(p, "an array", j);
  out.clear();
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    if (j[i].is_null()) return TypeError(Path(p, i), "a value", j[i]);
    Path child(p, i);
    BERTH_TRYV(Decode(j[i], child, out.emplace_back()));
  }
  return {};
}

template <class T>
Result<void> Decode(const Json& j, const Path& p, std::map<std::string, T>& out) {
  if (!j.is_object()) return TypeError(p, "an object", j);
  out.clear();
  for (const auto& [key, value] : j.items()) {
    Path child = Path::MapKey(p, key);
    if (value.is_null()) return TypeError(child, "a value", value);
    BERTH_TRYV(Decode(value, child, out[key]));
  }
  return {};
}

}  // namespace berth::spec::internal
