#include "delivery/tls_session_cache.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <stdexcept>
#include <utility>

namespace korehook::delivery {
namespace {

// Where the sessions of one connection go: set on its SSL object, freed with it.
struct Binding {
  std::weak_ptr<TlsSessionCache> cache;
  std::string key;
};

void free_binding(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*index*/, long /*argl*/,
                  void* /*argp*/) {
  // Owned by the SSL object since attach() released it.
  std::unique_ptr<Binding> owned(static_cast<Binding*>(ptr));
}

int binding_index() {
  static const int index = [] {
    const int i = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_binding);
    if (i < 0) throw std::runtime_error("SSL_get_ex_new_index failed");
    return i;
  }();
  return index;
}

bool usable(SSL_SESSION* session, std::time_t now) {
  return SSL_SESSION_is_resumable(session) == 1 &&
         SSL_SESSION_get_time(session) + SSL_SESSION_get_timeout(session) > now;
}

}  // namespace

void TlsSessionCache::SessionFree::operator()(SSL_SESSION* session) const {
  SSL_SESSION_free(session);
}

TlsSessionCache::TlsSessionCache(std::size_t max_keys) : max_keys_(max_keys) {}

TlsSessionCache::~TlsSessionCache() = default;

void TlsSessionCache::enable(SSL_CTX* ctx) {
  binding_index();  // allocated before any connection can need it
  // Client sessions go to the callback only: OpenSSL's internal store is keyed by session
  // id, not by origin, and would not know which host a session was verified for.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &TlsSessionCache::on_new_session);
}

void TlsSessionCache::attach(SSL* ssl, const std::string& key) {
  auto binding = std::make_unique<Binding>(Binding{weak_from_this(), key});
  if (SSL_set_ex_data(ssl, binding_index(), binding.get()) != 1) return;  // no resumption
  static_cast<void>(binding.release());  // the SSL object owns it now

  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  auto& list = it->second;
  const std::time_t now = std::time(nullptr);
  while (!list.empty()) {
    SessionPtr session = std::move(list.back());
    list.pop_back();
    if (!usable(session.get(), now)) continue;
    SSL_set_session(ssl, session.get());  // takes its own reference
    // A TLS 1.3 ticket is used once; a TLS 1.2 session stays valid for more connections.
    if (SSL_SESSION_get_protocol_version(session.get()) < TLS1_3_VERSION) {
      list.push_back(std::move(session));
    }
    break;
  }
  if (list.empty()) sessions_.erase(it);
}

std::size_t TlsSessionCache::size() const {
  std::size_t n = 0;
  for (const auto& [key, list] : sessions_) n += list.size();
  return n;
}

int TlsSessionCache::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* binding = static_cast<Binding*>(SSL_get_ex_data(ssl, binding_index()));
  if (!binding) return 0;
  auto cache = binding->cache.lock();
  // The handshake only completes with a verified chain and host name (verify_peer); checked
  // again here so that nothing else can ever be resumed.
  if (!cache || SSL_get_verify_result(ssl) != X509_V_OK) return 0;
  // 1: the cache keeps the reference OpenSSL passed in.
  cache->store(binding->key, SessionPtr(session));
  return 1;
}

void TlsSessionCache::store(const std::string& key, SessionPtr session) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    if (max_keys_ == 0) return;
    if (sessions_.size() >= max_keys_) evict_oldest_key();
    it = sessions_.emplace(key, std::deque<SessionPtr>{}).first;
  }
  auto& list = it->second;
  if (list.size() >= kPerKey) list.pop_front();
  list.push_back(std::move(session));
}

void TlsSessionCache::evict_oldest_key() {
  auto oldest = sessions_.end();
  long oldest_time = 0;
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    const long t = it->second.empty() ? 0 : SSL_SESSION_get_time(it->second.back().get());
    if (oldest == sessions_.end() || t < oldest_time) {
      oldest = it;
      oldest_time = t;
    }
  }
  if (oldest != sessions_.end()) sessions_.erase(oldest);
}

}  // namespace korehook::delivery
