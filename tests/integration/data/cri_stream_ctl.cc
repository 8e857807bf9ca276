// berth-cri-stream-ctl: the CRI streaming calls by hand, for tests/integration/
// test_berthd_stream.sh and bench/stream.sh — what berthctl does not let a user do (a URL
// printed and followed twice, tty with stderr) and exec timed from one long-lived client.
//
//   berth-cri-stream-ctl --endpoint E [--namespace NS] COMMAND ...
//     exec-url [--tty] [--stdin] [--stderr] [--no-stdout] ID CMD...   CRI Exec: prints the URL
//     attach-url [--tty] [--stdin] [--stderr] ID                      CRI Attach: the URL
//     pf-url POD [PORT...]                                            CRI PortForward: the URL
//     follow [--transport websocket|spdy] [--ca PEM] [--stdin] [--tty] URL   runs the remote
//         command at URL on this stdio (https: verified against the CAs in PEM); its exit code
//     bench [--transport websocket|spdy|sync] [--n N] [--warmup W] ID CMD...
//         N execs in a row from this process (CRI Exec + the stream, or ExecSync), each
//         timed; prints {"samples_us": [...], "median_ms": M}
// Errors: "berth-cri-stream-ctl: KIND: message" on stderr, exit status 1.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cri/client.h"
#include "stream/client.h"

using namespace berth;
namespace v1 = ::runtime::v1;
using Clock = std::chrono::steady_clock;

namespace {

int Die(const Error& e) {
  fprintf(stderr, "berth-cri-stream-ctl: %s: %s\n", KindName(e.Kind()), e.Message().c_str());
  return 1;
}

struct Flags {
  bool tty = false, in = false, err = false, out = true;
  std::string transport = "websocket", ca;
  int n = 100, warmup = 5;
  std::vector<std::string> rest;
};

Flags ParseFlags(int argc, char** argv, int i) {
  Flags f;
  for (; i < argc; i++) {
    std::string a = argv[i];
    if (!f.rest.empty()) {
      f.rest.push_back(a);
    } else if (a == "--tty") {
      f.tty = true;
    } else if (a == "--stdin") {
      f.in = true;
    } else if (a == "--stderr") {
      f.err = true;
    } else if (a == "--no-stdout") {
      f.out = false;
    } else if (a == "--transport" && i + 1 < argc) {
      f.transport = argv[++i];
    } else if (a == "--ca" && i + 1 < argc) {
      f.ca = argv[++i];
    } else if (a == "--n" && i + 1 < argc) {
      f.n = atoi(argv[++i]);
    } else if (a == "--warmup" && i + 1 < argc) {
      f.warmup = atoi(argv[++i]);
    } else {
      f.rest.push_back(a);
    }
  }
  return f;
}

stream::ClientOptions StreamOpts(const Flags& f) {
  stream::ClientOptions o;
  o.transport = f.transport == "spdy" ? stream::Transport::kSpdy : stream::Transport::kWebSocket;
  o.ca_file = f.ca;
  return o;
}

Result<std::string> ExecUrl(cri::Client& c, const Flags& f) {
  v1::ExecRequest req;
  req.set_container_id(f.rest[0]);
  for (size_t i = 1; i < f.rest.size(); i++) req.add_cmd(f.rest[i]);
  req.set_tty(f.tty);
  req.set_stdin(f.in);
  req.set_stdout(f.out);
  req.set_stderr(f.err);
  auto r = c.Exec(req);
  if (!r) return std::unexpected(r.error());
  return r->url();
}

int Bench(cri::Client& c, const Flags& f) {
  if (f.rest.size() < 2) {
    fprintf(stderr, "berth-cri-stream-ctl: bench: ID CMD... required\n");
    return 2;
  }
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  std::vector<double> us;
  for (int i = 0; i < f.warmup + f.n; i++) {
    auto t0 = Clock::now();
    if (f.transport == "sync") {
      v1::ExecSyncRequest req;
      req.set_container_id(f.rest[0]);
      for (size_t k = 1; k < f.rest.size(); k++) req.add_cmd(f.rest[k]);
      auto r = c.ExecSync(req);
      if (!r) return Die(r.error());
      if (r->exit_code() != 0) {
        fprintf(stderr, "berth-cri-stream-ctl: bench: exit code %d\n", r->exit_code());
        return 1;
      }
    } else {
      Flags g = f;
      g.err = true;
      auto url = ExecUrl(c, g);
      if (!url) return Die(url.error());
      stream::RemoteCommandIo io;
      io.stdout_fd = null;
      io.stderr_fd = null;
      auto rc = stream::RunRemoteCommand(*url, StreamOpts(f), io);
      if (!rc) return Die(rc.error());
      if (*rc != 0) {
        fprintf(stderr, "berth-cri-stream-ctl: bench: exit code %d\n", *rc);
        return 1;
      }
    }
    auto d = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (i >= f.warmup) us.push_back(d);
  }
  std::vector<double> sorted = us;
  std::sort(sorted.begin(), sorted.end());
  double med = sorted.empty() ? 0
               : sorted.size() % 2 ? sorted[sorted.size() / 2]
                                   : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
  printf("{\"samples_us\": [");
  for (size_t i = 0; i < us.size(); i++) printf("%s%.0f", i ? ", " : "", us[i]);
  printf("], \"median_ms\": %.3f}\n", med / 1000);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cri::ClientOptions co;
  co.timeout = std::chrono::milliseconds(30000);
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    std::string a = argv[i];
    if (a == "--endpoint")
      co.endpoint = argv[i + 1];
    else if (a == "--namespace")
      co.ns = argv[i + 1];
    else
      break;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: berth-cri-stream-ctl --endpoint E COMMAND ... (see the source)\n");
    return 2;
  }
  std::string cmd = argv[i];
  Flags f = ParseFlags(argc, argv, i + 1);
  if (cmd == "follow") {
    if (f.rest.size() != 1) return 2;
    stream::RemoteCommandIo io;
    io.stdin_fd = f.in ? 0 : -1;
    io.stdout_fd = 1;
    io.stderr_fd = f.tty ? -1 : 2;
    io.tty = f.tty;
    auto rc = stream::RunRemoteCommand(f.rest[0], StreamOpts(f), io);
    if (!rc) return Die(rc.error());
    return *rc;
  }
  auto c = cri::Client::Connect(co);
  if (!c) return Die(c.error());
  if (cmd == "exec-url" && f.rest.size() >= 2) {
    auto url = ExecUrl(*c, f);
    if (!url) return Die(url.error());
    printf("%s\n", url->c_str());
    return 0;
  }
  if (cmd == "attach-url" && f.rest.size() == 1) {
    v1::AttachRequest req;
    req.set_container_id(f.rest[0]);
    req.set_tty(f.tty);
    req.set_stdin(f.in);
    req.set_stdout(f.out);
    req.set_stderr(f.err);
    auto r = c->Attach(req);
    if (!r) return Die(r.error());
    printf("%s\n", r->url().c_str());
    return 0;
  }
  if (cmd == "pf-url" && !f.rest.empty()) {
    v1::PortForwardRequest req;
    req.set_pod_sandbox_id(f.rest[0]);
    for (size_t k = 1; k < f.rest.size(); k++) req.add_port(atoi(f.rest[k].c_str()));
    auto r = c->PortForward(req);
    if (!r) return Die(r.error());
    printf("%s\n", r->url().c_str());
    return 0;
  }
  if (cmd == "bench") return Bench(*c, f);
  fprintf(stderr, "berth-cri-stream-ctl: unknown command or missing arguments: %s\n", cmd.c_str());
  return 2;
}
