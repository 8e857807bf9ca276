// posix_spawn helpers: stdio wiring, capture that does not wait for a grandchild holding
// the pipes, timeouts, signal state reset in the child, and spawning from several threads.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "oci/spawn.h"

namespace berth::oci {
namespace {

using namespace std::chrono_literals;

Result<Captured> Sh(const std::string& script, CaptureOptions o = {}) {
  o.capture_out = true;
  return SpawnAndCapture("/bin/sh", {"sh", "-c", script}, o);
}

TEST(OciSpawn, CapturesStdoutStderrAndStatus) {
  auto c = Sh("echo out; echo err >&2; exit 7");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ("out\n", c->out);
  EXPECT_EQ("err\n", c->err);
  ASSERT_TRUE(WIFEXITED(c->wait_status));
  EXPECT_EQ(7, WEXITSTATUS(c->wait_status));
}

TEST(OciSpawn, StdinIsDevNullAndUncapturedStreamsToo) {
  auto c = Sh("cat; readlink /proc/self/fd/0");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ("/dev/null\n", c->out);
  CaptureOptions o;
  o.capture_err = false;
  auto n = SpawnAndCapture("/bin/sh", {"sh", "-c", "readlink /proc/self/fd/2 >&2"}, o);
  ASSERT_TRUE(n);
  EXPECT_EQ("", n->err);
}

TEST(OciSpawn, ReturnsWhenTheChildExitsThoughAGrandchildHoldsThePipes) {
  auto start = std::chrono::steady_clock::now();
  auto c = Sh("echo before; sleep 5 & exit 0");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ("before\n", c->out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(OciSpawn, TimeoutKillsAndIsDeadlineExceeded) {
  CaptureOptions o;
  o.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto c = Sh("exec sleep 10", o);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().IsDeadlineExceeded()) << c.error().Message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // A chatty child is stopped too: the deadline is checked between reads.
  auto chatty = Sh("while :; do echo x; done", o);
  ASSERT_FALSE(chatty);
  EXPECT_TRUE(chatty.error().IsDeadlineExceeded());
}

TEST(OciSpawn, MissingBinaryFailsWithItsErrno) {
  auto p = Spawn("/nonexistent/berth-oci-test", {"x"}, {});
  ASSERT_FALSE(p);
  EXPECT_EQ(ENOENT, p.error().code);
  EXPECT_NE(std::string::npos, p.error().Message().find("/nonexistent/berth-oci-test"));
}

TEST(OciSpawn, ChildGetsDefaultSignalsAndAnEmptyMask) {
  // The parent ignores SIGINT and blocks SIGTERM, as a daemon or berthctl run may.
  struct sigaction ign{}, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, &old);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  auto c = Sh("grep -E '^Sig(Blk|Ign):' /proc/self/status");
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGINT, &old, nullptr);
  ASSERT_TRUE(c) << c.error().Message();
  // sh itself ignores nothing it was not told to; SIGINT (bit 2) must not be inherited.
  EXPECT_NE(std::string::npos, c->out.find("SigBlk:\t0000000000000000")) << c->out;
  auto ign_line = c->out.substr(c->out.find("SigIgn:"));
  unsigned long long ign_mask = std::stoull(ign_line.substr(8, 16), nullptr, 16);
  EXPECT_EQ(0u, ign_mask & (1ull << (SIGINT - 1))) << c->out;
}

TEST(OciSpawn, StdioFdsArePassedOnEvenWhenSwapped) {
  int p[2];
  ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
  // stdout and stderr both to the pipe; the caller keeps its fd.
  auto proc = Spawn("/bin/sh", {"sh", "-c", "echo a; echo b >&2"}, {-1, p[1], p[1]});
  ASSERT_TRUE(proc) << proc.error().Message();
  auto st = proc->Wait();
  ASSERT_TRUE(st);
  EXPECT_EQ(0, *st);
  EXPECT_GE(fcntl(p[1], F_GETFD), 0) << "the caller's fd stays open";
  close(p[1]);
  char buf[16] = {};
  ASSERT_EQ(4, read(p[0], buf, sizeof buf));
  EXPECT_EQ("a\nb\n", std::string(buf));
  close(p[0]);
}

TEST(OciSpawn, WaitForTimesOutAndDestructorReaps) {
  auto proc = Spawn("/bin/sleep", {"sleep", "10"}, {});
  ASSERT_TRUE(proc);
  pid_t pid = proc->Pid();
  auto st = proc->WaitFor(100ms);
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().IsDeadlineExceeded());
  EXPECT_EQ(-1, waitpid(pid, nullptr, WNOHANG)) << "already reaped";
  {
    auto other = Spawn("/bin/sleep", {"sleep", "10"}, {});
    ASSERT_TRUE(other);
    pid = other->Pid();
  }
  EXPECT_EQ(-1, waitpid(pid, nullptr, WNOHANG));
  EXPECT_EQ(ECHILD, errno);
}

TEST(OciSpawn, ManyThreadsSpawnAtOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; i++) {
        auto c = Sh("echo " + std::to_string(t * 100 + i));
        if (c && c->out == std::to_string(t * 100 + i) + "\n" && c->wait_status == 0) ok++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(80, ok.load());
}

}  // namespace
}  // namespace berth::oci
