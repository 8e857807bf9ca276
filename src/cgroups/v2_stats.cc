// cgroup v2 statistics, mapped onto the v1-shaped Stats the runtime reports.
#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "cgroups/cgroup_fs.h"
#include "cgroups/stats_util.h"
#include "cgroups/v2.h"
#include "sys/fs.h"

namespace berth::cgroups {

Result<void> V2Manager::ReadHugetlbStats(Stats* s) {
  for (const auto& size : stats::HugePageSizes()) {
    std::string f = dir_ + "/hugetlb." + size + ".current";
    if (!fs::PathExists(f)) continue;  // controller not enabled here
    uint64_t v = 0;
    BERTH_TRYV(stats::ReadOpt(f, &v));
    s->hugetlb_usage[size] = v;
  }
  return {};
}

Result<Stats> V2Manager::GetStats() {
  Stats s;
  auto& m = s.memory;
  BERTH_TRYV(stats::ReadOpt(dir_ + "/memory.current", &m.usage));
  BERTH_TRYV(stats::ReadOpt(dir_ + "/memory.peak", &m.max_usage));  // kernel 5.19+
  BERTH_TRYV(stats::ReadOpt(dir_ + "/memory.max", &m.limit));
  BERTH_TRYV(stats::ReadOpt(dir_ + "/memory.swap.current", &m.swap_usage));
  BERTH_TRYV(stats::ReadOpt(dir_ + "/memory.swap.max", &m.swap_limit));
  m.raw = BERTH_TRY(stats::ReadKvOpt(dir_ + "/memory.stat"));
  m.cache = stats::Get(m.raw, "file");
  m.rss = stats::Get(m.raw, "anon");
  auto events = BERTH_TRY(stats::ReadKvOpt(dir_ + "/memory.events"));
  m.failcnt = stats::Get(events, "max");  // times usage hit memory.max
  m.oom_events = stats::Get(events, "oom_kill");

  // cpu.stat's usage lines exist without the cpu controller; throttling needs it.
  auto cpu = BERTH_TRY(stats::ReadKvOpt(dir_ + "/cpu.stat"));
  s.cpu.usage_total_ns = stats::Get(cpu, "usage_usec") * 1000;
  s.cpu.usage_user_ns = stats::Get(cpu, "user_usec") * 1000;
  s.cpu.usage_kernel_ns = stats::Get(cpu, "system_usec") * 1000;
  s.cpu.throttling_periods = stats::Get(cpu, "nr_periods");
  s.cpu.throttled_periods = stats::Get(cpu, "nr_throttled");
  s.cpu.throttled_time_ns = stats::Get(cpu, "throttled_usec") * 1000;

  BERTH_TRYV(stats::ReadOpt(dir_ + "/pids.current", &s.pids.current));
  BERTH_TRYV(stats::ReadOpt(dir_ + "/pids.max", &s.pids.limit));
  if (s.pids.limit == UINT64_MAX) s.pids.limit = 0;

  // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0"; mapped to v1's
  // Read/Write entries so consumers see one shape.
  if (auto io = sys::ReadFile(dir_ + "/io.stat")) {
    std::istringstream in(*io);
    for (std::string line; std::getline(in, line);) {
      std::istringstream ls(line);
      std::string dev;
      ls >> dev;
      BlkioEntry base;
      if (std::sscanf(dev.c_str(), "%" SCNu64 ":%" SCNu64, &base.major, &base.minor) != 2) continue;
      for (std::string kv; ls >> kv;) {
        size_t eq = kv.find('=');
        if (eq == std::string::npos) continue;
        std::string key = kv.substr(0, eq);
        auto v = fs::ParseUint(kv.substr(eq + 1), dir_ + "/io.stat");
        if (!v) continue;
        BlkioEntry e = base;
        e.value = *v;
        if (key == "rbytes" || key == "wbytes") {
          e.op = key == "rbytes" ? "Read" : "Write";
          s.io_service_bytes.push_back(e);
        } else if (key == "rios" || key == "wios") {
          e.op = key == "rios" ? "Read" : "Write";
          s.io_serviced.push_back(e);
        }
      }
    }
  } else if (io.error().code != ENOENT) {
    return std::unexpected(io.error());
  }
  BERTH_TRYV(ReadHugetlbStats(&s));
  return s;
}

}  // namespace berth::cgroups
