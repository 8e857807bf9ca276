// The parent <-> init sync protocol over a real SOCK_SEQPACKET socketpair: messages and
// Errors cross whole (kind, errno, op, subject, detail, context), an overlong message is cut
// without harm, and a peer that closes or dies is kAborted (IsPeerGone), whatever it left
// unread.
#include "runtime/sync.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace berth::runtime {
namespace {

SyncPair Pair() {
  auto p = MakeSyncPair();
  EXPECT_TRUE(p) << p.error().Message();
  return p ? std::move(*p) : SyncPair{};
}

TEST(RuntimeSync, MessagesRoundTrip) {
  SyncPair p = Pair();
  ASSERT_TRUE(SyncSend(p.child.Get(), SyncType::kChildPid, 4242));
  ASSERT_TRUE(SyncSend(p.child.Get(), SyncType::kCreated, 0, "some text"));
  ASSERT_TRUE(SyncSend(p.parent.Get(), SyncType::kGo));

  auto m = SyncRecv(p.parent.Get());
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->type, SyncType::kChildPid);
  EXPECT_EQ(m->value, 4242);
  EXPECT_EQ(m->text, "");
  auto c = SyncExpect(p.parent.Get(), SyncType::kCreated, "create");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ(c->text, "some text");
  auto go = SyncExpect(p.child.Get(), SyncType::kGo, "init");
  ASSERT_TRUE(go) << go.error().Message();
  EXPECT_EQ(go->value, 0);
}

TEST(RuntimeSync, ErrorCrossesWhole) {
  SyncPair p = Pair();
  Error sent{ENOENT, "exec", "\"/bin/app\"", "process.args[0]", "start container init",
             ErrorKind::kFailedPrecondition};
  SyncSendError(p.child.Get(), sent);
  auto r = SyncRecv(p.parent.Get());
  ASSERT_FALSE(r);
  const Error& got = r.error();
  EXPECT_EQ(got.code, ENOENT);
  EXPECT_EQ(got.op, "exec");
  EXPECT_EQ(got.subject, "\"/bin/app\"");
  EXPECT_EQ(got.detail, "process.args[0]");
  EXPECT_EQ(got.context_, "start container init");
  EXPECT_EQ(got.Kind(), ErrorKind::kFailedPrecondition);  // the kind set, not ENOENT's
  EXPECT_FALSE(IsPeerGone(got));
  EXPECT_EQ(got.Message(), sent.Message());
}

TEST(RuntimeSync, ErrnoKindAndEmptyPartsCross) {
  SyncPair p = Pair();
  // No kind set: the receiver gets the one the errno implies.
  SyncSendError(p.child.Get(), ErrnoCode(EACCES, "open", "/etc/shadow").error());
  // A logical error with no errno, no op and no subject.
  SyncSendError(p.child.Get(), ResourceExhausted("", "", "pids limit reached").error());
  auto a = SyncRecv(p.parent.Get());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, EACCES);
  EXPECT_TRUE(a.error().IsPermissionDenied());
  EXPECT_EQ(a.error().Message(), "open /etc/shadow: Permission denied");
  auto b = SyncRecv(p.parent.Get());
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, 0);
  EXPECT_TRUE(b.error().IsResourceExhausted());
  EXPECT_EQ(b.error().op, "");
  EXPECT_EQ(b.error().subject, "");
  EXPECT_EQ(b.error().detail, "pids limit reached");
  EXPECT_EQ(b.error().context_, "");
}

TEST(RuntimeSync, AbortedIsReservedForAGonePeer) {
  SyncPair p = Pair();
  SyncSendError(p.child.Get(), Fail(ErrorKind::kAborted, "hook", "prestart", "x").error());
  auto r = SyncRecv(p.parent.Get());
  ASSERT_FALSE(r);
  EXPECT_FALSE(IsPeerGone(r.error()));
  EXPECT_TRUE(r.error().IsInternal());
  EXPECT_EQ(r.error().Message(), "hook prestart: x");
}

TEST(RuntimeSync, OverlongErrorIsCutSafely) {
  SyncPair p = Pair();
  const std::string detail(20000, 'd');
  Error sent{E2BIG, "exec", "/bin/sh", detail, "create \"c\"", {}};
  SyncSendError(p.child.Get(), sent);
  auto r = SyncRecv(p.parent.Get());
  ASSERT_FALSE(r);
  const Error& got = r.error();
  EXPECT_EQ(got.code, E2BIG);
  EXPECT_TRUE(got.IsInvalidArgument());
  EXPECT_EQ(got.op, "exec");
  EXPECT_EQ(got.subject, "/bin/sh");
  // What fits of the detail arrives; nothing past it is invented.
  EXPECT_GT(got.detail.size(), 4000u);
  EXPECT_LT(got.detail.size(), 8192u);
  EXPECT_EQ(got.detail, detail.substr(0, got.detail.size()));
  EXPECT_EQ(got.context_, "");
  // The socket is still in step: the next message is whole.
  ASSERT_TRUE(SyncSend(p.child.Get(), SyncType::kCreated, 7));
  auto next = SyncExpect(p.parent.Get(), SyncType::kCreated, "create");
  ASSERT_TRUE(next) << next.error().Message();
  EXPECT_EQ(next->value, 7);
}

TEST(RuntimeSync, OverlongTextIsCut) {
  SyncPair p = Pair();
  ASSERT_TRUE(SyncSend(p.child.Get(), SyncType::kCreated, 1, std::string(100000, 't')));
  auto m = SyncRecv(p.parent.Get());
  ASSERT_TRUE(m) << m.error().Message();
  EXPECT_EQ(m->type, SyncType::kCreated);
  EXPECT_EQ(m->value, 1);
  EXPECT_GT(m->text.size(), 4000u);
  EXPECT_LT(m->text.size(), 8192u);
  EXPECT_EQ(m->text, std::string(m->text.size(), 't'));
}

TEST(RuntimeSync, EofIsPeerGone) {
  SyncPair p = Pair();
  p.child.Reset();
  auto r = SyncRecv(p.parent.Get());
  ASSERT_FALSE(r);
  EXPECT_TRUE(IsPeerGone(r.error()));
  EXPECT_EQ(r.error().Kind(), ErrorKind::kAborted);
  // SyncExpect names the stage and says the init is gone.
  auto e = SyncExpect(p.parent.Get(), SyncType::kCreated, "create");
  ASSERT_FALSE(e);
  EXPECT_TRUE(IsPeerGone(e.error()));
  EXPECT_EQ(e.error().op, "create");
  EXPECT_EQ(e.error().Message(), "create: container init exited unexpectedly");
}

TEST(RuntimeSync, PeerDeathWithOurMessageUnreadIsPeerGone) {
  // The kernel reports ECONNRESET (not EOF) to the survivor when a SEQPACKET socket is closed
  // with data still queued for it: check that this is the path taken here.
  {
    SyncPair raw = Pair();
    ASSERT_TRUE(SyncSend(raw.parent.Get(), SyncType::kGo));
    raw.child.Reset();
    char buf[64];
    EXPECT_EQ(recv(raw.parent.Get(), buf, sizeof buf, 0), -1);
    EXPECT_EQ(errno, ECONNRESET) << std::strerror(errno);
  }
  SyncPair p = Pair();
  ASSERT_TRUE(SyncSend(p.parent.Get(), SyncType::kGo));  // never read by the child
  p.child.Reset();
  auto r = SyncExpect(p.parent.Get(), SyncType::kCreated, "create");
  ASSERT_FALSE(r);
  EXPECT_TRUE(IsPeerGone(r.error())) << r.error().Message();
  EXPECT_EQ(r.error().Message(), "create: container init exited unexpectedly");
}

TEST(RuntimeSync, ExpectRefusesAnotherType) {
  SyncPair p = Pair();
  ASSERT_TRUE(SyncSend(p.child.Get(), SyncType::kCreateRuntime));
  auto r = SyncExpect(p.parent.Get(), SyncType::kCreated, "create");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsInternal());
  EXPECT_FALSE(IsPeerGone(r.error()));
  EXPECT_EQ(r.error().op, "create");
  EXPECT_NE(r.error().Message().find("unexpected message 4 (expected 5)"), std::string::npos)
      << r.error().Message();
  // An Error received while expecting something else is that Error, unchanged.
  SyncSendError(p.child.Get(), NotFound("open", "/x", "gone").error());
  auto e = SyncExpect(p.parent.Get(), SyncType::kCreated, "create");
  ASSERT_FALSE(e);
  EXPECT_TRUE(e.error().IsNotFound());
  EXPECT_EQ(e.error().Message(), "open /x: gone");
}

TEST(RuntimeSync, MalformedPacketsFromThePeer) {
  SyncPair p = Pair();
  // Shorter than a header.
  ASSERT_EQ(send(p.child.Get(), "abc", 3, 0), 3);
  auto s = SyncRecv(p.parent.Get());
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().IsInternal());
  EXPECT_NE(s.error().Message().find("short message of 3 bytes"), std::string::npos)
      << s.error().Message();
  // An error with a kind this side does not know, and no text: the errno decides the kind,
  // and the message still says something.
  struct {
    uint32_t type;
    int32_t value;
    uint32_t kind;
  } h{static_cast<uint32_t>(SyncType::kError), ENOENT, 99};
  ASSERT_EQ(send(p.child.Get(), &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  auto k = SyncRecv(p.parent.Get());
  ASSERT_FALSE(k);
  EXPECT_TRUE(k.error().IsNotFound());
  EXPECT_FALSE(k.error().Message().empty());
  h.value = 0;
  ASSERT_EQ(send(p.child.Get(), &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  auto u = SyncRecv(p.parent.Get());
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().Message(), "unreadable error message");
}

}  // namespace
}  // namespace berth::runtime
