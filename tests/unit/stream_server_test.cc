// berth_stream end to end on loopback: the Server with a fake Backend running local
// processes, driven by the Client over SPDY/3.1 and WebSocket; hostile input by hand.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "stream/client.h"
#include "stream/protocol.h"
#include "stream/server.h"
#include "stream/spdy_frame.h"
#include "stream_fake_backend.h"

namespace berth::stream {
namespace {

using testing::FakeBackend;

int CountFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n - 1;  // the DIR's own fd
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Output of a remote command, collected by threads so pipes never fill.
struct Capture {
  int fds[2] = {-1, -1};
  std::string text;
  std::thread t;
  Capture() {
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    t = std::thread([this] { text = ReadAll(fds[0]); });
  }
  int WriteFd() const { return fds[1]; }
  std::string Finish() {
    if (fds[1] >= 0) close(fds[1]);
    fds[1] = -1;
    t.join();
    close(fds[0]);
    return text;
  }
  ~Capture() {
    if (t.joinable()) Finish();
  }
};

class StreamServerTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override {
    ServerConfig c;
    c.clock = [this] { return std::chrono::steady_clock::now() + skew_.load(); };
    c.stream_creation_timeout = std::chrono::milliseconds(3000);
    server_ = std::make_unique<Server>(c, &backend_);
    ASSERT_TRUE(server_->Start());
  }
  void TearDown() override {
    server_->Stop();
    EXPECT_EQ(backend_.live.load(), 0) << "a session outlived the server";
  }
  ClientOptions Opts() {
    ClientOptions o;
    o.transport = GetParam();
    o.timeout = std::chrono::seconds(10);
    return o;
  }
  std::string ExecUrl(std::vector<std::string> cmd, bool in, bool out, bool err, bool tty = false) {
    auto u = server_->ExecUrl(ExecRequest{"k8s.io", "c1", std::move(cmd), tty, in, out, err});
    EXPECT_TRUE(u) << u.error().Message();
    return u.value_or("");
  }

  FakeBackend backend_;
  std::atomic<std::chrono::seconds> skew_{std::chrono::seconds(0)};
  std::unique_ptr<Server> server_;
};

TEST_P(StreamServerTest, OutputAndExitCode) {
  std::string url = ExecUrl({"sh", "-c", "echo out; echo err >&2; exit 3"}, false, true, true);
  Capture out, err;
  RemoteCommandIo io;
  io.stdout_fd = out.WriteFd();
  io.stderr_fd = err.WriteFd();
  auto rc = RunRemoteCommand(url, Opts(), io);
  ASSERT_TRUE(rc) << rc.error().Message();
  EXPECT_EQ(*rc, 3);
  EXPECT_EQ(out.Finish(), "out\n");
  EXPECT_EQ(err.Finish(), "err\n");
}

TEST_P(StreamServerTest, LargeOutputArrivesWhole) {
  std::string url =
      ExecUrl({"sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x"}, false, true, false);
  Capture out;
  RemoteCommandIo io;
  io.stdout_fd = out.WriteFd();
  auto rc = RunRemoteCommand(url, Opts(), io);
  ASSERT_TRUE(rc) << rc.error().Message();
  EXPECT_EQ(*rc, 0);
  std::string got = out.Finish();
  EXPECT_EQ(got.size(), 3000000u);
  EXPECT_EQ(got.find_first_not_of('x'), std::string::npos);
}

TEST_P(StreamServerTest, StdinEofReachesCat) {
  std::string url = ExecUrl({"cat"}, true, true, false);
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  std::string payload(200000, 'a');
  std::thread writer([&] {
    std::string_view p = payload;
    while (!p.empty()) {
      ssize_t n = write(in[1], p.data(), p.size());
      if (n <= 0) break;
      p.remove_prefix(static_cast<size_t>(n));
    }
    close(in[1]);
  });
  Capture out;
  RemoteCommandIo io;
  io.stdin_fd = in[0];
  io.stdout_fd = out.WriteFd();
  auto rc = RunRemoteCommand(url, Opts(), io);
  writer.join();
  close(in[0]);
  ASSERT_TRUE(rc) << rc.error().Message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(out.Finish(), payload);
}

// stdin's data and EOF there before the process writes anything (berthctl exec -i with a
// pipe that is already at its end): the EOF must still reach it.
TEST_P(StreamServerTest, StdinEofBeforeAnyOutput) {
  std::string url = ExecUrl({"wc", "-c"}, true, true, false);
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(write(in[1], "hello\n", 6), 6);
  close(in[1]);
  UniqueFd stop(eventfd(0, EFD_CLOEXEC));
  std::atomic<bool> done{false};
  std::thread watchdog([&] {  // a hang fails the test instead of stalling it
    for (int i = 0; i < 100 && !done; ++i) usleep(100000);
    uint64_t one = 1;
    if (!done) (void)!write(stop.Get(), &one, sizeof one);
  });
  Capture out;
  RemoteCommandIo io;
  io.stdin_fd = in[0];
  io.stdout_fd = out.WriteFd();
  io.stop_fd = stop.Get();
  auto rc = RunRemoteCommand(url, Opts(), io);
  done = true;
  watchdog.join();
  close(in[0]);
  ASSERT_TRUE(rc) << rc.error().Message();
  EXPECT_EQ(*rc, 0);
  std::string got = out.Finish();
  EXPECT_EQ(got.substr(got.find_first_not_of(' ')), "6\n");
}

TEST_P(StreamServerTest, MissingCommandIsAnErrorStatus) {
  std::string url = ExecUrl({"/no/such/binary"}, false, true, true);
  Capture out, err;
  RemoteCommandIo io;
  io.stdout_fd = out.WriteFd();
  io.stderr_fd = err.WriteFd();
  auto rc = RunRemoteCommand(url, Opts(), io);
  ASSERT_FALSE(rc);
  EXPECT_NE(rc.error().Message().find("error executing command in container"), std::string::npos)
      << rc.error().Message();
  EXPECT_NE(rc.error().Message().find("/no/such/binary"), std::string::npos)
      << rc.error().Message();
}

TEST_P(StreamServerTest, MissingContainerIsAnErrorStatus) {
  auto url =
      server_->ExecUrl(ExecRequest{"k8s.io", "missing", {"true"}, false, false, true, false});
  ASSERT_TRUE(url);
  Capture out;
  RemoteCommandIo io;
  io.stdout_fd = out.WriteFd();
  auto rc = RunRemoteCommand(*url, Opts(), io);
  ASSERT_FALSE(rc);
  EXPECT_NE(rc.error().Message().find("no such container"), std::string::npos);
}

TEST_P(StreamServerTest, TtyResizeReachesTheTerminal) {
  // The command reads a line first: the initial size (sent when the streams are up) is
  // applied before stty runs.
  std::string url = ExecUrl({"sh", "-c", "read x; stty size"}, true, true, false, true);
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(write(in[1], "go\n", 3), 3);
  Capture out;
  RemoteCommandIo io;
  io.stdin_fd = in[0];
  io.stdout_fd = out.WriteFd();
  io.tty = true;
  io.initial_size = TermSize{123, 45};
  auto rc = RunRemoteCommand(url, Opts(), io);
  close(in[1]);
  close(in[0]);
  ASSERT_TRUE(rc) << rc.error().Message();
  EXPECT_EQ(*rc, 0);
  EXPECT_NE(out.Finish().find("45 123"), std::string::npos);
  std::lock_guard lock(backend_.mu);
  ASSERT_FALSE(backend_.resizes.empty());
  EXPECT_EQ(backend_.resizes[0].width, 123);
  EXPECT_EQ(backend_.resizes[0].height, 45);
}

TEST_P(StreamServerTest, AttachRunsTheSession) {
  auto url = server_->AttachUrl(AttachRequest{"k8s.io", "c1", false, true, true, false});
  ASSERT_TRUE(url);
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(write(in[1], "hi\n", 3), 3);
  close(in[1]);
  Capture out;
  RemoteCommandIo io;
  io.stdin_fd = in[0];
  io.stdout_fd = out.WriteFd();
  auto rc = RunRemoteCommand(*url, Opts(), io);
  close(in[0]);
  ASSERT_TRUE(rc) << rc.error().Message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(out.Finish(), "hi\n");
}

TEST_P(StreamServerTest, TokenIsSingleUseAndExpires) {
  std::string url = ExecUrl({"true"}, false, true, false);
  Capture out;
  RemoteCommandIo io;
  io.stdout_fd = out.WriteFd();
  ASSERT_TRUE(RunRemoteCommand(url, Opts(), io));
  auto again = RunRemoteCommand(url, Opts(), io);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsNotFound()) << again.error().Message();
  EXPECT_NE(again.error().Message().find("already used or expired"), std::string::npos);

  std::string late = ExecUrl({"true"}, false, true, false);
  skew_ = std::chrono::seconds(61);
  auto expired = RunRemoteCommand(late, Opts(), io);
  ASSERT_FALSE(expired);
  EXPECT_TRUE(expired.error().IsNotFound()) << expired.error().Message();
}

TEST_P(StreamServerTest, FiftyConcurrentExecs) {
  constexpr int kN = 50;
  std::vector<std::string> urls;
  for (int i = 0; i < kN; ++i) {
    urls.push_back(
        ExecUrl({"sh", "-c", "echo " + std::to_string(i) + "; exit " + std::to_string(i % 7)},
                false, true, false));
  }
  std::vector<std::string> got(kN);
  std::vector<int> codes(kN, -1);
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i) {
    ts.emplace_back([&, i] {
      Capture out;
      RemoteCommandIo io;
      io.stdout_fd = out.WriteFd();
      auto rc = RunRemoteCommand(urls[i], Opts(), io);
      codes[i] = rc ? *rc : -100;
      got[i] = out.Finish();
    });
  }
  for (auto& t : ts) t.join();
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(codes[i], i % 7) << i;
    EXPECT_EQ(got[i], std::to_string(i) + "\n") << i;
  }
}

// A TCP echo server on loopback for the port-forward tests.
struct EchoServer {
  UniqueFd fd;
  int port = 0;
  std::thread t;
  std::atomic<bool> stop{false};
  EchoServer() {
    fd.Reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd.Get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd.Get(), 16), 0);
    socklen_t len = sizeof a;
    getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    t = std::thread([this] {
      std::vector<std::thread> conns;
      while (!stop) {
        pollfd p{fd.Get(), POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        int c = accept4(fd.Get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        conns.emplace_back([c] {
          char buf[4096];
          for (;;) {
            ssize_t n = read(c, buf, sizeof buf);
            if (n <= 0) break;
            std::string reply = "echo:" + std::string(buf, static_cast<size_t>(n));
            if (write(c, reply.data(), reply.size()) < 0) break;
          }
          close(c);
        });
      }
      for (auto& c : conns) c.join();
    });
  }
  ~EchoServer() {
    stop = true;
    t.join();
  }
};

UniqueFd Listener(int* port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd.Get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(listen(fd.Get(), 16), 0);
  socklen_t len = sizeof a;
  getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

UniqueFd Dial(int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd.Get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{10, 0};
  setsockopt(fd.Get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string ReadN(int fd, size_t n) {
  std::string out;
  char buf[4096];
  while (out.size() < n) {
    ssize_t k = read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (k <= 0) break;
    out.append(buf, static_cast<size_t>(k));
  }
  return out;
}

TEST_P(StreamServerTest, PortForwardTwoConnectionsInParallel) {
  EchoServer echo;
  int local_port = 0;
  UniqueFd listener = Listener(&local_port);
  UniqueFd stop(eventfd(0, EFD_CLOEXEC));
  PortForwardIo io;
  io.listen_fd = listener.Get();
  io.remote_port = echo.port;
  io.stop_fd = stop.Get();
  io.next_url = [&] { return server_->PortForwardUrl(PortForwardRequest{"k8s.io", "pod1", {}}); };
  Result<void> result;
  std::thread fwd([&] { result = RunPortForward(Opts(), io); });

  UniqueFd a = Dial(local_port), b = Dial(local_port);
  ASSERT_EQ(write(a.Get(), "one", 3), 3);
  ASSERT_EQ(write(b.Get(), "two", 3), 3);
  EXPECT_EQ(ReadN(b.Get(), 8), "echo:two");
  EXPECT_EQ(ReadN(a.Get(), 8), "echo:one");
  ASSERT_EQ(write(a.Get(), "three", 5), 5);
  EXPECT_EQ(ReadN(a.Get(), 10), "echo:three");
  a.Reset();
  b.Reset();
  uint64_t one = 1;
  ASSERT_EQ(write(stop.Get(), &one, sizeof one), 8);
  fwd.join();
  EXPECT_TRUE(result) << result.error().Message();
}

TEST_P(StreamServerTest, PortForwardToAClosedPortEndsTheConnection) {
  int closed_port = 0;
  { UniqueFd l = Listener(&closed_port); }  // bound once, now closed
  int local_port = 0;
  UniqueFd listener = Listener(&local_port);
  UniqueFd stop(eventfd(0, EFD_CLOEXEC));
  PortForwardIo io;
  io.listen_fd = listener.Get();
  io.remote_port = closed_port;
  io.stop_fd = stop.Get();
  io.next_url = [&] { return server_->PortForwardUrl(PortForwardRequest{"k8s.io", "pod1", {}}); };
  std::thread fwd([&] { (void)RunPortForward(Opts(), io); });
  UniqueFd a = Dial(local_port);
  char c;
  EXPECT_EQ(read(a.Get(), &c, 1), 0);  // closed, not hanging
  uint64_t one = 1;
  ASSERT_EQ(write(stop.Get(), &one, sizeof one), 8);
  fwd.join();
}

INSTANTIATE_TEST_SUITE_P(Transports, StreamServerTest,
                         ::testing::Values(Transport::kSpdy, Transport::kWebSocket),
                         [](const auto& info) {
                           return info.param == Transport::kSpdy ? "Spdy" : "WebSocket";
                         });

// --- Hostile input, by hand ---

class StreamHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig c;
    c.handshake_timeout = std::chrono::milliseconds(2000);
    c.stream_creation_timeout = std::chrono::milliseconds(1000);
    server_ = std::make_unique<Server>(c, &backend_);
    ASSERT_TRUE(server_->Start());
  }
  // Sends bytes, returns all the server answers until it closes.
  std::string Exchange(const std::string& bytes) {
    UniqueFd fd = Dial(server_->Port());
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = send(fd.Get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    return ReadAll(fd.Get());
  }
  void WaitIdle() {
    for (int i = 0; i < 500 && server_->ActiveConnections() > 0; ++i) usleep(10000);
    EXPECT_EQ(server_->ActiveConnections(), 0u);
  }
  std::string Path(std::string kind) {
    Result<std::string> u =
        kind == "portforward"
            ? server_->PortForwardUrl(PortForwardRequest{"k8s.io", "p", {}})
            : server_->ExecUrl(ExecRequest{"k8s.io", "c", {"cat"}, false, true, true, false});
    EXPECT_TRUE(u);
    return u->substr(u->find('/', 8));
  }
  std::string SpdyUpgrade(const std::string& path, const std::string& proto = "v4.channel.k8s.io") {
    return "POST " + path +
           " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
           "X-Stream-Protocol-Version: " +
           proto + "\r\nContent-Length: 0\r\n\r\n";
  }
  FakeBackend backend_;
  std::unique_ptr<Server> server_;
};

TEST_F(StreamHostileTest, CleanErrorsAndNoLeaks) {
  int fds_before = CountFds();
  EXPECT_NE(Exchange("\x16\x03\x01garbage\r\n\r\n").find("400 Bad Request"), std::string::npos);
  EXPECT_NE(Exchange("GET /exec/nope HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') +
                     "\r\n\r\n")
                .find("431"),
            std::string::npos);
  EXPECT_NE(Exchange("GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n").find("404"),
            std::string::npos);
  std::string r = Exchange("GET /exec/unknowntoken HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(r.find("404 Not Found"), std::string::npos);
  EXPECT_NE(r.find("unknown, already used or expired"), std::string::npos);
  // A valid token without an upgrade.
  r = Exchange("GET " + Path("exec") + " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(r.find("400"), std::string::npos);
  EXPECT_NE(r.find("missing upgrade headers"), std::string::npos);
  // No common protocol.
  r = Exchange(SpdyUpgrade(Path("exec"), "v9.channel.k8s.io"));
  EXPECT_NE(r.find("403"), std::string::npos);
  EXPECT_NE(r.find("X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io"), std::string::npos);
  r = Exchange("GET " + Path("exec") +
               " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
               "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
               "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: bogus.k8s.io\r\n\r\n");
  EXPECT_NE(r.find("403"), std::string::npos);
  EXPECT_NE(r.find("not supported: bogus.k8s.io"), std::string::npos);
  // Garbage frames after a good upgrade: a GOAWAY, then the end.
  r = Exchange(SpdyUpgrade(Path("exec")) + std::string("\x80\x03\x00\x01\x00\xff\xff\xff", 8) +
               std::string(300, 'z'));
  EXPECT_NE(r.find("101 Switching Protocols"), std::string::npos);
  // The same stream opened twice.
  spdy::FrameWriter w;
  std::string frames;
  ASSERT_TRUE(w.Write(spdy::SynStreamFrame(1, {{"streamtype", "error"}}), &frames));
  ASSERT_TRUE(w.Write(spdy::SynStreamFrame(1, {{"streamtype", "stdout"}}), &frames));
  r = Exchange(SpdyUpgrade(Path("exec")) + frames);
  {
    spdy::FrameReader rd;
    rd.Append(r.substr(r.find("\r\n\r\n") + 4));
    bool goaway = false;
    for (;;) {
      auto f = rd.Next();
      if (!f || !f->has_value()) break;
      goaway |= (*f)->type == spdy::FrameType::kGoAway;
    }
    EXPECT_TRUE(goaway);
  }
  // Streams that never all come: the session is not started and the connection ends.
  frames.clear();
  spdy::FrameWriter w2;
  ASSERT_TRUE(w2.Write(spdy::SynStreamFrame(1, {{"streamtype", "error"}}), &frames));
  r = Exchange(SpdyUpgrade(Path("exec")) + frames);
  EXPECT_NE(r.find("101"), std::string::npos);
  // Port-forward streams without a port, and over WebSocket without ports.
  frames.clear();
  spdy::FrameWriter w3;
  ASSERT_TRUE(w3.Write(spdy::SynStreamFrame(1, {{"streamtype", "data"}}), &frames));
  {
    UniqueFd fd = Dial(server_->Port());
    std::string req = SpdyUpgrade(Path("portforward"), "portforward.k8s.io") + frames;
    ASSERT_EQ(send(fd.Get(), req.data(), req.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(req.size()));
    std::string got;
    char buf[4096];
    spdy::FrameReader rd;
    bool rst = false;
    size_t head = std::string::npos;
    while (!rst) {
      ssize_t n = read(fd.Get(), buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      if (head == std::string::npos && (head = got.find("\r\n\r\n")) != std::string::npos) {
        rd.Append(got.substr(head + 4));
      } else if (head != std::string::npos) {
        rd.Append(std::string_view(buf, static_cast<size_t>(n)));
      }
      for (;;) {
        auto f = rd.Next();
        if (!f || !f->has_value()) break;
        rst |= (*f)->type == spdy::FrameType::kRstStream;
      }
    }
    EXPECT_TRUE(rst);
  }
  r = Exchange("GET " + Path("portforward") +
               " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
               "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
               "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  EXPECT_NE(r.find("query parameter \"ports\" is required"), std::string::npos);
  // A client that sends half a head and stops.
  r = Exchange("GET /exec/");
  EXPECT_NE(r.find("408"), std::string::npos);

  WaitIdle();
  EXPECT_EQ(backend_.live.load(), 0);
  EXPECT_EQ(CountFds(), fds_before);
}

TEST_F(StreamHostileTest, CacheFullIsResourceExhausted) {
  ServerConfig c;
  c.max_tokens = 3;
  Server s(c, &backend_);
  ASSERT_TRUE(s.Start());
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(s.AttachUrl(AttachRequest{"k8s.io", "c", false, false, true, false}));
  auto full = s.AttachUrl(AttachRequest{"k8s.io", "c", false, false, true, false});
  ASSERT_FALSE(full);
  EXPECT_TRUE(full.error().IsResourceExhausted());
}

TEST_F(StreamHostileTest, ClientGoneKillsTheProcess) {
  std::string path = Path("exec");  // cat with stdin and stdout
  {
    spdy::FrameWriter w;
    std::string frames;
    uint32_t id = 1;
    for (const char* t : {"error", "stdin", "stdout"}) {
      ASSERT_TRUE(w.Write(spdy::SynStreamFrame(id, {{"streamtype", t}}), &frames));
      id += 2;
    }
    UniqueFd fd = Dial(server_->Port());
    std::string req = SpdyUpgrade(path) + frames;
    ASSERT_EQ(send(fd.Get(), req.data(), req.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(req.size()));
    for (int i = 0; i < 500 && backend_.live.load() == 0; ++i) usleep(10000);
    EXPECT_EQ(backend_.live.load(), 1);
  }  // the client goes away with cat still running
  for (int i = 0; i < 500 && backend_.live.load() > 0; ++i) usleep(10000);
  EXPECT_EQ(backend_.live.load(), 0);
  WaitIdle();
}

}  // namespace
// A WebSocket upgrade the server refuses (no subprotocol in common: 403): an error, or with
// fallback_to_spdy a new URL followed over SPDY (the refused URL's token is spent).
TEST_F(StreamHostileTest, RefusedWebSocketFallsBackToSpdy) {
  int urls = 0;
  auto next = [&]() -> Result<std::string> {
    ++urls;
    return server_->ExecUrl(
        ExecRequest{"k8s.io", "c", {"sh", "-c", "echo hi; exit 4"}, false, false, true, false});
  };
  ClientOptions o;
  o.transport = Transport::kWebSocket;
  o.protocols = {"v9.channel.k8s.io"};
  Capture out;
  RemoteCommandIo io;
  io.stdout_fd = out.WriteFd();
  auto refused = RunRemoteCommand(next, o, io);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().IsPermissionDenied()) << refused.error().Message();
  EXPECT_EQ(urls, 1);
  o.fallback_to_spdy = true;
  auto rc = RunRemoteCommand(next, o, io);
  ASSERT_TRUE(rc) << rc.error().Message();
  EXPECT_EQ(*rc, 4);
  EXPECT_EQ(urls, 3);
  EXPECT_EQ(out.Finish(), "hi\n");
  WaitIdle();
}

TEST_F(StreamHostileTest, RefusedWebSocketPortForwardFallsBackToSpdy) {
  EchoServer echo;
  int local_port = 0;
  UniqueFd listener = Listener(&local_port);
  UniqueFd stop(eventfd(0, EFD_CLOEXEC));
  int urls = 0;
  PortForwardIo io;
  io.listen_fd = listener.Get();
  io.remote_port = echo.port;
  io.stop_fd = stop.Get();
  io.next_url = [&] {
    ++urls;
    return server_->PortForwardUrl(PortForwardRequest{"k8s.io", "pod1", {}});
  };
  ClientOptions o;
  o.transport = Transport::kWebSocket;
  o.protocols = {"bogus.k8s.io"};
  o.fallback_to_spdy = true;
  Result<void> result;
  std::thread fwd([&] { result = RunPortForward(o, io); });
  // The first connection, accepted before the refusal, goes over SPDY; so does the next.
  UniqueFd a = Dial(local_port);
  ASSERT_EQ(write(a.Get(), "one", 3), 3);
  EXPECT_EQ(ReadN(a.Get(), 8), "echo:one");
  UniqueFd b = Dial(local_port);
  ASSERT_EQ(write(b.Get(), "two", 3), 3);
  EXPECT_EQ(ReadN(b.Get(), 8), "echo:two");
  EXPECT_EQ(urls, 2);  // the refused WebSocket one, then one SPDY connection for both
  a.Reset();
  b.Reset();
  uint64_t one = 1;
  ASSERT_EQ(write(stop.Get(), &one, sizeof one), 8);
  fwd.join();
  EXPECT_TRUE(result) << result.error().Message();
  WaitIdle();
}

}  // namespace berth::stream
