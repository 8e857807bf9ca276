// berth-cni-ctl: drives berth::cni (src/cni) for tests/integration/test_cni.sh and the
// Setup+Teardown timing in docs/cni.md.
//
//   berth-cni-ctl --conf-dir D --cache-dir C [--bin-dir B]... [--timeout-ms N] COMMAND ...
//     status                                    NetworkReady: ok, or the reason (exit 1)
//     setup ID NETNS [--ifname I] [--port HOST:CTR[/PROTO][@HOSTIP]]... [--k8s NS/NAME/UID]
//           [--crash]                           prints {"ip","additionalIps","result"};
//                                               --crash: SIGKILLs itself right after Setup
//     check ID NETNS [--ifname I]
//     teardown ID [NETNS] [--ifname I]
//     bench N NETNS [--no-lo] [--port ...]      N x (Setup + Teardown), ms each and the median
//   --debug logs each plugin call's duration to stderr.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/log.h"
#include "cni/cni.h"

using namespace berth;

namespace {

[[noreturn]] void Usage(const std::string& why) {
  fprintf(stderr, "berth-cni-ctl: %s\n", why.c_str());
  exit(2);
}

int Report(const Error& e) {
  fprintf(stderr, "berth-cni-ctl: %s [%s]\n", e.Message().c_str(), KindName(e.Kind()));
  return 1;
}

cni::PortMapping ParsePort(const std::string& s) {
  // HOST:CTR[/PROTO][@HOSTIP]
  cni::PortMapping pm;
  std::string rest = s;
  if (auto at = rest.find('@'); at != std::string::npos) {
    pm.host_ip = rest.substr(at + 1);
    rest.resize(at);
  }
  if (auto sl = rest.find('/'); sl != std::string::npos) {
    pm.protocol = rest.substr(sl + 1);
    rest.resize(sl);
  }
  auto colon = rest.find(':');
  if (colon == std::string::npos) Usage("--port " + s + ": want HOST:CONTAINER");
  pm.host_port = std::stoi(rest.substr(0, colon));
  pm.container_port = std::stoi(rest.substr(colon + 1));
  return pm;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string conf_dir = cni::kDefaultConfDir;
  cni::Options opts;
  std::vector<std::string> bin_dirs;
  std::string ifname = cni::kDefaultIfName;
  std::vector<cni::PortMapping> ports;
  std::string k8s;
  bool crash = false, no_lo = false;
  std::vector<std::string> pos;
  for (size_t i = 0; i < args.size(); i++) {
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) Usage(args[i] + " needs a value");
      return args[++i];
    };
    const std::string& a = args[i];
    if (a == "--conf-dir")
      conf_dir = value();
    else if (a == "--cache-dir")
      opts.cache_dir = value();
    else if (a == "--bin-dir")
      bin_dirs.push_back(value());
    else if (a == "--timeout-ms")
      opts.plugin_timeout = std::chrono::milliseconds(std::stol(value()));
    else if (a == "--ifname")
      ifname = value();
    else if (a == "--port")
      ports.push_back(ParsePort(value()));
    else if (a == "--k8s")
      k8s = value();
    else if (a == "--crash")
      crash = true;
    else if (a == "--no-lo")
      no_lo = true;
    else if (a == "--debug")
      log::Init("", log::Format::kText, true);  // per-plugin timings
    else if (a.starts_with("--"))
      Usage("unknown option " + a);
    else
      pos.push_back(a);
  }
  if (!bin_dirs.empty()) opts.bin_dirs = bin_dirs;
  if (pos.empty()) Usage("no command");
  cni::PodNetworking pods(conf_dir, opts);
  const std::string& cmd = pos[0];

  cni::RuntimeConf rc;
  rc.ifname = ifname;
  rc.port_mappings = ports;
  if (pos.size() > 1) rc.container_id = pos[1];
  if (pos.size() > 2) rc.netns = pos[2];
  if (!k8s.empty()) {
    auto a = k8s.find('/'), b = k8s.rfind('/');
    if (a == b) Usage("--k8s wants NS/NAME/UID");
    rc.SetKubernetesArgs(k8s.substr(0, a), k8s.substr(a + 1, b - a - 1), rc.container_id,
                         k8s.substr(b + 1));
  }

  if (cmd == "status") {
    auto s = pods.Status();
    if (!s) return Report(s.error());
    printf("ok %s\n", pods.Current()->Config().source.c_str());
    return 0;
  }
  if (cmd == "setup") {
    if (pos.size() != 3) Usage("setup ID NETNS");
    auto r = pods.SetupPod(rc);
    if (!r) return Report(r.error());
    if (crash) raise(SIGKILL);  // the caller dies with the ADD done and cached
    cni::Json out = {
        {"ip", r->PrimaryIp()}, {"additionalIps", r->AdditionalIps()}, {"result", r->raw}};
    printf("%s\n", out.dump().c_str());
    return 0;
  }
  if (cmd == "check") {
    if (pos.size() != 3) Usage("check ID NETNS");
    auto r = pods.CheckPod(rc);
    if (!r) return Report(r.error());
    return 0;
  }
  if (cmd == "teardown") {
    if (pos.size() < 2 || pos.size() > 3) Usage("teardown ID [NETNS]");
    auto r = pods.TeardownPod(rc);
    if (!r) return Report(r.error());
    return 0;
  }
  if (cmd == "bench") {
    if (pos.size() != 3) Usage("bench N NETNS");
    int n = std::stoi(pos[1]);
    auto net = pods.Current();
    if (!net) return Report(pods.Status().error());
    std::vector<double> ms;
    for (int i = 0; i < n; i++) {
      cni::RuntimeConf b = rc;
      b.container_id = "bench-" + std::to_string(getpid()) + "-" + std::to_string(i);
      b.netns = pos[2];
      auto t0 = std::chrono::steady_clock::now();
      auto s = no_lo ? net->Setup(b) : pods.SetupPod(b);
      if (!s) return Report(s.error());
      auto t = no_lo ? net->Teardown(b) : pods.TeardownPod(b);
      if (!t) return Report(t.error());
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      printf("run %d: %.1f ms\n", i, ms.back());
    }
    std::sort(ms.begin(), ms.end());
    printf("median %.1f ms (min %.1f, max %.1f) over %d\n", ms[ms.size() / 2], ms.front(),
           ms.back(), n);
    return 0;
  }
  Usage("unknown command " + cmd);
}
