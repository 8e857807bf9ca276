// exec (streaming), attach and port-forward: the CRI Exec, Attach and PortForward calls
// answer with a URL of the runtime's streaming server, which src/stream/client.h follows
// over WebSocket (v5, as kubectl >= 1.30; SPDY when the server refuses it) or SPDY.
// -t puts the local terminal in raw mode, restored on every way out (signals too), and
// sends its size at the start and on SIGWINCH.
#include "cli/berthctl/cri_util.h"  // first: api.pb.h's enum Signal before <signal.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/log.h"
#include "cli/berthctl/commands.h"
#include "stream/client.h"

namespace berth::cli {

namespace {

// --- signals and the terminal -------------------------------------------------------------
// Handlers only restore the terminal (tcsetattr is async-signal-safe) and write a byte to a
// pipe the stream loop polls: any thread may take the signal (gRPC starts its own).

int g_stop_pipe[2] = {-1, -1};   // SIGINT, SIGTERM, SIGHUP
int g_winch_pipe[2] = {-1, -1};  // SIGWINCH
volatile sig_atomic_t g_signal = 0;
volatile sig_atomic_t g_raw = 0;  // g_saved holds the terminal's mode to restore
termios g_saved{};

void RestoreTerminal() {
  if (g_raw) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved);
    g_raw = 0;
  }
}

void OnStopSignal(int sig) {
  int saved = errno;
  RestoreTerminal();
  if (!g_signal) g_signal = sig;
  char b = 1;
  (void)!write(g_stop_pipe[1], &b, 1);
  errno = saved;
}

void OnWinch(int) {
  int saved = errno;
  char b = 1;
  (void)!write(g_winch_pipe[1], &b, 1);
  errno = saved;
}

Result<void> MakePipe(int fds[2]) {
  if (fds[0] >= 0) return {};
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return Errno("pipe2", "signal pipe");
  return {};
}

// Installs the handlers (once); a broken stdout is an error of write, not a death by SIGPIPE.
Result<void> InstallSignals(bool winch) {
  BERTH_TRYV(MakePipe(g_stop_pipe));
  struct sigaction sa{};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = OnStopSignal;
  // A shell starts background jobs with SIGINT ignored: set anyway, so a detach by kill -INT works.
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (winch) {
    BERTH_TRYV(MakePipe(g_winch_pipe));
    sa.sa_handler = OnWinch;
    sigaction(SIGWINCH, &sa, nullptr);
  }
  return {};
}

// Raw mode on stdin's terminal for the life of the object (and not past a signal).
class RawTerminal {
 public:
  RawTerminal() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &g_saved) < 0) return;
    termios raw = g_saved;
    cfmakeraw(&raw);
    // Set g_raw first: a signal between the two calls still restores.
    g_raw = 1;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0) g_raw = 0;
  }
  ~RawTerminal() { RestoreTerminal(); }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
};

// The local terminal's size: stdout's, else stdin's (as crictl and kubectl).
std::optional<stream::TermSize> LocalSize() {
  for (int fd : {STDOUT_FILENO, STDIN_FILENO}) {
    winsize ws{};
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
      return stream::TermSize{ws.ws_col, ws.ws_row};
  }
  return std::nullopt;
}

// --- transports -----------------------------------------------------------------------------

// remote_command: by default WebSocket offers v5 only, the first version that carries stdin's
// EOF: a server without it (containerd 1.6: v4) refuses, and SPDY does the job (kubectl
// >= 1.30 does the same). Named, WebSocket offers v5 and v4.
Result<stream::ClientOptions> StreamOptions(const std::string& transport, bool remote_command,
                                            const std::string& ca) {
  stream::ClientOptions opts;
  opts.ca_file = ca;
  if (transport.empty() || transport == "websocket") {
    opts.transport = stream::Transport::kWebSocket;
    opts.fallback_to_spdy = transport.empty();  // only when not asked for by name
    if (transport.empty() && remote_command) opts.protocols = {"v5.channel.k8s.io"};
  } else if (transport == "spdy") {
    opts.transport = stream::Transport::kSpdy;
  } else {
    return InvalidArgument("--transport", transport, "expected websocket or spdy");
  }
  return opts;
}

const char* TransportName(const stream::ClientOptions& o) {
  if (o.fallback_to_spdy) return "websocket (spdy if refused)";
  return o.transport == stream::Transport::kSpdy ? "spdy" : "websocket";
}

// A CRI call that answers with a URL, made again for each URL the client asks for (the
// SPDY fallback, WebSocket port-forward's one URL per connection); calls are serialized.
class UrlSource {
 public:
  using Call = std::function<Result<std::string>(cri::Client&)>;
  UrlSource(cri::Client& c, std::string what, Call call)
      : c_(c), what_(std::move(what)), call_(std::move(call)) {}
  Result<std::string> Next() {
    std::lock_guard lock(mu_);
    auto url = call_(c_);
    if (!url) return std::unexpected(url.error().Wrap(what_));
    log::Debug(what_ + ": following " + url->substr(0, url->rfind('/')) + "/…");
    last_ = url->substr(0, url->rfind('/'));
    return url;
  }
  // The last URL without its token (a credential), for messages.
  std::string Last() {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  std::mutex mu_;
  cri::Client& c_;
  std::string what_;
  Call call_;
  std::string last_;
};

// --- exec and attach ------------------------------------------------------------------------

struct RemoteArgs {
  bool interactive = false, tty = false;
  std::string transport, ca;
};

// Runs the remote command a CRI call names, on this process's stdio; the exit code.
int RunRemote(const std::string& what, UrlSource& urls, const RemoteArgs& a, bool attach) {
  auto opts = StreamOptions(a.transport, true, a.ca);
  if (!opts) return CriFail(opts.error().Wrap(what));
  if (auto r = InstallSignals(a.tty); !r) return CriFail(r.error().Wrap(what));
  stream::RemoteCommandIo io;
  io.stdin_fd = a.interactive ? STDIN_FILENO : -1;
  io.stdout_fd = STDOUT_FILENO;
  io.stderr_fd = a.tty ? -1 : STDERR_FILENO;
  io.tty = a.tty;
  io.stop_fd = g_stop_pipe[0];
  if (a.tty) {
    io.initial_size = LocalSize();
    io.resize_fd = g_winch_pipe[0];
    io.size = LocalSize;
  }
  Result<int> rc = 0;
  {
    // Raw only with stdin taken: without -i the local terminal keeps its ^C.
    std::optional<RawTerminal> raw;
    if (a.tty && a.interactive) raw.emplace();
    rc = stream::RunRemoteCommand([&] { return urls.Next(); }, *opts, io);
  }
  if (rc) return *rc;
  if (rc.error().Is(ErrorKind::kCancelled)) {
    if (attach) return 0;  // a detach: the container runs on
    return 128 + (g_signal ? g_signal : SIGINT);
  }
  std::string url = urls.Last();
  return CriFail(
      rc.error().Wrap(what + (url.empty() ? "" : " (" + url + ", " + TransportName(*opts) + ")")));
}

}  // namespace

int CriExecStream(const CriCommands::Options& o, const std::vector<std::string>& words,
                  bool interactive, bool tty, const std::string& transport,
                  const std::string& ca) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  const std::string& id = words[0];
  v1::ExecRequest req;
  req.set_container_id(id);
  for (size_t i = 1; i < words.size(); i++) req.add_cmd(words[i]);
  req.set_tty(tty);
  req.set_stdin(interactive);
  req.set_stdout(true);
  req.set_stderr(!tty);  // a terminal has one output
  UrlSource urls(*c, "exec in " + id, [&req](cri::Client& c) -> Result<std::string> {
    auto resp = c.Exec(req);
    if (!resp) return std::unexpected(resp.error());
    return resp->url();
  });
  // The CRI call's own errors (NOT_FOUND, FAILED_PRECONDITION) as every CRI command prints them.
  return RunRemote("exec in " + id, urls, RemoteArgs{interactive, tty, transport, ca}, false);
}

namespace {

int CriAttach(const CriCommands::Options& o, const std::string& id, const RemoteArgs& a) {
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  v1::AttachRequest req;
  req.set_container_id(id);
  req.set_tty(a.tty);
  req.set_stdin(a.interactive);
  req.set_stdout(true);
  req.set_stderr(!a.tty);
  UrlSource urls(*c, "attach to " + id, [&req](cri::Client& c) -> Result<std::string> {
    auto resp = c.Attach(req);
    if (!resp) return std::unexpected(resp.error());
    return resp->url();
  });
  return RunRemote("attach to " + id, urls, a, true);
}

// --- port-forward ---------------------------------------------------------------------------

struct Mapping {
  uint16_t local = 0;  // 0: a free port
  int32_t remote = 0;
  UniqueFd listener;
};

// kubectl's forms: REMOTE (the same port locally), LOCAL:REMOTE, :REMOTE (any free port).
Result<Mapping> ParseMapping(const std::string& s) {
  auto port = [&](std::string_view p, bool zero_ok) -> Result<int> {
    int v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || ptr != p.data() + p.size() || v < (zero_ok ? 0 : 1) || v > 65535)
      return InvalidArgument("port-forward", s, "expected [LOCAL:]REMOTE with ports 1-65535");
    return v;
  };
  Mapping m;
  size_t colon = s.find(':');
  if (colon == std::string::npos) {
    m.remote = BERTH_TRY(port(s, false));
    m.local = static_cast<uint16_t>(m.remote);
  } else {
    m.local = static_cast<uint16_t>(
        colon == 0 ? 0 : BERTH_TRY(port(std::string_view(s).substr(0, colon), true)));
    m.remote = BERTH_TRY(port(std::string_view(s).substr(colon + 1), false));
  }
  return m;
}

Result<void> Listen(Mapping& m, const std::string& address) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  std::string where = address + ":" + std::to_string(m.local);
  if (!fd) return Errno("socket", where);
  int one = 1;
  setsockopt(fd.Get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(m.local);
  if (inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1)
    return InvalidArgument("--address", address, "not an IPv4 address");
  if (bind(fd.Get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return Errno("bind", where);
  if (listen(fd.Get(), 128) < 0) return Errno("listen", where);
  socklen_t len = sizeof a;
  if (getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&a), &len) < 0)
    return Errno("getsockname", where);
  m.local = ntohs(a.sin_port);
  m.listener = std::move(fd);
  return {};
}

struct ForwardArgs {
  std::string pod, transport, ca, address = "127.0.0.1";
  std::vector<std::string> ports;
};

int CriPortForward(const CriCommands::Options& o, const ForwardArgs& a) {
  const std::string what = "port-forward to pod " + a.pod;
  auto opts = StreamOptions(a.transport, false, a.ca);
  if (!opts) return Fail(opts.error().Wrap(what));
  std::vector<Mapping> maps;
  for (const auto& p : a.ports) {
    auto m = ParseMapping(p);
    if (!m) return Fail(m.error());
    maps.push_back(std::move(*m));
  }
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error());
  // One call first: an unknown or stopped pod fails here, before anything listens.
  {
    v1::PortForwardRequest req;
    req.set_pod_sandbox_id(a.pod);
    for (const auto& m : maps) req.add_port(m.remote);
    auto resp = c->PortForward(req);
    if (!resp) return CriFail(resp.error());
  }
  for (auto& m : maps) {
    if (auto r = Listen(m, a.address); !r) return Fail(r.error().Wrap(what));
    printf("Forwarding from %s:%u -> %d\n", a.address.c_str(), m.local, m.remote);
  }
  fflush(stdout);
  if (auto r = InstallSignals(false); !r) return Fail(r.error().Wrap(what));
  std::vector<std::unique_ptr<UrlSource>> sources;
  std::vector<std::thread> threads;
  std::vector<Result<void>> results(maps.size());
  for (size_t i = 0; i < maps.size(); i++) {
    int32_t remote = maps[i].remote;
    sources.push_back(std::make_unique<UrlSource>(
        *c, what + " port " + std::to_string(remote),
        [pod = a.pod, remote](cri::Client& c) -> Result<std::string> {
          v1::PortForwardRequest req;
          req.set_pod_sandbox_id(pod);
          req.add_port(remote);
          auto resp = c.PortForward(req);
          if (!resp) return std::unexpected(resp.error());
          return resp->url();
        }));
    stream::PortForwardIo io;
    io.listen_fd = maps[i].listener.Get();
    io.remote_port = remote;
    io.stop_fd = g_stop_pipe[0];
    UrlSource* src = sources.back().get();
    io.next_url = [src] { return src->Next(); };
    threads.emplace_back([&results, i, io, o = *opts] {
      results[i] = stream::RunPortForward(o, io);
      // One mapping lost (the SPDY connection broke): all stop, as kubectl does.
      if (!results[i]) {
        char b = 1;
        (void)!write(g_stop_pipe[1], &b, 1);
      }
    });
  }
  for (auto& t : threads) t.join();
  int rc = 0;
  for (size_t i = 0; i < maps.size(); i++) {
    if (results[i]) continue;
    rc = Fail(results[i].error().Wrap(what + " port " + std::to_string(maps[i].remote) + " (" +
                                      sources[i]->Last() + ", " + TransportName(*opts) + ")"));
  }
  return rc;
}

}  // namespace

void RegisterStreamCommands(CLI::App& app, const std::string& group, CriCommands::Options& o,
                            CriCommands::CommandList& commands) {
  const char* transport_help =
      "websocket or spdy (default: websocket, spdy when the server refuses it)";
  auto attach = std::make_shared<std::pair<std::string, RemoteArgs>>();
  auto* c_attach = app.add_subcommand(
      "attach", "attach to a running CRI container's stdio (Attach); SIGINT/SIGTERM without -t "
                "detach, the container runs on");
  c_attach->group(group);
  c_attach->add_flag("-i,--stdin", attach->second.interactive,
                     "send stdin (the container must have been created with stdin)");
  c_attach->add_flag("-t,--tty", attach->second.tty,
                     "the container has a terminal: raw mode here, resizes sent");
  c_attach->add_option("--transport", attach->second.transport, transport_help)
      ->check(CLI::IsMember({"websocket", "spdy"}));
  c_attach->add_option("--ca", attach->second.ca, kStreamCaHelp)->check(CLI::ExistingFile);
  c_attach->add_option("CONTAINER-ID", attach->first, "container id")->required();
  commands.emplace_back(c_attach, [&o, attach] { return CriAttach(o, attach->first, attach->second); });

  auto fwd = std::make_shared<ForwardArgs>();
  auto* c_fwd = app.add_subcommand(
      "port-forward", "forward local ports to a pod sandbox's (PortForward) until SIGINT/SIGTERM");
  c_fwd->group(group);
  c_fwd->add_option("--transport", fwd->transport, transport_help)
      ->check(CLI::IsMember({"websocket", "spdy"}));
  c_fwd->add_option("--ca", fwd->ca, kStreamCaHelp)->check(CLI::ExistingFile);
  c_fwd->add_option("--address", fwd->address, "local IPv4 address to listen on")
      ->capture_default_str();
  c_fwd->add_option("POD-ID", fwd->pod, "pod sandbox id")->required();
  c_fwd->add_option("PORTS", fwd->ports, "[LOCAL:]REMOTE (LOCAL empty: a free port)")
      ->required();
  commands.emplace_back(c_fwd, [&o, fwd] { return CriPortForward(o, *fwd); });
}

}  // namespace berth::cli
