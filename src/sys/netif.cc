#include "sys/netif.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "base/unique_fd.h"

namespace berth::sys {

Result<void> BringUpLoopback() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return Errno("socket", "AF_INET", "to set lo up");
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.Get(), SIOCGIFFLAGS, &ifr) < 0) return Errno("SIOCGIFFLAGS", "lo");
  if (ifr.ifr_flags & IFF_UP) return {};
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(sock.Get(), SIOCSIFFLAGS, &ifr) < 0) return Errno("SIOCSIFFLAGS", "lo", "set it up");
  return {};
}

}  // namespace berth::sys
