// berthd's streaming server (issue 11): the URLs the CRI Exec, Attach and PortForward calls
// return, and the connections of the clients that follow them (kubelet's proxy, crictl,
// berthctl) over SPDY/3.1 or WebSocket. Threaded, never forks: an accept thread and one
// thread per connection, bounded. See docs/streaming.md.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/error.h"
#include "base/unique_fd.h"
#include "stream/backend.h"
#include "stream/token_cache.h"

namespace berth::stream {

struct ServerConfig {
  std::string address = "127.0.0.1";        // IPv4 or IPv6 literal
  uint16_t port = 0;                        // 0: a free port
  std::string tls_cert_file, tls_key_file;  // both or neither (https URLs)
  std::chrono::milliseconds token_ttl{60'000};
  size_t max_sessions = 128;  // connections at once; more get 503
  size_t max_tokens = 1000;   // URLs handed out and not yet used
  std::chrono::milliseconds stream_creation_timeout{30'000};
  std::chrono::milliseconds handshake_timeout{10'000};  // TLS + HTTP head
  size_t max_header_bytes = 16 << 10;
  size_t max_streams_per_connection = 256;
  size_t max_frame_bytes = 1 << 20;
  Clock clock;  // tests: token expiry without sleeping
};

class Server {
 public:
  Server(ServerConfig config, Backend* backend);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving; the port is known afterwards.
  Result<void> Start();
  // Ends all sessions (Session::Abandon) and joins every thread.
  void Stop();

  uint16_t Port() const { return port_; }
  // "http://127.0.0.1:PORT" (https with TLS; IPv6 in brackets).
  std::string BaseUrl() const;

  Result<std::string> ExecUrl(ExecRequest req);
  Result<std::string> AttachUrl(AttachRequest req);
  Result<std::string> PortForwardUrl(PortForwardRequest req);

  // Connections being served (tests check that hostile ones end).
  size_t ActiveConnections() const { return active_.load(); }

 private:
  struct Connection {
    std::thread thread;
    UniqueFd wake;  // eventfd: Stop() writes it
    std::atomic<bool> finished{false};
  };

  Result<std::string> Store(StreamRequest req);
  void AcceptLoop();
  void Serve(UniqueFd fd, Connection* self);
  void ReapFinished(bool all);

  ServerConfig config_;
  Backend* backend_;
  TokenCache tokens_;
  SSL_CTX* tls_ = nullptr;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> conns_;
  std::atomic<size_t> active_{0};
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace berth::stream
