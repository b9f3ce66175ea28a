#include "delivery/tls_context.hpp"

#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>

#include "delivery/tls_session_cache.hpp"

namespace korehook::delivery {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> TlsContextCache::get(const std::string& ca_file) {
  if (auto it = contexts_.find(ca_file); it != contexts_.end()) return it->second;

  // tls_client, not tlsv12_client: the latter pins the version and disables TLS 1.3.
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return Error{"tls_context", "cannot set the minimum TLS version"};
  }
  // Independent of the distribution's openssl.cnf: weak keys and SHA-1 certificates fail.
  SSL_CTX_set_security_level(native, 2);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  // Idle pooled connections give their record buffers back (~34 KiB each).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  ctx->set_verify_mode(ssl::verify_peer);
  // New connections to an origin verified before resume its session (tls_session_cache.hpp).
  TlsSessionCache::enable(native);

  boost::system::error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) return Error{"tls_context", "cannot load the system trust store: " + ec.message()};
  } else {
    ctx->load_verify_file(ca_file, ec);
    if (ec) return Error{"tls_context", "cannot load CA file " + ca_file + ": " + ec.message()};
  }
  contexts_.emplace(ca_file, ctx);
  return ctx;
}

}  // namespace korehook::delivery
