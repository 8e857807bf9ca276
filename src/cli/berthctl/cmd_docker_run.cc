// run through berthd, docker-style: a pod sandbox and one container in berthctl's namespace
// (CRI calls only), the image pulled by berthd when it lacks it, the container's output
// streamed from its CRI log file until it exits, berthctl's exit code the container's.
// run does not use Attach yet (berthd serves it now; `berthctl attach` does): the output
// comes from the log file, so -t/-i are refused and stdin is not connected.
// The CRI headers first: api.proto's Signal enum names its values SIGTERM, ..., which
// <signal.h> defines as macros.
#include "cli/berthctl/cri_util.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "cli/berthctl/commands.h"
#include "cli/berthctl/log_printer.h"
#include "sys/fs.h"

namespace berth::cli {

namespace {

constexpr const char* kLocalHint =
    "  Or run the container without a daemon: berthctl run --local [OPTIONS] IMAGE [COMMAND...]";
constexpr const char* kNonceAnnotation = "berth.io/berthctl-run";
constexpr const char* kLogFile = "container.log";
constexpr int64_t kStopGraceS = 10;  // docker stop's default

using Clock = std::chrono::steady_clock;

std::string RandomHex(int digits) {
  std::random_device rd;
  std::string out;
  static const char* kHex = "0123456789abcdef";
  while (int(out.size()) < digits) {
    uint32_t v = rd();
    for (int i = 0; i < 8 && int(out.size()) < digits; i++, v >>= 4) out += kHex[v & 15];
  }
  return out;
}

// The pod's metadata name and uid and the container's name: berthd joins them with '_' into
// its reserved names and refuses '_' and '/'; the name is the default hostname too.
Result<void> ValidateName(const std::string& n) {
  bool ok = !n.empty() && n.size() <= 63 && isalnum(static_cast<unsigned char>(n[0]));
  for (char c : n) ok &= isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
  if (!ok)
    return InvalidArgument("run", "--name \"" + n + "\"",
                           "a name is 1-63 of [a-zA-Z0-9.-], starting with a letter or digit");
  return {};
}

// -e K=V, or -e K: K's value in berthctl's environment (skipped when it has none), as docker.
void AddEnv(v1::ContainerConfig& c, const std::string& kv) {
  size_t eq = kv.find('=');
  auto* e = c.add_envs();
  if (eq != std::string::npos) {
    e->set_key(kv.substr(0, eq));
    e->set_value(kv.substr(eq + 1));
    return;
  }
  const char* v = getenv(kv.c_str());
  if (!v) {
    c.mutable_envs()->RemoveLast();
    return;
  }
  e->set_key(kv);
  e->set_value(v);
}

// -v SRC:DST[:ro|rw]: a bind mount of a host path (docker's named volumes do not exist here).
Result<void> AddVolume(v1::ContainerConfig& c, const std::string& spec) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3)
    return InvalidArgument("run", "-v " + spec, "expected SRC:DST or SRC:DST:ro");
  if (parts[0].empty() || parts[0][0] != '/')
    return InvalidArgument("run", "-v " + spec,
                           "the source must be an absolute host path (there are no named volumes)");
  if (parts[1].empty() || parts[1][0] != '/')
    return InvalidArgument("run", "-v " + spec, "the destination must be an absolute path");
  auto* m = c.add_mounts();
  m->set_host_path(parts[0]);
  m->set_container_path(parts[1]);
  if (parts.size() == 3) {
    if (parts[2] == "ro") m->set_readonly(true);
    else if (parts[2] != "rw")
      return InvalidArgument("run", "-v " + spec, "the options are ro or rw");
  }
  return {};
}

Result<int32_t> PortNumber(const std::string& text, const std::string& spec) {
  int v = 0;
  size_t used = 0;
  try {
    v = std::stoi(text, &used);
  } catch (...) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v < 1 || v > 65535)
    return InvalidArgument("run", "-p " + spec, "\"" + text + "\" is not a port (1-65535)");
  return v;
}

// -p [IP:]HOST:CONTAINER[/tcp|udp]: a CRI port mapping, which berthd passes to CNI's portmap.
Result<void> AddPort(v1::PodSandboxConfig& p, const std::string& spec) {
  std::string s = spec, proto = "tcp";
  if (size_t slash = s.find('/'); slash != std::string::npos) {
    proto = s.substr(slash + 1);
    s = s.substr(0, slash);
  }
  if (proto != "tcp" && proto != "udp")
    return InvalidArgument("run", "-p " + spec, "the protocol is tcp or udp");
  std::string ip;
  size_t last = s.rfind(':');
  if (last == std::string::npos)
    return InvalidArgument("run", "-p " + spec,
                           "expected HOST:CONTAINER (a CRI mapping needs the host port)");
  std::string container = s.substr(last + 1), host = s.substr(0, last);
  if (size_t first = host.rfind(':'); first != std::string::npos) {
    ip = host.substr(0, first);
    host = host.substr(first + 1);
  }
  auto* m = p.add_port_mappings();
  m->set_protocol(proto == "udp" ? v1::UDP : v1::TCP);
  m->set_host_port(BERTH_TRY(PortNumber(host, spec)));
  m->set_container_port(BERTH_TRY(PortNumber(container, spec)));
  m->set_host_ip(ip);
  return {};
}

bool AllDigits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// -u USER[:GROUP]: a uid or a name of the image's passwd; the group numeric (CRI's
// run_as_group is a number).
Result<void> SetUser(v1::LinuxContainerSecurityContext* sc, const std::string& u) {
  std::string user = u, group;
  if (size_t colon = u.find(':'); colon != std::string::npos) {
    user = u.substr(0, colon);
    group = u.substr(colon + 1);
  }
  if (user.empty()) return InvalidArgument("run", "-u " + u, "no user");
  if (AllDigits(user)) sc->mutable_run_as_user()->set_value(std::strtoll(user.c_str(), nullptr, 10));
  else sc->set_run_as_username(user);
  if (!group.empty()) {
    if (!AllDigits(group))
      return InvalidArgument("run", "-u " + u,
                             "through berthd the group is a number (CRI run_as_group); "
                             "group names work with --local");
    sc->mutable_run_as_group()->set_value(std::strtoll(group.c_str(), nullptr, 10));
  }
  return {};
}

// Where the pod's log goes: berthd's root (its Status verbose info says where), under a
// directory of berthctl's — berthd itself writes no logs without kubelet's log_directory.
Result<std::string> LogDir(cri::Client& c, const CriCommands::Options& o, const std::string& name) {
  v1::StatusRequest req;
  req.set_verbose(true);
  auto s = BERTH_TRY(c.Status(req));
  auto info = InfoJson(s.info());
  auto cfg = info.find("config");
  if (cfg == info.end() || !cfg->is_object() || !cfg->contains("root") ||
      !(*cfg)["root"].is_string())
    return FailedPrecondition("run", "on " + c.endpoint(),
                              "the runtime there does not say where its root is (Status "
                              "info.config.root): `run` needs berthd");
  return (*cfg)["root"].get<std::string>() + "/berthctl-logs/" + o.ns + "/" + name;
}

// Takes SIGINT, SIGTERM and SIGHUP in a thread of its own: they are blocked from the
// constructor on, before gRPC starts its threads (which inherit the mask).
class SignalWatch {
 public:
  explicit SignalWatch(std::function<void(int count)> on_signal) : on_signal_(std::move(on_signal)) {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) {
      sigaddset(&set_, s);
      // A shell starts background jobs with SIGINT ignored; blocked, it still reaches us.
      signal(s, SIG_DFL);
    }
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] {
      timespec tick{0, 100 * 1000 * 1000};
      int count = 0;
      while (!done_)
        if (sigtimedwait(&set_, nullptr, &tick) > 0 && !done_) on_signal_(++count);
    });
  }
  ~SignalWatch() {
    // Woken at once (not at its next tick: `run --rm true` would wait for it).
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGHUP);
    thread_.join();
  }

 private:
  sigset_t set_;
  std::function<void(int)> on_signal_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The run's shared state between the main thread, the signal watcher and the event reader.
struct RunState {
  std::mutex mu;
  int signals = 0;
  std::string pod_id, ctr_id;  // set once made
  bool started = false;
  std::vector<std::pair<std::string, v1::ContainerEventType>> events;  // ours and others'
  std::vector<std::thread> stoppers;
  UniqueFd wake{eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};

  void Wake() {
    uint64_t one = 1;
    (void)!write(wake.Get(), &one, sizeof one);
  }
};

// StopContainer in a thread of its own (the main thread goes on printing what the container
// writes while it stops): the stop signal and kStopGraceS, or SIGKILL at once after a second
// signal to berthctl.
void StopInBackground(RunState& st, const CriCommands::Options& o, int count) {
  std::string id = st.ctr_id;
  st.stoppers.emplace_back([o, id, count] {
    auto c = CriConnect(o);
    if (!c) return;
    v1::StopContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(count > 1 ? 0 : kStopGraceS);
    if (auto r = c->StopContainer(req); !r && !r.error().IsNotFound()) Fail(r.error());
  });
}

// Pulls the image through berthd's PullImage when ImageStatus says it lacks it. CRI's
// PullImage has no progress stream: a line says what is pulled, a terminal sees the time go
// by, and a last line says how long it took.
Result<void> EnsureImage(cri::Client& c, const std::string& image, RunState& st) {
  v1::ImageStatusRequest sreq;
  sreq.mutable_image()->set_image(image);
  auto status = BERTH_TRY(c.ImageStatus(sreq));
  if (status.has_image()) return {};
  bool tty = isatty(STDERR_FILENO);
  fprintf(stderr, "berthctl: %s is not in berthd's image store: pulling it (PullImage on %s)\n",
          image.c_str(), c.image_endpoint().c_str());
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::optional<Result<v1::PullImageResponse>> resp;
  v1::PullImageRequest req;
  req.mutable_image()->set_image(image);
  auto start = Clock::now();
  std::thread puller([&] {
    auto r = c.PullImage(req);
    std::lock_guard lock(mu);
    resp = std::move(r);
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  while (!done) {
    cv.wait_for(lock, std::chrono::seconds(1));
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (tty && !done) fprintf(stderr, "\r  waiting for berthd's pull: %.0f s", secs);
    bool cancelled;
    {
      std::lock_guard sl(st.mu);
      cancelled = st.signals > 0;
    }
    if (cancelled && !done) {
      // A pull cannot be cancelled through the CRI: leave berthd to finish it, and go.
      fprintf(stderr, "%sberthctl: run: interrupted while berthd pulls %s\n", tty ? "\n" : "",
              image.c_str());
      fflush(stderr);
      _exit(130);
    }
  }
  lock.unlock();
  puller.join();
  if (tty) fprintf(stderr, "\r\033[K");
  if (!*resp) return std::unexpected(resp->error().Wrap("run: pull " + image));
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  fprintf(stderr, "berthctl: pulled %s (%s) in %.1f s\n", image.c_str(),
          (*resp)->image_ref().c_str(), secs);
  return {};
}

// The GetContainerEvents stream of the namespace, read into st.events by a thread; `Live()`
// is true once an event of our pod came, so no later one (our container's exit) is missed.
class EventReader {
 public:
  EventReader(cri::Client& c, RunState& st) : st_(st) {
    auto stream = c.GetContainerEvents({});
    if (!stream) return;
    stream_ = std::move(*stream);
    thread_ = std::thread([this] {
      v1::ContainerEventResponse e;
      while (stream_->Next(&e)) {
        std::lock_guard lock(st_.mu);
        st_.events.emplace_back(e.container_id(), e.container_event_type());
        st_.Wake();
      }
      (void)stream_->Finish();
    });
  }
  ~EventReader() {
    if (!stream_) return;
    stream_->Cancel();
    thread_.join();
  }
  // Caller holds st.mu.
  bool Seen(const std::string& id, std::optional<v1::ContainerEventType> type = {}) const {
    for (auto& [eid, t] : st_.events)
      if (eid == id && (!type || t == *type)) return true;
    return false;
  }

 private:
  RunState& st_;
  std::unique_ptr<cri::EventStream> stream_;
  std::thread thread_;
};

struct Made {
  std::string pod_id, ctr_id, log_path;
};

// Builds the pod and container configs from the command line.
Result<std::pair<v1::PodSandboxConfig, v1::ContainerConfig>> Configs(
    const CriCommands::Options& o, const RunArgs& a, const std::string& name,
    const std::string& log_dir) {
  v1::PodSandboxConfig pod;
  auto* pm = pod.mutable_metadata();
  pm->set_name(name);
  pm->set_namespace_(o.ns);
  pm->set_uid(name);  // with the name, so that a second run --name N is refused by berthd
  pod.set_hostname(a.hostname.empty() ? name : a.hostname);
  pod.set_log_directory(log_dir);
  (*pod.mutable_labels())[kRunLabel] = "run";
  (*pod.mutable_labels())[kRunNameLabel] = name;
  // Unique per run: berthd answers the same request again with the pod it made (kubelet's
  // retry); another run of the same name is a different request, refused while the name is
  // taken.
  (*pod.mutable_annotations())[kNonceAnnotation] = RandomHex(16);
  auto* lx = pod.mutable_linux();
  lx->set_cgroup_parent(a.cgroup_parent);
  auto* nso = lx->mutable_security_context()->mutable_namespace_options();
  nso->set_pid(v1::CONTAINER);  // the command is pid 1 of its own PID namespace, as docker
  if (a.network == "host") {
    nso->set_network(v1::NODE);
    if (!a.ports.empty())
      return InvalidArgument("run", "-p", "a container on the host's network has no ports to map");
    if (!a.hostname.empty())
      return InvalidArgument("run", "--hostname",
                             "a container on the host's network has the host's name (berthd "
                             "keeps UTS with the network, as containerd)");
  } else if (a.network != "cni") {
    return InvalidArgument("run", "--network " + a.network,
                           "berthd's pods are on its CNI network (cni, the default) or the "
                           "host's (host)");
  }
  for (auto& p : a.ports) BERTH_TRYV(AddPort(pod, p));

  v1::ContainerConfig ctr;
  ctr.mutable_metadata()->set_name(name);
  ctr.mutable_image()->set_image(a.image);
  if (!a.entrypoint.empty()) ctr.add_command(a.entrypoint);
  for (auto& w : a.args) ctr.add_args(w);
  ctr.set_working_dir(a.workdir);
  for (auto& e : a.env) AddEnv(ctr, e);
  for (auto& v : a.volumes) BERTH_TRYV(AddVolume(ctr, v));
  ctr.set_log_path(kLogFile);
  (*ctr.mutable_labels())[kRunLabel] = "run";
  (*ctr.mutable_labels())[kRunNameLabel] = name;
  auto* sc = ctr.mutable_linux()->mutable_security_context();
  // kubelet repeats the pod's namespace modes in each container's config; berthd checks them.
  *sc->mutable_namespace_options() = *nso;
  sc->set_readonly_rootfs(a.read_only);
  if (!a.user.empty()) BERTH_TRYV(SetUser(sc, a.user));
  return std::pair{std::move(pod), std::move(ctr)};
}

// What the CRI says, for a person who typed `run`.
Error Explain(Error e, const CriCommands::Options& o, const RunArgs& a, const std::string& name) {
  if (e.IsAlreadyExists())
    e.detail += " — a container named \"" + name + "\" exists in namespace " + o.ns +
                ": remove it (berthctl rm " + name + ") or choose another --name";
  else if (e.IsFailedPrecondition() && a.network == "cni")
    e.detail += " (berthd needs a CNI config for the pod network; --network host runs on the "
                "host's network)";
  return e;
}

// Makes the pod and the container (and starts it). On a failure nothing made stays.
Result<Made> Make(cri::Client& c, const CriCommands::Options& o, const RunArgs& a,
                  const std::string& name, RunState& st) {
  std::string log_dir = BERTH_TRY(LogDir(c, o, name));
  auto [pod_cfg, ctr_cfg] = BERTH_TRY(Configs(o, a, name, log_dir));
  Made m;
  m.log_path = log_dir + "/" + kLogFile;
  v1::RunPodSandboxRequest rp;
  *rp.mutable_config() = pod_cfg;
  rp.set_runtime_handler(a.runtime);
  auto pod = c.RunPodSandbox(rp);
  if (!pod) return std::unexpected(Explain(pod.error(), o, a, name));
  m.pod_id = pod->pod_sandbox_id();
  {
    std::lock_guard lock(st.mu);
    st.pod_id = m.pod_id;
  }
  auto undo = [&](Error e) -> Result<Made> {
    if (auto r = RemoveRunPod(c, m.pod_id, m.log_path); !r) Fail(r.error());
    return std::unexpected(std::move(e));
  };
  // The name is ours now: a log of an earlier container of that name goes.
  if (auto r = sys::MkdirAll(log_dir, 0700); !r) return undo(r.error().Wrap("run: log directory"));
  (void)unlink(m.log_path.c_str());
  v1::CreateContainerRequest cc;
  cc.set_pod_sandbox_id(m.pod_id);
  *cc.mutable_config() = ctr_cfg;
  *cc.mutable_sandbox_config() = pod_cfg;
  auto ctr = c.CreateContainer(cc);
  if (!ctr) return undo(ctr.error());
  m.ctr_id = ctr->container_id();
  {
    std::lock_guard lock(st.mu);
    st.ctr_id = m.ctr_id;
    if (st.signals > 0) return undo(Error{0, "run", name, "interrupted", {}});
  }
  v1::StartContainerRequest sc;
  sc.set_container_id(m.ctr_id);
  if (auto r = c.StartContainer(sc); !r) return undo(r.error());
  {
    std::lock_guard lock(st.mu);
    st.started = true;
  }
  return m;
}

// The container's state from berthd: exited (or gone) yet?
bool Exited(cri::Client& c, const std::string& id) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  auto s = c.ContainerStatus(req);
  if (!s) return s.error().IsNotFound();
  return s->status().state() == v1::CONTAINER_EXITED;
}

// Prints the container's log as it is written until the container has exited: woken by the
// log directory's inotify events and by the exit event of the GetContainerEvents stream;
// ContainerStatus now and then covers a stream that is not (yet) live.
void Follow(cri::Client& c, const Made& m, RunState& st, EventReader& events) {
  LogPrinter p(-1, false, 0);
  p.Live();
  UniqueFd in(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  std::string dir = m.log_path.substr(0, m.log_path.rfind('/'));
  if (in) inotify_add_watch(in.Get(), dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO);
  UniqueFd fd(open(m.log_path.c_str(), O_RDONLY | O_CLOEXEC));
  auto last_poll = Clock::now();
  for (;;) {
    if (!fd) fd = UniqueFd(open(m.log_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) {
      Drain(fd.Get(), p);
      if (Replaced(m.log_path, fd.Get())) {  // ReopenContainerLog: finish the old file
        Drain(fd.Get(), p);
        fd = UniqueFd(open(m.log_path.c_str(), O_RDONLY | O_CLOEXEC));
        continue;
      }
    }
    bool exited, live;
    {
      std::lock_guard lock(st.mu);
      exited = events.Seen(m.ctr_id, v1::CONTAINER_STOPPED_EVENT);
      live = events.Seen(m.pod_id);
    }
    auto now = Clock::now();
    if (!exited && now - last_poll >= std::chrono::milliseconds(live ? 1000 : 200)) {
      last_poll = now;
      exited = Exited(c, m.ctr_id);
    }
    if (exited) {
      // The shim logs what the container wrote before it reports the exit: one last read.
      if (!fd) fd = UniqueFd(open(m.log_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd) Drain(fd.Get(), p);
      break;
    }
    pollfd fds[2] = {{st.wake.Get(), POLLIN, 0}, {in ? in.Get() : -1, POLLIN, 0}};
    poll(fds, 2, live ? 1000 : 200);
    uint64_t n;
    (void)!read(st.wake.Get(), &n, sizeof n);
    char buf[4096];
    if (in)
      while (read(in.Get(), buf, sizeof buf) > 0) {
      }
  }
  p.End(m.ctr_id, m.log_path);
}

// No more stops from now on (what is made is going); the stoppers still running, to join.
std::vector<std::thread> EndStops(RunState& st) {
  std::lock_guard lock(st.mu);
  st.started = false;
  return std::move(st.stoppers);
}

Result<int> ExitCode(cri::Client& c, const std::string& id) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  auto s = BERTH_TRY(c.ContainerStatus(req));
  return s.status().exit_code();
}

}  // namespace

Result<void> RemoveRunPod(cri::Client& c, const std::string& pod_id, const std::string& log_path) {
  v1::RemovePodSandboxRequest req;
  req.set_pod_sandbox_id(pod_id);
  BERTH_TRYV(c.RemovePodSandbox(req));
  if (log_path.empty()) return {};
  if (unlink(log_path.c_str()) < 0 && errno != ENOENT) return Errno("run: remove", log_path);
  std::string dir = log_path.substr(0, log_path.rfind('/'));
  if (rmdir(dir.c_str()) < 0 && errno != ENOENT) return Errno("run: remove", dir);
  return {};
}

int DockerRun(const CriCommands::Options& o, const RunArgs& a) {
  if (a.tty || a.interactive)
    return CriFail(Error{0, "run", a.tty ? "-t" : "-i",
                         "run does not attach to the container yet, so it has no terminal or stdin "
                         "through berthd: use `berthctl run -d` + `berthctl attach -i -t`, or "
                         "`berthctl run --local -t` without a daemon",
                         {}});
  if (!a.platform.empty())
    return CriFail(InvalidArgument("run", "--platform",
                                   "CRI's PullImage takes no platform (berthd pulls its own); "
                                   "--platform works with --local")
                       .error());
  if (a.rm && a.detach)
    return CriFail(InvalidArgument("run", "--rm with -d",
                                   "berthd does not remove a container when it exits; run it "
                                   "without --rm and `berthctl rm` it later")
                       .error());
  std::string name = a.name.empty() ? "run-" + RandomHex(8) : a.name;
  if (auto r = ValidateName(name); !r) return CriFail(r.error());

  RunState st;
  SignalWatch signals([&](int count) {
    std::lock_guard lock(st.mu);
    st.signals = count;
    if (st.started) StopInBackground(st, o, count);
    st.Wake();
  });
  auto c = CriConnect(o);
  if (!c) return CriFail(c.error(), kLocalHint);
  if (auto r = EnsureImage(*c, a.image, st); !r) return CriFail(r.error(), kLocalHint);

  std::optional<EventReader> events;
  if (!a.detach) events.emplace(*c, st);
  auto made = Make(*c, o, a, name, st);
  if (!made) {
    CriFail(made.error(), kLocalHint);
    std::lock_guard lock(st.mu);
    return st.signals > 0 ? 130 : 1;
  }
  if (a.detach) {
    for (auto& t : EndStops(st)) t.join();
    printf("%s\n", made->ctr_id.c_str());
    return 0;
  }
  {
    std::lock_guard lock(st.mu);
    // A signal between StartContainer and `started`: stop it now.
    if (st.signals > 0) StopInBackground(st, o, st.signals);
  }
  Follow(*c, *made, st, *events);
  int rc = 0;
  auto code = ExitCode(*c, made->ctr_id);
  if (!code) rc = CriFail(code.error());
  else rc = *code;
  for (auto& t : EndStops(st)) t.join();
  if (a.rm)
    if (auto r = RemoveRunPod(*c, made->pod_id, made->log_path); !r) {
      CriFail(r.error());
      if (rc == 0) rc = 1;
    }
  return rc;
}

}  // namespace berth::cli
