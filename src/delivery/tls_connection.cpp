#include "delivery/tls_connection.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <chrono>

namespace korehook::delivery {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {
constexpr std::chrono::milliseconds kShutdownTimeout{1'000};
}

TlsConnection::TlsConnection(const asio::any_io_executor& executor,
                             std::shared_ptr<asio::ssl::context> ctx, std::size_t buffer_limit)
    : context(std::move(ctx)), stream(executor, *context), buffer(buffer_limit) {}

void TlsConnection::close() {
  beast::error_code ignored;
  tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  tcp().close();
}

bool prepare_client_handshake(TlsConnection& connection, const std::string& host) {
  SSL* ssl = connection.stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  const bool ip_literal = !ec;
  if (ip_literal) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) return false;
  } else {
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, host.c_str()) != 1) return false;
  }
  // OpenSSL's own check above names the precise failure (X509_V_ERR_HOSTNAME_MISMATCH);
  // Asio's callback checks the same identity again on the leaf and is kept as a second lock.
  connection.stream.set_verify_callback(asio::ssl::host_name_verification(host));
  return true;
}

std::string verify_failure_detail(TlsConnection& connection) {
  const long result = SSL_get_verify_result(connection.stream.native_handle());
  if (result == X509_V_OK) return {};
  return std::string("certificate verify failed: ") + X509_verify_cert_error_string(result);
}

std::string handshake_failure_detail(TlsConnection& connection,
                                     const boost::system::error_code& ec) {
  if (std::string detail = verify_failure_detail(connection); !detail.empty()) return detail;
  if (ec.category() == asio::error::get_ssl_category()) {
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
        reason == SSL_R_NO_PROTOCOLS_AVAILABLE || reason == SSL_R_WRONG_SSL_VERSION ||
        reason == SSL_R_VERSION_TOO_LOW) {
      return "tls handshake failed: server does not offer TLS 1.2 or later (" + ec.message() + ")";
    }
  }
  return "tls handshake failed: " + ec.message();
}

void shutdown_in_background(std::unique_ptr<TlsConnection> connection) {
  // shared_ptr only to keep the connection alive through its last asynchronous step.
  std::shared_ptr<TlsConnection> conn(std::move(connection));
  beast::error_code ignored;
  conn->tcp().socket().cancel(ignored);
  conn->tcp().expires_after(kShutdownTimeout);
  // The peer's close_notify or its EOF (or a timeout) ends it: all expected, all ignored.
  conn->stream.async_shutdown([conn](beast::error_code) { conn->close(); });
}

}  // namespace korehook::delivery
