// The shim's single-threaded event loop: epoll over fds, plus timers on CLOCK_MONOTONIC.
// Each registration has its own token, so an event that arrives for a registration removed
// earlier in the same round is dropped rather than delivered to whatever reused the fd.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::shim {

int64_t MonotonicMs();

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;
  using TimerFn = std::function<void()>;

  Result<void> Init();

  // Watches fd (owned by the caller, which must Remove before closing it).
  Result<uint64_t> Add(int fd, uint32_t events, Handler handler);
  Result<void> Modify(uint64_t token, uint32_t events);
  void Remove(uint64_t token);  // 0 and unknown tokens are ignored

  // Runs fn once at MonotonicMs() >= at_ms; returns a token for CancelTimer.
  uint64_t AddTimer(int64_t at_ms, TimerFn fn);
  void CancelTimer(uint64_t token);

  // Waits for events (or the next timer) and dispatches them; EINTR returns quietly.
  // Returns how many fd events were handled.
  Result<int> RunOnce();

 private:
  struct Watch {
    int fd;
    Handler handler;
  };
  UniqueFd epfd_;
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, Watch> watches_;
  std::multimap<int64_t, uint64_t> timer_order_;
  std::unordered_map<uint64_t, TimerFn> timers_;
};

}  // namespace berth::shim
