#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "korehook/net/cidr.hpp"
#include "korehook/net/url.hpp"
#include "korehook/retry/policy.hpp"
#include "korehook/sign/headers.hpp"
#include "korehook/util/time.hpp"

namespace korehook::delivery {

struct SendRequest {
  net::HttpsUrl url;
  sign::Headers headers;  // every header but host and content-length (added by the sender)
  std::shared_ptr<const std::string> body;
  // Bounds of the attempt. Each step of connecting (the name lookup, the TCP connect to one
  // address, the TLS handshake) gets `connect_timeout`; writing the request and reading the
  // whole response get `read_timeout` together; and no step runs past `timeout` after the
  // attempt started (send()), so it bounds the whole attempt. A step cut short by `timeout`
  // ends the attempt with ErrorClass::kTimeout (a step cut by its own bound: as before, kDns
  // for the lookup, kTimeout otherwise); error_detail names the step and the bound.
  Millis connect_timeout{5'000};
  Millis read_timeout{15'000};
  Millis timeout{20'000};
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
  // The TLS handshake of a new connection resumed a session of an earlier connection to the
  // same origin (abbreviated handshake, no certificate exchange).
  bool tls_resumed = false;
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
  // Private, loopback, link-local... ranges deliveries may reach anyway (config
  // network.allow_private). Every other non-public address is blocked (net/address_policy).
  std::vector<net::Cidr> allow_private;
  int max_idle_per_origin = 64;
  Millis idle_timeout{30'000};
  std::size_t max_response_header_bytes = 16 * 1024;
};

// HTTPS client with a keep-alive connection pool per origin (host:port + CA bundle).
// Runs on one io_context thread; every call and callback happens on that thread.
// A connection: resolve -> check every address against the address policy (SSRF guard) ->
// try each allowed address in turn -> TLS handshake (TLS >= 1.2, SNI,
// chain + host name verification; a session of an earlier connection to the same origin and
// CA bundle is resumed when the server allows it) -> write -> read the response (bounded) -> back
// to the pool if the response allows keep-alive. A reused connection that fails before any response
// byte is retried once on a fresh connection, within the same `timeout`.
class Sender {
 public:
  Sender(boost::asio::io_context& io, const Clock& clock, SenderOptions options);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // A blocked destination ends with ErrorClass::kBlocked and no connection. The connection
  // goes to the checked address itself (never looked up twice, so DNS rebinding cannot swap
  // it); SNI, Host and certificate verification use the URL's host name.
  void send(SendRequest request, std::function<void(SendResult)> done);

  // Create-time check of a destination (the endpoints API): resolves `url`'s host like an
  // attempt would (network.resolve overrides first, then the system resolver, within
  // `timeout`) and calls `done` with a SendResult of class kBlocked (error_detail naming the
  // addresses and ranges) when every address is blocked, or nullopt when at least one is
  // allowed or the name did not resolve (a DNS failure at create time is not a rejection:
  // every attempt checks again). Never connects. `done` runs on the io_context, never inside
  // this call, and not at all once the Sender is destroyed.
  void check_destination(const net::HttpsUrl& url,
                         std::function<void(std::optional<SendResult>)> done,
                         Millis timeout = Millis{5'000});

  // Closes idle connections; in-flight requests finish normally.
  void close_idle();
  std::size_t idle_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace korehook::delivery
