// A non-blocking byte stream: a TCP socket, optionally under TLS (OpenSSL). Reads and
// writes never block; EAGAIN comes back as -1 with errno EAGAIN.
#pragma once

#include <openssl/ssl.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::stream {

class Conn {
 public:
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  static std::unique_ptr<Conn> Plain(UniqueFd fd);
  // Runs the TLS handshake (server or client side) within the deadline.
  static Result<std::unique_ptr<Conn>> TlsAccept(UniqueFd fd, SSL_CTX* ctx,
                                                 std::chrono::steady_clock::time_point deadline);
  static Result<std::unique_ptr<Conn>> TlsConnect(UniqueFd fd, SSL_CTX* ctx,
                                                  const std::string& host,
                                                  std::chrono::steady_clock::time_point deadline);

  int Fd() const { return fd_.Get(); }
  // > 0 bytes, 0 at EOF, -1 with errno set (EAGAIN: try after poll).
  ssize_t Read(char* buf, size_t n);
  ssize_t Write(const char* buf, size_t n);
  // TLS holds decrypted bytes a poll on the fd would not show.
  bool Pending() const;
  // Half-close for a graceful end (TLS: close_notify first).
  void ShutdownWrite();

  // Blocking helpers with a deadline, for the HTTP heads before an upgrade.
  Result<void> WriteAll(std::string_view data, std::chrono::steady_clock::time_point deadline);
  // Reads what arrives (at most max bytes) into out; DEADLINE_EXCEEDED at the deadline,
  // 0 bytes at EOF.
  Result<size_t> ReadSome(std::string* out, size_t max,
                          std::chrono::steady_clock::time_point deadline);

 private:
  explicit Conn(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  SSL* ssl_ = nullptr;
};

// Milliseconds until deadline for poll(2), at least 0.
int PollTimeout(std::chrono::steady_clock::time_point deadline);

// Server and client TLS contexts (TLS 1.2+). The server's from PEM cert and key files; the
// client's verifies against ca_file, or not at all when ca_file is empty and insecure.
Result<SSL_CTX*> NewServerTlsContext(const std::string& cert_file, const std::string& key_file);
Result<SSL_CTX*> NewClientTlsContext(const std::string& ca_file, bool insecure);

Result<void> SetNonBlocking(int fd);

}  // namespace berth::stream
