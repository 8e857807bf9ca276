// berth-shim-ctl: drives a berth-shim through the client library (src/shim/client.h), for
// tests/integration/test_shim.sh. Prints results as JSON on stdout; an error as
// "berth-shim-ctl: KIND: message" on stderr with exit status 1.
//
//   berth-shim-ctl spawn --shim PATH --namespace NS --id ID --work-dir DIR --runtime PATH
//                  --runtime-root DIR [--address A] [--log-level L] [--timeout-ms N]
//   berth-shim-ctl -w WORK_DIR hello | list | shutdown
//   berth-shim-ctl -w WORK_DIR create ID --bundle B [--log-path L] [--tty] [--stdin]
//                  [--stdin-once]
//   berth-shim-ctl -w WORK_DIR start|state|reopen-log ID
//   berth-shim-ctl -w WORK_DIR kill ID [SIGNAL] [--all]
//   berth-shim-ctl -w WORK_DIR delete ID [--force]
//   berth-shim-ctl -w WORK_DIR wait ID [--timeout-ms N]
//   berth-shim-ctl -w WORK_DIR exec ID [--timeout-ms N] [--env K=V]... [--cwd D] [--user U]
//                  [--max-output N] -- ARGS...
//   berth-shim-ctl -w WORK_DIR exec-stream ID [--tty] [--stdin] [--no-stdout] [--no-stderr]
//                  [--size WxH] [--resize WxH] [--env K=V]... [--cwd D] [--user U]
//                  [--exit-file F] -- ARGS...
//   berth-shim-ctl -w WORK_DIR attach ID [--stdin] [--no-stdout] [--no-stderr] [--resize WxH]
//                  [--exit-file F]
//       pump the session's fds to and from this process's stdio (stdin's EOF closes the
//       session's stdin), resize the terminal first with --resize, then wait for the final
//       frame: it goes to --exit-file as JSON; exec-stream exits with the process's code.
//   berth-shim-ctl -w WORK_DIR events [--count N] [--timeout-ms N]   (one JSON line each)
//   berth-shim-ctl -w WORK_DIR raw oversize|garbage|truncated         (bad frames)
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "shim/client.h"
#include "sys/process.h"
#include "sys/unix_socket.h"

using namespace berth;
using namespace berth::shim;
using std::chrono::milliseconds;

namespace {

int Die(const Error& e) {
  fprintf(stderr, "berth-shim-ctl: %s: %s\n", KindName(e.Kind()), e.Message().c_str());
  return 1;
}

int Usage(const std::string& m) {
  fprintf(stderr, "berth-shim-ctl: %s (see the comment at the top of shim_ctl.cc)\n", m.c_str());
  return 2;
}

void Print(const Json& j) {
  printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
}

Json StatusJson(const ContainerStatus& s) {
  return {{"id", s.id},
          {"status", s.status},
          {"pid", s.pid},
          {"bundle", s.bundle},
          {"log_path", s.log_path},
          {"tty", s.tty},
          {"adopted", s.adopted},
          {"created_at", s.created_at},
          {"started_at", s.started_at},
          {"exited_at", s.exited_at},
          {"exit_code", s.exit_code},
          {"signal", s.signal},
          {"oom_killed", s.oom_killed}};
}

// Flags after the command: --name VALUE, --bool; the rest are positional (all after --).
struct Args {
  std::vector<std::string> pos;
  std::vector<std::pair<std::string, std::string>> flags;
  std::string Get(const std::string& k, const std::string& def = "") const {
    for (auto& [n, v] : flags)
      if (n == k) return v;
    return def;
  }
  bool Has(const std::string& k) const {
    for (auto& [n, v] : flags)
      if (n == k) return true;
    return false;
  }
  std::vector<std::string> All(const std::string& k) const {
    std::vector<std::string> out;
    for (auto& [n, v] : flags)
      if (n == k) out.push_back(v);
    return out;
  }
};

Args Parse(int argc, char** argv, int from) {
  static const char* kBool[] = {"--tty",       "--stdin",     "--all",      "--force",
                                "--stdin-once", "--no-stdout", "--no-stderr"};
  Args a;
  for (int i = from; i < argc; i++) {
    std::string s = argv[i];
    if (s == "--") {
      for (int k = i + 1; k < argc; k++) a.pos.push_back(argv[k]);
      break;
    }
    if (s.starts_with("--")) {
      bool is_bool = false;
      for (auto* b : kBool) is_bool |= s == b;
      if (is_bool || i + 1 >= argc)
        a.flags.emplace_back(s, "");
      else
        a.flags.emplace_back(s, argv[++i]);
    } else {
      a.pos.push_back(s);
    }
  }
  return a;
}

milliseconds Ms(const Args& a, int64_t def) {
  return milliseconds(std::stoll(a.Get("--timeout-ms", std::to_string(def))));
}

int Raw(const std::string& work_dir, const std::string& kind) {
  auto fd = sys::ConnectUnix(work_dir + "/shim.sock", "shim.sock");
  if (!fd) return Die(fd.error());
  std::string bytes;
  if (kind == "oversize")
    bytes = std::string("\xff\xff\xff\xff", 4);
  else if (kind == "garbage")
    bytes = *EncodeFrame("{not json");
  else if (kind == "truncated")
    bytes = std::string("\x00\x00\x01\x00{\"op\"", 9);
  else
    return Usage("raw: oversize, garbage or truncated");
  if (send(fd->Get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0)
    return Die(Errno("send").error());
  if (kind == "truncated") return 0;  // and close: the shim must carry on
  FrameDecoder dec;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd->Get(), buf, sizeof buf, 0);
    if (n <= 0) return Die(Unavailable("raw", "shim.sock", "closed without an answer").error());
    dec.Feed(std::string_view(buf, static_cast<size_t>(n)));
    auto f = dec.Next();
    if (!f) return Die(f.error());
    if (*f) {
      auto j = ParseMessage(**f);
      if (!j) return Die(j.error());
      if (j->contains("error")) return Die(ErrorFromJson((*j)["error"]));
      printf("%s\n", (*f)->c_str());
      return 0;
    }
  }
}

// "WxH" -> {width, height}.
bool ParseSize(const std::string& s, uint16_t* w, uint16_t* h) {
  unsigned a = 0, b = 0;
  if (sscanf(s.c_str(), "%ux%u", &a, &b) != 2 || a > 65535 || b > 65535) return false;
  *w = static_cast<uint16_t>(a);
  *h = static_cast<uint16_t>(b);
  return true;
}

bool WriteAllFd(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

// Pumps this process's stdin into the session and the session's output to stdout/stderr
// until the output ends, then waits for the final frame.
Result<StreamExit> Pump(StreamSession& s, bool use_stdin, const Args& a) {
  if (a.Has("--resize")) {
    uint16_t w = 0, h = 0;
    if (!ParseSize(a.Get("--resize"), &w, &h))
      return InvalidArgument("--resize", a.Get("--resize"), "not WxH");
    BERTH_TRYV(s.Resize(w, h));
  }
  bool in_open = use_stdin && s.Stdin() >= 0;
  if (!in_open && use_stdin) use_stdin = false;
  int outs[2] = {s.Stdout(), s.Stderr()};
  const int sinks[2] = {1, 2};
  std::string pending;  // read from our stdin, not yet taken by the session
  if (in_open) fcntl(s.Stdin(), F_SETFL, fcntl(s.Stdin(), F_GETFL) | O_NONBLOCK);
  char buf[65536];
  for (;;) {
    pollfd p[4];
    int n = 0, idx_in = -1, idx_w = -1, idx_out[2] = {-1, -1};
    if (in_open && pending.empty()) p[idx_in = n++] = {0, POLLIN, 0};
    if (in_open && !pending.empty()) p[idx_w = n++] = {s.Stdin(), POLLOUT, 0};
    for (int k = 0; k < 2; k++)
      if (outs[k] >= 0) p[idx_out[k] = n++] = {outs[k], POLLIN, 0};
    if (idx_out[0] < 0 && idx_out[1] < 0 && !in_open) break;
    if (poll(p, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      return Errno("poll");
    }
    if (idx_in >= 0 && p[idx_in].revents) {
      ssize_t k = read(0, buf, sizeof buf);
      if (k > 0) {
        pending.assign(buf, static_cast<size_t>(k));
      } else if (k == 0 || errno != EINTR) {
        in_open = false;
        BERTH_TRYV(s.CloseStdin());
      }
    }
    if (idx_w >= 0 && p[idx_w].revents) {
      ssize_t k = write(s.Stdin(), pending.data(), pending.size());
      if (k > 0) pending.erase(0, static_cast<size_t>(k));
      if (k < 0 && errno != EAGAIN && errno != EINTR) in_open = false;  // the reader is gone
    }
    for (int k = 0; k < 2; k++) {
      if (idx_out[k] < 0 || !p[idx_out[k]].revents) continue;
      ssize_t m = read(outs[k], buf, sizeof buf);
      if (m < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      // EOF, or EIO of a pty master once the terminal's last user closed it.
      if (m <= 0 || !WriteAllFd(sinks[k], buf, static_cast<size_t>(m))) outs[k] = -1;
    }
  }
  return s.Wait(milliseconds(0));
}

int RunStream(Result<StreamSession> session, bool use_stdin, bool is_exec, const Args& a) {
  if (!session) return Die(session.error());
  auto x = Pump(*session, use_stdin, a);
  if (!x) return Die(x.error());
  if (a.Has("--exit-file")) {
    Json j = {{"exit_code", x->exit_code}, {"signal", x->signal}, {"pid", session->Pid()}};
    if (!is_exec) {
      j["oom_killed"] = x->oom_killed;
      j["exited_at"] = x->exited_at;
    }
    FILE* f = fopen(a.Get("--exit-file").c_str(), "w");
    if (f) {
      fprintf(f, "%s\n", j.dump().c_str());
      fclose(f);
    }
  }
  return is_exec ? x->exit_code : 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) return Usage("no command");
  std::string first = argv[1];
  if (first == "spawn") {
    Args a = Parse(argc, argv, 2);
    SpawnShimOptions o;
    o.shim_binary = a.Get("--shim");
    o.ns = a.Get("--namespace");
    o.id = a.Get("--id");
    o.work_dir = a.Get("--work-dir");
    o.address = a.Get("--address", "unix:///nonexistent/berthd.sock");
    o.runtime = a.Get("--runtime");
    o.runtime_root = a.Get("--runtime-root");
    o.log_level = a.Get("--log-level");
    o.timeout = Ms(a, 10000);
    auto pid = SpawnShim(o);
    if (!pid) return Die(pid.error());
    printf("%d\n", *pid);
    return 0;
  }
  if (first != "-w" || argc < 4) return Usage("expected -w WORK_DIR COMMAND");
  std::string wd = argv[2], cmd = argv[3];
  Args a = Parse(argc, argv, 4);
  if (cmd == "raw") return a.pos.empty() ? Usage("raw KIND") : Raw(wd, a.pos[0]);
  auto client = ShimClient::Connect(wd);
  if (!client) return Die(client.error());
  const ShimClient& c = *client;
  auto id = [&]() { return a.pos.empty() ? std::string() : a.pos[0]; };

  if (cmd == "hello") {
    const ShimInfo& i = c.Info();
    Print({{"version", i.version},
           {"namespace", i.ns},
           {"id", i.id},
           {"pid", i.pid},
           {"work_dir", i.work_dir},
           {"address", i.address},
           {"runtime", i.runtime},
           {"runtime_root", i.runtime_root}});
    return 0;
  }
  if (cmd == "list") {
    auto l = c.List();
    if (!l) return Die(l.error());
    Json arr = Json::array();
    for (auto& s : *l) arr.push_back(StatusJson(s));
    Print(arr);
    return 0;
  }
  if (cmd == "shutdown") {
    auto r = c.Shutdown();
    return r ? 0 : Die(r.error());
  }
  if (cmd == "events") {
    auto s = c.Subscribe();
    if (!s) return Die(s.error());
    int count = std::stoi(a.Get("--count", "1"));
    // Subscribed: the caller may now make the container exit.
    printf("subscribed\n");
    fflush(stdout);
    for (int k = 0; k < count; k++) {
      auto e = s->WaitEvent(Ms(a, 30000));
      if (!e) return Die(e.error());
      Print({{"id", e->id},
             {"pid", e->pid},
             {"exit_code", e->exit_code},
             {"signal", e->signal},
             {"oom_killed", e->oom_killed},
             {"exited_at", e->exited_at}});
      fflush(stdout);
    }
    return 0;
  }
  if (id().empty()) return Usage(cmd + ": needs a container id");
  if (cmd == "create") {
    CreateRequest r{id(),           a.Get("--bundle"), a.Get("--log-path"),
                    a.Has("--tty"), a.Has("--stdin"),  a.Has("--stdin-once")};
    auto s = c.Create(r);
    if (!s) return Die(s.error());
    Print(StatusJson(*s));
    return 0;
  }
  if (cmd == "start" || cmd == "state") {
    auto s = cmd == "start" ? c.Start(id()) : c.State(id());
    if (!s) return Die(s.error());
    Print(StatusJson(*s));
    return 0;
  }
  if (cmd == "wait") {
    auto s = c.Wait(id(), Ms(a, 30000));
    if (!s) return Die(s.error());
    Print(StatusJson(*s));
    return 0;
  }
  if (cmd == "kill") {
    int sig = SIGTERM;
    if (a.pos.size() > 1) {
      auto s = sys::ParseSignal(a.pos[1]);
      if (!s) return Die(s.error());
      sig = *s;
    }
    auto r = c.Kill(id(), sig, a.Has("--all"));
    return r ? 0 : Die(r.error());
  }
  if (cmd == "reopen-log") {
    auto r = c.ReopenLog(id());
    return r ? 0 : Die(r.error());
  }
  if (cmd == "delete") {
    auto r = c.Delete(id(), a.Has("--force"));
    return r ? 0 : Die(r.error());
  }
  if (cmd == "exec") {
    ExecRequest r;
    r.id = id();
    r.args.assign(a.pos.begin() + 1, a.pos.end());
    r.env = a.All("--env");
    r.cwd = a.Get("--cwd");
    r.user = a.Get("--user");
    r.timeout = Ms(a, 0);
    if (a.Has("--max-output")) r.max_output_bytes = std::stoull(a.Get("--max-output"));
    auto x = c.ExecSync(r);
    if (!x) return Die(x.error());
    Print({{"exit_code", x->exit_code},
           {"signal", x->signal},
           {"timed_out", x->timed_out},
           {"truncated", x->truncated},
           {"stdout", x->out},
           {"stderr", x->err}});
    return 0;
  }
  if (cmd == "exec-stream") {
    StreamExecRequest r;
    r.id = id();
    r.args.assign(a.pos.begin() + 1, a.pos.end());
    r.env = a.All("--env");
    r.cwd = a.Get("--cwd");
    r.user = a.Get("--user");
    r.tty = a.Has("--tty");
    r.stdin = a.Has("--stdin");
    r.stdout = !a.Has("--no-stdout");
    r.stderr = !a.Has("--no-stderr");
    if (a.Has("--size") && !ParseSize(a.Get("--size"), &r.width, &r.height))
      return Usage("--size: WxH");
    return RunStream(c.ExecStream(r), r.stdin, true, a);
  }
  if (cmd == "attach") {
    AttachRequest r;
    r.id = id();
    r.stdin = a.Has("--stdin");
    r.stdout = !a.Has("--no-stdout");
    r.stderr = !a.Has("--no-stderr");
    return RunStream(c.Attach(r), r.stdin, false, a);
  }
  return Usage("unknown command " + cmd);
}
