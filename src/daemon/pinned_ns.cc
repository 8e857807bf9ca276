#include "daemon/pinned_ns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "sys/fs.h"
#include "sys/netif.h"
#include "sys/process.h"
#include "sys/spawn.h"

namespace berth::daemon {

namespace {

Result<void> Unpin(const std::string& file) {
  if (file.empty()) return {};
  if (::umount2(file.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return Errno("unmount namespace", file);
  if (::unlink(file.c_str()) < 0 && errno != ENOENT) return Errno("remove", file);
  return {};
}

Result<void> Pin(const std::string& type, const std::string& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return Errno("create", file);
  ::close(fd);
  std::string src = "/proc/thread-self/ns/" + type;
  if (::mount(src.c_str(), file.c_str(), nullptr, MS_BIND, nullptr) < 0) {
    Error e = Errno("bind mount", src, "onto " + file).error();
    ::unlink(file.c_str());
    return std::unexpected(e);
  }
  return {};
}

}  // namespace

Result<PinnedNamespaces> PinNamespaces(const std::string& dir, bool net, bool ipc, bool uts,
                                       const std::string& hostname) {
  PinnedNamespaces out;
  if (!net && !ipc && !uts) return out;
  BERTH_TRYV(sys::MkdirAll(dir, 0700));
  Result<void> result;
  // The thread's namespaces die with it unless pinned; it does nothing else.
  std::thread t([&] {
    int flags = (net ? CLONE_NEWNET : 0) | (ipc ? CLONE_NEWIPC : 0) | (uts ? CLONE_NEWUTS : 0);
    if (::unshare(flags) < 0) {
      result = Errno("unshare", "pod namespaces");
      return;
    }
    // lo up here, in the thread that owns the new netns: no loopback plugin to exec.
    if (net) {
      if (auto r = sys::BringUpLoopback(); !r) {
        result = std::unexpected(r.error().Wrap("pod network namespace"));
        return;
      }
    }
    if (uts && !hostname.empty() && ::sethostname(hostname.data(), hostname.size()) < 0) {
      result = Errno("sethostname", hostname);
      return;
    }
    struct Want {
      bool on;
      const char* type;
      std::string* file;
    } wants[] = {{net, "net", &out.net}, {ipc, "ipc", &out.ipc}, {uts, "uts", &out.uts}};
    for (auto& w : wants) {
      if (!w.on) continue;
      std::string file = dir + "/" + w.type;
      auto r = Pin(w.type, file);
      if (!r) {
        result = r;
        return;
      }
      *w.file = file;
    }
  });
  t.join();
  if (!result) {
    (void)UnpinNamespaces(out);
    return std::unexpected(result.error());
  }
  return out;
}

Result<std::pair<std::string, int>> StartPidHolder(const std::string& shim_binary,
                                                   const std::string& dir) {
  BERTH_TRYV(sys::MkdirAll(dir, 0700));
  std::string pid_file = dir + "/pause.pid";
  auto child = sys::SpawnProcess(shim_binary, {shim_binary, "pause", pid_file}, {});
  if (!child) return std::unexpected(child.error().Wrap("start the pod's PID namespace holder"));
  auto status = sys::WaitExit(*child);
  if (!status) return std::unexpected(status.error());
  if (*status != 0)
    return Internal("start the pod's PID namespace holder", shim_binary + " pause",
                    "exited " + std::to_string(*status));
  auto text = BERTH_TRY(sys::ReadFile(pid_file));
  int pid = std::atoi(text.c_str());
  // pause.pid stays: a berthd killed before the pod's record names the holder finds it
  // there (StopPidHolder checks that the pid still is that namespace's before killing).
  std::string file = dir + "/pid";
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) {
    ::kill(pid, SIGKILL);
    return Errno("create", file);
  }
  ::close(fd);
  std::string src = "/proc/" + std::to_string(pid) + "/ns/pid";
  if (::mount(src.c_str(), file.c_str(), nullptr, MS_BIND, nullptr) < 0) {
    Error e = Errno("bind mount", src, "onto " + file).error();
    ::unlink(file.c_str());
    ::kill(pid, SIGKILL);
    return std::unexpected(e);
  }
  return std::pair{file, pid};
}

namespace {
// The holder is a fork of `berth-shim pause PID_FILE` (no exec): its command line says whose.
bool IsPidHolder(int pid, const std::string& holder_pid_file) {
  if (holder_pid_file.empty()) return false;
  auto cmdline = sys::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline) return false;
  size_t first = cmdline->find('\0');
  const std::string args = std::string("pause", 5) + '\0' + holder_pid_file + '\0';
  return first != std::string::npos && cmdline->compare(first + 1, std::string::npos, args) == 0;
}
}  // namespace

Result<void> StopPidHolder(const std::string& file, int pid, const std::string& holder_pid_file) {
  if (file.empty()) return {};
  struct stat pinned, live;
  const std::string proc_ns = "/proc/" + std::to_string(pid) + "/ns/pid";
  bool pinned_here = ::stat(file.c_str(), &pinned) == 0;
  if (pid > 0 && ::stat(proc_ns.c_str(), &live) == 0) {
    bool same_ns = pinned_here && pinned.st_ino == live.st_ino && pinned.st_dev == live.st_dev;
    if (same_ns || IsPidHolder(pid, holder_pid_file)) ::kill(pid, SIGKILL);
  }
  return Unpin(file);
}

Result<void> UnpinNamespaces(const PinnedNamespaces& ns) {
  Result<void> first;
  for (const std::string* f : {&ns.net, &ns.ipc, &ns.uts}) {
    auto r = Unpin(*f);
    if (!r && first) first = r;
  }
  return first;
}

}  // namespace berth::daemon
