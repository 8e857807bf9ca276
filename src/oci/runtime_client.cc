#include "oci/runtime_client.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "oci/runtime_errors.h"

namespace berth::oci {
namespace {

std::string Quote(const std::string& id) { return "\"" + id + "\""; }

bool IsExecutableFile(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::optional<std::string> SearchPath(const std::string& name) {
  const char* env = getenv("PATH");
  std::string_view path = env && *env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (true) {
    size_t colon = path.find(':');
    std::string dir(path.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (IsExecutableFile(candidate)) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    path.remove_prefix(colon + 1);
  }
}

// The runtime's error text in a log file, from offset on.
std::string ReadLogFrom(const std::string& path, off_t offset) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  if (lseek(fd.Get(), offset, SEEK_SET) < 0) return {};
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd.Get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, n);
    if (text.size() > (1u << 20)) break;
  }
  return text;
}

}  // namespace

Result<ContainerState> ParseState(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return InvalidArgument("parse", "container state", "not a JSON object");
  ContainerState s;
  auto string_field = [&](const char* name, std::string& out, bool required) -> Result<void> {
    auto it = j.find(name);
    if (it == j.end()) {
      if (required) return InvalidArgument("parse", "container state", std::string(name) + " is missing");
      return {};
    }
    if (!it->is_string())
      return InvalidArgument("parse", std::string("container state: ") + name, "not a string");
    out = it->get<std::string>();
    return {};
  };
  BERTH_TRYV(string_field("ociVersion", s.oci_version, false));
  BERTH_TRYV(string_field("id", s.id, true));
  BERTH_TRYV(string_field("status", s.status, true));
  BERTH_TRYV(string_field("bundle", s.bundle, false));
  if (auto it = j.find("pid"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > INT_MAX)
      return InvalidArgument("parse", "container state: pid", "not a process id");
    s.pid = static_cast<int>(it->get<int64_t>());
  }
  if (auto it = j.find("annotations"); it != j.end() && !it->is_null()) {
    if (!it->is_object())
      return InvalidArgument("parse", "container state: annotations", "not an object");
    for (auto& [k, v] : it->items()) {
      if (!v.is_string())
        return InvalidArgument("parse", "container state: annotations." + k, "not a string");
      s.annotations[k] = v.get<std::string>();
    }
  }
  return s;
}

Result<std::string> FindRuntime(const std::string& explicit_binary) {
  if (!explicit_binary.empty()) {
    if (explicit_binary.find('/') != std::string::npos) {
      if (IsExecutableFile(explicit_binary)) return explicit_binary;
      return NotFound("find OCI runtime", explicit_binary, "no executable file there");
    }
    if (auto p = SearchPath(explicit_binary)) return *p;
    return NotFound("find OCI runtime", explicit_binary, "not found in PATH");
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, n);
    std::string beside = dir.substr(0, dir.rfind('/')) + "/berth";
    if (IsExecutableFile(beside)) return beside;
  }
  if (auto p = SearchPath("berth")) return *p;
  return NotFound("find OCI runtime", "berth",
                  "not beside this program and not in PATH (give the runtime's path)");
}

Result<RuntimeClient> RuntimeClient::Find(const std::string& explicit_binary,
                                          GlobalOptions global) {
  auto binary = BERTH_TRY(FindRuntime(explicit_binary));
  return RuntimeClient(Config{std::move(binary), std::move(global), {}, {}});
}

std::vector<std::string> RuntimeClient::Base(std::string_view command,
                                             const std::string& log_override,
                                             const std::string& log_format_override) const {
  const GlobalOptions& g = config_.global;
  std::vector<std::string> argv{config_.binary};
  if (!g.root.empty()) argv.insert(argv.end(), {"--root", g.root});
  const std::string& log = log_override.empty() ? g.log : log_override;
  const std::string& format = log_format_override.empty() ? g.log_format : log_format_override;
  if (!log.empty()) argv.insert(argv.end(), {"--log", log});
  if (!format.empty()) argv.insert(argv.end(), {"--log-format", format});
  if (g.debug) argv.push_back("--debug");
  if (g.systemd_cgroup) argv.push_back("--systemd-cgroup");
  argv.emplace_back(command);
  return argv;
}

std::vector<std::string> RuntimeClient::CreatingArgv(std::string_view command,
                                                     const std::string& id,
                                                     const CreateOptions& o, bool detach,
                                                     const std::string& log,
                                                     const std::string& log_format) const {
  auto argv = Base(command, log, log_format);
  argv.insert(argv.end(), {"--bundle", o.bundle});
  if (!o.console_socket.empty()) argv.insert(argv.end(), {"--console-socket", o.console_socket});
  if (!o.pid_file.empty()) argv.insert(argv.end(), {"--pid-file", o.pid_file});
  if (o.no_pivot) argv.push_back("--no-pivot");
  if (o.no_new_keyring) argv.push_back("--no-new-keyring");
  if (o.preserve_fds > 0) argv.insert(argv.end(), {"--preserve-fds", std::to_string(o.preserve_fds)});
  if (detach) argv.push_back("--detach");
  argv.push_back(id);
  return argv;
}

std::vector<std::string> RuntimeClient::CreateArgv(const std::string& id,
                                                   const CreateOptions& o) const {
  return CreatingArgv("create", id, o, false, {}, {});
}

std::vector<std::string> RuntimeClient::RunArgv(const std::string& id, const CreateOptions& o,
                                                bool detach) const {
  return CreatingArgv("run", id, o, detach, {}, {});
}

std::vector<std::string> RuntimeClient::StartArgv(const std::string& id) const {
  auto argv = Base("start");
  argv.push_back(id);
  return argv;
}

std::vector<std::string> RuntimeClient::StateArgv(const std::string& id) const {
  auto argv = Base("state");
  argv.push_back(id);
  return argv;
}

std::vector<std::string> RuntimeClient::KillArgv(const std::string& id,
                                                 const KillOptions& o) const {
  auto argv = Base("kill");
  if (o.all) argv.push_back("--all");
  argv.push_back(id);
  argv.push_back(o.signal.empty() ? "TERM" : o.signal);
  return argv;
}

std::vector<std::string> RuntimeClient::UpdateArgv(const std::string& id,
                                                   const std::string& file) const {
  auto argv = Base("update");
  argv.insert(argv.end(), {"--resources", file, id});
  return argv;
}

std::vector<std::string> RuntimeClient::DeleteArgv(const std::string& id,
                                                   const DeleteOptions& o) const {
  auto argv = Base("delete");
  if (o.force) argv.push_back("--force");
  argv.push_back(id);
  return argv;
}

namespace {

// A failure before the runtime ran: a binary that vanished is kUnavailable (the runtime is
// missing), so that kNotFound keeps meaning "no such container".
Error SpawnFailure(const std::string& binary, std::string_view command, const std::string& id,
                   Error e) {
  if (e.IsDeadlineExceeded())
    return Error{0, binary + " " + std::string(command), Quote(id), e.detail, {},
                 ErrorKind::kDeadlineExceeded};
  if (e.code == ENOENT || e.code == ENOEXEC) e.WithKind(ErrorKind::kUnavailable);
  e.Wrap(binary + " " + std::string(command) + " " + Quote(id));
  return e;
}

}  // namespace

Result<Captured> RuntimeClient::RunCaptured(std::string_view command, const std::string& id,
                                            const std::vector<std::string>& argv,
                                            bool want_stdout) const {
  // With --log, runc writes its errors only there: read what this call added.
  off_t log_offset = 0;
  struct stat st{};
  if (!config_.global.log.empty() && stat(config_.global.log.c_str(), &st) == 0)
    log_offset = st.st_size;
  CaptureOptions co;
  co.capture_out = want_stdout;
  co.capture_err = true;
  co.timeout = config_.timeout;
  auto c = SpawnAndCapture(config_.binary, argv, co);
  if (!c) return std::unexpected(SpawnFailure(config_.binary, command, id, std::move(c.error())));
  if (c->wait_status != 0) {
    std::string text = c->err;
    if (!config_.global.log.empty()) text += "\n" + ReadLogFrom(config_.global.log, log_offset);
    return std::unexpected(RuntimeError(config_.binary, command, id, c->wait_status, text));
  }
  return c;
}

Result<void> RuntimeClient::RunCreating(std::string_view command, const std::string& id,
                                        const CreateOptions& o, bool run) const {
  // The runtime hands its stdio to the container, so its own errors cannot be told apart
  // there: they are read from its log (the caller's, or a private file per call).
  std::string log = config_.global.log;
  off_t log_offset = 0;
  bool temp = log.empty();
  if (temp) {
    std::string dir = config_.temp_dir;
    if (dir.empty()) {
      const char* t = getenv("TMPDIR");
      dir = t && *t ? t : "/tmp";
    }
    std::string tmpl = dir + "/berth-oci-" + std::string(command) + "-XXXXXX";
    int fd = mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return Errno("create the runtime's log file", tmpl);
    close(fd);
    log = tmpl;
  } else {
    struct stat st{};
    if (stat(log.c_str(), &st) == 0) log_offset = st.st_size;
  }
  auto argv = CreatingArgv(command, id, o, run, log, temp ? "json" : "");
  auto finish = [&](Result<void> r) {
    if (temp) unlink(log.c_str());
    return r;
  };
  auto proc = Spawn(config_.binary, argv, o.stdio);
  if (!proc)
    return finish(std::unexpected(SpawnFailure(config_.binary, command, id, std::move(proc.error()))));
  auto status = proc->WaitFor(config_.timeout);
  if (!status)
    return finish(
        std::unexpected(SpawnFailure(config_.binary, command, id, std::move(status.error()))));
  if (*status != 0)
    return finish(std::unexpected(
        RuntimeError(config_.binary, command, id, *status, ReadLogFrom(log, log_offset))));
  return finish({});
}

Result<void> RuntimeClient::Create(const std::string& id, const CreateOptions& options) const {
  return RunCreating("create", id, options, false);
}

Result<void> RuntimeClient::RunDetached(const std::string& id, const CreateOptions& options) const {
  return RunCreating("run", id, options, true);
}

Result<Process> RuntimeClient::SpawnRun(const std::string& id, const CreateOptions& options) const {
  auto proc = Spawn(config_.binary, RunArgv(id, options, false), options.stdio);
  if (!proc) return std::unexpected(SpawnFailure(config_.binary, "run", id, std::move(proc.error())));
  return proc;
}

Result<void> RuntimeClient::Start(const std::string& id) const {
  BERTH_TRYV(RunCaptured("start", id, StartArgv(id), false));
  return {};
}

Result<ContainerState> RuntimeClient::State(const std::string& id) const {
  auto c = BERTH_TRY(RunCaptured("state", id, StateArgv(id), true));
  auto s = ParseState(c.out);
  if (!s) {
    Error e = std::move(s.error());
    e.Wrap(config_.binary + " state " + Quote(id) + ": the runtime's output");
    return std::unexpected(e.WithKind(ErrorKind::kInternal));
  }
  return s;
}

Result<void> RuntimeClient::Kill(const std::string& id, const KillOptions& options) const {
  BERTH_TRYV(RunCaptured("kill", id, KillArgv(id, options), false));
  return {};
}

Result<void> RuntimeClient::Delete(const std::string& id, const DeleteOptions& options) const {
  BERTH_TRYV(RunCaptured("delete", id, DeleteArgv(id, options), false));
  return {};
}

Result<void> RuntimeClient::Update(const std::string& id, const std::string& file) const {
  BERTH_TRYV(RunCaptured("update", id, UpdateArgv(id, file), false));
  return {};
}

}  // namespace berth::oci
