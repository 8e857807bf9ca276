// berth-cri-bench: times CRI v1 calls from one long-lived client (no per-call start-up cost),
// against any CRI endpoint (berthd, containerd's CRI plugin). Used by bench/cri.sh.
//
//   berth-cri-bench --endpoint E --image IMG [options] lifecycle
//       WARMUP + PODS pod lifecycles in a row (RunPodSandbox → CreateContainer →
//       StartContainer → StopContainer → RemoveContainer → StopPodSandbox →
//       RemovePodSandbox), each call timed; then one running pod: EXECS × ExecSync
//       /bin/true, then ListContainers, ContainerStatus, ListPodSandbox, PodSandboxStatus
//       EXECS times each. Prints one JSON object: every sample in µs (for the caller's
//       medians across rounds) and this run's medians in ms.
//   berth-cri-bench ... probes      PODS pods with a container each, then an ExecSync probe
//       (PROBE_CMD, timeout --probe-timeout s, as kubelet's exec probes) to each container
//       once a second for --probe-seconds, from one thread per pod (offsets spread over the
//       second, missed ticks dropped, as kubelet's probe workers do); CPU of the cgroups
//       given with --cpu-cgroup (and of --cpu-pid/--cpu-match) over that window. Prints one
//       JSON object (probes, failures, latency percentiles, CPU seconds); pods left running.
//   berth-cri-bench ... hold N      N pods, each with one running container (unless
//                                   --no-container); prints the pod ids, leaves them running
//   berth-cri-bench ... remove-all  stops and removes every pod the endpoint lists (with
//                                   --only-prefix: only the pods of --prefix)
//   berth-cri-bench ... pull IMG    PullImage (ImageService)
//   berth-cri-bench ... count       prints "PODS READY_PODS CONTAINERS RUNNING_CONTAINERS"
//   berth-cri-bench ... churn       WARMUP + ROUNDS pod lifecycles as kubelet runs them, each
//       with its container writing a log line (checked in the log file) and one ExecSync
//       (its output checked): RunPodSandbox, CreateContainer, StartContainer, ExecSync,
//       StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox. With --sample-pid,
//       that process's fds, threads and RSS after the warm-up and at the end. Prints one
//       JSON object (per-round ms, medians, the samples); any failed call ends it (exit 1).
//   berth-cri-bench ... load        --clients N threads for --duration S seconds, each with a
//       connection of its own, issuing ListPodSandbox, ListContainers, ContainerStatus,
//       ListContainerStats and ExecSync at random, against --steady-pods pods that keep
//       running and --churners threads that start and remove pods meanwhile. Expected
//       answers: NOT_FOUND (ContainerStatus, ExecSync of a container removed meanwhile) and
//       FAILED_PRECONDITION or a non-zero exit (ExecSync of a churned container being
//       stopped); anything else is unexpected. Prints JSON: per call n, p50/p99 ms, codes;
//       exit 3 when any answer was unexpected.
//   berth-cri-bench ... wait-ready SINCE_US
//                                   calls Version until it answers (10 s at most); prints
//                                   the ms from SINCE_US (CLOCK_REALTIME, µs) to the answer
//
// Options: --pods 30 --warmup 3 --execs 100 --prefix NAME (pod names NAME-<i>)
//   --rounds 200 (churn) --sample-pid PID (churn) --clients 50 --duration 60
//   --steady-pods 4 --churners 2 (load)
//   --cgroup-parent /CG --log-dir DIR --network NODE|POD --handler H --stop-timeout S
//   --cpu-pid PID --cpu-match STR: CPU (user+sys, with reaped children) of PID and of every
//   process whose command line holds STR (its shims), sampled around the ExecSync loop.
//   --cpu-cgroup DIR (repeatable): a cgroup directory whose CPU usage (v1 cpuacct.usage, v2
//   cpu.stat usage_usec; both count descendants) is sampled around the probe window.
//   --probe-seconds 60 --probe-timeout 1 --probe-cmd "/bin/true" (split on spaces)
// Errors go to stderr as "berth-cri-bench: <call>: <message>", exit status 1.
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cri/client.h"

using namespace berth;
namespace v1 = ::runtime::v1;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

namespace {

struct Options {
  std::string endpoint, image, prefix = "crib", cgroup_parent, log_dir = "/tmp",
                                network = "NODE", handler, cpu_match;
  int pods = 30, warmup = 3, execs = 100, hold = 0, stop_timeout = 10;
  int rounds = 200, clients = 50, duration_s = 60, steady_pods = 4, churners = 2;
  int probe_seconds = 60, probe_timeout = 1;
  std::vector<std::string> probe_cmd = {"/bin/true"}, cpu_cgroups;
  pid_t cpu_pid = 0, sample_pid = 0;
  bool container = true, only_prefix = false;
  // The pods share one PID namespace (NamespaceMode POD, kubelet's default), so sleep is
  // not its pid 1 and dies of SIGTERM.
  std::vector<std::string> cmd = {"sleep", "3600"};
};

[[noreturn]] void Die(const std::string& what, const Error& e) {
  fprintf(stderr, "berth-cri-bench: %s: %s: %s\n", what.c_str(), KindName(e.Kind()),
          e.Message().c_str());
  exit(1);
}

template <class T>
T Must(const std::string& what, Result<T> r) {
  if (!r) Die(what, r.error());
  return std::move(*r);
}

// Times fn() in µs into samples[name].
std::map<std::string, std::vector<int64_t>> samples;
template <class F>
auto Timed(const std::string& name, F&& fn) {
  auto t0 = Clock::now();
  auto r = fn();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  if (!r) Die(name, r.error());
  samples[name].push_back(us);
  return std::move(*r);
}

double MedianMs(std::vector<int64_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  return m / 1000.0;
}

v1::PodSandboxConfig PodConfig(const Options& o, const std::string& name) {
  v1::PodSandboxConfig c;
  auto* md = c.mutable_metadata();
  md->set_name(name);
  md->set_namespace_("bench");
  md->set_uid("uid-" + name + "-" + std::to_string(getpid()));
  md->set_attempt(0);
  // runc refuses a hostname without a UTS namespace of the pod's (host network shares the
  // host's), as kubelet knows: it sets none for hostNetwork pods.
  if (o.network == "POD") c.set_hostname(name);
  c.set_log_directory(o.log_dir + "/" + name);
  (*c.mutable_labels())["bench"] = o.prefix;
  auto* lx = c.mutable_linux();
  if (!o.cgroup_parent.empty()) lx->set_cgroup_parent(o.cgroup_parent);
  auto* nso = lx->mutable_security_context()->mutable_namespace_options();
  nso->set_network(o.network == "POD" ? v1::POD : v1::NODE);
  return c;
}

v1::ContainerConfig CtrConfig(const Options& o) {
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name("c");
  c.mutable_image()->set_image(o.image);
  for (const auto& a : o.cmd) c.add_command(a);
  c.set_log_path("c.log");
  return c;
}

// Pod (+ container) up; returns {pod id, container id}; timed: each call into samples.
std::pair<std::string, std::string> Up(cri::Client& cl, const Options& o, const std::string& name,
                                       bool timed, bool container) {
  auto pc = PodConfig(o, name);
  mkdir((o.log_dir + "/" + name).c_str(), 0755);
  v1::RunPodSandboxRequest rp;
  *rp.mutable_config() = pc;
  rp.set_runtime_handler(o.handler);
  auto call = [&](const std::string& n, auto&& fn) {
    if (timed) return Timed(n, fn);
    return Must(n, fn());
  };
  std::string pod = call("RunPodSandbox", [&] { return cl.RunPodSandbox(rp); }).pod_sandbox_id();
  if (!container) return {pod, ""};
  v1::CreateContainerRequest cc;
  cc.set_pod_sandbox_id(pod);
  *cc.mutable_config() = CtrConfig(o);
  *cc.mutable_sandbox_config() = pc;
  std::string ctr =
      call("CreateContainer", [&] { return cl.CreateContainer(cc); }).container_id();
  v1::StartContainerRequest sc;
  sc.set_container_id(ctr);
  call("StartContainer", [&] { return cl.StartContainer(sc); });
  return {pod, ctr};
}

void Down(cri::Client& cl, const Options& o, const std::string& pod, const std::string& ctr,
          bool timed) {
  auto call = [&](const std::string& n, auto&& fn) {
    if (timed) return Timed(n, fn);
    return Must(n, fn());
  };
  if (!ctr.empty()) {
    v1::StopContainerRequest s;
    s.set_container_id(ctr);
    s.set_timeout(o.stop_timeout);
    call("StopContainer", [&] { return cl.StopContainer(s); });
    v1::RemoveContainerRequest r;
    r.set_container_id(ctr);
    call("RemoveContainer", [&] { return cl.RemoveContainer(r); });
  }
  v1::StopPodSandboxRequest sp;
  sp.set_pod_sandbox_id(pod);
  call("StopPodSandbox", [&] { return cl.StopPodSandbox(sp); });
  v1::RemovePodSandboxRequest rp;
  rp.set_pod_sandbox_id(pod);
  call("RemovePodSandbox", [&] { return cl.RemovePodSandbox(rp); });
}

// CPU ticks (utime+stime+cutime+cstime) of the daemon and its shims.
int64_t CpuTicks(const Options& o) {
  if (o.cpu_pid == 0) return 0;
  int64_t total = 0;
  DIR* d = opendir("/proc");
  if (!d) return 0;
  while (auto* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string dir = std::string("/proc/") + e->d_name;
    bool ours = atoi(e->d_name) == o.cpu_pid;
    if (!ours && !o.cpu_match.empty()) {
      std::ifstream f(dir + "/cmdline");
      std::string cmd((std::istreambuf_iterator<char>(f)), {});
      std::replace(cmd.begin(), cmd.end(), '\0', ' ');
      ours = cmd.find(o.cpu_match) != std::string::npos;
    }
    if (!ours) continue;
    std::ifstream f(dir + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), {});
    size_t p = stat.rfind(')');
    if (p == std::string::npos) continue;
    std::istringstream in(stat.substr(p + 2));
    std::string field;
    // Fields after comm: state(3) … utime(14) stime(15) cutime(16) cstime(17).
    for (int i = 3; i <= 17 && in >> field; i++)
      if (i >= 14) total += atoll(field.c_str());
  }
  closedir(d);
  return total;
}

int Lifecycle(cri::Client& cl, const Options& o) {
  Json out;
  auto ver = Must("Version", cl.Version(v1::VersionRequest{}));
  out["runtime"] = ver.runtime_name() + " " + ver.runtime_version();
  out["endpoint"] = o.endpoint;
  std::vector<int64_t> totals;
  for (int i = 0; i < o.warmup + o.pods; i++) {
    bool timed = i >= o.warmup;
    auto t0 = Clock::now();
    auto [pod, ctr] = Up(cl, o, o.prefix + "-" + std::to_string(i), timed, true);
    Down(cl, o, pod, ctr, timed);
    if (timed) {
      totals.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
    }
  }
  samples["pod_total"] = totals;

  // One running pod for the per-container calls.
  auto [pod, ctr] = Up(cl, o, o.prefix + "-exec", false, true);
  v1::ExecSyncRequest ex;
  ex.set_container_id(ctr);
  ex.add_cmd("/bin/true");
  ex.set_timeout(10);
  for (int i = 0; i < 3; i++) Must("ExecSync", cl.ExecSync(ex));  // warm-up
  int64_t c0 = CpuTicks(o);
  for (int i = 0; i < o.execs; i++) {
    auto r = Timed("ExecSync", [&] { return cl.ExecSync(ex); });
    if (r.exit_code() != 0) {
      fprintf(stderr, "berth-cri-bench: ExecSync /bin/true: exit code %d: %s\n", r.exit_code(),
              r.stderr().c_str());
      return 1;
    }
  }
  int64_t c1 = CpuTicks(o);
  if (o.cpu_pid != 0 && o.execs > 0)
    out["exec_server_cpu_ms"] = (c1 - c0) * 1000.0 / sysconf(_SC_CLK_TCK) / o.execs;
  v1::ListContainersRequest lc;
  v1::ContainerStatusRequest cs;
  cs.set_container_id(ctr);
  v1::ListPodSandboxRequest lp;
  v1::PodSandboxStatusRequest ps;
  ps.set_pod_sandbox_id(pod);
  for (int i = 0; i < o.execs; i++) {
    Timed("ListContainers", [&] { return cl.ListContainers(lc); });
    Timed("ContainerStatus", [&] { return cl.ContainerStatus(cs); });
    Timed("ListPodSandbox", [&] { return cl.ListPodSandbox(lp); });
    Timed("PodSandboxStatus", [&] { return cl.PodSandboxStatus(ps); });
  }
  Down(cl, o, pod, ctr, false);

  Json med, raw;
  for (auto& [k, v] : samples) {
    med[k] = MedianMs(v);
    raw[k] = v;
  }
  out["median_ms"] = med;
  out["samples_us"] = raw;
  printf("%s\n", out.dump().c_str());
  return 0;
}

// fds, threads and RSS (KiB) of a process, from /proc (-1: not readable).
struct ProcSample {
  int fds = -1, threads = -1;
  long rss_kb = -1;
};
ProcSample SampleProc(pid_t pid) {
  ProcSample s;
  if (pid == 0) return s;
  std::string dir = "/proc/" + std::to_string(pid);
  if (DIR* d = opendir((dir + "/fd").c_str())) {
    s.fds = 0;
    while (auto* e = readdir(d)) s.fds += e->d_name[0] != '.';
    closedir(d);
  }
  std::ifstream f(dir + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.starts_with("Threads:")) s.threads = atoi(line.c_str() + 8);
    if (line.starts_with("VmRSS:")) s.rss_kb = atol(line.c_str() + 6);
  }
  return s;
}
Json ToJson(const ProcSample& s) {
  return Json{{"fds", s.fds}, {"threads", s.threads}, {"rss_kb", s.rss_kb}};
}

// Waits up to 10 s for LINE in the container's log file (the CRI format: "TS stream F LINE").
bool LogHasLine(const std::string& path, const std::string& line) {
  for (int i = 0; i < 1000; i++) {
    std::ifstream f(path);
    std::string l;
    while (std::getline(f, l))
      if (l.ends_with(" " + line)) return true;
    usleep(10000);
  }
  return false;
}

// As kubelet's garbage collection: the pod's log directory goes once the pod is removed.
void RemoveLogDir(const Options& o, const std::string& name) {
  std::string dir = o.log_dir + "/" + name;
  unlink((dir + "/c.log").c_str());
  rmdir(dir.c_str());
}

int Churn(cri::Client& cl, const Options& o) {
  Json out;
  auto ver = Must("Version", cl.Version(v1::VersionRequest{}));
  out["runtime"] = ver.runtime_name() + " " + ver.runtime_version();
  std::vector<int64_t> totals;
  ProcSample start;
  for (int i = 0; i < o.warmup + o.rounds; i++) {
    bool timed = i >= o.warmup;
    if (i == o.warmup) start = SampleProc(o.sample_pid);
    std::string name = o.prefix + "-" + std::to_string(i);
    std::string line = "churn-log-line-" + std::to_string(i);
    Options co = o;
    co.cmd = {"sh", "-c", "echo " + line + "; exec sleep 3600"};
    auto t0 = Clock::now();
    auto [pod, ctr] = Up(cl, co, name, timed, true);
    v1::ExecSyncRequest ex;
    ex.set_container_id(ctr);
    ex.add_cmd("echo");
    ex.add_cmd("exec-" + std::to_string(i));
    ex.set_timeout(10);
    auto r = timed ? Timed("ExecSync", [&] { return cl.ExecSync(ex); })
                   : Must("ExecSync", cl.ExecSync(ex));
    if (r.exit_code() != 0 || r.stdout() != "exec-" + std::to_string(i) + "\n") {
      fprintf(stderr, "berth-cri-bench: churn round %d: ExecSync echo: exit %d, stdout \"%s\"\n",
              i, r.exit_code(), r.stdout().c_str());
      return 1;
    }
    if (!LogHasLine(o.log_dir + "/" + name + "/c.log", line)) {
      fprintf(stderr, "berth-cri-bench: churn round %d: \"%s\" not in %s/%s/c.log after 10 s\n",
              i, line.c_str(), o.log_dir.c_str(), name.c_str());
      return 1;
    }
    Down(cl, o, pod, ctr, timed);
    RemoveLogDir(o, name);
    if (timed)
      totals.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
  }
  samples["round_total"] = totals;
  if (o.sample_pid != 0) {
    out["start"] = ToJson(start);
    out["end"] = ToJson(SampleProc(o.sample_pid));
  }
  Json med;
  for (auto& [k, v] : samples) med[k] = MedianMs(v);
  out["rounds"] = o.rounds;
  out["median_ms"] = med;
  out["round_total_us"] = totals;
  printf("%s\n", out.dump().c_str());
  return 0;
}

// CPU seconds a cgroup has used (with its descendants): v1 cpuacct.usage (ns), else v2
// cpu.stat usage_usec. -1 when neither can be read.
double CgroupCpuSeconds(const std::string& dir) {
  std::ifstream v1f(dir + "/cpuacct.usage");
  long long ns = 0;
  if (v1f >> ns) return ns / 1e9;
  std::ifstream v2f(dir + "/cpu.stat");
  std::string key;
  long long val = 0;
  while (v2f >> key >> val)
    if (key == "usage_usec") return val / 1e6;
  return -1;
}

double Percentile(std::vector<int64_t> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i] / 1000.0;
}

int Probes(cri::Client& cl, const Options& o) {
  std::vector<std::string> ctrs;
  for (int i = 0; i < o.pods; i++) {
    auto [pod, ctr] = Up(cl, o, o.prefix + "-probe-" + std::to_string(i), false, true);
    ctrs.push_back(ctr);
  }
  auto request = [&](const std::string& ctr) {
    v1::ExecSyncRequest ex;
    ex.set_container_id(ctr);
    for (const auto& a : o.probe_cmd) ex.add_cmd(a);
    ex.set_timeout(o.probe_timeout);
    return ex;
  };
  // One probe each first: the first exec into a container may pay for cold caches.
  for (const auto& c : ctrs) Must("ExecSync (warm-up)", cl.ExecSync(request(c)));

  std::vector<std::vector<int64_t>> lat(ctrs.size());
  std::atomic<int> failed{0}, skipped{0};
  std::vector<std::string> first_error(ctrs.size());
  const auto period = std::chrono::seconds(1);
  std::vector<double> cg0;
  for (const auto& d : o.cpu_cgroups) cg0.push_back(CgroupCpuSeconds(d));
  int64_t t0_ticks = CpuTicks(o);
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const auto end = start + std::chrono::seconds(o.probe_seconds);
  std::vector<std::thread> workers;
  for (size_t i = 0; i < ctrs.size(); i++) {
    workers.emplace_back([&, i] {
      auto req = request(ctrs[i]);
      auto tick = start + std::chrono::microseconds(1000000 * i / ctrs.size());
      while (tick < end) {
        std::this_thread::sleep_until(tick);
        auto t0 = Clock::now();
        auto r = cl.ExecSync(req);
        auto t1 = Clock::now();
        lat[i].push_back(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count());
        if (!r || r->exit_code() != 0) {
          failed++;
          if (first_error[i].empty())
            first_error[i] = r ? "exit code " + std::to_string(r->exit_code()) + ": " + r->stderr()
                               : r.error().Message();
        }
        // A probe that outlasts its period drops the ticks it missed (Go's time.Ticker).
        tick += period;
        while (tick < t1) {
          tick += period;
          skipped++;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  auto wall = std::chrono::duration<double>(Clock::now() - start).count();
  int64_t t1_ticks = CpuTicks(o);

  Json out;
  auto ver = Must("Version", cl.Version(v1::VersionRequest{}));
  out["runtime"] = ver.runtime_name() + " " + ver.runtime_version();
  out["pods"] = o.pods;
  out["seconds"] = o.probe_seconds;
  out["wall_s"] = wall;
  std::vector<int64_t> all;
  for (const auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  out["probes"] = all.size();
  out["failed"] = failed.load();
  out["skipped_ticks"] = skipped.load();
  for (const auto& e : first_error)
    if (!e.empty()) {
      out["first_error"] = e;
      break;
    }
  out["p50_ms"] = Percentile(all, 0.5);
  out["p99_ms"] = Percentile(all, 0.99);
  out["max_ms"] = Percentile(all, 1.0);
  Json cg = Json::object();
  double cg_total = 0;
  for (size_t i = 0; i < o.cpu_cgroups.size(); i++) {
    double used = CgroupCpuSeconds(o.cpu_cgroups[i]) - cg0[i];
    cg[o.cpu_cgroups[i]] = used;
    cg_total += used;
  }
  out["cgroup_cpu_s"] = cg;
  out["cpu_s"] = cg_total;
  if (o.cpu_pid != 0) out["proc_cpu_s"] = (t1_ticks - t0_ticks) / double(sysconf(_SC_CLK_TCK));
  out["samples_us"] = all;
  printf("%s\n", out.dump().c_str());
  return 0;
}

// --- load ---------------------------------------------------------------------------------

// What one thread saw of one call: latencies of every answer, the answers by code.
struct CallTally {
  std::vector<int64_t> us;
  std::map<std::string, int> codes;
  int unexpected = 0;
  std::vector<std::string> examples;  // the first few unexpected answers, in full
};
using Tallies = std::map<std::string, CallTally>;

// Times one call into t[call]; EXPECTED says whether an error code (or "OK", or "exit N")
// is an answer the caller could get at this moment.
template <class F, class Expected>
void Tally(Tallies& t, const std::string& call, F&& fn, Expected&& expected) {
  auto t0 = Clock::now();
  auto r = fn();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  CallTally& c = t[call];
  c.us.push_back(us);
  std::string code = r ? std::string("OK") : std::string(KindName(r.error().Kind()));
  std::string detail = r ? std::string() : r.error().Message();
  if constexpr (std::is_same_v<std::decay_t<decltype(*r)>, v1::ExecSyncResponse>) {
    if (r && r->exit_code() != 0) {
      code = "exit " + std::to_string(r->exit_code());
      detail = r->stderr();
    }
  }
  c.codes[code]++;
  if (!expected(code)) {
    c.unexpected++;
    if (c.examples.size() < 3) c.examples.push_back(code + ": " + detail);
  }
}

// The containers the clients aim at: the steady pods' (always running) and the last few
// of the churners' (running, being stopped, or already removed).
struct Targets {
  std::mutex mu;
  std::vector<std::string> steady;
  std::deque<std::string> churned;
  void AddChurned(const std::string& id) {
    std::lock_guard l(mu);
    churned.push_back(id);
    if (churned.size() > 8) churned.pop_front();
  }
  // {id, steady?}
  std::pair<std::string, bool> Pick(std::mt19937& rng) {
    std::lock_guard l(mu);
    if (churned.empty() || rng() % 2 == 0) return {steady[rng() % steady.size()], true};
    return {churned[rng() % churned.size()], false};
  }
};

bool Only(const std::string& code, std::initializer_list<const char*> ok) {
  for (const char* k : ok)
    if (code == k) return true;
  return false;
}

void LoadClient(const Options& o, Targets& targets, Clock::time_point end, unsigned seed,
                Tallies& t) {
  auto cl = Must("connect", cri::Client::Connect(o.endpoint, std::chrono::seconds(30)));
  std::mt19937 rng(seed);
  auto ok_only = [](const std::string& c) { return c == "OK"; };
  while (Clock::now() < end) {
    switch (rng() % 5) {
      case 0:
        Tally(t, "ListPodSandbox", [&] { return cl.ListPodSandbox(v1::ListPodSandboxRequest{}); },
              ok_only);
        break;
      case 1:
        Tally(t, "ListContainers", [&] { return cl.ListContainers(v1::ListContainersRequest{}); },
              ok_only);
        break;
      case 2: {
        auto [id, steady] = targets.Pick(rng);
        v1::ContainerStatusRequest r;
        r.set_container_id(id);
        Tally(t, "ContainerStatus", [&] { return cl.ContainerStatus(r); },
              [&](const std::string& c) { return steady ? c == "OK" : Only(c, {"OK", "NOT_FOUND"}); });
        break;
      }
      case 3:
        Tally(t, "ListContainerStats",
              [&] { return cl.ListContainerStats(v1::ListContainerStatsRequest{}); }, ok_only);
        break;
      case 4: {
        auto [id, steady] = targets.Pick(rng);
        v1::ExecSyncRequest r;
        r.set_container_id(id);
        r.add_cmd("echo");
        r.add_cmd("load");
        r.set_timeout(10);
        // A churned container's exec may be killed with it (exit 137, or 143 by SIGTERM).
        Tally(t, "ExecSync", [&] { return cl.ExecSync(r); }, [&](const std::string& c) {
          return steady ? c == "OK"
                        : Only(c, {"OK", "NOT_FOUND", "FAILED_PRECONDITION", "exit 137", "exit 143"});
        });
        break;
      }
    }
  }
}

// Pods up and down until END: every call must succeed (tallied as "churn <call>").
void Churner(const Options& o, Targets& targets, Clock::time_point end, int index, Tallies& t,
             std::atomic<int>& cycles) {
  auto cl = Must("connect", cri::Client::Connect(o.endpoint, std::chrono::seconds(60)));
  std::mt19937 rng(1000 + index);
  auto ok_only = [](const std::string& c) { return c == "OK"; };
  for (int k = 0; Clock::now() < end; k++) {
    std::string name = o.prefix + "-churn-" + std::to_string(index) + "-" + std::to_string(k);
    auto pc = PodConfig(o, name);
    mkdir((o.log_dir + "/" + name).c_str(), 0755);
    v1::RunPodSandboxRequest rp;
    *rp.mutable_config() = pc;
    rp.set_runtime_handler(o.handler);
    std::string pod, ctr;
    Tally(t, "churn RunPodSandbox", [&] {
      auto r = cl.RunPodSandbox(rp);
      if (r) pod = r->pod_sandbox_id();
      return r;
    }, ok_only);
    if (!pod.empty()) {
      v1::CreateContainerRequest cc;
      cc.set_pod_sandbox_id(pod);
      *cc.mutable_config() = CtrConfig(o);
      *cc.mutable_sandbox_config() = pc;
      Tally(t, "churn CreateContainer", [&] {
        auto r = cl.CreateContainer(cc);
        if (r) ctr = r->container_id();
        return r;
      }, ok_only);
    }
    if (!ctr.empty()) {
      targets.AddChurned(ctr);  // also while only created: ExecSync is FAILED_PRECONDITION
      v1::StartContainerRequest sc;
      sc.set_container_id(ctr);
      Tally(t, "churn StartContainer", [&] { return cl.StartContainer(sc); }, ok_only);
      usleep(rng() % 300000);
      v1::StopContainerRequest s;
      s.set_container_id(ctr);
      s.set_timeout(o.stop_timeout);
      Tally(t, "churn StopContainer", [&] { return cl.StopContainer(s); }, ok_only);
      v1::RemoveContainerRequest r;
      r.set_container_id(ctr);
      Tally(t, "churn RemoveContainer", [&] { return cl.RemoveContainer(r); }, ok_only);
    }
    if (!pod.empty()) {
      v1::StopPodSandboxRequest sp;
      sp.set_pod_sandbox_id(pod);
      Tally(t, "churn StopPodSandbox", [&] { return cl.StopPodSandbox(sp); }, ok_only);
      v1::RemovePodSandboxRequest rm;
      rm.set_pod_sandbox_id(pod);
      Tally(t, "churn RemovePodSandbox", [&] { return cl.RemovePodSandbox(rm); }, ok_only);
    }
    RemoveLogDir(o, name);
    cycles++;
  }
}

int Load(cri::Client& cl, const Options& o) {
  Json out;
  auto ver = Must("Version", cl.Version(v1::VersionRequest{}));
  out["runtime"] = ver.runtime_name() + " " + ver.runtime_version();
  Targets targets;
  std::vector<std::pair<std::string, std::string>> steady;
  for (int i = 0; i < std::max(1, o.steady_pods); i++) {
    steady.push_back(Up(cl, o, o.prefix + "-steady-" + std::to_string(i), false, true));
    targets.steady.push_back(steady.back().second);
  }
  ProcSample start = SampleProc(o.sample_pid);
  auto end = Clock::now() + std::chrono::seconds(o.duration_s);
  std::vector<Tallies> tallies(o.clients + o.churners);
  std::atomic<int> cycles{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; i++)
    threads.emplace_back([&, i] { LoadClient(o, targets, end, 1 + i, tallies[i]); });
  for (int i = 0; i < o.churners; i++)
    threads.emplace_back(
        [&, i] { Churner(o, targets, end, i, tallies[o.clients + i], cycles); });
  for (auto& th : threads) th.join();
  for (auto& [pod, ctr] : steady) Down(cl, o, pod, ctr, false);
  for (int i = 0; i < std::max(1, o.steady_pods); i++)
    RemoveLogDir(o, o.prefix + "-steady-" + std::to_string(i));

  Tallies all;
  for (auto& t : tallies)
    for (auto& [call, c] : t) {
      CallTally& a = all[call];
      a.us.insert(a.us.end(), c.us.begin(), c.us.end());
      for (auto& [code, n] : c.codes) a.codes[code] += n;
      a.unexpected += c.unexpected;
      for (auto& e : c.examples)
        if (a.examples.size() < 5) a.examples.push_back(e);
    }
  int unexpected = 0;
  Json calls;
  for (auto& [call, a] : all) {
    unexpected += a.unexpected;
    calls[call] = Json{{"n", a.us.size()},
                       {"p50_ms", Percentile(a.us, 0.50)},
                       {"p99_ms", Percentile(a.us, 0.99)},
                       {"codes", a.codes},
                       {"unexpected", a.unexpected},
                       {"examples", a.examples}};
  }
  out["clients"] = o.clients;
  out["churners"] = o.churners;
  out["steady_pods"] = o.steady_pods;
  out["duration_s"] = o.duration_s;
  out["churn_cycles"] = cycles.load();
  out["unexpected"] = unexpected;
  out["calls"] = calls;
  if (o.sample_pid != 0) {
    out["start"] = ToJson(start);
    out["end"] = ToJson(SampleProc(o.sample_pid));
  }
  printf("%s\n", out.dump().c_str());
  return unexpected ? 3 : 0;
}

int Hold(cri::Client& cl, const Options& o) {
  for (int i = 0; i < o.hold; i++) {
    auto [pod, ctr] = Up(cl, o, o.prefix + "-hold-" + std::to_string(i), false, o.container);
    printf("%s\n", pod.c_str());
    fflush(stdout);
  }
  return 0;
}

// Best effort (the bench's cleanup): every failure is printed, the rest still removed;
// exit status 1 if anything failed.
int RemoveAll(cri::Client& cl, const Options& o) {
  int failed = 0;
  auto check = [&](const std::string& what, const auto& r) {
    if (r) return true;
    fprintf(stderr, "berth-cri-bench: remove-all: %s: %s\n", what.c_str(),
            r.error().Message().c_str());
    failed = 1;
    return false;
  };
  v1::ListPodSandboxRequest lp;
  if (o.only_prefix) (*lp.mutable_filter()->mutable_label_selector())["bench"] = o.prefix;
  auto pods = Must("ListPodSandbox", cl.ListPodSandbox(lp));
  for (const auto& p : pods.items()) {
    v1::ListContainersRequest lc;
    lc.mutable_filter()->set_pod_sandbox_id(p.id());
    auto ctrs = cl.ListContainers(lc);
    if (check("ListContainers", ctrs)) {
      for (const auto& c : ctrs->containers()) {
        v1::StopContainerRequest s;
        s.set_container_id(c.id());
        s.set_timeout(o.stop_timeout);
        check("StopContainer", cl.StopContainer(s));
        v1::RemoveContainerRequest r;
        r.set_container_id(c.id());
        check("RemoveContainer", cl.RemoveContainer(r));
      }
    }
    v1::StopPodSandboxRequest sp;
    sp.set_pod_sandbox_id(p.id());
    check("StopPodSandbox", cl.StopPodSandbox(sp));
    v1::RemovePodSandboxRequest rp;
    rp.set_pod_sandbox_id(p.id());
    check("RemovePodSandbox", cl.RemovePodSandbox(rp));
  }
  return failed;
}

int Pull(cri::Client& cl, const std::string& image) {
  v1::PullImageRequest r;
  r.mutable_image()->set_image(image);
  auto resp = Must("PullImage " + image, cl.PullImage(r));
  printf("%s\n", resp.image_ref().c_str());
  return 0;
}

int Count(cri::Client& cl) {
  auto pods = Must("ListPodSandbox", cl.ListPodSandbox(v1::ListPodSandboxRequest{}));
  auto ctrs = Must("ListContainers", cl.ListContainers(v1::ListContainersRequest{}));
  int ready = 0, running = 0;
  for (const auto& p : pods.items()) ready += p.state() == v1::SANDBOX_READY;
  for (const auto& c : ctrs.containers()) running += c.state() == v1::CONTAINER_RUNNING;
  printf("%d %d %d %d\n", pods.items_size(), ready, ctrs.containers_size(), running);
  return 0;
}

// Started by the caller right after the server, so that the client's own start-up
// (~10 ms of gRPC init) overlaps the server's instead of adding to it.
int WaitReady(const Options& o, int64_t since_us) {
  // A raw connect() first: gRPC would put a refused channel into reconnect backoff
  // (a second or more), which would be measured instead of the server.
  std::string path = o.endpoint.starts_with("unix://") ? o.endpoint.substr(7) : o.endpoint;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  auto deadline = Clock::now() + std::chrono::seconds(20);
  std::optional<cri::Client> cl;
  while (Clock::now() < deadline) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool up = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0) close(fd);
    if (up) {
      if (!cl) cl.emplace(Must("connect", cri::Client::Connect(o.endpoint, std::chrono::seconds(5))));
      // containerd's CRI plugin answers "not initialized yet" until it has recovered.
      if (cl->Version(v1::VersionRequest{})) {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now_us = int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
        printf("%.1f\n", (now_us - since_us) / 1000.0);
        return 0;
      }
    }
    usleep(1000);
  }
  fprintf(stderr, "berth-cri-bench: wait-ready: %s did not answer Version in 20 s\n",
          o.endpoint.c_str());
  return 1;
}

int Usage(const std::string& m) {
  fprintf(stderr, "berth-cri-bench: %s (see the comment at the top of bench/cri_client.cc)\n",
          m.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string mode = "lifecycle", arg;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) exit(Usage(a + " needs a value"));
      return argv[++i];
    };
    if (a == "--endpoint") o.endpoint = val();
    else if (a == "--image") o.image = val();
    else if (a == "--prefix") o.prefix = val();
    else if (a == "--cgroup-parent") o.cgroup_parent = val();
    else if (a == "--log-dir") o.log_dir = val();
    else if (a == "--network") o.network = val();
    else if (a == "--handler") o.handler = val();
    else if (a == "--pods") o.pods = std::stoi(val());
    else if (a == "--warmup") o.warmup = std::stoi(val());
    else if (a == "--execs") o.execs = std::stoi(val());
    else if (a == "--stop-timeout") o.stop_timeout = std::stoi(val());
    else if (a == "--cpu-pid") o.cpu_pid = std::stoi(val());
    else if (a == "--cpu-match") o.cpu_match = val();
    else if (a == "--no-container") o.container = false;
    else if (a == "--rounds") o.rounds = std::stoi(val());
    else if (a == "--sample-pid") o.sample_pid = std::stoi(val());
    else if (a == "--clients") o.clients = std::stoi(val());
    else if (a == "--duration") o.duration_s = std::stoi(val());
    else if (a == "--steady-pods") o.steady_pods = std::stoi(val());
    else if (a == "--churners") o.churners = std::stoi(val());
    else if (a == "--only-prefix") o.only_prefix = true;
    else if (a == "--cpu-cgroup") o.cpu_cgroups.push_back(val());
    else if (a == "--probe-seconds") o.probe_seconds = std::stoi(val());
    else if (a == "--probe-timeout") o.probe_timeout = std::stoi(val());
    else if (a == "--probe-cmd") {
      o.probe_cmd.clear();
      std::istringstream words(val());
      for (std::string w; words >> w;) o.probe_cmd.push_back(w);
    } else if (a == "lifecycle" || a == "remove-all" || a == "count" || a == "probes" ||
               a == "churn" || a == "load")
      mode = a;
    else if (a == "hold") {
      mode = a;
      o.hold = std::stoi(val());
    } else if (a == "pull" || a == "wait-ready") {
      mode = a;
      arg = val();
    } else return Usage("unknown argument " + a);
  }
  if (o.endpoint.empty()) return Usage("--endpoint is required");
  if ((mode == "lifecycle" || mode == "churn" || mode == "load" || mode == "probes" ||
       (mode == "hold" && o.container)) &&
      o.image.empty())
    return Usage("--image is required");
  if (mode == "wait-ready") return WaitReady(o, std::stoll(arg));
  auto cl = Must("connect", cri::Client::Connect(o.endpoint, std::chrono::seconds(60)));
  if (mode == "hold") return Hold(cl, o);
  if (mode == "remove-all") return RemoveAll(cl, o);
  if (mode == "pull") return Pull(cl, arg);
  if (mode == "count") return Count(cl);
  if (mode == "churn") return Churn(cl, o);
  if (mode == "load") return Load(cl, o);
  if (mode == "probes") return Probes(cl, o);
  return Lifecycle(cl, o);
}
