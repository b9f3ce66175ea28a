#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

struct ssl_ctx_st;
struct ssl_st;
struct ssl_session_st;

namespace korehook::delivery {

// Client TLS sessions for resumption, per pool key (origin host:port + trust configuration),
// so a new connection to an origin this sender already verified skips the full handshake
// (no certificate chain sent and verified, no key exchange signature).
//
// Only a session of a connection whose certificate verified for exactly this host and this
// CA bundle is stored, and it is only offered again under the same key: a session never
// carries trust from one host name, port or CA bundle to another. TLS 1.3 tickets arrive
// after the handshake (while the response is read) and are used once each (RFC 8446 C.4);
// a TLS 1.2 session may be offered again while it is valid. At most kPerKey sessions per key
// and `max_keys` keys (the key with the oldest session goes first).
// Not thread-safe: used on the sender's io_context thread only.
// Held in a shared_ptr: a connection's record of where its sessions go holds a weak_ptr, so a
// connection that outlives the sender (a background TLS shutdown) stores nothing.
class TlsSessionCache final : public std::enable_shared_from_this<TlsSessionCache> {
 public:
  static constexpr std::size_t kPerKey = 2;

  explicit TlsSessionCache(std::size_t max_keys = 1024);
  ~TlsSessionCache();
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  // Makes `ctx` hand its client connections' new sessions to the cache of the connection
  // they belong to (see attach). Once per context, before its first connection.
  static void enable(ssl_ctx_st* ctx);

  // Before the handshake of `ssl`: offers a valid cached session for `key` (if any) and
  // records the sessions the server issues on this connection under `key`. Once per `ssl`.
  void attach(ssl_st* ssl, const std::string& key);

  std::size_t size() const;  // sessions held

 private:
  struct SessionFree {
    void operator()(ssl_session_st* session) const;
  };
  using SessionPtr = std::unique_ptr<ssl_session_st, SessionFree>;

  static int on_new_session(ssl_st* ssl, ssl_session_st* session);
  void store(const std::string& key, SessionPtr session);
  void evict_oldest_key();

  std::size_t max_keys_;
  std::unordered_map<std::string, std::deque<SessionPtr>> sessions_;  // newest at the back
};

}  // namespace korehook::delivery
