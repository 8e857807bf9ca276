// Shared by the fuzz targets: the checks every parser of untrusted input must pass, and a
// small reader that splits the fuzz bytes into a selector and fields.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::fuzz {

// Aborts (a finding for libFuzzer, a failure for the replay test) with a message.
[[noreturn]] inline void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz check failed: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// Every rejection must be a message a user can read on one line (berthd returns it in a gRPC
// status and logs it as one JSON field, berthctl prints it): not empty, and without a line
// break or another control character that the input could smuggle into a terminal or log.
inline void CheckText(const std::string& m, const char* stage) {
  if (m.empty()) Fail(stage, "empty error message");
  for (unsigned char c : m)
    if (c < 0x20 || c == 0x7f) Fail(stage, "error is not one printable line: " + m);
}
inline void CheckMessage(const Error& e, const char* stage) { CheckText(e.Message(), stage); }

template <class T>
void CheckResult(const Result<T>& r, const char* stage) {
  if (!r) CheckMessage(r.error(), stage);
}

// The fuzz input read front to back.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}
  uint8_t Byte() {
    if (rest_.empty()) return 0;
    uint8_t b = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return b;
  }
  // Up to the next NUL (consumed) or the end.
  std::string_view Field() {
    size_t n = rest_.find('\0');
    std::string_view f = rest_.substr(0, n);
    rest_.remove_prefix(n == std::string_view::npos ? rest_.size() : n + 1);
    return f;
  }
  // The next n bytes (fewer at the end).
  std::string_view Take(size_t n) {
    std::string_view f = rest_.substr(0, n);
    rest_.remove_prefix(f.size());
    return f;
  }
  std::string_view Rest() const { return rest_; }

 private:
  std::string_view rest_;
};

}  // namespace berth::fuzz
