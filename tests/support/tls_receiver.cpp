#include "support/tls_receiver.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace korehook::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void set_cloexec(int fd) {
  // Asio does not create sockets with SOCK_CLOEXEC; a korehookd spawned by a test must not
  // inherit the receiver's sockets.
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// The server name of the ClientHello, recorded while the hello is processed: after a resumed
// handshake SSL_get_servername() reports the session's name, which may be empty.
int sni_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int record_sni(SSL* ssl, int* /*alert*/, void* /*arg*/) {
  if (auto* out = static_cast<std::string*>(SSL_get_ex_data(ssl, sni_index()))) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    *out = name ? name : "";
  }
  return SSL_TLSEXT_ERR_OK;
}

int openssl_version(TlsVersion version) {
  switch (version) {
    case TlsVersion::kAny:
      return 0;
    case TlsVersion::kTls1_0:
      return TLS1_VERSION;
    case TlsVersion::kTls1_1:
      return TLS1_1_VERSION;
    case TlsVersion::kTls1_2:
      return TLS1_2_VERSION;
    case TlsVersion::kTls1_3:
      return TLS1_3_VERSION;
  }
  return 0;
}

}  // namespace

std::optional<std::string> ReceivedRequest::header(std::string_view name) const {
  const std::string key = lowercase(name);
  for (const auto& [n, v] : headers) {
    if (n == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string> ReceivedRequest::header_values(std::string_view name) const {
  const std::string key = lowercase(name);
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (n == key) out.push_back(v);
  }
  return out;
}

class Session;

// The receiver's state, shared with its sessions (TlsReceiver::Impl is private).
struct ReceiverCore {
  ReceiverOptions options;
  ssl::context ssl_ctx{ssl::context::tls_server};

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  Handler handler;
  std::vector<ReceivedRequest> requests;
  std::uint64_t accepted = 0;
  std::uint64_t failed = 0;
  std::uint64_t closed = 0;
  std::vector<std::string> handshake_errors;

  // Receiver thread only.
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;

  // After the state above: destroying the io_context destroys the sessions its pending
  // handlers own, and they report to that state.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::optional<tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::thread thread;
  bool stopped = false;

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  Reply handle(ReceivedRequest& request);
  void close_all();

  void count(std::uint64_t& counter) {
    {
      std::lock_guard lock(mutex);
      ++counter;
    }
    changed.notify_all();
  }
};

}  // namespace korehook::testing

namespace korehook::testing {

// One accepted connection: handshake -> (read request -> reply)* -> close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ReceiverCore& impl, tcp::socket socket, std::uint64_t serial)
      : impl_(impl),
        stream_(std::move(socket), impl.ssl_ctx),
        timer_(stream_.get_executor()),
        serial_(serial) {}

  ~Session() { impl_.count(impl_.closed); }

  void start() {
    impl_.sessions[serial_] = weak_from_this();
    SSL_set_ex_data(stream_.native_handle(), sni_index(), &sni_);
    const auto handshake_deadline =
        std::chrono::steady_clock::now() + impl_.options.handshake_timeout;
    if (impl_.options.handshake_delay.count() > 0) {
      timer_.expires_after(impl_.options.handshake_delay);
      timer_.async_wait([self = shared_from_this(), handshake_deadline](beast::error_code ec) {
        if (ec) return self->end();
        self->do_handshake(handshake_deadline);
      });
      return;
    }
    do_handshake(handshake_deadline);
  }

  void close() {
    timer_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

 private:
  void do_handshake(std::chrono::steady_clock::time_point deadline) {
    beast::get_lowest_layer(stream_).expires_at(deadline);
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&Session::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      {
        std::lock_guard lock(impl_.mutex);
        ++impl_.failed;
        impl_.handshake_errors.push_back(ec.message());
      }
      impl_.changed.notify_all();
      return end();
    }
    SSL* native = stream_.native_handle();
    tls_version_ = SSL_get_version(native);
    session_reused_ = SSL_session_reused(native) == 1;
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(64 * 1024);
    parser_->body_limit(impl_.options.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(impl_.options.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    // end_of_stream, stream_truncated, reset, timeout: the client is done with us.
    if (ec) return end();
    auto& message = parser_->get();
    ReceivedRequest request;
    request.connection = serial_;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.received_at = std::chrono::steady_clock::now();
    request.sni = sni_;
    request.tls_version = tls_version_;
    request.session_reused = session_reused_;
    request_keep_alive_ = message.keep_alive();

    Reply reply = impl_.handle(request);
    if (reply.delay.count() > 0) {
      timer_.expires_after(reply.delay);
      timer_.async_wait(
          [self = shared_from_this(), reply = std::move(reply)](beast::error_code wait_ec) mutable {
            if (wait_ec) return self->end();
            self->act(std::move(reply));
          });
      return;
    }
    act(std::move(reply));
  }

  void act(Reply reply) {
    switch (reply.action) {
      case Reply::Action::kHang:
        if (reply.raw) {
          raw_ = std::move(*reply.raw);
          asio::async_write(stream_, asio::buffer(raw_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->end();
                              self->do_hang();
                            });
          return;
        }
        return do_hang();
      case Reply::Action::kClose:
        close();
        return end();
      case Reply::Action::kRespond:
        break;
    }
    close_after_ = reply.close_after;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    if (reply.endless && !reply.endless->empty()) {
      raw_ = reply.raw.value_or("");
      endless_ = std::move(*reply.endless);
      asio::async_write(stream_, asio::buffer(raw_),
                        beast::bind_front_handler(&Session::on_endless_write, shared_from_this()));
      return;
    }
    if (reply.raw) {
      raw_ = std::move(*reply.raw);
      close_after_ = true;
      asio::async_write(stream_, asio::buffer(raw_),
                        beast::bind_front_handler(&Session::on_write, shared_from_this()));
      return;
    }
    response_.emplace();
    auto& response = *response_;
    response.version(11);
    response.result(static_cast<unsigned>(reply.status));
    bool has_length = false;
    bool has_connection = false;
    for (const auto& [name, value] : reply.headers) {
      const std::string key = lowercase(name);
      has_length = has_length || key == "content-length" || key == "transfer-encoding";
      has_connection = has_connection || key == "connection";
      response.insert(name, value);
    }
    response.body() = std::move(reply.body);
    if (!has_length) response.content_length(response.body().size());
    if (!has_connection && !request_keep_alive_) response.keep_alive(false);
    keep_alive_ = request_keep_alive_ && response.keep_alive();
    http::async_write(stream_, response,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return end();
    if (close_after_) {
      close();
      return end();
    }
    if (!keep_alive_) return do_shutdown();
    do_read();
  }

  void on_endless_write(beast::error_code ec, std::size_t bytes) {
    constexpr std::uint64_t kEndlessLimit = std::uint64_t{1} << 30;
    endless_sent_ += bytes;
    if (ec || endless_sent_ >= kEndlessLimit) {
      close();
      return end();
    }
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    asio::async_write(stream_, asio::buffer(endless_),
                      beast::bind_front_handler(&Session::on_endless_write, shared_from_this()));
  }

  void do_hang() {
    // Completes only when the client closes (or stop() closes the socket).
    beast::get_lowest_layer(stream_).expires_never();
    stream_.async_read_some(
        asio::buffer(hang_buffer_),
        [self = shared_from_this()](beast::error_code, std::size_t) { self->end(); });
  }

  void do_shutdown() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      self->close();
      self->end();
    });
  }

  void end() { impl_.sessions.erase(serial_); }

  ReceiverCore& impl_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  asio::steady_timer timer_;
  std::uint64_t serial_;
  std::string sni_;
  std::string tls_version_;
  bool session_reused_ = false;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::string raw_;
  std::string endless_;
  std::uint64_t endless_sent_ = 0;
  std::array<char, 512> hang_buffer_{};
  bool request_keep_alive_ = true;
  bool keep_alive_ = true;
  bool close_after_ = false;
};

struct TlsReceiver::Impl : ReceiverCore {};

void ReceiverCore::do_accept() {
  acceptor->async_accept(beast::bind_front_handler(&ReceiverCore::on_accept, this));
}

void ReceiverCore::on_accept(beast::error_code ec, tcp::socket socket) {
  if (!acceptor->is_open()) return;
  if (!ec) {
    set_cloexec(socket.native_handle());
    // Like real servers: with Nagle, a response behind the TLS 1.3 session tickets waits for
    // the client's delayed ACK (40 ms).
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::uint64_t serial;
    {
      std::lock_guard lock(mutex);
      serial = ++accepted;
    }
    changed.notify_all();
    std::make_shared<Session>(*this, std::move(socket), serial)->start();
  }
  do_accept();
}

Reply ReceiverCore::handle(ReceivedRequest& request) {
  Handler current;
  {
    std::lock_guard lock(mutex);
    request.index = requests.size();
    requests.push_back(request);
    current = handler;
  }
  changed.notify_all();
  if (!current) return Reply{};
  return current(request);
}

void ReceiverCore::close_all() {
  // Copy: closing makes no handler run inline, but keep the iteration obviously safe.
  auto open = sessions;
  for (auto& [serial, weak] : open) {
    if (auto session = weak.lock()) session->close();
  }
}

TlsReceiver::TlsReceiver(ReceiverOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.options = std::move(options);
  impl.handler = impl.options.handler;

  SSL_CTX* native = impl.ssl_ctx.native_handle();
  // Level 0 also overrides a distribution default (Debian: SECLEVEL=2) that would refuse to
  // load weak test certificates or to speak TLS 1.1.
  SSL_CTX_set_security_level(native, 0);
  SSL_CTX_set_min_proto_version(native, openssl_version(impl.options.min_version));
  SSL_CTX_set_max_proto_version(native, openssl_version(impl.options.max_version));
  SSL_CTX_set_tlsext_servername_callback(native, &record_sni);
  impl.ssl_ctx.use_certificate_chain_file(impl.options.cert_chain_file);
  impl.ssl_ctx.use_private_key_file(impl.options.key_file, ssl::context::pem);

  const tcp::endpoint endpoint(asio::ip::make_address(impl.options.address), impl.options.port);
  impl.acceptor.emplace(impl.io);
  impl.acceptor->open(endpoint.protocol());
  set_cloexec(impl.acceptor->native_handle());
  impl.acceptor->set_option(tcp::acceptor::reuse_address(true));
  impl.acceptor->bind(endpoint);
  impl.acceptor->listen();
  impl.port = impl.acceptor->local_endpoint().port();
  impl.do_accept();
  impl.thread = std::thread([&impl] { impl.io.run(); });
}

TlsReceiver::~TlsReceiver() { stop(); }

void TlsReceiver::stop() {
  Impl& impl = *impl_;
  if (impl.stopped) return;
  impl.stopped = true;
  std::promise<void> closed;
  asio::post(impl.io, [&impl, &closed] {
    beast::error_code ignored;
    impl.acceptor->close(ignored);
    impl.close_all();
    closed.set_value();
  });
  closed.get_future().wait();
  impl.work.reset();
  impl.io.stop();
  impl.thread.join();
}

std::uint16_t TlsReceiver::port() const { return impl_->port; }

const std::string& TlsReceiver::address() const { return impl_->options.address; }

std::string TlsReceiver::url(std::string_view path, std::string_view host) const {
  std::string h = host.empty() ? impl_->options.address : std::string(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return "https://" + h + ":" + std::to_string(impl_->port) + std::string(path);
}

void TlsReceiver::set_handler(Handler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->handler = std::move(handler);
}

std::vector<ReceivedRequest> TlsReceiver::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::size_t TlsReceiver::request_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests.size();
}

bool TlsReceiver::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

std::uint64_t TlsReceiver::connections_accepted() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

std::uint64_t TlsReceiver::handshakes_failed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->failed;
}

std::uint64_t TlsReceiver::connections_closed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->closed;
}

bool TlsReceiver::wait_for_handshake_failures(std::uint64_t n,
                                              std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->failed >= n; });
}

bool TlsReceiver::wait_for_connections_closed(std::uint64_t n,
                                              std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->closed >= n; });
}

std::vector<std::string> TlsReceiver::handshake_errors() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->handshake_errors;
}

void TlsReceiver::close_connections() {
  Impl& impl = *impl_;
  if (impl.stopped) return;
  std::promise<void> done;
  asio::post(impl.io, [&impl, &done] {
    impl.close_all();
    done.set_value();
  });
  done.get_future().wait();
}

// ---- BlackHole -----------------------------------------------------------------------------

struct BlackHole::Impl {
  std::mutex mutex;
  std::uint64_t accepted = 0;
  std::vector<tcp::socket> sockets;  // receiver thread only
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
  bool stopped = false;

  void do_accept() {
    acceptor->async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (!acceptor->is_open()) return;
      if (!ec) {
        set_cloexec(socket.native_handle());
        sockets.push_back(std::move(socket));
        std::lock_guard lock(mutex);
        ++accepted;
      }
      do_accept();
    });
  }
};

BlackHole::BlackHole(std::string address) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  const tcp::endpoint endpoint(asio::ip::make_address(address), 0);
  impl.acceptor.emplace(impl.io);
  impl.acceptor->open(endpoint.protocol());
  set_cloexec(impl.acceptor->native_handle());
  impl.acceptor->bind(endpoint);
  impl.acceptor->listen();
  impl.do_accept();
  impl.thread = std::thread([&impl] { impl.io.run(); });
}

BlackHole::~BlackHole() { stop(); }

std::uint16_t BlackHole::port() const { return impl_->acceptor->local_endpoint().port(); }

std::uint64_t BlackHole::connections_accepted() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

void BlackHole::stop() {
  Impl& impl = *impl_;
  if (impl.stopped) return;
  impl.stopped = true;
  std::promise<void> closed;
  asio::post(impl.io, [&impl, &closed] {
    beast::error_code ignored;
    impl.acceptor->close(ignored);
    impl.sockets.clear();
    closed.set_value();
  });
  closed.get_future().wait();
  impl.work.reset();
  impl.io.stop();
  impl.thread.join();
}

// ---- ClosedPort, UnansweredPort -----------------------------------------------------------

namespace {

// A socket bound to `address`:`port` (0: ephemeral), not listening; `who` names the caller in
// errors. Sets `bound_port` to the port it got.
int bound_socket(const std::string& address, std::uint16_t port, const char* who,
                 std::uint16_t& bound_port) {
  const auto parsed = asio::ip::make_address(address);
  const tcp::endpoint endpoint(parsed, port);
  const int fd = ::socket(parsed.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string(who) + ": socket() failed");
  if (::bind(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string(who) + ": bind() failed");
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace

ClosedPort::ClosedPort(const std::string& address) {
  fd_ = bound_socket(address, 0, "ClosedPort", port_);
}

ClosedPort::~ClosedPort() {
  if (fd_ >= 0) ::close(fd_);
}

UnansweredPort::UnansweredPort(const std::string& address, std::uint16_t port) {
  listener_fd_ = bound_socket(address, port, "UnansweredPort", port_);
  if (::listen(listener_fd_, 0) != 0) {
    ::close(listener_fd_);
    throw std::runtime_error("UnansweredPort: listen() failed");
  }
  // Backlog 0 holds one connection nobody accepts; with it queued the queue is full.
  const auto parsed = asio::ip::make_address(address);
  const tcp::endpoint endpoint(parsed, port_);
  filler_fd_ = ::socket(parsed.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (filler_fd_ < 0 ||
      ::connect(filler_fd_, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
    if (filler_fd_ >= 0) ::close(filler_fd_);
    ::close(listener_fd_);
    throw std::runtime_error("UnansweredPort: cannot fill the accept queue");
  }
}

UnansweredPort::~UnansweredPort() {
  ::close(filler_fd_);
  ::close(listener_fd_);
}

}  // namespace korehook::testing
