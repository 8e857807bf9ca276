// base::Error: kinds (gRPC's codes) derived from errno or set at the source, the one-line
// Message, and Wrap adding context without saying the operation twice.
#include "base/error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace berth {
namespace {

TEST(BaseError, KindFromErrnoGroupsErrnos) {
  struct {
    int code;
    ErrorKind kind;
  } cases[] = {
      {0, ErrorKind::kUnknown},
      {ENOENT, ErrorKind::kNotFound},
      {ESRCH, ErrorKind::kNotFound},
      {ENODEV, ErrorKind::kNotFound},
      {EEXIST, ErrorKind::kAlreadyExists},
      {EINVAL, ErrorKind::kInvalidArgument},
      {ENOTDIR, ErrorKind::kInvalidArgument},
      {ELOOP, ErrorKind::kInvalidArgument},
      {EPERM, ErrorKind::kPermissionDenied},
      {EACCES, ErrorKind::kPermissionDenied},
      {EROFS, ErrorKind::kPermissionDenied},
      {ENOSPC, ErrorKind::kResourceExhausted},
      {ENOMEM, ErrorKind::kResourceExhausted},
      {EMFILE, ErrorKind::kResourceExhausted},
      {EAGAIN, ErrorKind::kResourceExhausted},
      {EBUSY, ErrorKind::kFailedPrecondition},
      {ENOTEMPTY, ErrorKind::kFailedPrecondition},
      {ETIMEDOUT, ErrorKind::kDeadlineExceeded},
      {ECONNREFUSED, ErrorKind::kUnavailable},
      {ECONNRESET, ErrorKind::kUnavailable},
      {EPIPE, ErrorKind::kUnavailable},
      {ENOSYS, ErrorKind::kUnimplemented},
      {EOPNOTSUPP, ErrorKind::kUnimplemented},
      {EINTR, ErrorKind::kCancelled},
      {EIO, ErrorKind::kDataLoss},
      {EXDEV, ErrorKind::kInternal},  // anything not listed
  };
  for (const auto& c : cases)
    EXPECT_EQ(KindFromErrno(c.code), c.kind) << c.code << " (" << std::strerror(c.code) << ")";
}

TEST(BaseError, KindNamesAreGrpcsAndValuesItsCodes) {
  EXPECT_STREQ(KindName(ErrorKind::kNotFound), "NOT_FOUND");
  EXPECT_STREQ(KindName(ErrorKind::kFailedPrecondition), "FAILED_PRECONDITION");
  EXPECT_STREQ(KindName(ErrorKind::kUnauthenticated), "UNAUTHENTICATED");
  EXPECT_STREQ(KindName(static_cast<ErrorKind>(200)), "UNKNOWN");
  // grpc::StatusCode values: a daemon maps them with a cast.
  EXPECT_EQ(static_cast<int>(ErrorKind::kCancelled), 1);
  EXPECT_EQ(static_cast<int>(ErrorKind::kNotFound), 5);
  EXPECT_EQ(static_cast<int>(ErrorKind::kAborted), 10);
  EXPECT_EQ(static_cast<int>(ErrorKind::kUnavailable), 14);
  EXPECT_EQ(static_cast<int>(ErrorKind::kUnauthenticated), 16);
  // A kind read from a peer: only known values survive.
  EXPECT_EQ(KindFromInt(5), ErrorKind::kNotFound);
  EXPECT_EQ(KindFromInt(16), ErrorKind::kUnauthenticated);
  EXPECT_EQ(KindFromInt(0), ErrorKind::kUnknown);  // gRPC's OK is no error kind
  EXPECT_EQ(KindFromInt(17), ErrorKind::kUnknown);
  EXPECT_EQ(KindFromInt(-1), ErrorKind::kUnknown);
}

TEST(BaseError, KindSetAtTheSourceWinsOverErrno) {
  Error e = ErrnoCode(EACCES, "open", "/x").error();
  EXPECT_TRUE(e.IsPermissionDenied());
  e.WithKind(ErrorKind::kNotFound);
  EXPECT_TRUE(e.IsNotFound());
  EXPECT_FALSE(e.IsPermissionDenied());
  EXPECT_EQ(e.code, EACCES);  // the errno stays for the message

  EXPECT_TRUE(NotFound("container", "\"x\"", "does not exist").error().IsNotFound());
  EXPECT_TRUE(AlreadyExists("container", "\"x\"").error().IsAlreadyExists());
  EXPECT_TRUE(InvalidArgument("parse", "f").error().IsInvalidArgument());
  EXPECT_TRUE(FailedPrecondition("start", "x").error().IsFailedPrecondition());
  EXPECT_TRUE(ResourceExhausted("fork", "x").error().IsResourceExhausted());
  EXPECT_TRUE(PermissionDenied("open", "x").error().IsPermissionDenied());
  EXPECT_TRUE(Unavailable("connect", "x").error().IsUnavailable());
  EXPECT_TRUE(Internal("sync", "x").error().IsInternal());
  EXPECT_TRUE(Unimplemented("checkpoint", "x").error().IsUnimplemented());
  EXPECT_TRUE(DeadlineExceeded("hook", "x").error().IsDeadlineExceeded());
  EXPECT_TRUE(DataLoss("read", "x").error().Is(ErrorKind::kDataLoss));
  // A logical failure nobody classified: unknown, and no errno to derive one from.
  Error plain = Fail("parse", "x").error();
  EXPECT_EQ(plain.Kind(), ErrorKind::kUnknown);
  EXPECT_FALSE(plain.IsNotFound());
}

TEST(BaseError, ErrnoCapturesTheCurrentErrno) {
  errno = ENOENT;
  Error e = Errno("open", "/nope").error();
  EXPECT_EQ(e.code, ENOENT);
  EXPECT_TRUE(e.IsNotFound());
  EXPECT_EQ(e.Message(), "open /nope: No such file or directory");
}

TEST(BaseError, MessageJoinsThePartsThatAreSet) {
  EXPECT_EQ((Error{0, "pivot_root", "/r", "", {}, {}}).Message(), "pivot_root /r");
  EXPECT_EQ((Error{EBUSY, "umount", "/m", "", {}, {}}).Message(),
            "umount /m: Device or resource busy");
  EXPECT_EQ((Error{EINVAL, "mount", "/m", "bad option", {}, {}}).Message(),
            "mount /m: bad option: Invalid argument");
  EXPECT_EQ((Error{0, "", "process.args", "must not be empty", {}, {}}).Message(),
            "process.args: must not be empty");
  EXPECT_EQ((Error{0, "start", "", "not created", {}, {}}).Message(), "start: not created");
  EXPECT_EQ((Error{0, "x", "y", "z", "ctx", {}}).Message(), "ctx: x y: z");
  EXPECT_EQ(Error{}.Message(), "");
}

TEST(BaseError, WrapAddsContextOutermostFirst) {
  // The example of docs/style.md.
  Error e = InvalidArgument("", "linux.resources.memory.limit", "-5 is not a valid byte count")
                .error();
  e.Wrap("config.json");
  e.Wrap("create \"web\"");
  EXPECT_EQ(e.Message(),
            "create \"web\": config.json: linux.resources.memory.limit: -5 is not a valid byte "
            "count");
  EXPECT_TRUE(e.IsInvalidArgument());  // wrapping keeps the kind
  e.Wrap("");
  EXPECT_EQ(e.Message().rfind("create \"web\": config.json: ", 0), 0u) << e.Message();
}

TEST(BaseError, WrapDoesNotRepeatTheOperation) {
  // `create "web"` around `create web: …` would say the same twice.
  Error e = Fail("create", "web", "container init exited unexpectedly").error();
  e.Wrap("create \"web\"");
  EXPECT_EQ(e.Message(), "create web: container init exited unexpectedly");
  // Nor when the op alone, or op and subject, start what is already there.
  Error s = Fail("start", "web", "not created").error();
  s.Wrap("start");
  EXPECT_EQ(s.Message(), "start web: not created");
  // Once a context is there, it is the head that a new context is compared with.
  Error c = Fail("mount", "/proc").error();
  c.Wrap("create \"web\"");
  c.Wrap("create \"web\"");
  EXPECT_EQ(c.Message(), "create \"web\": mount /proc");
  // A different operation on the same subject is context, not repetition.
  Error d = Fail("delete", "web", "busy").error();
  d.Wrap("create \"web\"");
  EXPECT_EQ(d.Message(), "create \"web\": delete web: busy");
  // A prefix that is not a whole word is not the same operation.
  Error p = Fail("created", "web").error();
  p.Wrap("create");
  EXPECT_EQ(p.Message(), "create: created web");
}

}  // namespace
}  // namespace berth
