#include "shim/event_loop.h"

#include <time.h>

#include <cerrno>

namespace berth::shim {

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Result<void> EventLoop::Init() {
  epfd_.Reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epfd_) return Errno("epoll_create1");
  return {};
}

Result<uint64_t> EventLoop::Add(int fd, uint32_t events, Handler handler) {
  uint64_t token = next_token_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(epfd_.Get(), EPOLL_CTL_ADD, fd, &ev) < 0)
    return Errno("epoll_ctl add", "fd " + std::to_string(fd));
  watches_.emplace(token, Watch{fd, std::move(handler)});
  return token;
}

Result<void> EventLoop::Modify(uint64_t token, uint32_t events) {
  auto it = watches_.find(token);
  if (it == watches_.end()) return Internal("epoll_ctl mod", "token", "not registered");
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(epfd_.Get(), EPOLL_CTL_MOD, it->second.fd, &ev) < 0)
    return Errno("epoll_ctl mod", "fd " + std::to_string(it->second.fd));
  return {};
}

void EventLoop::Remove(uint64_t token) {
  auto it = watches_.find(token);
  if (it == watches_.end()) return;
  (void)epoll_ctl(epfd_.Get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  watches_.erase(it);
}

uint64_t EventLoop::AddTimer(int64_t at_ms, TimerFn fn) {
  uint64_t token = next_token_++;
  timer_order_.emplace(at_ms, token);
  timers_.emplace(token, std::move(fn));
  return token;
}

void EventLoop::CancelTimer(uint64_t token) { timers_.erase(token); }

Result<int> EventLoop::RunOnce() {
  // Cancelled timers leave their entry in timer_order_; drop those first.
  while (!timer_order_.empty() && !timers_.contains(timer_order_.begin()->second))
    timer_order_.erase(timer_order_.begin());
  int timeout = -1;
  if (!timer_order_.empty()) {
    int64_t left = timer_order_.begin()->first - MonotonicMs();
    timeout = left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
  }
  epoll_event evs[32];
  int n = epoll_wait(epfd_.Get(), evs, 32, timeout);
  if (n < 0) {
    if (errno == EINTR) return 0;
    return Errno("epoll_wait");
  }
  for (int i = 0; i < n; i++) {
    auto it = watches_.find(evs[i].data.u64);
    if (it == watches_.end()) continue;  // removed by an earlier handler of this round
    Handler h = it->second.handler;      // a copy: the handler may Remove itself
    h(evs[i].events);
  }
  const int64_t now = MonotonicMs();
  while (!timer_order_.empty() && timer_order_.begin()->first <= now) {
    uint64_t token = timer_order_.begin()->second;
    timer_order_.erase(timer_order_.begin());
    auto it = timers_.find(token);
    if (it == timers_.end()) continue;
    TimerFn fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
  return n;
}

}  // namespace berth::shim
