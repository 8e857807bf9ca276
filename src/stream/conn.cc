#include "stream/conn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace berth::stream {
namespace {

std::string SslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

Result<void> Handshake(SSL* ssl, int fd, std::chrono::steady_clock::time_point deadline,
                       const char* op) {
  for (;;) {
    int rc = SSL_do_handshake(ssl);
    if (rc == 1) return {};
    int err = SSL_get_error(ssl, rc);
    short events = 0;
    if (err == SSL_ERROR_WANT_READ)
      events = POLLIN;
    else if (err == SSL_ERROR_WANT_WRITE)
      events = POLLOUT;
    else
      return Unavailable(op, "", SslError());
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, PollTimeout(deadline));
    if (n == 0) return DeadlineExceeded(op, "", "TLS handshake timed out");
    if (n < 0 && errno != EINTR) return Errno("poll", op);
  }
}

}  // namespace

int PollTimeout(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return 0;
  return left.count() > 1 << 30 ? 1 << 30 : static_cast<int>(left.count());
}

Result<void> SetNonBlocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return Errno("fcntl O_NONBLOCK");
  return {};
}

Conn::~Conn() {
  if (ssl_) SSL_free(ssl_);
}

std::unique_ptr<Conn> Conn::Plain(UniqueFd fd) {
  return std::unique_ptr<Conn>(new Conn(std::move(fd)));
}

Result<std::unique_ptr<Conn>> Conn::TlsAccept(UniqueFd fd, SSL_CTX* ctx,
                                              std::chrono::steady_clock::time_point deadline) {
  std::unique_ptr<Conn> c(new Conn(std::move(fd)));
  c->ssl_ = SSL_new(ctx);
  if (!c->ssl_ || SSL_set_fd(c->ssl_, c->Fd()) != 1) return Internal("SSL_new", "", SslError());
  SSL_set_accept_state(c->ssl_);
  BERTH_TRYV(Handshake(c->ssl_, c->Fd(), deadline, "TLS accept"));
  return c;
}

Result<std::unique_ptr<Conn>> Conn::TlsConnect(UniqueFd fd, SSL_CTX* ctx, const std::string& host,
                                               std::chrono::steady_clock::time_point deadline) {
  std::unique_ptr<Conn> c(new Conn(std::move(fd)));
  c->ssl_ = SSL_new(ctx);
  if (!c->ssl_ || SSL_set_fd(c->ssl_, c->Fd()) != 1) return Internal("SSL_new", "", SslError());
  SSL_set_tlsext_host_name(c->ssl_, host.c_str());
  unsigned char addr[16];
  if (inet_pton(AF_INET, host.c_str(), addr) == 1 || inet_pton(AF_INET6, host.c_str(), addr) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl_), host.c_str());
  } else {
    SSL_set1_host(c->ssl_, host.c_str());
  }
  SSL_set_connect_state(c->ssl_);
  BERTH_TRYV(Handshake(c->ssl_, c->Fd(), deadline, "TLS connect"));
  return c;
}

ssize_t Conn::Read(char* buf, size_t n) {
  if (!ssl_) {
    for (;;) {
      ssize_t r = ::recv(Fd(), buf, n, 0);
      if (r < 0 && errno == EINTR) continue;
      return r;
    }
  }
  size_t got = 0;
  int rc = SSL_read_ex(ssl_, buf, n, &got);
  if (rc == 1) return static_cast<ssize_t>(got);
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  ERR_clear_error();
  errno = ECONNRESET;
  return -1;
}

ssize_t Conn::Write(const char* buf, size_t n) {
  if (!ssl_) {
    for (;;) {
      ssize_t r = ::send(Fd(), buf, n, MSG_NOSIGNAL);
      if (r < 0 && errno == EINTR) continue;
      return r;
    }
  }
  size_t put = 0;
  int rc = SSL_write_ex(ssl_, buf, n, &put);
  if (rc == 1) return static_cast<ssize_t>(put);
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  ERR_clear_error();
  errno = EPIPE;
  return -1;
}

bool Conn::Pending() const { return ssl_ && SSL_pending(ssl_) > 0; }

void Conn::ShutdownWrite() {
  if (ssl_) {
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  ::shutdown(Fd(), SHUT_WR);
}

Result<void> Conn::WriteAll(std::string_view data, std::chrono::steady_clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = Write(data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno != EAGAIN) return Errno("write", "streaming connection");
    pollfd p{Fd(), POLLOUT, 0};
    int r = poll(&p, 1, PollTimeout(deadline));
    if (r == 0) return DeadlineExceeded("write", "streaming connection", "peer not reading");
    if (r < 0 && errno != EINTR) return Errno("poll", "streaming connection");
  }
  return {};
}

Result<size_t> Conn::ReadSome(std::string* out, size_t max,
                              std::chrono::steady_clock::time_point deadline) {
  char buf[16384];
  for (;;) {
    ssize_t n = Read(buf, std::min(max, sizeof buf));
    if (n >= 0) {
      out->append(buf, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (errno != EAGAIN) return Errno("read", "streaming connection");
    pollfd p{Fd(), POLLIN, 0};
    int r = poll(&p, 1, PollTimeout(deadline));
    if (r == 0) return DeadlineExceeded("read", "streaming connection", "timed out");
    if (r < 0 && errno != EINTR) return Errno("poll", "streaming connection");
  }
}

Result<SSL_CTX*> NewServerTlsContext(const std::string& cert_file, const std::string& key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Internal("SSL_CTX_new", "", SslError());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_num_tickets(ctx, 0);  // no post-handshake writes a reader would have to make
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    std::string e = SslError();
    SSL_CTX_free(ctx);
    return InvalidArgument("load TLS certificate", cert_file, e);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    std::string e = SslError();
    SSL_CTX_free(ctx);
    return InvalidArgument("load TLS key", key_file, e);
  }
  return ctx;
}

Result<SSL_CTX*> NewClientTlsContext(const std::string& ca_file, bool insecure) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return Internal("SSL_CTX_new", "", SslError());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
      std::string e = SslError();
      SSL_CTX_free(ctx);
      return InvalidArgument("load TLS CA", ca_file, e);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else if (!insecure) {
    SSL_CTX_set_default_verify_paths(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  return ctx;
}

}  // namespace berth::stream
