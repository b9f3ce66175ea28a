#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "delivery/connection_pool.hpp"
#include "delivery/tls_connection.hpp"
#include "delivery/tls_context.hpp"
#include "delivery/tls_session_cache.hpp"
#include "korehook/delivery/sender.hpp"
#include "korehook/net/address_policy.hpp"

namespace korehook::delivery {

class Exchange;

// What a Sender shares with its in-flight exchanges. Exchanges hold it by shared_ptr so a
// late completion never touches a destroyed Sender; `stopped` tells them the Sender is gone.
struct SenderState : std::enable_shared_from_this<SenderState> {
  using TimePoint = std::chrono::steady_clock::time_point;

  SenderState(boost::asio::io_context& io, SenderOptions options);

  // The request's write and the response's read of every exchange in flight are bounded by
  // one timer, armed for the earliest of their deadlines: a delivery arms no timer of its own
  // (Beast's stream deadline armed, and cancelled, a timer for every read and write).
  void watch_io(TimePoint deadline);  // one more exchange writing or reading until `deadline`
  void unwatch_io();                  // one fewer
  void stop_io_timer();               // the Sender is going away

  boost::asio::io_context& io;
  SenderOptions options;              // `resolve` keys lowercased
  net::AddressPolicy address_policy;  // from options.allow_private
  TlsContextCache contexts;
  std::shared_ptr<TlsSessionCache> sessions = std::make_shared<TlsSessionCache>();
  std::shared_ptr<ConnectionPool> pool;
  bool stopped = false;
  std::unordered_set<Exchange*> in_flight;

 private:
  void arm_io_timer(TimePoint at);
  void on_io_timer();

  boost::asio::steady_timer io_timer_;
  TimePoint io_timer_at_ = TimePoint::max();  // when io_timer_ fires; max: not armed
  std::size_t io_watched_ = 0;                // exchanges with an I/O deadline
};

// Limits of one exchange.
inline constexpr std::size_t kExcerptBytes = 4096;          // kept of a response body
inline constexpr std::uint64_t kMaxDrainBytes = 64 * 1024;  // read to keep the connection
inline constexpr std::size_t kMaxAddresses = 4;             // allowed ones tried per connect
inline constexpr std::size_t kMaxResolved = 64;             // resolved addresses looked at
inline constexpr int kMaxInterimResponses = 8;              // 1xx before the final response

// One request and its response: [pool | resolve -> connect (each address in turn) ->
// handshake] -> write -> read header -> read body (bounded) -> result. Every step has a
// deadline: resolve, each TCP connect and the handshake `connect_timeout` each; write and the
// whole response together `read_timeout`; and each of them ends at the latest at the
// exchange's own deadline, `timeout` after it was created (Sender::send), which bounds the
// whole attempt. The object keeps itself alive through its pending handlers (Beast's session
// pattern) and calls `done` exactly once, unless the Sender is destroyed first.
class Exchange final : public std::enable_shared_from_this<Exchange> {
 public:
  // kCheckOnly: resolve and check the addresses, then end without connecting (error kNone
  // when an address is allowed); Sender::check_destination.
  enum class Mode { kSend, kCheckOnly };

  Exchange(std::shared_ptr<SenderState> state, SendRequest request,
           std::function<void(SendResult)> done, TimeMs started_at, Mode mode = Mode::kSend);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  void start();
  // The Sender is being destroyed: close the socket and cancel the pending step; the
  // handlers then end the exchange without calling `done`.
  void abort();

  // For SenderState's timer: the deadline of the write or read underway (max: none), and
  // the timer's verdict that it has passed, which cancels that step (its handler then sees
  // a timeout).
  std::chrono::steady_clock::time_point io_deadline() const { return io_deadline_; }
  void io_deadline_passed();

 private:
  enum class Phase { kIdle, kResolving, kConnecting, kHandshaking, kWriting, kReading, kDone };

  void do_resolve();
  void on_resolve_deadline(boost::beast::error_code ec);
  void on_resolve(boost::beast::error_code ec,
                  boost::asio::ip::tcp::resolver::results_type results);
  // Keeps the addresses the policy allows (at most kMaxAddresses) and goes on connecting, or
  // fails with kBlocked when none is allowed.
  void check_addresses(std::vector<boost::asio::ip::tcp::endpoint> resolved);
  void do_connect();
  void on_connect(boost::beast::error_code ec);
  void do_handshake();
  void on_handshake(boost::beast::error_code ec);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void do_read_header();
  void on_read_header(boost::beast::error_code ec, std::size_t bytes);
  void do_read_body();
  void on_read_body(boost::beast::error_code ec, std::size_t bytes);

  // The write and the response's reads run until `deadline` (SenderState's timer); unwatch
  // when they are over.
  void watch_io(std::chrono::steady_clock::time_point deadline);
  void unwatch_io();
  // `ec` ended the write or a read because its deadline passed (the cancel of
  // io_deadline_passed(); the stream's own deadline is cleared before the write).
  bool io_timed_out(boost::beast::error_code ec) const;

  // A reused connection failed before any response byte: the peer had closed it while idle.
  void retry_on_fresh_connection(const char* step, boost::beast::error_code ec);
  // The status is known: classify it and give the connection back (or close it).
  void complete(bool body_complete, std::string detail = {});
  void fail(retry::ErrorClass error, std::string detail);
  void abandon();  // the Sender is gone
  void finish();
  std::int64_t elapsed_ms() const;
  // When the step about to start must end: `step` from now, or the exchange's deadline when
  // that comes first (remembered for timeout_text()).
  std::chrono::steady_clock::time_point step_expiry(Millis step);
  // "timed out after <step> ms", or, when the step ran into the exchange's deadline, "timed
  // out at the attempt's <timeout> ms deadline".
  std::string timeout_text(Millis step) const;

  std::shared_ptr<SenderState> state_;
  SendRequest request_;
  std::function<void(SendResult)> done_;
  SendResult result_;
  Mode mode_;

  Phase phase_ = Phase::kIdle;
  bool reused_ = false;
  bool retried_ = false;
  bool finished_ = false;
  int interim_responses_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point deadline_;       // start_ + request_.timeout
  std::chrono::steady_clock::time_point read_deadline_;  // of write + response
  std::chrono::steady_clock::time_point io_deadline_ =   // read_deadline_ while watched
      std::chrono::steady_clock::time_point::max();
  bool io_deadline_passed_ = false;  // the write or response ran past read_deadline_
  bool step_at_deadline_ = false;    // the current step ends at deadline_, not its own bound

  std::string ca_file_;
  std::string pool_key_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::unique_ptr<TlsConnection> connection_;

  // Made when a name is looked up: an attempt on a pooled connection needs neither.
  std::optional<boost::asio::ip::tcp::resolver> resolver_;
  std::optional<boost::asio::steady_timer> resolve_timer_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  std::size_t next_endpoint_ = 0;
  boost::beast::error_code last_connect_error_;
  std::string last_connect_endpoint_;

  std::string request_text_;  // the request's bytes (request_text.hpp), rendered once
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser_;
  // The parser's window onto the body. Not zeroed: only the bytes the parser wrote are read,
  // and zeroing it wrote 4 KiB per attempt for nothing.
  std::array<char, kExcerptBytes> chunk_;
  std::uint64_t body_bytes_ = 0;
};

}  // namespace korehook::delivery
