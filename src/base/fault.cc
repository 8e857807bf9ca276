#include "base/fault.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace berth::fault {

namespace internal {
void NameNotInCatalogue() {}
}  // namespace internal

namespace {

struct State {
  std::atomic<bool> armed{false};
  std::array<std::atomic<int>, kPoints> nth{};
  std::array<std::atomic<int>, kPoints> reached{};
  std::string stamp;
  std::string error;
};

State& Global() {
  static State s;
  return s;
}

void Load(State& s) {
  Plan plan;
  s.error.clear();
  const char* spec = std::getenv("BERTH_FAULT");
  if (spec && *spec && !ParsePlan(spec, plan, s.error)) plan = Plan{};
  const char* stamp = std::getenv("BERTH_FAULT_STAMP");
  s.stamp = stamp ? stamp : "";
  bool any = false;
  for (size_t i = 0; i < kPoints; ++i) {
    s.nth[i].store(plan.nth[i], std::memory_order_relaxed);
    s.reached[i].store(0, std::memory_order_relaxed);
    any = any || plan.nth[i] > 0;
  }
  s.armed.store(any, std::memory_order_release);
}

std::once_flag loaded;
State& Loaded() {
  std::call_once(loaded, [] { Load(Global()); });
  return Global();
}

// Counts this reach; true when it is the armed one.
bool Count(State& s, size_t i) {
  if (!s.armed.load(std::memory_order_acquire)) return false;
  int want = s.nth[i].load(std::memory_order_relaxed);
  if (want <= 0) return false;
  return s.reached[i].fetch_add(1, std::memory_order_relaxed) + 1 == want;
}

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

bool ParsePlan(std::string_view spec, Plan& plan, std::string& error) {
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view entry = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    if (entry.empty()) continue;
    std::string_view name = entry;
    int nth = 1;
    if (size_t at = entry.find('@'); at != std::string_view::npos) {
      name = entry.substr(0, at);
      std::string_view num = entry.substr(at + 1);
      nth = 0;
      for (char c : num) {
        if (c < '0' || c > '9' || nth > 1000000) {
          nth = -1;
          break;
        }
        nth = nth * 10 + (c - '0');
      }
      if (num.empty() || nth <= 0) {
        error = "BERTH_FAULT: \"" + std::string(entry) + "\": the count after @ must be a number from 1";
        return false;
      }
    }
    size_t i = 0;
    while (i < kPoints && kCatalogue[i].name != name) ++i;
    if (i == kPoints) {
      error = "BERTH_FAULT: \"" + std::string(name) +
              "\" is not a fault point (berthd --list-fault-points lists them)";
      return false;
    }
    plan.nth[i] = nth;
  }
  return true;
}

std::string EnvironmentError() { return Loaded().error; }

void ReloadForTest() {
  Loaded();
  Load(Global());
}

bool ShouldFireForTest(Point p) { return Count(Loaded(), p.index()); }

void Reach(Point p) {
  State& s = Loaded();
  if (!Count(s, p.index())) return;
  std::string_view name = p.info().name;
  if (!s.stamp.empty()) {
    // Another process (or thread) fired already this round: this one lives.
    int fd = ::open(s.stamp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return;
    WriteAll(fd, std::string(name) + "\n");
    ::close(fd);
  }
  WriteAll(2, "berth fault point " + std::string(name) + " reached (time " +
                  std::to_string(s.reached[p.index()].load()) + "): SIGKILL\n");
  ::kill(::getpid(), SIGKILL);
  ::pause();  // SIGKILL cannot be caught: never returns
}

}  // namespace berth::fault
