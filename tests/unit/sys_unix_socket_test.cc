// sys/unix_socket.h: fds over a unix socketpair (SCM_RIGHTS) and connecting by path.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "base/unique_fd.h"
#include "sys/unix_socket.h"

namespace berth::sys {
namespace {

struct Pair {
  UniqueFd a, b;
};

Pair SocketPair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return {};
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

// dev/ino of what an fd refers to, to tell that the received fd is the sent file.
std::pair<dev_t, ino_t> Id(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  return {st.st_dev, st.st_ino};
}

TEST(SysSocket, SendsFdsWithDataAndReceivesThemCloseOnExec) {
  Pair p = SocketPair();
  ASSERT_TRUE(p.a && p.b);
  int pipefd[2];
  ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  UniqueFd r(pipefd[0]), w(pipefd[1]);
  int fds[] = {r.Get(), w.Get()};
  ASSERT_TRUE(SendFds(p.a.Get(), fds, "/dev/pts/7", "test"));
  auto got = RecvFds(p.b.Get(), 256, 4, "test");
  ASSERT_TRUE(got) << got.error().Message();
  EXPECT_EQ(got->data, "/dev/pts/7");
  ASSERT_EQ(got->fds.size(), 2u);
  EXPECT_EQ(Id(got->fds[0].Get()), Id(r.Get())) << "order of fds kept";
  EXPECT_EQ(Id(got->fds[1].Get()), Id(w.Get()));
  for (auto& fd : got->fds) EXPECT_TRUE(::fcntl(fd.Get(), F_GETFD) & FD_CLOEXEC);
  // The received write end reaches the original read end.
  ASSERT_EQ(::write(got->fds[1].Get(), "z", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(r.Get(), &c, 1), 1);
  EXPECT_EQ(c, 'z');
}

TEST(SysSocket, EmptyDataStillCarriesTheFd) {
  Pair p = SocketPair();
  int fd = STDERR_FILENO;
  ASSERT_TRUE(SendFds(p.a.Get(), {&fd, 1}, "", "test"));
  auto got = RecvFd(p.b.Get(), "test");
  ASSERT_TRUE(got) << got.error().Message();
  EXPECT_EQ(Id(got->Get()), Id(STDERR_FILENO));
}

TEST(SysSocket, LargeDataArrivesWholeWithTheFdOnTheFirstPart) {
  Pair p = SocketPair();
  int small = 4096;
  ASSERT_EQ(::setsockopt(p.a.Get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  std::string data(1 << 20, 'x');
  data.back() = 'y';
  int fd = STDOUT_FILENO;
  // The reader drains in another process while the writer goes through short writes.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    p.b.Reset();
    _exit(SendFds(p.a.Get(), {&fd, 1}, data, "test") ? 0 : 1);
  }
  p.a.Reset();
  auto first = RecvFds(p.b.Get(), data.size(), 1, "test");
  ASSERT_TRUE(first) << first.error().Message();
  ASSERT_EQ(first->fds.size(), 1u);
  std::string all = first->data;
  for (;;) {
    auto more = RecvFds(p.b.Get(), data.size(), 1, "test");
    if (!more) break;  // EOF
    EXPECT_TRUE(more->fds.empty()) << "an fd sent again with a later part";
    all += more->data;
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(all.size(), data.size());
  EXPECT_EQ(all, data);
}

TEST(SysSocket, ErrorsHaveKinds) {
  Pair p = SocketPair();
  // More fds than the receiver accepts: refused (the kernel dropped the rest).
  int fds[] = {0, 1, 2};
  ASSERT_TRUE(SendFds(p.a.Get(), fds, "x", "test"));
  auto trunc = RecvFds(p.b.Get(), 16, 1, "test");
  ASSERT_FALSE(trunc);
  EXPECT_TRUE(trunc.error().IsInvalidArgument()) << trunc.error().Message();
  // Data without an fd where one is expected.
  ASSERT_EQ(::write(p.a.Get(), "x", 1), 1);
  auto none = RecvFd(p.b.Get(), "console socket");
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().IsInvalidArgument());
  EXPECT_NE(none.error().Message().find("console socket"), std::string::npos)
      << none.error().Message();
  // The peer gone.
  p.a.Reset();
  auto closed = RecvFds(p.b.Get(), 16, 1, "test");
  ASSERT_FALSE(closed);
  EXPECT_TRUE(closed.error().IsUnavailable()) << closed.error().Message();
  int fd = 0;
  auto send = SendFds(p.b.Get(), {&fd, 1}, "x", "test");
  ASSERT_FALSE(send) << "a send to a closed peer must fail (and not raise SIGPIPE)";
  EXPECT_EQ(send.error().code, EPIPE);
}

TEST(SysSocket, ConnectUnixNamesTheFieldAndPath) {
  auto too_long = ConnectUnix("/" + std::string(200, 'x'), "--console-socket");
  ASSERT_FALSE(too_long);
  EXPECT_TRUE(too_long.error().IsInvalidArgument());
  EXPECT_EQ(too_long.error().Message().rfind("--console-socket /xxx", 0), 0u)
      << too_long.error().Message();
  auto missing = ConnectUnix("/nonexistent-berth-dir/sock", "linux.seccomp.listenerPath");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
  EXPECT_NE(missing.error().Message().find("linux.seccomp.listenerPath: connect "
                                           "/nonexistent-berth-dir/sock"),
            std::string::npos)
      << missing.error().Message();

  char tmpl[] = "/tmp/berth-socket-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/s";
  UniqueFd srv(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(srv.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(srv.Get(), 1), 0);
  auto c = ConnectUnix(path, "test");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_TRUE(::fcntl(c->Get(), F_GETFD) & FD_CLOEXEC);
  UniqueFd conn(::accept4(srv.Get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn);
  ::unlink(path.c_str());
  ::rmdir(tmpl);
}

}  // namespace
}  // namespace berth::sys
