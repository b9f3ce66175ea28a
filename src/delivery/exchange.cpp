#include "delivery/exchange.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <iterator>
#include <limits>
#include <utility>
#include <vector>

#include "delivery/log.hpp"
#include "delivery/request_text.hpp"
#include "korehook/model/endpoint.hpp"
#include "korehook/util/encoding.hpp"

namespace korehook::delivery {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using retry::ErrorClass;

namespace {

// Beast's keep_alive() reads the Connection header as a token list on every response. Over
// HTTP/1.1 most receivers send none or exactly "keep-alive", which keep the connection either
// way; anything else is left to Beast.
template <class Message>
bool keeps_alive(const Message& response) {
  if (response.version() == 11) {
    const auto it = response.find(http::field::connection);
    if (it == response.end() || beast::iequals(it->value(), "keep-alive")) return true;
  }
  return response.keep_alive();
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

SenderState::SenderState(asio::io_context& io_context, SenderOptions opts)
    : io(io_context),
      options(std::move(opts)),
      pool(std::make_shared<ConnectionPool>(options.max_idle_per_origin, options.idle_timeout)),
      io_timer_(io_context) {
  address_policy.allow_private = options.allow_private;
  std::map<std::string, std::vector<std::string>> resolve;
  for (auto& [name, addresses] : options.resolve)
    resolve[ascii_lowercase(name)] = std::move(addresses);
  options.resolve = std::move(resolve);
}

void SenderState::watch_io(TimePoint deadline) {
  ++io_watched_;
  // Later deadlines wait for the timer's next round (on_io_timer arms it for the earliest).
  if (deadline < io_timer_at_) arm_io_timer(deadline);
}

void SenderState::unwatch_io() {
  // With nothing left to watch the timer is stopped, so that it does not keep the io_context
  // running (or a test waiting) until a deadline nobody has any more.
  if (--io_watched_ == 0) stop_io_timer();
}

void SenderState::stop_io_timer() {
  io_timer_at_ = TimePoint::max();
  io_timer_.cancel();
}

void SenderState::arm_io_timer(TimePoint at) {
  io_timer_at_ = at;
  io_timer_.expires_at(at);
  io_timer_.async_wait([weak = weak_from_this(), at](beast::error_code ec) {
    auto self = weak.lock();
    // Cancelled or re-armed meanwhile: a later wait is the current one (or none is).
    if (ec || !self || self->io_timer_at_ != at) return;
    self->on_io_timer();
  });
}

void SenderState::on_io_timer() {
  io_timer_at_ = TimePoint::max();
  const auto now = std::chrono::steady_clock::now();
  auto next = TimePoint::max();
  // io_deadline_passed() only cancels: the handlers, which end exchanges and so change
  // in_flight, run later from the io_context's queue.
  for (Exchange* exchange : in_flight) {
    const auto deadline = exchange->io_deadline();
    if (deadline == TimePoint::max()) continue;
    if (deadline <= now) {
      exchange->io_deadline_passed();
    } else {
      next = std::min(next, deadline);
    }
  }
  if (next != TimePoint::max()) arm_io_timer(next);
}

Exchange::Exchange(std::shared_ptr<SenderState> state, SendRequest request,
                   std::function<void(SendResult)> done, TimeMs started_at, Mode mode)
    : state_(std::move(state)),
      request_(std::move(request)),
      done_(std::move(done)),
      mode_(mode),
      start_(std::chrono::steady_clock::now()),
      deadline_(start_ + request_.timeout) {
  result_.started_at = started_at;
  state_->in_flight.insert(this);
}

Exchange::~Exchange() {
  unwatch_io();
  state_->in_flight.erase(this);
}

void Exchange::start() {
  if (state_->stopped) return abandon();
  if (mode_ == Mode::kCheckOnly) return do_resolve();
  for (const auto& [name, value] : request_.headers) {
    if (!is_http_token(name)) return fail(ErrorClass::kProtocol, "invalid request header name");
    // The value may be a secret: name only.
    if (!is_framing_safe(value)) {
      return fail(ErrorClass::kProtocol, "invalid request header value: " + ascii_lowercase(name));
    }
  }
  ca_file_ = request_.ca_file.value_or(state_->options.ca_file.value_or(""));
  auto context = state_->contexts.get(ca_file_);
  if (!context.ok()) return fail(ErrorClass::kTls, context.error().message);
  context_ = std::move(context.value());

  pool_key_ = request_.url.origin() + "|" + ca_file_;
  if (auto connection = state_->pool->take(pool_key_)) {
    connection_ = std::move(connection);
    reused_ = true;
    result_.reused_connection = true;
    return do_write();
  }
  do_resolve();
}

void Exchange::abort() {
  if (resolve_timer_) resolve_timer_->cancel();
  if (resolver_) resolver_->cancel();
  if (connection_) connection_->close();
}

void Exchange::watch_io(std::chrono::steady_clock::time_point deadline) {
  unwatch_io();
  io_deadline_ = deadline;
  io_deadline_passed_ = false;
  state_->watch_io(deadline);
}

void Exchange::unwatch_io() {
  if (io_deadline_ == std::chrono::steady_clock::time_point::max()) return;
  io_deadline_ = std::chrono::steady_clock::time_point::max();
  state_->unwatch_io();
}

void Exchange::io_deadline_passed() {
  // Still watched (the exchange ends with a timeout and unwatches then), but no longer timed.
  io_deadline_passed_ = true;
  if (!connection_) return;
  beast::error_code ignored;
  connection_->tcp().socket().cancel(ignored);
}

bool Exchange::io_timed_out(beast::error_code ec) const { return ec && io_deadline_passed_; }

// ---- resolve -------------------------------------------------------------------------------

void Exchange::do_resolve() {
  phase_ = Phase::kResolving;
  endpoints_.clear();
  next_endpoint_ = 0;
  last_connect_error_ = {};
  const std::string& host = request_.url.host;
  const std::uint16_t port = request_.url.port;

  if (auto it = state_->options.resolve.find(host); it != state_->options.resolve.end()) {
    std::vector<tcp::endpoint> resolved;
    for (const std::string& text : it->second) {
      std::string_view bare = text;
      if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
        bare = bare.substr(1, bare.size() - 2);
      }
      beast::error_code ec;
      const auto address = asio::ip::make_address(bare, ec);
      if (ec) {
        return fail(ErrorClass::kDns, "network.resolve: bad address for " + host + ": " + text);
      }
      if (resolved.size() < kMaxResolved) resolved.emplace_back(address, port);
    }
    if (resolved.empty()) {
      return fail(ErrorClass::kDns, "network.resolve: no address for " + host);
    }
    return check_addresses(std::move(resolved));
  }

  beast::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) return check_addresses({tcp::endpoint(literal, port)});

  // getaddrinfo cannot be interrupted: the deadline ends the exchange and the late answer is
  // ignored.
  if (!resolve_timer_) resolve_timer_.emplace(state_->io);
  if (!resolver_) resolver_.emplace(state_->io);
  resolve_timer_->expires_at(step_expiry(request_.connect_timeout));
  resolve_timer_->async_wait(
      beast::bind_front_handler(&Exchange::on_resolve_deadline, shared_from_this()));
  resolver_->async_resolve(host, std::to_string(port), tcp::resolver::numeric_service,
                           beast::bind_front_handler(&Exchange::on_resolve, shared_from_this()));
}

void Exchange::on_resolve_deadline(beast::error_code ec) {
  if (ec || phase_ != Phase::kResolving) return;  // resolved (or ended) in time
  if (state_->stopped) return abandon();
  resolver_->cancel();
  // The lookup's own bound is a DNS failure, as it always was; the attempt's deadline is not.
  fail(step_at_deadline_ ? ErrorClass::kTimeout : ErrorClass::kDns,
       "resolving " + request_.url.host + " " + timeout_text(request_.connect_timeout));
}

void Exchange::on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
  if (phase_ != Phase::kResolving) return;  // the deadline already ended the exchange
  resolve_timer_->cancel();
  if (state_->stopped) return abandon();
  if (ec) {
    return fail(ErrorClass::kDns, "cannot resolve " + request_.url.host + ": " + ec.message());
  }
  std::vector<tcp::endpoint> resolved;
  for (const auto& entry : results) {
    if (resolved.size() == kMaxResolved) break;
    resolved.push_back(entry.endpoint());
  }
  if (resolved.empty()) return fail(ErrorClass::kDns, "no address for " + request_.url.host);
  check_addresses(std::move(resolved));
}

// ---- address policy (SSRF guard) -----------------------------------------------------------

void Exchange::check_addresses(std::vector<tcp::endpoint> resolved) {
  constexpr std::size_t kMaxNamed = 4;  // blocked addresses named in the error detail
  std::vector<std::string> blocked;
  for (const tcp::endpoint& endpoint : resolved) {
    const asio::ip::address address = endpoint.address();
    const net::IpAddress ip = address.is_v4() ? net::IpAddress::from_v4(address.to_v4().to_bytes())
                                              : net::IpAddress::from_v6(address.to_v6().to_bytes());
    const net::AddressCheck check = net::check_address(ip, state_->address_policy);
    if (!check.allowed) {
      blocked.push_back(check.detail(ip));
      continue;
    }
    if (endpoints_.size() < kMaxAddresses) endpoints_.push_back(endpoint);
  }
  if (endpoints_.empty()) {
    std::string detail = "destination " + request_.url.host + " blocked: ";
    for (std::size_t i = 0; i < blocked.size() && i < kMaxNamed; ++i) {
      detail += (i == 0 ? "" : "; ") + blocked[i];
    }
    if (blocked.size() > kMaxNamed) {
      detail += "; and " + std::to_string(blocked.size() - kMaxNamed) + " more";
    }
    return fail(ErrorClass::kBlocked, std::move(detail));
  }
  if (!blocked.empty()) {
    logger().info("origin={} skipped_blocked_addresses={} first=\"{}\"", request_.url.origin(),
                  blocked.size(), blocked.front());
  }
  if (mode_ == Mode::kCheckOnly) return finish();
  do_connect();
}

// ---- connect -------------------------------------------------------------------------------

void Exchange::do_connect() {
  phase_ = Phase::kConnecting;
  if (next_endpoint_ == endpoints_.size()) {
    std::string detail = "cannot connect to " + request_.url.origin();
    if (endpoints_.size() > 1) detail += " (" + std::to_string(endpoints_.size()) + " addresses)";
    detail += ": " + last_connect_endpoint_ + " ";
    if (last_connect_error_ == beast::error::timeout) {
      return fail(ErrorClass::kTimeout, detail + timeout_text(request_.connect_timeout));
    }
    return fail(ErrorClass::kConnect, detail + last_connect_error_.message());
  }
  if (!connection_) {
    // Room for a whole header (the parser's header_limit fails first) plus a TLS record.
    const std::size_t limit = state_->options.max_response_header_bytes + 16 * 1024;
    connection_ = std::make_unique<TlsConnection>(state_->io.get_executor(), context_, limit);
  }
  const tcp::endpoint& endpoint = endpoints_[next_endpoint_++];
  last_connect_endpoint_ = endpoint_text(endpoint);
  // The previous address's socket may be of the other family: start from a closed one.
  connection_->tcp().close();
  connection_->tcp().expires_at(step_expiry(request_.connect_timeout));
  connection_->stream_deadline_set = true;
  connection_->tcp().async_connect(
      endpoint, beast::bind_front_handler(&Exchange::on_connect, shared_from_this()));
}

void Exchange::on_connect(beast::error_code ec) {
  if (state_->stopped) return abandon();
  if (ec) {
    if (ec == beast::error::timeout && step_at_deadline_) {
      // No time left for the next address.
      return fail(ErrorClass::kTimeout, "connecting to " + last_connect_endpoint_ + " " +
                                            timeout_text(request_.connect_timeout));
    }
    // Refused, unreachable or timed out: the next address may work.
    logger().debug("origin={} connect={} error=\"{}\"", request_.url.origin(),
                   last_connect_endpoint_, ec.message());
    last_connect_error_ = ec;
    return do_connect();
  }
  result_.connect_ms = elapsed_ms();
  beast::error_code ignored;
  connection_->tcp().socket().set_option(tcp::no_delay(true), ignored);
  do_handshake();
}

// ---- TLS handshake -------------------------------------------------------------------------

void Exchange::do_handshake() {
  phase_ = Phase::kHandshaking;
  if (!prepare_client_handshake(*connection_, request_.url.host)) {
    return fail(ErrorClass::kTls, "cannot use " + request_.url.host + " as TLS server name");
  }
  state_->sessions->attach(connection_->stream.native_handle(), pool_key_);
  connection_->tcp().expires_at(step_expiry(request_.connect_timeout));
  connection_->stream_deadline_set = true;
  connection_->stream.async_handshake(
      beast::bind_front_handler(&Exchange::on_handshake, shared_from_this()));
}

void Exchange::on_handshake(beast::error_code ec) {
  if (state_->stopped) return abandon();
  if (ec) {
    if (ec == beast::error::timeout) {
      return fail(ErrorClass::kTimeout, "tls handshake with " + last_connect_endpoint_ + " " +
                                            timeout_text(request_.connect_timeout));
    }
    return fail(ErrorClass::kTls, handshake_failure_detail(*connection_, ec));
  }
  result_.tls_ms = elapsed_ms();
  result_.tls_resumed = SSL_session_reused(connection_->stream.native_handle()) == 1;
  do_write();
}

// ---- request -------------------------------------------------------------------------------

void Exchange::do_write() {
  phase_ = Phase::kWriting;
  read_deadline_ = step_expiry(request_.read_timeout);

  // One buffer, one SSL_write (one TLS record up to 16 KiB): no serializer and no gather
  // copy in flat_stream. The text is kept for a retry on a fresh connection.
  if (request_text_.empty()) render_request(request_, request_text_);

  ++connection_->requests;
  if (std::exchange(connection_->stream_deadline_set, false)) connection_->tcp().expires_never();
  watch_io(read_deadline_);
  asio::async_write(connection_->stream, asio::buffer(request_text_),
                    beast::bind_front_handler(&Exchange::on_write, shared_from_this()));
}

void Exchange::on_write(beast::error_code ec, std::size_t /*bytes*/) {
  if (state_->stopped) return abandon();
  if (ec) {
    if (io_timed_out(ec)) {
      return fail(ErrorClass::kTimeout,
                  "sending the request " + timeout_text(request_.read_timeout));
    }
    if (reused_ && !retried_) return retry_on_fresh_connection("write", ec);
    return fail(ErrorClass::kConnect, "sending the request failed: " + ec.message());
  }
  do_read_header();
}

// ---- response ------------------------------------------------------------------------------

void Exchange::do_read_header() {
  phase_ = Phase::kReading;
  // The deadline passed while the step before completed: no read is started past it.
  if (io_deadline_passed_) {
    return fail(ErrorClass::kTimeout, "no response " + timeout_text(request_.read_timeout));
  }
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
      state_->options.max_response_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  // The body is bounded by this exchange (kMaxDrainBytes), not by the parser: a parser limit
  // would fail on a large Content-Length before the excerpt is read.
  parser_->body_limit(boost::none);
  http::async_read_header(connection_->stream, connection_->buffer, *parser_,
                          beast::bind_front_handler(&Exchange::on_read_header, shared_from_this()));
}

void Exchange::on_read_header(beast::error_code ec, std::size_t /*bytes*/) {
  if (state_->stopped) return abandon();
  if (ec) {
    const bool got_bytes =
        parser_->got_some() || connection_->buffer.size() > 0 || interim_responses_ > 0;
    if (io_timed_out(ec)) {
      return fail(ErrorClass::kTimeout, "no response " + timeout_text(request_.read_timeout));
    }
    if (reused_ && !retried_ && !got_bytes) return retry_on_fresh_connection("read", ec);
    if (ec == http::error::header_limit) {
      return fail(ErrorClass::kProtocol,
                  "response header larger than " +
                      std::to_string(state_->options.max_response_header_bytes) + " bytes");
    }
    if (!got_bytes) {
      return fail(ErrorClass::kProtocol, "connection closed before a response: " + ec.message());
    }
    return fail(ErrorClass::kProtocol, "malformed response: " + ec.message());
  }

  const auto& response = parser_->get();
  const int status = static_cast<int>(response.result_int());
  if (status < 100 || status > 599) {
    return fail(ErrorClass::kProtocol, "malformed response: status " + std::to_string(status));
  }
  if (status < 200) {
    // 100 Continue and friends precede the final response; 101 would switch protocols.
    if (status == 101 || ++interim_responses_ > kMaxInterimResponses) {
      return fail(ErrorClass::kProtocol, "unexpected interim response " + std::to_string(status));
    }
    return do_read_header();
  }

  result_.first_byte_ms = elapsed_ms();
  result_.status = status;
  // Sized once: growing the vector field by field moved every header's strings again.
  result_.response_headers.reserve(
      static_cast<std::size_t>(std::distance(response.begin(), response.end())));
  for (const auto& field : response) {
    result_.response_headers.emplace_back(std::string(field.name_string()),
                                          std::string(field.value()));
  }
  if (auto it = response.find(http::field::retry_after); it != response.end()) {
    result_.retry_after = std::string(it->value());
  }
  if (parser_->is_done()) return complete(true);
  do_read_body();
}

void Exchange::do_read_body() {
  if (io_deadline_passed_) {
    return complete(false, "response body " + timeout_text(request_.read_timeout));
  }
  auto& body = parser_->get().body();
  body.data = chunk_.data();
  body.size = chunk_.size();
  http::async_read(connection_->stream, connection_->buffer, *parser_,
                   beast::bind_front_handler(&Exchange::on_read_body, shared_from_this()));
}

void Exchange::on_read_body(beast::error_code ec, std::size_t /*bytes*/) {
  if (state_->stopped) return abandon();
  if (ec == http::error::need_buffer) ec = {};  // the chunk is full: not an error

  const std::size_t got = chunk_.size() - parser_->get().body().size;
  const std::size_t keep = std::min(got, kExcerptBytes - result_.response_excerpt.size());
  result_.response_excerpt.append(chunk_.data(), keep);
  body_bytes_ += got;

  // The status is known: a body problem only shortens the excerpt and costs the connection.
  if (io_timed_out(ec)) {
    return complete(false, "response body " + timeout_text(request_.read_timeout));
  }
  if (ec) return complete(false, "response body incomplete: " + ec.message());
  if (parser_->is_done()) return complete(true);

  const auto length = parser_->content_length();
  const bool too_large = body_bytes_ > kMaxDrainBytes || (length && *length > kMaxDrainBytes);
  if (too_large && result_.response_excerpt.size() == kExcerptBytes) return complete(false);
  do_read_body();
}

// ---- endings -------------------------------------------------------------------------------

void Exchange::retry_on_fresh_connection(const char* step, beast::error_code ec) {
  logger().debug("origin={} stale keep-alive connection ({}: {}), retrying on a new one",
                 request_.url.origin(), step, ec.message());
  unwatch_io();
  connection_->close();
  connection_.reset();
  reused_ = false;
  retried_ = true;
  result_.reused_connection = false;
  interim_responses_ = 0;
  parser_.reset();
  do_resolve();
}

void Exchange::complete(bool body_complete, std::string detail) {
  const retry::AttemptOutcome outcome =
      retry::outcome_from_status(*result_.status, result_.retry_after);
  result_.error = outcome.error;
  result_.error_detail = std::move(detail);

  const bool reusable =
      body_complete && keeps_alive(parser_->get()) && connection_->buffer.size() == 0;
  if (reusable) {
    state_->pool->put(pool_key_, std::move(connection_));
  } else if (body_complete) {
    shutdown_in_background(std::move(connection_));
  } else {
    connection_->close();
    connection_.reset();
  }
  finish();
}

void Exchange::fail(ErrorClass error, std::string detail) {
  result_.error = error;
  result_.error_detail = std::move(detail);
  if (connection_) {
    connection_->close();
    connection_.reset();
  }
  finish();
}

void Exchange::abandon() {
  if (connection_) {
    connection_->close();
    connection_.reset();
  }
  done_ = nullptr;
  finish();
}

void Exchange::finish() {
  if (finished_) return;
  finished_ = true;
  phase_ = Phase::kDone;
  unwatch_io();
  if (resolve_timer_) resolve_timer_->cancel();
  state_->in_flight.erase(this);
  result_.duration_ms = elapsed_ms();
  // What the receiver sent is kept as UTF-8: HTTP allows other bytes in a header value, and
  // the excerpt can end inside a character. The attempt's record is JSON in the store and in
  // the API, which cannot hold such bytes (its header list would no longer read back).
  for (auto& [name, value] : result_.response_headers) {
    make_utf8(name);
    make_utf8(value);
  }
  make_utf8(result_.response_excerpt);
  make_utf8(result_.error_detail);

  auto& log = logger();
  if (log.should_log(spdlog::level::debug)) {
    auto ms = [](const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; };
    log.debug(
        "origin={} status={} error={} ms={} connect_ms={} tls_ms={} first_byte_ms={} "
        "reused={}{}{}",
        request_.url.origin(), result_.status ? std::to_string(*result_.status) : "-",
        result_.error == ErrorClass::kNone ? "-" : retry::to_string(result_.error),
        result_.duration_ms, ms(result_.connect_ms), ms(result_.tls_ms), ms(result_.first_byte_ms),
        result_.reused_connection ? 1 : 0,
        result_.error_detail.empty() ? "" : " detail=", result_.error_detail);
  }
  if (!done_ || state_->stopped) return;
  auto done = std::move(done_);
  done(std::move(result_));
}

std::int64_t Exchange::elapsed_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start_)
      .count();
}

std::chrono::steady_clock::time_point Exchange::step_expiry(Millis step) {
  const auto own = std::chrono::steady_clock::now() + step;
  step_at_deadline_ = deadline_ <= own;
  return step_at_deadline_ ? deadline_ : own;
}

std::string Exchange::timeout_text(Millis step) const {
  if (step_at_deadline_) {
    return "timed out at the attempt's " + std::to_string(request_.timeout.count()) +
           " ms deadline";
  }
  return "timed out after " + std::to_string(step.count()) + " ms";
}

}  // namespace korehook::delivery
