// berthd: the CRI v1 daemon (docs/berthd.md). Flags win over the config file.
// The CRI header first: its enum Signal spells SIGABRT… which <signal.h> makes macros.
#include "daemon/daemon.h"
#include "daemon/server.h"

#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>

#include "base/fault.h"
#include "base/log.h"
#include "daemon/config.h"

using namespace berth;

int main(int argc, char** argv) {
  // Two malloc arenas instead of glibc's 8 per core: berthd's threads (gRPC's, one watcher
  // per shim) allocate little, and memory freed in one arena is not reused by another.
  mallopt(M_ARENA_MAX, 2);
  CLI::App app{"berthd: a Kubernetes CRI v1 runtime (RuntimeService + ImageService)"};
  std::string config_file(daemon::kDefaultConfigFile);
  daemon::Config flags;
  std::vector<std::string> runtimes;
  int64_t stall = -1, cni_timeout = -1;
  app.add_option("--config", config_file, "TOML config file ([berthd] and [image] tables)")
      ->capture_default_str();
  app.add_option("--listen", flags.listen, "CRI endpoint to serve");
  app.add_option("--root", flags.root, "durable state: images, metadata");
  app.add_option("--state", flags.state, "volatile state: shims, runtime state, bundles");
  app.add_option("--hosts-dir", flags.hosts_dir, "registry hosts (certs.d/<host>/hosts.toml)");
  app.add_option("--insecure-registry", flags.insecure_registries,
                 "HOST[:PORT] reached over plain HTTP (repeatable)");
  app.add_option("--auth-file", flags.auth_file, "registry credentials (docker config.json)");
  app.add_option("--cni-conf-dir", flags.cni_conf_dir, "CNI network configs");
  app.add_option("--cni-bin-dir", flags.cni_bin_dirs, "CNI plugin dirs (repeatable)");
  app.add_option("--runtime", runtimes, "runtime handler NAME=PATH (repeatable)");
  app.add_option("--default-runtime", flags.default_runtime, "handler when a pod names none");
  app.add_option("--shim", flags.shim_binary, "berth-shim binary (default: beside berthd)");
  app.add_option("--pause-image", flags.pause_image, "accepted for kubelet's sake; unused");
  app.add_option("--pull-stall-timeout", stall, "seconds a pull may make no progress");
  app.add_option("--cni-plugin-timeout", cni_timeout, "seconds a CNI plugin may run");
  app.add_option("--log-level", flags.log_level, "debug, info, warn or error");
  app.add_option("--stream-address", flags.stream_address,
                 "address of the streaming server (exec, attach, port-forward)");
  app.add_option("--stream-port", flags.stream_port, "its port (0: a free one)");
  bool list_faults = false;
  app.add_flag("--list-fault-points", list_faults,
               "print the fault points (BERTH_FAULT=NAME[@N], docs/testing.md) and exit");
  CLI11_PARSE(app, argc, argv);
  if (list_faults) {
    for (const auto& p : fault::kCatalogue)
      printf("%.*s\t%.*s\t%.*s\n", int(p.name.size()), p.name.data(), int(p.process.size()),
             p.process.data(), int(p.what.size()), p.what.data());
    return 0;
  }
  if (auto e = fault::EnvironmentError(); !e.empty()) {
    fprintf(stderr, "berthd: %s\n", e.c_str());
    return 2;
  }

  daemon::Config config;
  bool explicit_file = app.count("--config") > 0;
  if (auto r = daemon::LoadConfigFile(config, config_file, explicit_file); !r) {
    fprintf(stderr, "berthd: %s\n", r.error().Message().c_str());
    return 2;
  }
  // Flags given on the command line replace the file's values.
  auto given = [&](const char* f) { return app.count(f) > 0; };
  if (given("--listen")) config.listen = flags.listen;
  if (given("--root")) config.root = flags.root;
  if (given("--state")) config.state = flags.state;
  if (given("--hosts-dir")) config.hosts_dir = flags.hosts_dir;
  if (given("--insecure-registry")) config.insecure_registries = flags.insecure_registries;
  if (given("--auth-file")) config.auth_file = flags.auth_file;
  if (given("--cni-conf-dir")) config.cni_conf_dir = flags.cni_conf_dir;
  if (given("--cni-bin-dir")) config.cni_bin_dirs = flags.cni_bin_dirs;
  if (given("--default-runtime")) config.default_runtime = flags.default_runtime;
  if (given("--shim")) config.shim_binary = flags.shim_binary;
  if (given("--pause-image")) config.pause_image = flags.pause_image;
  if (given("--log-level")) config.log_level = flags.log_level;
  if (given("--stream-address")) config.stream_address = flags.stream_address;
  if (given("--stream-port")) config.stream_port = flags.stream_port;
  if (stall >= 0) config.pull_stall_timeout = std::chrono::seconds(stall);
  if (cni_timeout >= 0) config.cni_plugin_timeout = std::chrono::seconds(cni_timeout);
  for (const auto& r : runtimes) {
    size_t eq = r.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == r.size()) {
      fprintf(stderr, "berthd: --runtime %s: expected NAME=PATH\n", r.c_str());
      return 2;
    }
    config.runtimes[r.substr(0, eq)] = r.substr(eq + 1);
  }
  if (auto r = daemon::ValidateConfig(config); !r) {
    fprintf(stderr, "berthd: %s\n", r.error().Message().c_str());
    return 2;
  }
  log::Init("", log::Format::kText, config.log_level == "debug");

  // SIGTERM/SIGINT are taken by a thread of their own (sigwait), so no handler runs
  // inside gRPC's threads; SIGPIPE is ignored (a client that went away is an error return).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto d = daemon::Daemon::Open(config);
  if (!d) {
    fprintf(stderr, "berthd: %s\n", d.error().Message().c_str());
    return 1;
  }
  auto server = daemon::Server::Start(**d);
  if (!server) {
    fprintf(stderr, "berthd: %s\n", server.error().Message().c_str());
    return 1;
  }
  log::Info("berthd serving CRI v1 on " + config.listen + " (root " + config.root + ", state " +
            config.state + ")");
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    log::Info(std::string("berthd: ") + strsignal(sig) + ", stopping (containers keep running)");
    (*d)->Shutdown();
    (*server)->Stop();
  });
  (*server)->Wait();
  signals.join();
  return 0;
}
