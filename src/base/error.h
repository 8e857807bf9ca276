// Error values carried by value: errno + operation + subject + detail.
// Every failure that reaches a user names what failed, on what, and why.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <utility>

namespace berth {

struct Error {
  int code = 0;          // errno, or 0 for a logical error
  std::string op;        // what failed: "pivot_root", "parse"
  std::string subject;   // on what: a path, a field name, a container id
  std::string detail;    // why, when errno alone does not say it

  // "op subject: detail: strerror(code)" — the one-line form users see.
  std::string Message() const;

  // Prepend context while an error travels up: Wrap("create \"web\"").
  Error& Wrap(std::string context);
  std::string context_;
};

template <class T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(std::string op, std::string subject, std::string detail = {}) {
  return std::unexpected(Error{0, std::move(op), std::move(subject), std::move(detail), {}});
}

// Failure with the current errno captured.
inline std::unexpected<Error> Errno(std::string op, std::string subject = {}, std::string detail = {}) {
  int e = errno;
  return std::unexpected(Error{e, std::move(op), std::move(subject), std::move(detail), {}});
}

inline std::unexpected<Error> ErrnoCode(int code, std::string op, std::string subject = {},
                                        std::string detail = {}) {
  return std::unexpected(Error{code, std::move(op), std::move(subject), std::move(detail), {}});
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
