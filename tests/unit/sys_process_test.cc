// sys/process.h: the forking helpers refuse in a threaded process (a fork child would
// inherit locks held by threads that do not exist in it).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "sys/process.h"

namespace berth::sys {
namespace {

// A second thread that waits until the object is destroyed.
class WaitingThread {
 public:
  WaitingThread() : t_([this] {
      std::unique_lock l(m_);
      cv_.wait(l, [this] { return stop_; });
    }) {}
  ~WaitingThread() {
    {
      std::lock_guard l(m_);
      stop_ = true;
    }
    cv_.notify_one();
    t_.join();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread t_;
};

// The kernel drops an exited thread from the count a moment after join() returns.
bool WaitForThreads(int n) {
  for (int i = 0; i < 1000; ++i) {
    auto c = ThreadCount();
    if (c && *c == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// Forks with `fork_fn`; the child exits at once. Returns the child's exit code or -1.
template <class F>
int ForkAndReap(F fork_fn) {
  auto pid = fork_fn();
  if (!pid) return -1;
  if (*pid == 0) _exit(7);
  int status = 0;
  if (::waitpid(*pid, &status, 0) != *pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(SysProcess, ThreadCountSeesASecondThread) {
  ASSERT_TRUE(WaitForThreads(1)) << "another test left a thread running";
  {
    WaitingThread t;
    auto n = ThreadCount();
    ASSERT_TRUE(n) << n.error().Message();
    EXPECT_EQ(*n, 2);
  }
  EXPECT_TRUE(WaitForThreads(1));
}

TEST(SysProcess, ForkHelpersWorkSingleThreaded) {
  ASSERT_TRUE(WaitForThreads(1)) << "another test left a thread running";
  EXPECT_EQ(ForkAndReap([] { return Fork(); }), 7);
  EXPECT_EQ(ForkAndReap([] { return ForkWithFlags(0); }), 7);
}

#ifdef NDEBUG
TEST(SysProcess, ForkHelpersRefuseWithThreads) {
  ASSERT_TRUE(WaitForThreads(1)) << "another test left a thread running";
  WaitingThread t;
  for (int which = 0; which < 2; ++which) {
    auto pid = which == 0 ? Fork() : ForkWithFlags(0);
    if (pid && *pid == 0) _exit(0);  // the refusal failed: do not run gtest twice
    ASSERT_FALSE(pid) << "forked a process with 2 threads";
    EXPECT_TRUE(pid.error().IsFailedPrecondition());
    EXPECT_EQ(pid.error().Message(),
              "fork: refused: the process has 2 threads; a threaded process must posix_spawn");
  }
}
#else
TEST(SysProcessDeathTest, ForkHelpersAbortWithThreads) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ASSERT_TRUE(WaitForThreads(1)) << "another test left a thread running";
  // The threadsafe style re-runs this test alone in a fresh process, where the thread
  // is created before the statement.
  EXPECT_DEATH(
      {
        WaitingThread t;
        (void)Fork();
      },
      "fork: refused: the process has 2 threads");
  EXPECT_DEATH(
      {
        WaitingThread t;
        (void)ForkWithFlags(0);
      },
      "refused");
}
#endif

}  // namespace
}  // namespace berth::sys
