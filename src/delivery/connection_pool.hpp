#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "delivery/tls_connection.hpp"
#include "korehook/util/time.hpp"

namespace korehook::delivery {

// Idle keep-alive connections per pool key (origin + trust configuration).
// Most recently used first (a warm connection is the least likely to be stale); at most
// `max_idle_per_key` per key (the oldest is closed to make room); an idle connection is
// closed after `idle_timeout`, or as soon as its socket turns readable (the peer closed it or
// sent something unsolicited). Runs on the sender's io_context thread only.
//
// Held in a shared_ptr so the idle timers' handlers can tell, through a weak_ptr, whether
// the pool still exists.
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
  struct Idle {
    std::uint64_t id;
    std::unique_ptr<TlsConnection> connection;
  };

  void watch(const std::string& key, Idle& idle);
  // Removes one idle connection when its timer fired or its socket became readable.
  void drop(const std::string& key, std::uint64_t id, bool peer_closed);

  int max_idle_per_key_;
  Millis idle_timeout_;
  bool closed_ = false;
  std::uint64_t next_id_ = 1;
  std::size_t idle_count_ = 0;
  std::map<std::string, std::deque<Idle>> idle_;  // oldest at the front
};

}  // namespace korehook::delivery
