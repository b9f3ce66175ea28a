#include "delivery/tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <boost/system/system_error.hpp>
#include <climits>
#include <cstring>

namespace korehook::delivery {

namespace asio = boost::asio;
namespace beast = boost::beast;

// OpenSSL's side of the stream: the BIO it reads from and writes to.
struct TlsStreamBio {
  static TlsStream& stream(BIO* bio) { return *static_cast<TlsStream*>(BIO_get_data(bio)); }

  static int write(BIO* bio, const char* data, int size) {
    BIO_clear_retry_flags(bio);
    stream(bio).out_.append(data, static_cast<std::size_t>(size));
    return size;
  }

  static int read(BIO* bio, char* data, int size) {
    BIO_clear_retry_flags(bio);
    auto& in = stream(bio).in_;
    if (in.size() == 0) {
      BIO_set_retry_read(bio);  // the stream reads the socket and calls OpenSSL again
      return -1;
    }
    const std::size_t n = std::min(in.size(), static_cast<std::size_t>(size));
    std::memcpy(data, in.data().data(), n);
    in.consume(n);
    return static_cast<int>(n);
  }

  static long ctrl(BIO* bio, int command, long /*num*/, void* /*ptr*/) {
    switch (command) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_PENDING:
        return static_cast<long>(stream(bio).in_.size());
      default:
        return 0;
    }
  }

  static const BIO_METHOD* method() {
    static BIO_METHOD* const m = [] {
      BIO_METHOD* made =
          BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "korehook tls stream");
      if (made == nullptr || BIO_meth_set_write(made, &write) != 1 ||
          BIO_meth_set_read(made, &read) != 1 || BIO_meth_set_ctrl(made, &ctrl) != 1) {
        throw std::runtime_error("cannot make the TLS stream's BIO method");
      }
      return made;
    }();
    return m;
  }
};

namespace {

int verify_trampoline(int preverified, X509_STORE_CTX* ctx) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return preverified;
  auto* verify = static_cast<asio::ssl::host_name_verification*>(SSL_get_app_data(ssl));
  if (verify == nullptr) return preverified;
  asio::ssl::verify_context context(ctx);
  return (*verify)(preverified != 0, context) ? 1 : 0;
}

[[noreturn]] void throw_openssl(const char* what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  throw boost::system::system_error(
      beast::error_code(static_cast<int>(code), asio::error::get_ssl_category()), what);
}

}  // namespace

TlsStream::TlsStream(const executor_type& executor, asio::ssl::context& context) : tcp_(executor) {
  ssl_ = SSL_new(context.native_handle());
  if (ssl_ == nullptr) throw_openssl("SSL_new");
  // As Asio's stream: the buffer of a retried write may move; idle connections give their
  // record buffers back.
  SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  BIO* bio = BIO_new(TlsStreamBio::method());
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw_openssl("BIO_new");
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // one reference, owned by the SSL object from now on
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

void TlsStream::set_verify_callback(asio::ssl::host_name_verification verify) {
  verify_.emplace(std::move(verify));
  SSL_set_app_data(ssl_, &*verify_);
  SSL_set_verify(ssl_, SSL_get_verify_mode(ssl_), &verify_trampoline);
}

TlsStream::Outcome TlsStream::perform(Call call, void* data, std::size_t size) {
  // SSL_get_error needs an empty queue to tell why a call failed; clearing it costs a walk over
  // all its slots, so only when something is there.
  if (ERR_peek_error() != 0) ERR_clear_error();
  const int n = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
  int ret = 0;
  switch (call) {
    case Call::kHandshake:
      ret = SSL_do_handshake(ssl_);
      break;
    case Call::kShutdown:
      // 0: our close_notify is sent; the second call waits for the peer's.
      ret = SSL_shutdown(ssl_);
      if (ret == 0) ret = SSL_shutdown(ssl_);
      break;
    case Call::kRead:
      ret = SSL_read(ssl_, data, n);
      break;
    case Call::kWrite:
      ret = SSL_write(ssl_, data, n);
      break;
  }
  Outcome outcome;
  if (ret > 0) {
    outcome.result = ret;
    return outcome;
  }
  const int reason = SSL_get_error(ssl_, ret);
  if (reason == SSL_ERROR_WANT_READ) {
    outcome.next = Next::kRead;
    return outcome;
  }
  if (reason == SSL_ERROR_WANT_WRITE && !out_.empty()) {
    outcome.next = Next::kCallAgain;  // the output is written, then the call is made again
    return outcome;
  }
  if (reason == SSL_ERROR_ZERO_RETURN) {
    outcome.error = asio::error::eof;
    return outcome;
  }
  const unsigned long code = ERR_get_error();
  if (code != 0) {
    outcome.error = beast::error_code(static_cast<int>(code), asio::error::get_ssl_category());
  } else {
    outcome.error = asio::ssl::error::unspecified_system_error;
  }
  ERR_clear_error();
  return outcome;
}

beast::error_code TlsStream::transport_error(beast::error_code ec) const {
  if (ec != asio::error::eof) return ec;
  // A TLS peer ends with close_notify; a bare end of the connection may have cut data short.
  if ((SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0) return ec;
  return asio::ssl::error::stream_truncated;
}

}  // namespace korehook::delivery
