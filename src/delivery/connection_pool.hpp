#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "delivery/tls_connection.hpp"
#include "korehook/util/time.hpp"

namespace korehook::delivery {

// Idle keep-alive connections per pool key (origin + trust configuration).
// Most recently used first (a warm connection is the least likely to be stale); at most
// `max_idle_per_key` per key (the oldest is closed to make room); an idle connection is
// closed after `idle_timeout` (give or take one sweep interval), or as soon as its socket
// turns readable (the peer closed it or sent something unsolicited). Runs on the sender's
// io_context thread only.
//
// One sweep timer serves the whole pool, every sweep_interval(): it closes connections idle
// for `idle_timeout` and starts watching the socket of each idle connection it finds. A
// connection taken again before a sweep sees it (a busy origin: every request) costs no timer
// and no system call; one whose peer closed it in that window fails before any response
// byte, and the exchange retries it once on a fresh connection.
//
// Held in a shared_ptr so the handlers can tell, through a weak_ptr, whether the pool still
// exists.
class ConnectionPool final : public std::enable_shared_from_this<ConnectionPool> {
 public:
  ConnectionPool(int max_idle_per_key, Millis idle_timeout);

  // An idle connection for `key`, or nullptr.
  std::unique_ptr<TlsConnection> take(const std::string& key);

  // Parks a connection whose last response was complete and allowed keep-alive.
  void put(const std::string& key, std::unique_ptr<TlsConnection> connection);

  // Closes every idle connection. With `forever`, later put() calls close at once too.
  void clear(bool forever = false);

  std::size_t idle_count() const { return idle_count_; }

 private:
  // How often the sweep runs while connections are idle: a quarter of idle_timeout, within
  // [10 ms, 1 s].
  Millis sweep_interval() const;

  using Clock = std::chrono::steady_clock;
  struct Idle {
    std::uint64_t id;
    std::unique_ptr<TlsConnection> connection;
    Clock::time_point since;
    bool watched = false;  // a readable wait is armed on the socket
  };

  void arm_sweep(const boost::asio::any_io_executor& executor);
  void sweep();
  void watch(const std::string& key, Idle& idle);
  // Closes one idle connection whose socket became readable.
  void drop(const std::string& key, std::uint64_t id);

  int max_idle_per_key_;
  Millis idle_timeout_;
  bool closed_ = false;
  std::uint64_t next_id_ = 1;
  std::size_t idle_count_ = 0;
  std::optional<boost::asio::steady_timer> sweep_timer_;  // made with the first connection
  bool sweep_armed_ = false;
  std::map<std::string, std::deque<Idle>> idle_;  // oldest at the front
};

}  // namespace korehook::delivery
