#include "cli/berthctl/progress.h"

#include <cinttypes>

namespace berth::cli {

std::string HumanSize(int64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  if (u == 0)
    snprintf(buf, sizeof buf, "%" PRId64 "B", bytes);
  else
    snprintf(buf, sizeof buf, "%.3g%s", v, kUnits[u]);
  return buf;
}

ProgressDisplay::ProgressDisplay(FILE* out, bool terminal, bool quiet)
    : out_(out), terminal_(terminal), quiet_(quiet) {}

std::string ProgressDisplay::Format(const std::string& id, const Line& l) const {
  std::string s = id + ": " + l.status;
  if (l.status == "downloading" && l.total > 0) {
    s += " " + HumanSize(l.current) + "/" + HumanSize(l.total);
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - l.started).count();
    if (secs > 0.2 && l.current > l.start_bytes)
      s += " (" + HumanSize(static_cast<int64_t>((l.current - l.start_bytes) / secs)) + "/s)";
  } else if ((l.status == "done" || l.status == "exists") && l.total > 0) {
    s += " " + HumanSize(l.total);
  }
  return s;
}

void ProgressDisplay::Update(const image::PullProgress& p) {
  if (quiet_) return;
  bool fresh = !lines_.count(p.id);
  Line& l = lines_[p.id];
  if (fresh) order_.push_back(p.id);
  bool changed = fresh || l.status != p.status;
  if (changed && p.status == "downloading") {
    l.started = std::chrono::steady_clock::now();
    l.start_bytes = p.current;
  }
  l.status = p.status;
  l.current = p.current;
  l.total = p.total;
  if (!terminal_) {
    // Plain output: status changes only, never byte counters.
    if (changed) fprintf(out_, "%s\n", Format(p.id, l).c_str());
    return;
  }
  Redraw(changed);
}

void ProgressDisplay::Redraw(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  std::string buf;
  if (drawn_ > 0) buf += "\x1b[" + std::to_string(drawn_) + "A";  // back to the first line
  for (auto& id : order_) buf += "\r\x1b[2K" + Format(id, lines_[id]) + "\n";
  drawn_ = static_cast<int>(order_.size());
  fputs(buf.c_str(), out_);
  fflush(out_);
}

void ProgressDisplay::Finish() {
  if (!quiet_ && terminal_) Redraw(true);
}

}  // namespace berth::cli
