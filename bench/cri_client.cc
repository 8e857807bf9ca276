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
//   berth-cri-bench ... wait-ready SINCE_US
//                                   calls Version until it answers (10 s at most); prints
//                                   the ms from SINCE_US (CLOCK_REALTIME, µs) to the answer
//
// Options: --pods 30 --warmup 3 --execs 100 --prefix NAME (pod names NAME-<i>)
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
#include <fstream>
#include <map>
#include <optional>
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
  int probe_seconds = 60, probe_timeout = 1;
  std::vector<std::string> probe_cmd = {"/bin/true"}, cpu_cgroups;
  pid_t cpu_pid = 0;
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
    else if (a == "--only-prefix") o.only_prefix = true;
    else if (a == "--cpu-cgroup") o.cpu_cgroups.push_back(val());
    else if (a == "--probe-seconds") o.probe_seconds = std::stoi(val());
    else if (a == "--probe-timeout") o.probe_timeout = std::stoi(val());
    else if (a == "--probe-cmd") {
      o.probe_cmd.clear();
      std::istringstream words(val());
      for (std::string w; words >> w;) o.probe_cmd.push_back(w);
    } else if (a == "lifecycle" || a == "remove-all" || a == "count" || a == "probes") mode = a;
    else if (a == "hold") {
      mode = a;
      o.hold = std::stoi(val());
    } else if (a == "pull" || a == "wait-ready") {
      mode = a;
      arg = val();
    } else return Usage("unknown argument " + a);
  }
  if (o.endpoint.empty()) return Usage("--endpoint is required");
  if ((mode == "lifecycle" || mode == "probes" || (mode == "hold" && o.container)) &&
      o.image.empty())
    return Usage("--image is required");
  if (mode == "wait-ready") return WaitReady(o, std::stoll(arg));
  auto cl = Must("connect", cri::Client::Connect(o.endpoint, std::chrono::seconds(60)));
  if (mode == "hold") return Hold(cl, o);
  if (mode == "remove-all") return RemoveAll(cl, o);
  if (mode == "pull") return Pull(cl, arg);
  if (mode == "count") return Count(cl);
  if (mode == "probes") return Probes(cl, o);
  return Lifecycle(cl, o);
}
