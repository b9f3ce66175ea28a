#include "delivery/connection_pool.hpp"

#include <algorithm>
#include <utility>

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
  const bool watched = it->second.back().watched;
  it->second.pop_back();
  if (it->second.empty()) idle_.erase(it);
  --idle_count_;
  if (watched) {
    // The cancelled handler finds no idle entry with its id and does nothing.
    beast::error_code ignored;
    connection->tcp().socket().cancel(ignored);
  }
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
  if (std::exchange(connection->stream_deadline_set, false)) connection->tcp().expires_never();
  const asio::any_io_executor executor = connection->stream.get_executor();
  list.push_back(Idle{next_id_++, std::move(connection), Clock::now()});
  ++idle_count_;
  arm_sweep(executor);
}

Millis ConnectionPool::sweep_interval() const {
  return std::clamp(idle_timeout_ / 4, Millis(10), Millis(1000));
}

void ConnectionPool::arm_sweep(const asio::any_io_executor& executor) {
  if (sweep_armed_) return;
  if (!sweep_timer_) sweep_timer_.emplace(executor);
  sweep_armed_ = true;
  sweep_timer_->expires_after(sweep_interval());
  sweep_timer_->async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto pool = weak.lock();
    if (!pool) return;
    pool->sweep_armed_ = false;
    if (!ec) pool->sweep();
  });
}

void ConnectionPool::sweep() {
  const auto expired_before = Clock::now() - idle_timeout_;
  std::optional<asio::any_io_executor> executor;
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    for (auto entry = list.begin(); entry != list.end();) {
      if (entry->since <= expired_before) {
        logger().debug("pool={} idle connection closed reason=idle_timeout",
                       it->first.substr(0, it->first.find('|')));
        shutdown_in_background(std::move(entry->connection));
        entry = list.erase(entry);
        --idle_count_;
        continue;
      }
      if (!entry->watched) watch(it->first, *entry);
      if (!executor) executor = entry->connection->stream.get_executor();
      ++entry;
    }
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
  if (executor) arm_sweep(*executor);
}

void ConnectionPool::watch(const std::string& key, Idle& idle) {
  idle.watched = true;
  // An idle HTTP/1.1 connection has nothing to read: readable means closed by the peer.
  idle.connection->tcp().socket().async_wait(
      tcp::socket::wait_read, [weak = weak_from_this(), key, id = idle.id](beast::error_code ec) {
        if (ec) return;  // taken or closed meanwhile
        if (auto pool = weak.lock()) pool->drop(key, id);
      });
}

void ConnectionPool::drop(const std::string& key, std::uint64_t id) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return;
  auto& list = it->second;
  auto entry = std::find_if(list.begin(), list.end(), [id](const Idle& i) { return i.id == id; });
  if (entry == list.end()) return;
  std::unique_ptr<TlsConnection> connection = std::move(entry->connection);
  list.erase(entry);
  if (list.empty()) idle_.erase(it);
  --idle_count_;
  logger().debug("pool={} idle connection closed reason=peer", key.substr(0, key.find('|')));
  connection->close();
}

void ConnectionPool::clear(bool forever) {
  if (forever) closed_ = true;
  if (sweep_timer_) sweep_timer_->cancel();
  auto idle = std::move(idle_);
  idle_.clear();
  idle_count_ = 0;
  for (auto& [key, list] : idle) {
    for (auto& entry : list) shutdown_in_background(std::move(entry.connection));
  }
}

}  // namespace korehook::delivery
