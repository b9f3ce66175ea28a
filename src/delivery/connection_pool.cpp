#include "delivery/connection_pool.hpp"

#include <algorithm>

#include "delivery/log.hpp"

namespace korehook::delivery {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

ConnectionPool::ConnectionPool(int max_idle_per_key, Millis idle_timeout)
    : max_idle_per_key_(max_idle_per_key), idle_timeout_(idle_timeout) {}

std::unique_ptr<TlsConnection> ConnectionPool::take(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  std::unique_ptr<TlsConnection> connection = std::move(it->second.back().connection);
  it->second.pop_back();
  if (it->second.empty()) idle_.erase(it);
  --idle_count_;
  // The cancelled handlers find no idle entry with their id and do nothing.
  connection->idle_timer.cancel();
  beast::error_code ignored;
  connection->tcp().socket().cancel(ignored);
  return connection;
}

void ConnectionPool::put(const std::string& key, std::unique_ptr<TlsConnection> connection) {
  if (closed_ || max_idle_per_key_ <= 0 || idle_timeout_.count() <= 0) {
    shutdown_in_background(std::move(connection));
    return;
  }
  auto& list = idle_[key];
  while (list.size() >= static_cast<std::size_t>(max_idle_per_key_)) {
    shutdown_in_background(std::move(list.front().connection));
    list.pop_front();
    --idle_count_;
  }
  connection->buffer.shrink_to_fit();  // empty (a precondition of reuse): free its storage
  list.push_back(Idle{next_id_++, std::move(connection)});
  ++idle_count_;
  watch(key, list.back());
}

void ConnectionPool::watch(const std::string& key, Idle& idle) {
  std::weak_ptr<ConnectionPool> weak = weak_from_this();
  TlsConnection& connection = *idle.connection;
  connection.tcp().expires_never();
  connection.idle_timer.expires_after(idle_timeout_);
  connection.idle_timer.async_wait([weak, key, id = idle.id](beast::error_code ec) {
    if (ec) return;  // taken or closed meanwhile
    if (auto pool = weak.lock()) pool->drop(key, id, false);
  });
  // An idle HTTP/1.1 connection has nothing to read: readable means closed by the peer.
  connection.tcp().socket().async_wait(tcp::socket::wait_read,
                                       [weak, key, id = idle.id](beast::error_code ec) {
                                         if (ec) return;
                                         if (auto pool = weak.lock()) pool->drop(key, id, true);
                                       });
}

void ConnectionPool::drop(const std::string& key, std::uint64_t id, bool peer_closed) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return;
  auto& list = it->second;
  auto entry = std::find_if(list.begin(), list.end(), [id](const Idle& i) { return i.id == id; });
  if (entry == list.end()) return;
  std::unique_ptr<TlsConnection> connection = std::move(entry->connection);
  list.erase(entry);
  if (list.empty()) idle_.erase(it);
  --idle_count_;
  logger().debug("pool={} idle connection closed reason={}", key.substr(0, key.find('|')),
                 peer_closed ? "peer" : "idle_timeout");
  if (peer_closed) {
    connection->close();
  } else {
    shutdown_in_background(std::move(connection));
  }
}

void ConnectionPool::clear(bool forever) {
  if (forever) closed_ = true;
  auto idle = std::move(idle_);
  idle_.clear();
  idle_count_ = 0;
  for (auto& [key, list] : idle) {
    for (auto& entry : list) shutdown_in_background(std::move(entry.connection));
  }
}

}  // namespace korehook::delivery
