#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace korehook::testing {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One request as the receiver saw it.
struct ReceivedRequest {
  std::uint64_t connection = 0;  // serial of the TCP connection, 1-based in accept order
  std::uint64_t index = 0;       // 0-based position among all requests
  std::string method;
  std::string target;
  HeaderList headers;  // names lowercased, values as received, in wire order
  std::string body;
  std::chrono::steady_clock::time_point received_at;
  std::string sni;              // server name from the ClientHello, "" when none was sent
  std::string tls_version;      // "TLSv1.2", "TLSv1.3"
  bool session_reused = false;  // the handshake resumed an earlier session (ticket or id)

  // The first value of a header (name case-insensitive), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  // Every value of a header, in order.
  std::vector<std::string> header_values(std::string_view name) const;
};

// What to do with one request.
struct Reply {
  enum class Action {
    kRespond,  // send the response below
    kHang,     // never answer (with `raw`: send it, then nothing more); keep the connection
               // open until the client or stop() ends it
    kClose,    // close the TCP connection without answering (no TLS close_notify)
  };
  Action action = Action::kRespond;
  int status = 200;
  // Default member initializers everywhere, so designated initializers such as
  // Reply{.status = 503, .body = "x"} compile warning-free.
  // Sent as given; content-length is added unless present. With `transfer-encoding:
  // chunked` the body is sent chunk-encoded.
  HeaderList headers{};
  std::string body{};
  std::optional<std::string> raw{};  // sent instead of a formatted response (malformed tests)
  // Sent over and over after `raw` (or alone) until the client closes the connection, stop(),
  // or 1 GiB: a response that never ends (endless chunks, a huge declared body, endless
  // header lines).
  std::optional<std::string> endless{};
  std::chrono::milliseconds delay{0};  // wait before answering (or closing)
  // Close the TCP connection right after the response although it advertised keep-alive:
  // the client's next use of it finds a stale connection.
  bool close_after = false;

  static Reply hang() { return with(Action::kHang); }
  static Reply close() { return with(Action::kClose); }

 private:
  static Reply with(Action action) {
    Reply reply;
    reply.action = action;
    return reply;
  }
};

using Handler = std::function<Reply(const ReceivedRequest&)>;

enum class TlsVersion { kAny, kTls1_0, kTls1_1, kTls1_2, kTls1_3 };

struct ReceiverOptions {
  std::string address = "127.0.0.1";  // binds this address only
  std::uint16_t port = 0;             // 0: ephemeral
  std::string cert_chain_file{};      // PEM, leaf first (TestCa's IssuedCert::chain_file)
  std::string key_file{};
  TlsVersion min_version = TlsVersion::kTls1_2;
  TlsVersion max_version = TlsVersion::kAny;
  Handler handler{};  // default: 200 with an empty body
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  std::chrono::milliseconds handshake_timeout{10'000};
  // Wait this long after accepting a connection before reading its ClientHello: a server slow
  // to handshake. Counts against handshake_timeout.
  std::chrono::milliseconds handshake_delay{0};
  std::chrono::milliseconds idle_timeout{60'000};  // between requests on one connection
};

// A real HTTPS/1.1 server on its own thread (Asio + Beast, OpenSSL), for tests of the sender
// and of the daemon. Records every request; the handler (called on the receiver's thread)
// chooses each reply. Security level 0 on purpose: it must be able to serve the weak
// certificates a client is expected to reject. Sessions can be resumed (OpenSSL's server
// defaults: TLS 1.3 tickets sent after the handshake, TLS 1.2 tickets), per receiver.
// Thread-safe: every public member may be called from any thread, except that stop() and
// close_connections() must not be called from the handler (they wait for the receiver's
// thread).
class TlsReceiver {
 public:
  explicit TlsReceiver(ReceiverOptions options);
  ~TlsReceiver();  // stop()
  TlsReceiver(const TlsReceiver&) = delete;
  TlsReceiver& operator=(const TlsReceiver&) = delete;

  std::uint16_t port() const;
  const std::string& address() const;
  // "https://<host>:<port><path>"; host defaults to the bound address.
  std::string url(std::string_view path = "/", std::string_view host = {}) const;

  void set_handler(Handler handler);

  std::vector<ReceivedRequest> requests() const;
  std::size_t request_count() const;
  // Waits (condition variable, no polling) until at least `n` requests were received.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;

  std::uint64_t connections_accepted() const;
  std::uint64_t handshakes_failed() const;
  std::uint64_t connections_closed() const;  // ended for any reason
  bool wait_for_handshake_failures(std::uint64_t n, std::chrono::milliseconds timeout) const;
  bool wait_for_connections_closed(std::uint64_t n, std::chrono::milliseconds timeout) const;
  // Reasons of failed handshakes, e.g. "sslv3 alert bad certificate (SSL routines)".
  std::vector<std::string> handshake_errors() const;

  // Closes every open connection now (like a server's idle timeout); returns once done.
  void close_connections();

  // Stops accepting, drops every connection (hanging ones too) and joins the thread.
  // Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A TCP listener that accepts connections and never sends or reads a byte: a TLS handshake
// against it times out.
class BlackHole {
 public:
  explicit BlackHole(std::string address = "127.0.0.1");
  ~BlackHole();
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;

  std::uint16_t port() const;
  std::uint64_t connections_accepted() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A TCP port that is bound but not listening: connecting to it is refused, and nobody else
// can take the port while this object lives.
class ClosedPort {
 public:
  explicit ClosedPort(const std::string& address = "127.0.0.1");
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A TCP port whose SYNs go unanswered: a listener (backlog 0) whose accept queue is already
// full with a connection of its own, so Linux drops every new SYN and a connect to it hangs
// until the client gives up (like a host that silently drops packets). `port` 0: ephemeral.
class UnansweredPort {
 public:
  explicit UnansweredPort(const std::string& address = "127.0.0.1", std::uint16_t port = 0);
  ~UnansweredPort();
  UnansweredPort(const UnansweredPort&) = delete;
  UnansweredPort& operator=(const UnansweredPort&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int listener_fd_ = -1;
  int filler_fd_ = -1;  // the connection that fills the accept queue
  std::uint16_t port_ = 0;
};

}  // namespace korehook::testing
