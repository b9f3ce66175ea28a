#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "korehook/net/url.hpp"
#include "korehook/retry/policy.hpp"
#include "korehook/sign/headers.hpp"
#include "korehook/util/time.hpp"

namespace korehook::delivery {

struct SendRequest {
  net::HttpsUrl url;
  sign::Headers headers;  // every header but host and content-length (added by the sender)
  std::shared_ptr<const std::string> body;
  Millis connect_timeout{5'000};       // resolve + TCP connect (per address) + TLS handshake
  Millis read_timeout{15'000};         // write + the whole response
  std::optional<std::string> ca_file;  // per-endpoint CA bundle; the sender's default otherwise
};

struct SendResult {
  std::optional<int> status;  // when a response header was read
  retry::ErrorClass error = retry::ErrorClass::kNone;
  std::string error_detail;  // e.g. "certificate verify failed: self-signed certificate"
  std::optional<std::string> retry_after;
  std::vector<std::pair<std::string, std::string>> response_headers;
  std::string response_excerpt;  // first 4 KiB of the body at most
  TimeMs started_at = 0;
  std::int64_t duration_ms = 0;
  bool reused_connection = false;
  // Milestones in ms since the attempt started, like curl's time_connect, time_appconnect and
  // time_starttransfer; absent when the attempt did not get there (or, for connect and TLS,
  // when it went over a reused connection).
  std::optional<std::int64_t> connect_ms;
  std::optional<std::int64_t> tls_ms;
  std::optional<std::int64_t> first_byte_ms;
};

struct SenderOptions {
  std::optional<std::string> ca_file;  // default trust: this bundle, or the system store
  // Static name -> addresses (config network.resolve); other names use the system resolver.
  std::map<std::string, std::vector<std::string>> resolve;
  int max_idle_per_origin = 64;
  Millis idle_timeout{30'000};
  std::size_t max_response_header_bytes = 16 * 1024;
};

// HTTPS client with a keep-alive connection pool per origin (host:port + CA bundle).
// Runs on one io_context thread; every call and callback happens on that thread.
// A connection: resolve -> try each address in turn -> TLS handshake (TLS >= 1.2, SNI,
// chain + host name verification) -> write -> read the response (bounded) -> back to the
// pool if the response allows keep-alive. A reused connection that fails before any response
// byte is retried once on a fresh connection.
class Sender {
 public:
  Sender(boost::asio::io_context& io, const Clock& clock, SenderOptions options);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void send(SendRequest request, std::function<void(SendResult)> done);

  // Closes idle connections; in-flight requests finish normally.
  void close_idle();
  std::size_t idle_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace korehook::delivery
