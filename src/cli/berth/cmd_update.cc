#include <cstdio>
#include <cstdlib>

#include "cli/berth/commands.h"
#include "cli/berth/flags.h"
#include "runtime/container.h"
#include "spec/parse.h"
#include "sys/fs.h"

namespace berth::cli {

namespace {

// Docker-style sizes: "512", "64k", "100m", "1g" (binary multiples), "-1".
Result<int64_t> ParseBytes(const std::string& flag, const std::string& v) {
  if (v == "-1") return -1;
  char* end = nullptr;
  double n = strtod(v.c_str(), &end);
  if (end == v.c_str() || n < 0) return InvalidArgument(flag, v, "not a valid size");
  int64_t mult = 1;
  std::string unit = end;
  for (auto& c : unit) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  if (unit == "" || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1LL << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1LL << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1LL << 30;
  else return InvalidArgument(flag, v, "unknown size unit");
  return static_cast<int64_t>(n * static_cast<double>(mult));
}

Result<uint64_t> ParseU64(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  unsigned long long n = strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end) return InvalidArgument(flag, v, "not a valid number");
  return n;
}

}  // namespace

int CmdUpdate(const Globals& g, const Args& a) {
  std::string resources, memory, reservation, swap, kmem, kmem_tcp, shares, quota, period,
      rt_runtime, rt_period, cpus, mems, pids, blkio;
  FlagSet f("update");
  f.String("r,resources", &resources, "path to a LinuxResources JSON file, or - for stdin");
  f.String("memory", &memory, "memory limit (e.g. 512m)");
  f.String("memory-reservation", &reservation, "memory soft limit");
  f.String("memory-swap", &swap, "memory plus swap limit");
  f.String("kernel-memory", &kmem, "kernel memory limit (deprecated)");
  f.String("kernel-memory-tcp", &kmem_tcp, "kernel TCP memory limit (deprecated)");
  f.String("cpu-share,cpu-shares", &shares, "CPU shares (relative weight)");
  f.String("cpu-quota", &quota, "CFS quota in microseconds");
  f.String("cpu-period", &period, "CFS period in microseconds");
  f.String("cpu-rt-runtime", &rt_runtime, "realtime runtime in microseconds");
  f.String("cpu-rt-period", &rt_period, "realtime period in microseconds");
  f.String("cpuset-cpus", &cpus, "CPUs allowed (0-3, 0,1)");
  f.String("cpuset-mems", &mems, "memory nodes allowed");
  f.String("pids-limit", &pids, "maximum number of pids");
  f.String("blkio-weight", &blkio, "block IO weight (10-1000)");
  f.Ignored("l3-cache-schema", true, "Intel RDT (not supported)");
  f.Ignored("mem-bw-schema", true, "Intel RDT (not supported)");
  auto pos = ParseWith(f, a, 1, 1, "update [options] <container-id>");
  if (!pos) return ReportError(pos.error().Message());

  spec::LinuxResources res;
  if (!resources.empty()) {
    auto text = resources == "-" ? [] {
      std::string s;
      char buf[4096];
      size_t n;
      while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) s.append(buf, n);
      return Result<std::string>(s);
    }()
                                 : sys::ReadFile(resources);
    if (!text) return ReportError("update: -r: " + text.error().Message());
    auto parsed = spec::ParseResources(*text, resources == "-" ? "stdin" : resources);
    if (!parsed) return ReportError("update: " + parsed.error().Message());
    res = std::move(*parsed);
  }
  auto fail = [](const Error& e) { return ReportError("update: " + e.Message()); };
  auto mem = [&]() -> spec::LinuxMemory& {
    if (!res.memory) res.memory = spec::LinuxMemory{};
    return *res.memory;
  };
  auto cpu = [&]() -> spec::LinuxCpu& {
    if (!res.cpu) res.cpu = spec::LinuxCpu{};
    return *res.cpu;
  };
  struct ByteFlag {
    const char* name;
    std::string* v;
    std::optional<int64_t> spec::LinuxMemory::*field;
  };
  for (auto [name, v, field] : {ByteFlag{"--memory", &memory, &spec::LinuxMemory::limit},
                                ByteFlag{"--memory-reservation", &reservation,
                                         &spec::LinuxMemory::reservation},
                                ByteFlag{"--memory-swap", &swap, &spec::LinuxMemory::swap},
                                ByteFlag{"--kernel-memory", &kmem, &spec::LinuxMemory::kernel},
                                ByteFlag{"--kernel-memory-tcp", &kmem_tcp,
                                         &spec::LinuxMemory::kernel_tcp}}) {
    if (v->empty()) continue;
    auto b = ParseBytes(name, *v);
    if (!b) return fail(b.error());
    mem().*field = *b;
  }
  struct U64Flag {
    const char* name;
    std::string* v;
    std::optional<uint64_t> spec::LinuxCpu::*field;
  };
  for (auto [name, v, field] :
       {U64Flag{"--cpu-shares", &shares, &spec::LinuxCpu::shares},
        U64Flag{"--cpu-period", &period, &spec::LinuxCpu::period},
        U64Flag{"--cpu-rt-period", &rt_period, &spec::LinuxCpu::realtime_period}}) {
    if (v->empty()) continue;
    auto n = ParseU64(name, *v);
    if (!n) return fail(n.error());
    cpu().*field = *n;
  }
  if (!quota.empty()) cpu().quota = strtoll(quota.c_str(), nullptr, 10);
  if (!rt_runtime.empty()) cpu().realtime_runtime = strtoll(rt_runtime.c_str(), nullptr, 10);
  if (!cpus.empty()) cpu().cpus = cpus;
  if (!mems.empty()) cpu().mems = mems;
  if (!pids.empty()) res.pids = spec::LinuxPids{strtoll(pids.c_str(), nullptr, 10)};
  if (!blkio.empty()) {
    auto n = ParseU64("--blkio-weight", blkio);
    if (!n) return fail(n.error());
    if (!res.block_io) res.block_io = spec::LinuxBlockIo{};
    res.block_io->weight = static_cast<uint16_t>(*n);
  }
  auto r = runtime::Update(g.root, (*pos)[0], res);
  if (!r) return ReportError(r.error().Message());
  return 0;
}

}  // namespace berth::cli
