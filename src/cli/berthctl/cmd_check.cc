// berthctl check [--repair] [--quick] [-o json]: the store check (image/check.h). Exit
// status 0 when the store is clean (after --repair: when everything found was repaired),
// 1 when something is wrong, 2 when the store could not be checked.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "cli/berthctl/commands.h"
#include "cli/berthctl/progress.h"
#include "image/check.h"

namespace berth::cli {

int CmdCheck(const Globals& g, const CheckArgs& a) {
  if (!a.output.empty() && a.output != "json" && a.output != "text") {
    fprintf(stderr, "berthctl: check: -o %s: expected json or text\n", a.output.c_str());
    return 2;
  }
  auto store = OpenStore(g);
  if (!store) {
    Fail(store.error());
    return 2;
  }
  image::CheckOptions opts;
  opts.repair = a.repair;
  opts.verify_blobs = !a.quick;
  // Hashing a big store takes a while: a live line at a terminal only.
  bool live = isatty(STDERR_FILENO);
  auto last = std::chrono::steady_clock::time_point{};
  if (live) {
    opts.progress = [&](int64_t done, int64_t total) {
      auto now = std::chrono::steady_clock::now();
      if (done < total && now - last < std::chrono::milliseconds(200)) return;
      last = now;
      fprintf(stderr, "\r\033[Khashing blobs: %s of %s", HumanSize(done).c_str(), HumanSize(total).c_str());
      fflush(stderr);
    };
  }
  auto report = image::CheckStore(*store, opts);
  if (live && last != std::chrono::steady_clock::time_point{}) fprintf(stderr, "\r\033[K");
  if (!report) {
    Fail(report.error());
    return 2;
  }
  if (a.output == "json") {
    fputs(image::CheckReportJson(*report).c_str(), stdout);
  } else {
    for (const auto& f : report->findings) printf("%s\n", image::FindingText(f).c_str());
    printf("%s\n", image::CheckSummary(*report).c_str());
  }
  return report->Clean() ? 0 : 1;
}

}  // namespace berth::cli
