// Reading CRI log files (the format of crilog/log_format.h) back into a container's output:
// what `logs` (cmd_cri_logs.cc) and `run` through berthd (cmd_docker_run.cc) print.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "crilog/log_format.h"

namespace berth::cli {

// "2016-10-06T00:17:09.669794202Z" or with an offset ("+02:00") → ns since the epoch.
std::optional<int64_t> ParseRfc3339(std::string_view s);

// Turns the bytes of a CRI log file into the container's output. Before Live() the lines are
// held (for --tail); after it each record is written as it comes.
class LogPrinter {
 public:
  LogPrinter(int64_t tail, bool timestamps, int64_t since_ns)
      : tail_(tail), timestamps_(timestamps), since_ns_(since_ns) {}

  void Feed(std::string_view data);

  // Prints what is held (the last --tail lines) and writes from now on as it comes.
  void Live() {
    for (auto& l : held_) Write(l.err, l.text);
    held_.clear();
    live_ = true;
  }

  // The end of the file: an unterminated last line counts (the container is still writing it).
  void End(const std::string& id, const std::string& path) {
    if (!buf_.empty()) {
      std::string rest = std::move(buf_);
      buf_.clear();
      Record(rest);
    }
    if (!live_) {
      if (in_line_) held_.push_back({pending_err_, pending_});
      Trim();
      Live();
    }
    if (bad_ > 0)
      fprintf(stderr, "berthctl: logs %s: %s: skipped %zu lines that are not CRI log records\n",
              id.c_str(), path.c_str(), bad_);
  }

 private:
  struct Line {
    bool err;
    std::string text;
  };

  void Record(std::string_view raw) {
    auto r = crilog::ParseLogLine(raw);
    if (!r) {
      bad_++;
      return;
    }
    if (since_ns_ > 0 && !in_line_) {
      auto t = ParseRfc3339(r->timestamp);
      skipping_ = t && *t < since_ns_;
    }
    if (skipping_) {
      in_line_ = r->partial;
      return;
    }
    std::string piece;
    if (!in_line_ && timestamps_) piece = std::string(r->timestamp) + " ";
    piece += r->content;
    if (!r->partial) piece += "\n";
    in_line_ = r->partial;
    if (live_) {
      Write(r->stderr_stream, piece);
      return;
    }
    pending_ += piece;
    pending_err_ = r->stderr_stream;
    if (in_line_) return;
    held_.push_back({pending_err_, std::move(pending_)});
    pending_.clear();
    Trim();
  }

  void Trim() {
    if (tail_ >= 0)
      while (held_.size() > static_cast<size_t>(tail_)) held_.pop_front();
  }

  static void Write(bool err, const std::string& text) {
    FILE* out = err ? stderr : stdout;
    fwrite(text.data(), 1, text.size(), out);
    fflush(out);
  }

  int64_t tail_;
  bool timestamps_;
  int64_t since_ns_;
  bool live_ = false, in_line_ = false, pending_err_ = false, skipping_ = false;
  std::string buf_, pending_;
  std::deque<Line> held_;
  size_t bad_ = 0;
};

// Reads fd to its end into p; true when anything was read.
bool Drain(int fd, LogPrinter& p);

// The log path names another file than fd (kubelet renamed it and the runtime reopened it).
bool Replaced(const std::string& path, int fd);

}  // namespace berth::cli

