// recvtty SOCKET_PATH — the receiving end of a runtime's --console-socket.
//
// Listens on SOCKET_PATH, accepts one connection, receives the pty master that the
// runtime sends with SCM_RIGHTS, and copies everything the container writes to the pty
// to stdout until the last slave fd closes (read returns EIO). Used by the integration
// tests (test_process.sh), which compile it with cc; it writes nothing to the pty.
#define _GNU_SOURCE  // accept4
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int Fail(const char* what) {
  fprintf(stderr, "recvtty: %s: %s\n", what, strerror(errno));
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: recvtty SOCKET_PATH\n");
    return 2;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof(addr.sun_path)) {
    fprintf(stderr, "recvtty: %s: path too long for a unix socket\n", argv[1]);
    return 2;
  }
  strcpy(addr.sun_path, argv[1]);
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) return Fail("socket");
  if (bind(listener, (struct sockaddr*)&addr, sizeof(addr)) < 0) return Fail("bind");
  if (listen(listener, 1) < 0) return Fail("listen");
  int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return Fail("accept");

  // The runtime sends some bytes (runc: the pty's name) with the fd attached.
  char data[4096];
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof(control)};
  if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0) return Fail("recvmsg");
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
    fprintf(stderr, "recvtty: the message on %s carries no file descriptor\n", argv[1]);
    return 1;
  }
  int master;
  memcpy(&master, CMSG_DATA(cmsg), sizeof(int));
  close(conn);
  close(listener);

  char buf[4096];
  for (;;) {
    ssize_t n = read(master, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno == EIO)) break;  // EIO: every slave fd is closed
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("read pty master");
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(STDOUT_FILENO, buf + off, n - off);
      if (w < 0) return Fail("write stdout");
      off += w;
    }
  }
  return 0;
}
