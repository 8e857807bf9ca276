// berth-shim pause PID_FILE
//   The holder of a pod's shared PID namespace (berthd starts it for NamespaceMode POD):
//   unshares a PID namespace, forks its pid 1 (which only reaps, and exits on SIGTERM or
//   SIGINT), writes that pid to PID_FILE and exits. No image, no runtime call.
//
// berth-shim --namespace NS --id POD_ID --work-dir DIR --address BERTHD_ADDR --runtime PATH
//            --runtime-root DIR [--runtime-copy FD:IDENTITY] [--log-level LEVEL] [--foreground]
//
// Daemonises unless --foreground: the process started forks the shim, waits until it serves
// (shim.sock listening, shim.pid written) and exits 0 — or prints why it could not and exits
// non-zero (2: bad flags, 3: another shim has the work dir, 1: anything else). So whoever
// starts it (berthd's SpawnShim) knows it is ready when the command returns, and the shim is
// nobody's child but its subreaper's (or init's): it outlives berthd.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/fault.h"
#include "base/log.h"
#include "shim/server.h"
#include "sys/fs.h"
#include "sys/process.h"

extern "C" char __executable_start;
extern "C" char etext;

namespace {

using berth::shim::ShimOptions;

// Drops the binary's code from the page tables when the shim goes idle. Fault-around maps
// 16 neighbouring pages for every page of code that runs, so one request maps most of the
// 1 MiB text, and the pages stay counted in the shim's RSS although they are the page
// cache's, shared by every shim. The code is never written, so MADV_DONTNEED only unmaps
// it; the next request faults back what it runs (minor faults, no I/O). One shim per pod:
// its RSS counts per pod (docs/shim.md has the figures).
void DropText() {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t start = reinterpret_cast<uintptr_t>(&__executable_start) & ~(page - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(&etext) & ~(page - 1);  // whole pages only
  if (end > start) (void)madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
}

constexpr char kUsage[] =
    "usage: berth-shim --namespace NS --id POD_ID --work-dir DIR --address BERTHD_ADDR\n"
    "                  --runtime PATH --runtime-root DIR [--log-level debug|info|warn|error]\n"
    "                  [--runtime-copy FD:IDENTITY] [--foreground]\n";

int Usage(const std::string& msg) {
  fprintf(stderr, "berth-shim: %s\n%s", msg.c_str(), kUsage);
  return 2;
}

// The daemon's outcome for the launcher: "ok", or the error text and the exit code.
void Report(int fd, int code, const std::string& msg) {
  if (fd < 0) {
    if (code != 0) fprintf(stderr, "berth-shim: %s\n", msg.c_str());
    return;
  }
  std::string line = std::to_string(code) + " " + msg;
  (void)berth::sys::WriteAll(fd, line.data(), line.size(), "ready pipe");
  close(fd);
}

int Launcher(int ready_r, pid_t child) {
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(ready_r, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  int code = text.empty() ? 1 : atoi(text.c_str());
  if (code == 0 && !text.empty()) return 0;  // the daemon serves; it is not ours to wait for
  size_t sp = text.find(' ');
  std::string msg =
      sp == std::string::npos ? "the shim exited before it was ready" : text.substr(sp + 1);
  fprintf(stderr, "berth-shim: %s\n", msg.c_str());
  waitpid(child, nullptr, 0);
  return code;
}

// pid 1 of a pod's PID namespace: reaps the orphans reparented to it, nothing else.
[[noreturn]] void PauseInit() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGTERM || sig == SIGINT) _exit(0);
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
}

int PauseStart(const char* pid_file) {
  if (unshare(CLONE_NEWPID) < 0) return perror("berth-shim pause: unshare(CLONE_NEWPID)"), 1;
  auto pid = berth::sys::Fork();
  if (!pid) return fprintf(stderr, "berth-shim pause: %s\n", pid.error().Message().c_str()), 1;
  if (*pid == 0) {
    setsid();
    if (chdir("/") < 0) _exit(1);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3 && null_fd >= 0; fd++) dup2(null_fd, fd);
    (void)berth::sys::CloexecFrom(3);
    PauseInit();
  }
  auto r = berth::sys::WriteFileAtomic(pid_file, std::to_string(*pid) + "\n", 0644);
  if (!r) {
    kill(*pid, SIGKILL);
    fprintf(stderr, "berth-shim pause: %s\n", r.error().Message().c_str());
    return 1;
  }
  return 0;
}

// Ends with _exit: after unshare(CLONE_NEWPID) every child of this process, a sanitizer's
// tracer thread included, is born in the pod's namespace and cannot see this process's
// threads (LeakSanitizer's check at exit spun for ever there). Nothing of ours runs at exit.
[[noreturn]] void Pause(const char* pid_file) {
  int code = PauseStart(pid_file);
  fflush(stderr);
  _exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "pause") Pause(argv[2]);
  ShimOptions o;
  std::string level = "info";
  bool foreground = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i], v;
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--foreground") {
      foreground = true;
      continue;
    }
    if (size_t eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      return Usage(a + ": needs a value");
    }
    if (a == "--namespace")
      o.ns = v;
    else if (a == "--id")
      o.id = v;
    else if (a == "--work-dir")
      o.work_dir = v;
    else if (a == "--address")
      o.address = v;
    else if (a == "--runtime")
      o.runtime = v;
    else if (a == "--runtime-root")
      o.runtime_root = v;
    else if (a == "--runtime-copy") {
      // FD:IDENTITY, from berthd (shim::SpawnShim): see sys/sealed_copy.h.
      size_t colon = v.find(':');
      char* end = nullptr;
      long fd = strtol(v.c_str(), &end, 10);
      if (colon == std::string::npos || end != v.c_str() + colon || fd < 3 || fd > 65535)
        return Usage("--runtime-copy: \"" + v + "\" is not FD:IDENTITY");
      o.runtime_copy_fd = static_cast<int>(fd);
      o.runtime_copy_id = v.substr(colon + 1);
    }
    else if (a == "--log-level")
      level = v;
    else
      return Usage("unknown flag " + a);
  }
  if (level != "debug" && level != "info" && level != "warn" && level != "error")
    return Usage("--log-level: \"" + level + "\" is not debug, info, warn or error");
  o.debug = level == "debug";
  if (auto r = berth::shim::ValidateOptions(o); !r) return Usage(r.error().Message());
  if (auto e = berth::fault::EnvironmentError(); !e.empty()) return Usage(e);

  umask(022);
  int ready_w = -1;
  if (!foreground) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return perror("berth-shim: pipe2"), 1;
    auto pid = berth::sys::Fork();
    if (!pid) return fprintf(stderr, "berth-shim: %s\n", pid.error().Message().c_str()), 1;
    if (*pid > 0) {
      close(p[1]);
      return Launcher(p[0], *pid);
    }
    close(p[0]);
    ready_w = p[1];
    setsid();
    if (chdir("/") < 0) {
      Report(ready_w, 1, "chdir /: " + std::string(strerror(errno)));
      _exit(1);
    }
  }

  if (auto r = berth::sys::MkdirAll(o.work_dir, 0700); !r) {
    Report(ready_w, 1, r.error().Message());
    return 1;
  }
  const std::string log_path = o.work_dir + "/shim.log";
  if (!foreground)
    berth::log::Init(log_path, berth::log::Format::kText, o.debug);
  else
    berth::log::Init("", berth::log::Format::kText, o.debug);

  auto server = berth::shim::Server::Start(o);
  if (!server) {
    berth::log::Error(server.error().Message());
    Report(ready_w, server.error().IsAlreadyExists() ? 3 : 1, server.error().Message());
    return server.error().IsAlreadyExists() ? 3 : 1;
  }
  if (!foreground) {
    // Nothing of the launcher's caller stays open in the daemon: a crash report or a
    // library's message lands in shim.log.
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int log_fd = open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (null_fd >= 0) dup2(null_fd, 0);
    if (log_fd >= 0) {
      dup2(log_fd, 1);
      dup2(log_fd, 2);
    }
    if (null_fd > 2) close(null_fd);
    if (log_fd > 2) close(log_fd);
  }
  Report(ready_w, 0, "ok");
  DropText();
  (*server)->SetIdleHook(DropText, 2000);
  auto r = (*server)->Run();
  if (!r) {
    berth::log::Error(r.error().Message());
    return 1;
  }
  return 0;
}
