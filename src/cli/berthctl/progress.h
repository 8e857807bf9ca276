// Pull progress as docker and podman show it: in a terminal one live line per layer
// (status, bytes, speed), redrawn in place; otherwise one plain line per status change.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "image/pull.h"

namespace berth::cli {

class ProgressDisplay {
 public:
  ProgressDisplay(FILE* out, bool terminal, bool quiet);
  void Update(const image::PullProgress& p);
  // Final redraw (terminal) so the last state stays on screen.
  void Finish();

 private:
  struct Line {
    std::string status;
    int64_t current = 0, total = 0;
    std::chrono::steady_clock::time_point started;
    int64_t start_bytes = 0;
  };
  void Redraw(bool force);
  std::string Format(const std::string& id, const Line& l) const;

  FILE* out_;
  bool terminal_, quiet_;
  std::vector<std::string> order_;
  std::map<std::string, Line> lines_;
  int drawn_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string HumanSize(int64_t bytes);

}  // namespace berth::cli
