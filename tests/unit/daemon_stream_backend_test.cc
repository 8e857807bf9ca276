// The stream backend's port-forward socket (daemon/stream_backend.h): a connection made
// inside a network namespace pinned the way berthd pins a pod's, to a listener there; the
// calling thread's namespace unchanged; refusals and bad input as errors with their kinds.
// Exec and attach go through berth-shim: tests/integration/test_shim_stream.sh.
#include "daemon/stream_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "daemon/pinned_ns.h"
#include "test_util.h"

namespace berth::daemon {
namespace {

using namespace std::chrono_literals;

std::string ThreadNetns() {
  char buf[64] = {};
  ssize_t n = readlink("/proc/thread-self/ns/net", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// A listening socket on the loopback address of family (port 0: any), or -1.
UniqueFd Listen(int family, uint16_t port, uint16_t* bound) {
  UniqueFd s(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return s;
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  }
  if (bind(s.Get(), reinterpret_cast<sockaddr*>(&ss), len) < 0 || listen(s.Get(), 8) < 0)
    return UniqueFd();
  if (bound) {
    socklen_t l = sizeof ss;
    getsockname(s.Get(), reinterpret_cast<sockaddr*>(&ss), &l);
    *bound = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                     : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  return s;
}

// A connection waiting on listener within 5 s, or -1.
UniqueFd AcceptSoon(int listener, int timeout_ms = 5000) {
  pollfd p{listener, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return UniqueFd();
  return UniqueFd(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

// Runs fn in a thread that has joined the namespace at path (lo brought up first).
template <class F>
void InNetns(const std::string& path, F fn) {
  std::thread([&] {
    UniqueFd ns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(ns) << path;
    ASSERT_EQ(0, setns(ns.Get(), CLONE_NEWNET)) << strerror(errno);
    UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ASSERT_EQ(0, ioctl(s.Get(), SIOCGIFFLAGS, &ifr)) << strerror(errno);
    ifr.ifr_flags |= IFF_UP;
    ASSERT_EQ(0, ioctl(s.Get(), SIOCSIFFLAGS, &ifr)) << strerror(errno);
    fn();
  }).join();
}

class StreamBackendNetnsRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testutil::IsRoot()) {
      GTEST_SKIP() << "needs root: pins a network namespace";
    }
    auto p = PinNamespaces(dir_.Sub("ns"), true, false, false, "");
    ASSERT_TRUE(p) << p.error().Message();
    pinned_ = *p;
  }
  void TearDown() override {
    if (!pinned_.net.empty()) {
      EXPECT_TRUE(UnpinNamespaces(pinned_));
    }
  }
  testutil::TempDir dir_{"berth-stream-backend"};
  PinnedNamespaces pinned_;
};

TEST_F(StreamBackendNetnsRoot, ConnectsToTheListenerInsideTheNamespace) {
  uint16_t port = 0;
  UniqueFd inner;
  InNetns(pinned_.net, [&] { inner = Listen(AF_INET, 0, &port); });
  ASSERT_TRUE(inner) << "listen in the namespace";
  // The same port on the host's loopback, when free: the connection must not go there.
  UniqueFd outer = Listen(AF_INET, port, nullptr);

  const std::string before = ThreadNetns();
  auto fd = ConnectInNetns(pinned_.net, port, 5s);
  ASSERT_TRUE(fd) << fd.error().Message();
  EXPECT_EQ(before, ThreadNetns()) << "the calling thread stays in its namespace";
  UniqueFd peer = AcceptSoon(inner.Get());
  ASSERT_TRUE(peer) << "the namespace's listener got the connection";
  if (outer) {
    EXPECT_FALSE(AcceptSoon(outer.Get(), 0)) << "the host's listener got none";
  }

  // Blocking, and bytes flow both ways.
  EXPECT_FALSE(fcntl(fd->Get(), F_GETFL) & O_NONBLOCK);
  ASSERT_EQ(4, write(fd->Get(), "ping", 4));
  char buf[8] = {};
  ASSERT_EQ(4, read(peer.Get(), buf, sizeof buf));
  EXPECT_EQ("ping", std::string(buf, 4));
  ASSERT_EQ(4, write(peer.Get(), "pong", 4));
  ASSERT_EQ(4, read(fd->Get(), buf, sizeof buf));
  EXPECT_EQ("pong", std::string(buf, 4));
}

TEST_F(StreamBackendNetnsRoot, AClosedPortIsRefused) {
  uint16_t port = 0;
  // A port that was just free in the namespace: bound, then closed.
  InNetns(pinned_.net, [&] { (void)Listen(AF_INET, 0, &port); });
  ASSERT_NE(0, port);
  auto fd = ConnectInNetns(pinned_.net, port, 5s);
  ASSERT_FALSE(fd);
  EXPECT_EQ(ECONNREFUSED, fd.error().code) << fd.error().Message();
  EXPECT_TRUE(fd.error().IsUnavailable());
  EXPECT_NE(std::string::npos, fd.error().Message().find("127.0.0.1:" + std::to_string(port)))
      << fd.error().Message();
}

TEST_F(StreamBackendNetnsRoot, FallsBackToIpv6Loopback) {
  uint16_t port = 0;
  UniqueFd inner;
  InNetns(pinned_.net, [&] { inner = Listen(AF_INET6, 0, &port); });
  if (!inner) {
    GTEST_SKIP() << "no IPv6 loopback in a new namespace here";
  }
  auto fd = ConnectInNetns(pinned_.net, port, 5s);
  ASSERT_TRUE(fd) << fd.error().Message();
  EXPECT_TRUE(AcceptSoon(inner.Get()));
}

TEST(StreamBackend, HostNamespaceWhenNoneIsPinned) {
  uint16_t port = 0;
  UniqueFd l = Listen(AF_INET, 0, &port);
  ASSERT_TRUE(l);
  auto fd = ConnectInNetns("", port, 5s);
  ASSERT_TRUE(fd) << fd.error().Message();
  EXPECT_TRUE(AcceptSoon(l.Get()));
}

TEST(StreamBackend, BadPortsAndMissingNamespaces) {
  for (int port : {0, -1, 65536}) {
    auto fd = ConnectInNetns("", port, 1s);
    ASSERT_FALSE(fd);
    EXPECT_TRUE(fd.error().IsInvalidArgument()) << fd.error().Message();
  }
  auto fd = ConnectInNetns("/nonexistent/berth/netns", 80, 1s);
  ASSERT_FALSE(fd);
  EXPECT_TRUE(fd.error().IsNotFound()) << fd.error().Message();
  EXPECT_NE(std::string::npos, fd.error().Message().find("/nonexistent/berth/netns"));
}

}  // namespace
}  // namespace berth::daemon
