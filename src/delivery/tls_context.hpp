#pragma once

#include <boost/asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <string>

#include "korehook/util/result.hpp"

namespace korehook::delivery {

// Client TLS contexts, one per trust configuration (a CA bundle file, or the system store
// when the file name is empty), created on first use and kept for the sender's lifetime.
// Every context: TLS 1.2 minimum (1.3 allowed), verify_peer, OpenSSL security level 2
// (rejects RSA < 2048 bits and SHA-1 signatures), no renegotiation, no compression, new
// client sessions handed to TlsSessionCache (resumption per origin, tls_session_cache.hpp).
// Not thread-safe: used on the sender's io_context thread only.
class TlsContextCache final {
 public:
  // Error code `tls_context` when the CA file cannot be loaded; nothing is cached then, so a
  // fixed file is picked up by the next attempt.
  Result<std::shared_ptr<boost::asio::ssl::context>> get(const std::string& ca_file);

 private:
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> contexts_;
};

}  // namespace korehook::delivery
