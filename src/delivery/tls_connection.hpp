#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "delivery/tls_stream.hpp"

namespace korehook::delivery {

// One TLS connection to one origin. Owned by exactly one party at a time: the exchange
// that uses it, or the pool while it is idle (hence unique_ptr, not shared_ptr).
struct TlsConnection {
  TlsConnection(const boost::asio::any_io_executor& executor,
                std::shared_ptr<boost::asio::ssl::context> context, std::size_t buffer_limit);

  boost::beast::tcp_stream& tcp() { return stream.next_layer(); }

  // Closes the socket at once, without a TLS close_notify. Pending operations end with
  // operation_aborted.
  void close();

  // Declared before the stream: the SSL object was created from it.
  std::shared_ptr<boost::asio::ssl::context> context;
  TlsStream stream;
  boost::beast::flat_buffer buffer;  // bytes read past the previous response
  std::uint64_t requests = 0;        // requests sent over this connection
  // The TCP stream's own deadline is set (connect and handshake use it; the exchange clears
  // it before the request, whose deadline SenderState's timer keeps).
  bool stream_deadline_set = false;
};

// Sets SNI (host names only, never for IP literals, RFC 6066) and the peer identity that
// OpenSSL verifies during the handshake: the host name (no partial wildcards) or the IP
// address. Returns false when OpenSSL refuses the name.
bool prepare_client_handshake(TlsConnection& connection, const std::string& host);

// "certificate verify failed: <X509 reason>" when the handshake failed on the peer's
// certificate (e.g. "self-signed certificate", "hostname mismatch", "certificate has
// expired"); empty when the failure was something else.
std::string verify_failure_detail(TlsConnection& connection);

// The error detail of a failed handshake: verify_failure_detail() when the certificate was
// refused; "tls handshake failed: server does not offer TLS 1.2 or later (<reason>)" when
// the versions did not meet; otherwise "tls handshake failed: <reason>".
std::string handshake_failure_detail(TlsConnection& connection,
                                     const boost::system::error_code& ec);

// Ends the connection politely (TLS close_notify, bounded wait) without anyone waiting for
// it, then closes the socket. For connections whose TLS session is in a clean state.
void shutdown_in_background(std::unique_ptr<TlsConnection> connection);

}  // namespace korehook::delivery
