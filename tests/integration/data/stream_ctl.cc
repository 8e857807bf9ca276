// berth-stream-ctl: a streaming Server over the tests' fake Backend (local processes,
// port-forward to 127.0.0.1), for tests/integration/test_stream_kubectl.sh. Prints
// "port N", then answers each stdin line with a URL:
//   exec TTY STDIN STDOUT STDERR CMD ARGS...    (flags 0/1, arguments percent-encoded)
//   portforward [PORT...]
// EOF on stdin stops it.
#include <iostream>
#include <sstream>
#include <string>

#include "stream/http.h"
#include "stream/server.h"
#include "stream_fake_backend.h"

int main() {
  using namespace berth::stream;
  testing::FakeBackend backend;
  Server server(ServerConfig{}, &backend);
  if (auto r = server.Start(); !r) {
    std::cerr << "berth-stream-ctl: " << r.error().Message() << "\n";
    return 1;
  }
  std::cout << "port " << server.Port() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string verb;
    in >> verb;
    berth::Result<std::string> url;
    if (verb == "exec") {
      int tty = 0, i = 0, o = 0, e = 0;
      in >> tty >> i >> o >> e;
      ExecRequest req{"k8s.io", "c1", {}, tty != 0, i != 0, o != 0, e != 0};
      for (std::string a; in >> a;) req.cmd.push_back(berth::stream::PercentDecode(a));
      url = server.ExecUrl(req);
    } else if (verb == "portforward") {
      PortForwardRequest req{"k8s.io", "pod1", {}};
      for (int p; in >> p;) req.ports.push_back(p);
      url = server.PortForwardUrl(req);
    } else {
      url = berth::InvalidArgument("berth-stream-ctl", verb, "unknown verb");
    }
    std::cout << (url ? *url : "error " + url.error().Message()) << std::endl;
  }
  server.Stop();
  return backend.live.load() == 0 ? 0 : 2;
}
