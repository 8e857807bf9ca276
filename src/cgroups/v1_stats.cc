// cgroup v1 statistics.
#include <unistd.h>

#include <cinttypes>
#include <sstream>

#include "cgroups/cgroup_fs.h"
#include "cgroups/stats_util.h"
#include "cgroups/v1.h"
#include "sys/fs.h"

namespace berth::cgroups {

namespace {

// blkio.throttle.io_service_bytes: "8:0 Read 4096" lines and a final "Total N".
Result<std::vector<BlkioEntry>> ReadBlkio(const std::string& path) {
  std::vector<BlkioEntry> out;
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().code == ENOENT) return out;
    return std::unexpected(text.error());
  }
  std::istringstream in(*text);
  std::string dev, op;
  uint64_t value;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    if (!(ls >> dev >> op >> value)) continue;  // "Total N" has two fields
    BlkioEntry e;
    if (std::sscanf(dev.c_str(), "%" SCNu64 ":%" SCNu64, &e.major, &e.minor) != 2) continue;
    e.op = op;
    e.value = value;
    out.push_back(e);
  }
  return out;
}

}  // namespace

Result<Stats> V1Manager::GetStats() {
  Stats s;
  if (std::string d = Dir("memory"); !d.empty()) {
    auto& m = s.memory;
    BERTH_TRYV(stats::ReadOpt(d + "/memory.usage_in_bytes", &m.usage));
    BERTH_TRYV(stats::ReadOpt(d + "/memory.max_usage_in_bytes", &m.max_usage));
    BERTH_TRYV(stats::ReadOpt(d + "/memory.limit_in_bytes", &m.limit));
    // v1 accounts memory+swap together; reported as is, like `runc events`.
    BERTH_TRYV(stats::ReadOpt(d + "/memory.memsw.usage_in_bytes", &m.swap_usage));
    BERTH_TRYV(stats::ReadOpt(d + "/memory.memsw.limit_in_bytes", &m.swap_limit));
    BERTH_TRYV(stats::ReadOpt(d + "/memory.failcnt", &m.failcnt));
    m.raw = BERTH_TRY(stats::ReadKvOpt(d + "/memory.stat"));
    m.cache = stats::Get(m.raw, "cache");
    m.rss = stats::Get(m.raw, "rss");
    auto oom = BERTH_TRY(stats::ReadKvOpt(d + "/memory.oom_control"));
    m.oom_events = stats::Get(oom, "oom_kill");
  }
  if (std::string d = Dir("cpuacct"); !d.empty()) {
    auto& c = s.cpu;
    BERTH_TRYV(stats::ReadOpt(d + "/cpuacct.usage", &c.usage_total_ns));
    if (auto per = sys::ReadFile(d + "/cpuacct.usage_percpu")) {
      std::istringstream in(*per);
      for (uint64_t v; in >> v;) c.percpu_ns.push_back(v);
    }
    if (fs::PathExists(d + "/cpuacct.usage_user")) {
      BERTH_TRYV(stats::ReadOpt(d + "/cpuacct.usage_user", &c.usage_user_ns));
      BERTH_TRYV(stats::ReadOpt(d + "/cpuacct.usage_sys", &c.usage_kernel_ns));
    } else {
      // cpuacct.stat counts USER_HZ ticks.
      auto st = BERTH_TRY(stats::ReadKvOpt(d + "/cpuacct.stat"));
      uint64_t hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
      if (hz == 0) hz = 100;
      c.usage_user_ns = stats::Get(st, "user") * (1000000000ull / hz);
      c.usage_kernel_ns = stats::Get(st, "system") * (1000000000ull / hz);
    }
  }
  if (std::string d = Dir("cpu"); !d.empty()) {
    auto st = BERTH_TRY(stats::ReadKvOpt(d + "/cpu.stat"));
    s.cpu.throttling_periods = stats::Get(st, "nr_periods");
    s.cpu.throttled_periods = stats::Get(st, "nr_throttled");
    s.cpu.throttled_time_ns = stats::Get(st, "throttled_time");
  }
  if (std::string d = Dir("pids"); !d.empty()) {
    BERTH_TRYV(stats::ReadOpt(d + "/pids.current", &s.pids.current));
    BERTH_TRYV(stats::ReadOpt(d + "/pids.max", &s.pids.limit));
    if (s.pids.limit == UINT64_MAX) s.pids.limit = 0;
  }
  if (std::string d = Dir("blkio"); !d.empty()) {
    // The _recursive files include child cgroups (nested containers).
    auto pick = [&](const char* base) {
      std::string r = d + "/" + base + "_recursive";
      return fs::PathExists(r) ? r : d + "/" + base;
    };
    s.io_service_bytes = BERTH_TRY(ReadBlkio(pick("blkio.throttle.io_service_bytes")));
    s.io_serviced = BERTH_TRY(ReadBlkio(pick("blkio.throttle.io_serviced")));
  }
  if (std::string d = Dir("hugetlb"); !d.empty()) {
    for (const auto& size : stats::HugePageSizes()) {
      uint64_t v = 0;
      BERTH_TRYV(stats::ReadOpt(d + "/hugetlb." + size + ".usage_in_bytes", &v));
      s.hugetlb_usage[size] = v;
    }
  }
  return s;
}

}  // namespace berth::cgroups
