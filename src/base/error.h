// Error values carried by value: kind + errno + operation + subject + detail.
// Every failure that reaches a user names what failed, on what, and why; every failure a
// caller must branch on says so by its kind, never by its text.
#pragma once

#include <cerrno>
#include <cstdint>
#include <expected>
#include <string>
#include <utility>

namespace berth {

// What kind of failure this is, for callers to branch on. The values are gRPC's status
// codes, so the API edge of a daemon maps them one to one (and nothing else does).
enum class ErrorKind : uint8_t {
  kCancelled = 1,
  kUnknown = 2,  // nobody said: only for errors whose cause is not known
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "NOT_FOUND", as gRPC spells the code.
const char* KindName(ErrorKind kind);
// The kind an errno implies when the caller did not say: ENOENT -> kNotFound, …
ErrorKind KindFromErrno(int code);
// A kind received from a peer (sync socket, a file): out-of-range values become kUnknown.
ErrorKind KindFromInt(int value);

struct Error {
  int code = 0;          // errno, or 0 for a logical error
  std::string op;        // what failed: "pivot_root", "parse"
  std::string subject;   // on what: a path, a field name, a container id
  std::string detail;    // why, when errno alone does not say it
  std::string context_;  // prepended by Wrap while the error travels up
  // Set at the source; kUnknown means "not said" and Kind() then derives it from errno.
  ErrorKind kind_ = ErrorKind::kUnknown;

  // "context: op subject: detail: strerror(code)" — the one-line form users see.
  std::string Message() const;

  // Prepend context while an error travels up: Wrap("create \"web\""). A context equal to
  // the text the message already starts with is not added twice.
  Error& Wrap(std::string context);

  ErrorKind Kind() const { return kind_ != ErrorKind::kUnknown ? kind_ : KindFromErrno(code); }
  Error& WithKind(ErrorKind kind) {
    kind_ = kind;
    return *this;
  }
  bool Is(ErrorKind k) const { return Kind() == k; }
  bool IsNotFound() const { return Is(ErrorKind::kNotFound); }
  bool IsAlreadyExists() const { return Is(ErrorKind::kAlreadyExists); }
  bool IsInvalidArgument() const { return Is(ErrorKind::kInvalidArgument); }
  bool IsFailedPrecondition() const { return Is(ErrorKind::kFailedPrecondition); }
  bool IsResourceExhausted() const { return Is(ErrorKind::kResourceExhausted); }
  bool IsPermissionDenied() const { return Is(ErrorKind::kPermissionDenied); }
  bool IsUnavailable() const { return Is(ErrorKind::kUnavailable); }
  bool IsDeadlineExceeded() const { return Is(ErrorKind::kDeadlineExceeded); }
  bool IsUnimplemented() const { return Is(ErrorKind::kUnimplemented); }
  bool IsInternal() const { return Is(ErrorKind::kInternal); }
};

template <class T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(ErrorKind kind, std::string op, std::string subject,
                                   std::string detail = {}) {
  return std::unexpected(
      Error{0, std::move(op), std::move(subject), std::move(detail), {}, kind});
}

// A logical failure whose kind the caller does not know (prefer a kind: the helpers below).
inline std::unexpected<Error> Fail(std::string op, std::string subject, std::string detail = {}) {
  return Fail(ErrorKind::kUnknown, std::move(op), std::move(subject), std::move(detail));
}

// One helper per kind a caller commonly sets at the source.
#define BERTH_KIND_HELPER(Name)                                                             \
  inline std::unexpected<Error> Name(std::string op, std::string subject,                   \
                                     std::string detail = {}) {                             \
    return Fail(ErrorKind::k##Name, std::move(op), std::move(subject), std::move(detail)); \
  }
BERTH_KIND_HELPER(InvalidArgument)
BERTH_KIND_HELPER(NotFound)
BERTH_KIND_HELPER(AlreadyExists)
BERTH_KIND_HELPER(PermissionDenied)
BERTH_KIND_HELPER(ResourceExhausted)
BERTH_KIND_HELPER(FailedPrecondition)
BERTH_KIND_HELPER(Unimplemented)
BERTH_KIND_HELPER(Internal)
BERTH_KIND_HELPER(Unavailable)
BERTH_KIND_HELPER(DeadlineExceeded)
BERTH_KIND_HELPER(DataLoss)
#undef BERTH_KIND_HELPER

// A document field that is wrong ("linux.seccomp.defaultAction: unknown action"): the field
// is what failed; the caller wraps the document's name around it ("config.json: …").
inline std::unexpected<Error> InvalidField(std::string field, std::string detail) {
  return InvalidArgument(std::move(field), {}, std::move(detail));
}

// Failure with the current errno captured; its kind follows from the errno (kUnknown
// spelled out: `{}` would make the kind 0, which Kind() does not derive from errno).
inline std::unexpected<Error> Errno(std::string op, std::string subject = {}, std::string detail = {}) {
  int e = errno;
  return std::unexpected(
      Error{e, std::move(op), std::move(subject), std::move(detail), {}, ErrorKind::kUnknown});
}

inline std::unexpected<Error> ErrnoCode(int code, std::string op, std::string subject = {},
                                        std::string detail = {}) {
  return std::unexpected(
      Error{code, std::move(op), std::move(subject), std::move(detail), {}, ErrorKind::kUnknown});
}

}  // namespace berth

// Propagate an error from an expression returning Result<T>; evaluates to the value.
#define BERTH_TRY(expr)                                            \
  ({                                                               \
    auto _berth_r = (expr);                                        \
    if (!_berth_r) return std::unexpected(std::move(_berth_r.error())); \
    std::move(*_berth_r);                                          \
  })

#define BERTH_TRYV(expr)                                           \
  do {                                                             \
    auto _berth_r = (expr);                                        \
    if (!_berth_r) return std::unexpected(std::move(_berth_r.error())); \
  } while (0)
