// The client side of the shim's streaming exec and attach (shim/client.h StreamSession),
// against a fake shim on a unix socket: fds received with the answer and named by it, the
// terminal's dups, resize, stdin's EOF on a pipe and on a pty, the final frame, close_stdin,
// Abandon waking a Wait in another thread, and answers that do not add up.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "shim/client.h"
#include "sys/unix_socket.h"
#include "test_util.h"

namespace berth::shim {
namespace {

using namespace std::chrono_literals;

// One frame from fd (blocking), "" at EOF.
std::string ReadFrame(int fd) {
  FrameDecoder dec;
  char buf[4096];
  for (;;) {
    auto f = dec.Next();
    if (!f) return "";
    if (*f) return **f;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return "";
    dec.Feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

// read(2) once fd is readable within 5 s; -2 when it is not (a test fails, never hangs).
ssize_t ReadSoon(int fd, char* buf, size_t n) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) <= 0) return -2;
  return read(fd, buf, n);
}

void WriteFrame(int fd, const Json& j, std::vector<int> fds = {}) {
  std::string f = *EncodeFrame(j.dump());
  if (!fds.empty()) {
    ASSERT_TRUE(sys::SendFds(fd, fds, f.substr(0, 1), "test"));
    f.erase(0, 1);
  }
  ASSERT_EQ(static_cast<ssize_t>(f.size()), write(fd, f.data(), f.size()));
}

// A shim that answers hello, then hands the next connection to `stream` (the request and
// the connection's fd).
class FakeShim {
 public:
  explicit FakeShim(std::function<void(const Json& req, int conn)> stream)
      : stream_(std::move(stream)) {
    listener_.Reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string path = dir_.Sub("shim.sock");
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    EXPECT_EQ(0, bind(listener_.Get(), reinterpret_cast<sockaddr*>(&a), sizeof a));
    EXPECT_EQ(0, listen(listener_.Get(), 4));
    thread_ = std::thread([this] {
      for (int k = 0; k < 2; k++) {
        UniqueFd c(accept4(listener_.Get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!c) return;
        auto req = ParseMessage(ReadFrame(c.Get()));
        if (!req) return;
        if ((*req)["op"] == "hello") {
          WriteFrame(c.Get(), {{"result", {{"version", kProtocolVersion}, {"pid", 1}}}});
          continue;
        }
        stream_(*req, c.Get());
      }
    });
  }
  ~FakeShim() {
    shutdown(listener_.Get(), SHUT_RDWR);
    thread_.join();
  }
  std::string dir() const { return dir_.path(); }

 private:
  testutil::TempDir dir_{"berth-fake-shim"};
  UniqueFd listener_;
  std::function<void(const Json&, int)> stream_;
  std::thread thread_;
};

TEST(ShimStreamClient, PipesStdinEofAndTheExitFrame) {
  int in[2], out[2];
  ASSERT_EQ(0, pipe2(in, O_CLOEXEC));
  ASSERT_EQ(0, pipe2(out, O_CLOEXEC));
  UniqueFd in_r(in[0]), out_w(out[1]);
  Json seen;
  std::string after;
  auto shim = std::make_unique<FakeShim>([&](const Json& req, int conn) {
    seen = req;
    WriteFrame(conn, {{"result", {{"pid", 42}, {"fds", {"stdin", "stdout"}}}}}, {in[1], out[0]});
    close(in[1]);
    close(out[0]);
    // The process reads stdin to its EOF, then exits 3.
    char buf[64];
    std::string got;
    ssize_t n;
    while ((n = ReadSoon(in_r.Get(), buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    if (n < 0) got = "no EOF";
    after = got;
    WriteFrame(conn, {{"exit", {{"exit_code", 3}, {"signal", 0}}}});
  });
  auto client = ShimClient::Connect(shim->dir());
  ASSERT_TRUE(client) << client.error().Message();
  StreamExecRequest r;
  r.id = "c1";
  r.args = {"cat"};
  r.stdin = true;
  r.stderr = false;
  auto s = client->ExecStream(r);
  ASSERT_TRUE(s) << s.error().Message();
  EXPECT_EQ("exec", seen["op"]);
  EXPECT_EQ(true, seen["stdin"]);
  EXPECT_EQ(false, seen["stderr"]);
  EXPECT_EQ(42, s->Pid());
  EXPECT_GE(s->Stdin(), 0);
  EXPECT_GE(s->Stdout(), 0);
  EXPECT_EQ(-1, s->Stderr());
  EXPECT_FALSE(s->Tty());
  EXPECT_FALSE(s->Resize(80, 24)) << "no terminal to resize";
  ASSERT_EQ(5, write(s->Stdin(), "hello", 5));
  ASSERT_EQ(2, write(out_w.Get(), "hi", 2));
  char buf[8] = {};
  ASSERT_EQ(2, ReadSoon(s->Stdout(), buf, sizeof buf));
  ASSERT_TRUE(s->CloseStdin());
  EXPECT_EQ(-1, s->Stdin());
  auto x = s->Wait(10s);
  ASSERT_TRUE(x) << x.error().Message();
  EXPECT_EQ(3, x->exit_code);
  shim.reset();  // its thread is done
  EXPECT_EQ("hello", after) << "stdin reached EOF after the bytes written";
}

TEST(ShimStreamClient, ATerminalIsStdinAndStdoutAndResizes) {
  UniqueFd master(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master);
  ASSERT_EQ(0, grantpt(master.Get()));
  ASSERT_EQ(0, unlockpt(master.Get()));
  UniqueFd slave(open(ptsname(master.Get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(slave);
  FakeShim shim([&](const Json&, int conn) {
    WriteFrame(conn, {{"result", {{"pid", 7}, {"fds", {"tty"}}}}}, {master.Get()});
    master.Reset();
    ReadFrame(conn);  // until the client leaves
  });
  auto client = ShimClient::Connect(shim.dir());
  ASSERT_TRUE(client) << client.error().Message();
  StreamExecRequest r;
  r.id = "c1";
  r.args = {"sh"};
  r.tty = true;
  r.stdin = true;
  auto s = client->ExecStream(r);
  ASSERT_TRUE(s) << s.error().Message();
  ASSERT_TRUE(s->Tty());
  EXPECT_EQ(-1, s->Stderr());
  // Three fds of one terminal, so a caller may poll stdin and stdout apart.
  EXPECT_NE(s->Stdin(), s->Stdout());
  EXPECT_NE(s->Stdin(), s->Terminal());
  EXPECT_NE(s->Stdout(), s->Terminal());

  ASSERT_TRUE(s->Resize(120, 40));
  winsize ws{};
  ASSERT_EQ(0, ioctl(slave.Get(), TIOCGWINSZ, &ws));
  EXPECT_EQ(120, ws.ws_col);
  EXPECT_EQ(40, ws.ws_row);

  ASSERT_EQ(3, write(slave.Get(), "out", 3));
  char buf[16] = {};
  ASSERT_EQ(3, ReadSoon(s->Stdout(), buf, sizeof buf));
  // A line, then VEOF: the reader gets the line and then end of input.
  ASSERT_EQ(3, write(s->Stdin(), "in\n", 3));
  ASSERT_TRUE(s->CloseStdin());
  EXPECT_GE(s->Stdin(), 0) << "the terminal stays open";
  ASSERT_EQ(3, ReadSoon(slave.Get(), buf, sizeof buf));
  EXPECT_EQ(0, ReadSoon(slave.Get(), buf, sizeof buf)) << "VEOF at the start of a line is EOF";
  s->Abandon();
}

TEST(ShimStreamClient, AttachSendsCloseStdinAndAbandonWakesWait) {
  int in[2];
  ASSERT_EQ(0, pipe2(in, O_CLOEXEC));
  UniqueFd in_r(in[0]);
  std::string second;
  bool eof = false;
  auto shim = std::make_unique<FakeShim>([&](const Json&, int conn) {
    WriteFrame(conn, {{"result", {{"fds", {"stdin"}}, {"tty", false}}}}, {in[1]});
    close(in[1]);
    second = ReadFrame(conn);
    eof = ReadFrame(conn).empty();
  });
  auto client = ShimClient::Connect(shim->dir());
  ASSERT_TRUE(client) << client.error().Message();
  AttachRequest r;
  r.id = "c1";
  r.stdin = true;
  r.stdout = r.stderr = false;
  auto s = client->Attach(r);
  ASSERT_TRUE(s) << s.error().Message();
  EXPECT_EQ(-1, s->Stdout());
  ASSERT_TRUE(s->CloseStdin());
  std::thread waiter([&] {
    auto x = s->Wait(0ms);
    ASSERT_FALSE(x);
    EXPECT_TRUE(x.error().IsUnavailable()) << x.error().Message();
  });
  std::this_thread::sleep_for(50ms);
  s->Abandon();
  waiter.join();
  shim.reset();  // its thread is done
  EXPECT_EQ("close_stdin", ParseMessage(second).value()["op"]);
  EXPECT_TRUE(eof) << "the shim saw the connection close";
}

TEST(ShimStreamClient, AnswersThatDoNotAddUp) {
  FakeShim shim([&](const Json&, int conn) {
    int p[2];
    ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
    // Two names, one fd.
    WriteFrame(conn, {{"result", {{"fds", {"stdin", "stdout"}}}}}, {p[0]});
    close(p[0]);
    close(p[1]);
  });
  auto client = ShimClient::Connect(shim.dir());
  ASSERT_TRUE(client) << client.error().Message();
  auto s = client->Attach({"c1", false, true, true});
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().Is(ErrorKind::kDataLoss)) << s.error().Message();
}

TEST(ShimStreamClient, AnErrorAnswerKeepsItsKind) {
  FakeShim shim([&](const Json&, int conn) {
    WriteFrame(conn, {{"error", ErrorToJson(FailedPrecondition("attach", "\"c1\"",
                                                               "container has exited")
                                                .error())}});
  });
  auto client = ShimClient::Connect(shim.dir());
  ASSERT_TRUE(client) << client.error().Message();
  auto s = client->Attach({"c1", false, true, true});
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().IsFailedPrecondition()) << s.error().Message();
}

}  // namespace
}  // namespace berth::shim
