#include "shim/console.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>

#include "sys/unix_socket.h"

namespace berth::shim {

Result<ConsoleSocket> ListenConsole(const std::string& dir, const std::string& name) {
  ConsoleSocket cs;
  cs.path = dir + "/" + name;
  if (cs.path.size() >= sizeof(sockaddr_un::sun_path)) {
    char tmpl[] = "/tmp/berth-shim-console.XXXXXX";
    if (!mkdtemp(tmpl)) return Errno("mkdtemp", tmpl);
    cs.tmp_dir = tmpl;
    cs.path = cs.tmp_dir + "/" + name;
  }
  cs.fd.Reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!cs.fd) {
    RemoveConsole(cs);
    return Errno("socket", cs.path);
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  cs.path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  mode_t old = umask(0177);
  int rc = bind(cs.fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc < 0 || listen(cs.fd.Get(), 1) < 0) {
    auto e = Errno(rc < 0 ? "bind" : "listen", cs.path);
    RemoveConsole(cs);
    return e;
  }
  return cs;
}

void RemoveConsole(const ConsoleSocket& cs) {
  if (cs.path.empty()) return;
  unlink(cs.path.c_str());
  if (!cs.tmp_dir.empty()) rmdir(cs.tmp_dir.c_str());
}

Result<UniqueFd> ReceiveMaster(const ConsoleSocket& cs, const std::string& op) {
  UniqueFd conn(accept4(cs.fd.Get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) {
    if (errno == EAGAIN)
      return Internal(op, "console socket", "the runtime did not send a pty master");
    return Errno("accept", cs.path);
  }
  UniqueFd master = BERTH_TRY(sys::RecvFd(conn.Get(), "console socket"));
  int fl = fcntl(master.Get(), F_GETFL);
  if (fl < 0 || fcntl(master.Get(), F_SETFL, fl | O_NONBLOCK) < 0)
    return Errno("fcntl", "pty master");
  return master;
}

}  // namespace berth::shim
