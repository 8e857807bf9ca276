#include "base/error.h"

#include <cstring>

namespace berth {

const char* KindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kCancelled: return "CANCELLED";
    case ErrorKind::kUnknown: return "UNKNOWN";
    case ErrorKind::kInvalidArgument: return "INVALID_ARGUMENT";
    case ErrorKind::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case ErrorKind::kNotFound: return "NOT_FOUND";
    case ErrorKind::kAlreadyExists: return "ALREADY_EXISTS";
    case ErrorKind::kPermissionDenied: return "PERMISSION_DENIED";
    case ErrorKind::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case ErrorKind::kFailedPrecondition: return "FAILED_PRECONDITION";
    case ErrorKind::kAborted: return "ABORTED";
    case ErrorKind::kOutOfRange: return "OUT_OF_RANGE";
    case ErrorKind::kUnimplemented: return "UNIMPLEMENTED";
    case ErrorKind::kInternal: return "INTERNAL";
    case ErrorKind::kUnavailable: return "UNAVAILABLE";
    case ErrorKind::kDataLoss: return "DATA_LOSS";
    case ErrorKind::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

ErrorKind KindFromErrno(int code) {
  switch (code) {
    case 0: return ErrorKind::kUnknown;
    case ENOENT:
    case ESRCH:
    case ENXIO:
    case ENODEV: return ErrorKind::kNotFound;
    case EEXIST: return ErrorKind::kAlreadyExists;
    case EINVAL:
    case ENAMETOOLONG:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case E2BIG:
    case ERANGE:
    case EBADF: return ErrorKind::kInvalidArgument;
    case EPERM:
    case EACCES:
    case EROFS: return ErrorKind::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EAGAIN:
    case EFBIG:
    case EMLINK: return ErrorKind::kResourceExhausted;
    case EBUSY:
    case ENOTEMPTY:
    case ECHILD: return ErrorKind::kFailedPrecondition;
    case ETIMEDOUT:
    case ETIME: return ErrorKind::kDeadlineExceeded;
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EPIPE: return ErrorKind::kUnavailable;
    case ENOSYS:
    case EOPNOTSUPP:
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT: return ErrorKind::kUnimplemented;
    case EINTR:
    case ECANCELED: return ErrorKind::kCancelled;
    case EIO:
    case EBADMSG: return ErrorKind::kDataLoss;
    default: return ErrorKind::kInternal;
  }
}

ErrorKind KindFromInt(int value) {
  if (value < static_cast<int>(ErrorKind::kCancelled) ||
      value > static_cast<int>(ErrorKind::kUnauthenticated))
    return ErrorKind::kUnknown;
  return static_cast<ErrorKind>(value);
}

namespace {
// "op subject" without quotes, to compare a context with the head it would repeat.
std::string Unquoted(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '"') out += c;
  return out;
}
}  // namespace

std::string Error::Message() const {
  // "context: op subject: detail: strerror" with empty parts left out.
  std::string head = op;
  if (!subject.empty()) head += (head.empty() ? "" : " ") + subject;
  std::string m = context_;
  auto add = [&m](const std::string& part) {
    if (part.empty()) return;
    if (!m.empty()) m += ": ";
    m += part;
  };
  add(head);
  add(detail);
  if (code != 0) add(std::strerror(code));
  return m;
}

Error& Error::Wrap(std::string context) {
  if (context.empty()) return *this;
  // `create "web"` around `create web: …` says the same twice: keep the inner one.
  std::string outer = context_.empty() ? op + (subject.empty() ? "" : " " + subject) : context_;
  std::string o = Unquoted(outer), c = Unquoted(context);
  if (o == c || o.starts_with(c + " ") || o.starts_with(c + ":")) return *this;
  if (context_.empty())
    context_ = std::move(context);
  else
    context_ = std::move(context) + ": " + context_;
  return *this;
}

}  // namespace berth
