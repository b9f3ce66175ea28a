#include "korehook/api/server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "korehook/api/errors.hpp"
#include "korehook/net/url.hpp"
#include "log/log.hpp"

namespace korehook::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using SteadyClock = std::chrono::steady_clock;

namespace {

spdlog::logger& logger() { return log::get("api"); }

// Read buffer reserved per connection (it grows for larger requests, up to the limits).
constexpr std::size_t kReadBufferBytes = 8 * 1024;

// An admitted request body still arriving after this gives up its share of
// ServerOptions::max_inflight_bytes until it is complete.
constexpr auto kSlowBody = std::chrono::seconds(1);

// Fills path and query from the request target; false when the target is not origin-form.
bool split_target(Request& req) {
  // Nearly every target is a plain path ("/v1/events"): it is its own decoded path, with no
  // query, and Boost.URL's parse (about a thousand instructions and an allocation) is for
  // the rest.
  const std::string_view target = req.target;
  if (!target.empty() && target.front() == '/' &&
      std::all_of(target.begin(), target.end(),
                  [](char c) { return c == '/' || net::is_pchar(c); })) {
    req.path = target;
    return true;
  }
  auto parsed = boost::urls::parse_origin_form(req.target);
  if (!parsed) return false;
  req.path = parsed->path();
  for (auto param : parsed->params()) {
    req.query.emplace_back(param.key, param.has_value ? param.value : std::string());
  }
  return true;
}

}  // namespace

const std::string* Request::query_param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return &value;
  }
  return nullptr;
}

namespace {
class Session;
}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  asio::io_context& io;
  ServerOptions options;
  Handler handler;
  local::acceptor acceptor;
  int evicting = 0;  // evicted sessions whose handlers have not run yet
  bool stopped = false;
  std::uint64_t next_serial = 1;
  // Sessions waiting for a request header, oldest first: the ones to evict when full.
  std::map<std::uint64_t, std::weak_ptr<Session>> waiting;
  // Every open session (its size is the connection count), for the deadline sweep.
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;
  // One timer enforces every session's deadline: a timer per session, re-armed for each read
  // and write, cost a timerfd_settime call per request or two.
  asio::steady_timer sweep_timer;
  bool sweeping = false;
  // Body bytes of the requests admitted and not answered yet (options.max_inflight_bytes),
  // and the sessions whose request waits for room, in arrival order. A parked request's body
  // stays in the socket, so memory is bounded whatever the number of clients.
  std::size_t inflight_bytes = 0;
  std::deque<std::shared_ptr<Session>> parked;

  Impl(asio::io_context& io, ServerOptions options, Handler handler)
      : io(io),
        options(std::move(options)),
        handler(std::move(handler)),
        acceptor(io),
        sweep_timer(io) {}

  void do_accept();
  // `bytes` more fit under options.max_inflight_bytes; with nothing in flight anything fits.
  bool fits(std::size_t bytes) const {
    return inflight_bytes == 0 || inflight_bytes + bytes <= options.max_inflight_bytes;
  }
  // Counts `bytes` in when they fit and no earlier request waits; false when this one must.
  bool admit(std::size_t bytes);
  // Counts a parked session's body in and resumes it from the io queue.
  void let_in(std::shared_ptr<Session> session);
  // An admitted request was answered (or its session ended): lets in the parked requests
  // that now fit, in order.
  void release(std::size_t bytes);
  // Closes the session that has waited longest for a header; false when none is waiting.
  bool evict_oldest_waiting();
  // Arms the sweep when a session exists and it is not armed; it stops when none is left.
  void arm_sweep();
  // How late a deadline may be enforced: a quarter of the shortest timeout, 10 to 250 ms.
  std::chrono::milliseconds sweep_interval() const;
};

namespace {

// The 403 a peer outside api.allow_uids / api.allow_gids gets; nullopt when it may enter.
std::optional<Response> peer_refusal(local::socket& socket, const ServerOptions& options) {
  if (options.allow_uids.empty() && options.allow_gids.empty()) return std::nullopt;
  ucred cred{};
  socklen_t length = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    logger().warn("connection refused: cannot read the peer's credentials errno={}", errno);
    return error_response(403, "forbidden", "the peer's credentials cannot be read");
  }
  const auto uid = static_cast<std::uint32_t>(cred.uid);
  const auto gid = static_cast<std::uint32_t>(cred.gid);
  auto listed = [](const std::vector<std::uint32_t>& ids, std::uint32_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  if (listed(options.allow_uids, uid) || listed(options.allow_gids, gid)) return std::nullopt;
  logger().warn("connection refused: peer not allowed uid={} gid={} pid={}", uid, gid, cred.pid);
  boost::json::object info;
  info["uid"] = uid;
  info["gid"] = gid;
  return error_response(403, "forbidden",
                        "uid " + std::to_string(uid) + " / gid " + std::to_string(gid) +
                            " may not use this socket (api.allow_uids, api.allow_gids)",
                        std::move(info));
}

// A refused connection after its 503: the send side is shut down, and what the client still
// sends is read and dropped until it closes or `kLingerFor` passes. Closing at once would make
// the client's write of its request fail (EPIPE) before it reads the answer. At most
// kMaxLingering at once; past that a refused connection is closed right away.
class Lingering : public std::enable_shared_from_this<Lingering> {
 public:
  static constexpr auto kLingerFor = std::chrono::seconds(1);
  static constexpr int kMaxLingering = 64;

  static void start(local::socket socket) {
    if (count_ >= kMaxLingering) {
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    auto self = std::make_shared<Lingering>(std::move(socket));
    self->timer_.expires_after(kLingerFor);
    self->timer_.async_wait([self](beast::error_code) {
      beast::error_code ignored;
      self->socket_.close(ignored);
    });
    self->read();
  }

  explicit Lingering(local::socket socket)
      : socket_(std::move(socket)), timer_(socket_.get_executor()) {
    ++count_;
  }
  ~Lingering() { --count_; }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                self->timer_.cancel();
                                return;
                              }
                              self->read();
                            });
  }

  inline static std::atomic<int> count_{0};  // over every server of the process
  local::socket socket_;
  asio::steady_timer timer_;
  std::array<char, 1024> buffer_{};
};

// Answers a connection over max_connections with 503 and closes it (after lingering). One
// small write on a fresh socket, non-blocking: if it does not fit at once the client just sees
// the close.
void refuse_busy(local::socket socket, int connections) {
  logger().warn("connection refused: {} connections busy (api.max_connections)", connections);
  const Response res = error_response(503, "too_many_connections",
                                      "the API has too many open connections; retry shortly");
  const std::string wire =
      "HTTP/1.1 503 Service Unavailable\r\nserver: korehookd\r\n"
      "content-type: application/json\r\ncache-control: no-store\r\n"
      "connection: close\r\ncontent-length: " +
      std::to_string(res.body.size()) + "\r\n\r\n" + res.body;
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(wire), ignored);
  socket.shutdown(local::socket::shutdown_send, ignored);
  Lingering::start(std::move(socket));
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(local::socket socket, std::shared_ptr<Server::Impl> server,
          std::optional<Response> refusal)
      : socket_(std::move(socket)),
        server_(std::move(server)),
        refusal_(std::move(refusal)),
        serial_(server_->next_serial++) {
    // Beast reads max(512, free capacity) bytes per call: with an empty buffer a 1.2 KiB event
    // took three recv calls. An event request fits in one read of this.
    buffer_.reserve(kReadBufferBytes);
  }
  ~Session() {
    if (counted_) server_->release(wanted_bytes_);
    if (evicted_) --server_->evicting;
    server_->waiting.erase(serial_);
    server_->sessions.erase(serial_);
  }

  void start() {
    server_->sessions[serial_] = weak_from_this();
    server_->arm_sweep();
    // write() writes without waiting (would_block when the socket is full). Asio's
    // asynchronous operations are unaffected.
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);
    do_read_header();
  }

  // From the sweep: past its deadline, the read or write underway is cancelled; it ends with
  // operation_aborted and `timed_out_` tells why.
  void check_deadline(SteadyClock::time_point now) {
    // A body still arriving after kSlowBody holds no room meanwhile: slow clients must not
    // keep the others' requests waiting. It is counted again once read (on_read).
    if (counted_ && reading_body_ && now - body_started_ >= kSlowBody) {
      counted_ = false;
      server_->release(wanted_bytes_);
    }
    if (now < deadline_) return;
    deadline_ = SteadyClock::time_point::max();
    timed_out_ = true;
    beast::error_code ignored;
    socket_.cancel(ignored);
  }

  // Its request was parked and is let in (Impl::let_in, its body counted): read the body.
  void resume() {
    counted_ = true;
    deadline_ = SteadyClock::now() + server_->options.request_timeout;
    read_body();
  }
  std::size_t wanted_bytes() const { return wanted_bytes_; }

  // Room for a new connection: close this one (waiting for a header). Its pending read ends
  // with operation_aborted and the session goes away.
  void evict() {
    if (evicted_) return;
    evicted_ = true;
    ++server_->evicting;
    logger().info(
        "connection evicted: waiting for a request header while at "
        "api.max_connections");
    close();
  }

 private:
  void do_read_header() {
    server_->waiting[serial_] = weak_from_this();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
    parser_->body_limit(server_->options.max_body_bytes);
    // A kept-alive connection may idle; once bytes arrive the header deadline applies.
    request_started_ = SteadyClock::now();
    deadline_ = request_started_ +
                (first_request_ ? server_->options.header_timeout : server_->options.idle_timeout);
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    server_->waiting.erase(serial_);
    if (ec) return fail(ec);
    timed_out_ = false;  // a cancel that came after the read had completed changed nothing
    // RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked has no
    // determinable length; Beast would read it as bodiless and the rest as a next request.
    if (parser_->get().count(http::field::transfer_encoding) != 0 && !parser_->chunked()) {
      keep_alive_ = false;
      return write(error_response(400, "bad_request", "Transfer-Encoding must end with chunked"));
    }
    first_request_ = false;
    // A chunked body's size is known only once read: it counts as the largest allowed.
    const auto length = parser_->content_length();
    wanted_bytes_ = length ? static_cast<std::size_t>(*length)
                           : (parser_->chunked() ? server_->options.max_body_bytes : 0);
    if (!server_->admit(wanted_bytes_)) {
      // Waiting here is the server's doing, not the client's: no deadline until resumed.
      deadline_ = SteadyClock::time_point::max();
      server_->parked.push_back(shared_from_this());
      return;
    }
    counted_ = wanted_bytes_ > 0;
    deadline_ = request_started_ + server_->options.request_timeout;
    read_body();
  }

  void read_body() {
    reading_body_ = true;
    body_started_ = SteadyClock::now();
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    reading_body_ = false;
    if (ec) return fail(ec);
    if (!counted_ && wanted_bytes_ > 0) {
      // Let go of its room while slow (check_deadline): the body is here now, count it.
      counted_ = true;
      server_->inflight_bytes += wanted_bytes_;
    }
    timed_out_ = false;
    deadline_ = SteadyClock::time_point::max();  // the handler's time is not the client's
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    if (refusal_) {
      // The whole (bounded) request was read, so the answer is not lost to a reset.
      keep_alive_ = false;
      return write(*refusal_);
    }
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.content_type = std::string(msg[http::field::content_type]);
    req.body = std::move(msg.body());
    if (!split_target(req)) {
      return write(error_response(400, "invalid_target", "the request target is not a path"));
    }
    target_for_log_ = req.method + " " + req.path.substr(0, 200);
    // A handler bug must cost one request, not the daemon. Handlers answer last, so an
    // exception means no answer was written yet.
    try {
      server_->handler(std::move(req),
                       [self = shared_from_this()](Response res) { self->write(std::move(res)); });
    } catch (const std::exception& e) {
      logger().error("handler failed request=\"{}\" error=\"{}\"", target_for_log_, e.what());
      keep_alive_ = false;
      write(error_response(500, "internal_error", "the request could not be handled"));
    }
  }

  // Answers the errors a client can cause while sending, then closes.
  void fail(beast::error_code ec) {
    if (evicted_) return close();
    if (timed_out_) {
      timed_out_ = false;
      keep_alive_ = false;
      if (parser_ && parser_->got_some()) {
        return write(error_response(408, "request_timeout", "the request took too long to arrive"));
      }
      return close();  // idle keep-alive connection
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return close();
    }
    keep_alive_ = false;
    if (ec == http::error::body_limit) {
      return write(error_response(413, "body_too_large",
                                  "the request body exceeds " +
                                      std::to_string(server_->options.max_body_bytes) + " bytes"));
    }
    if (ec == http::error::header_limit) {
      return write(error_response(431, "headers_too_large",
                                  "the request header exceeds " +
                                      std::to_string(server_->options.max_header_bytes) +
                                      " bytes"));
    }
    return write(error_response(400, "bad_request", "malformed HTTP request: " + ec.message()));
  }

  // The answer rendered into one buffer and written with one call: Beast's serializer cost
  // about as much as the rest of answering a submission. Header names and values come from
  // the handlers (never from the request).
  void write(Response res) {
    if (std::exchange(counted_, false)) server_->release(wanted_bytes_);
    const bool keep_alive = keep_alive_ && !server_->stopped;
    const auto reason = http::obsolete_reason(static_cast<http::status>(res.status));
    auto out = std::make_shared<std::string>();
    out->reserve(192 + res.content_type.size() + res.body.size());
    out->append("HTTP/1.1 ").append(std::to_string(res.status)).append(" ");
    out->append(reason.data(), reason.size());
    out->append("\r\nServer: korehookd\r\nContent-Type: ").append(res.content_type);
    out->append("\r\nCache-Control: no-store\r\n");
    for (const auto& [name, value] : res.headers) {
      out->append(name).append(": ").append(value).append("\r\n");
    }
    if (!keep_alive) out->append("Connection: close\r\n");
    out->append("Content-Length: ").append(std::to_string(res.body.size())).append("\r\n\r\n");
    out->append(res.body);
    // Written at once as far as the socket takes it (an answer to a submission always fits),
    // which saves a turn of the io queue per request; the rest, if any, asynchronously.
    beast::error_code ec;
    const std::size_t written = socket_.write_some(asio::buffer(*out), ec);
    if (ec && ec != asio::error::would_block) return close();
    if (written == out->size()) {
      if (!keep_alive) return close();
      // The next read starts after a turn of the io queue, not at once: Asio tries a read
      // before it waits, and right after the answer the client has seldom sent its next
      // request yet, so that try found nothing (a system call) about every other request.
      deadline_ = SteadyClock::time_point::max();
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->do_read_header(); });
      return;
    }
    deadline_ = SteadyClock::now() + server_->options.request_timeout;
    asio::async_write(
        socket_, asio::buffer(*out) + written,
        [self = shared_from_this(), out, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive) return self->close();
          self->do_read_header();
        });
  }

  void close() {
    deadline_ = SteadyClock::time_point::max();
    beast::error_code ignored;
    socket_.shutdown(local::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  local::socket socket_;
  std::shared_ptr<Server::Impl> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  SteadyClock::time_point request_started_;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  bool timed_out_ = false;
  bool keep_alive_ = false;
  bool first_request_ = true;
  std::size_t wanted_bytes_ = 0;  // the current request's body, as counted for admission
  bool counted_ = false;          // wanted_bytes_ is in Impl::inflight_bytes (until answered)
  bool reading_body_ = false;
  SteadyClock::time_point body_started_;
  std::string target_for_log_;
  std::optional<Response> refusal_;  // set: every request gets this answer (403)
  std::uint64_t serial_;
  bool evicted_ = false;
};

}  // namespace

void Server::Impl::do_accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, local::socket socket) {
    if (self->stopped) return;
    if (ec) {
      logger().warn("accept failed: {}", ec.message());
    } else if (static_cast<int>(self->sessions.size()) - self->evicting >=
                   self->options.max_connections &&
               !self->evict_oldest_waiting()) {
      refuse_busy(std::move(socket), static_cast<int>(self->sessions.size()));
    } else {
      std::optional<Response> refusal = peer_refusal(socket, self->options);
      std::make_shared<Session>(std::move(socket), self, std::move(refusal))->start();
    }
    self->do_accept();
  });
}

std::chrono::milliseconds Server::Impl::sweep_interval() const {
  const Millis shortest =
      std::min({options.header_timeout, options.request_timeout, options.idle_timeout});
  return std::clamp(shortest / 4, Millis(10), Millis(250));
}

void Server::Impl::arm_sweep() {
  if (sweeping || sessions.empty()) return;
  sweeping = true;
  sweep_timer.expires_after(sweep_interval());
  sweep_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
    self->sweeping = false;
    if (ec) return;
    const auto now = SteadyClock::now();
    std::vector<std::shared_ptr<Session>> live;
    live.reserve(self->sessions.size());
    for (auto& [serial, weak] : self->sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
    for (auto& session : live) session->check_deadline(now);
    live.clear();  // before re-arming: a session released here leaves the map
    self->arm_sweep();
  });
}

bool Server::Impl::admit(std::size_t bytes) {
  if (bytes == 0) return true;
  if (!fits(bytes) || (inflight_bytes > 0 && !parked.empty())) return false;
  inflight_bytes += bytes;
  return true;
}

void Server::Impl::let_in(std::shared_ptr<Session> session) {
  inflight_bytes += session->wanted_bytes();
  asio::post(io, [session = std::move(session)] { session->resume(); });
}

void Server::Impl::release(std::size_t bytes) {
  inflight_bytes -= std::min(bytes, inflight_bytes);
  while (!parked.empty() && fits(parked.front()->wanted_bytes())) {
    let_in(std::move(parked.front()));
    parked.pop_front();
  }
}

bool Server::Impl::evict_oldest_waiting() {
  while (!waiting.empty()) {
    std::shared_ptr<Session> session = waiting.begin()->second.lock();
    waiting.erase(waiting.begin());
    if (session) {
      session->evict();
      return true;
    }
  }
  return false;
}

Server::Server(asio::io_context& io, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {}

Server::~Server() { stop(); }

void Server::start() {
  namespace fs = std::filesystem;
  const fs::path path(impl_->options.socket_path);
  if (path.native().size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::runtime_error("api.socket: path too long for a Unix socket (" +
                             std::to_string(path.native().size()) +
                             " bytes, at most 107): " + path.string());
  }
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code fec;
  if (!fs::exists(dir, fec)) {
    fs::create_directories(dir, fec);
    if (fec) {
      throw std::runtime_error("api.socket: cannot create directory " + dir.string() + ": " +
                               fec.message());
    }
    if (::chmod(dir.c_str(), 0750) != 0) {
      throw std::runtime_error("api.socket: cannot make " + dir.string() + " mode 0750");
    }
  }
  if (fs::exists(fs::symlink_status(path, fec))) {
    if (!fs::is_socket(fs::symlink_status(path, fec))) {
      throw std::runtime_error("api.socket: " + path.string() +
                               " exists and is not a socket; refusing to replace it");
    }
    // A live daemon answers on it; a stale socket from a crash does not.
    local::socket probe(impl_->io);
    beast::error_code ec;
    probe.connect(local::endpoint(path.string()), ec);
    if (!ec) {
      throw std::runtime_error("api.socket: " + path.string() +
                               " is in use: is another korehookd running?");
    }
    fs::remove(path, fec);
  }

  beast::error_code ec;
  auto& acceptor = impl_->acceptor;
  acceptor.open(local(), ec);
  // The socket is created with mode 0660 whatever the process umask is: bind under umask
  // 0117, then restore it.
  const mode_t old_mask = ::umask(0117);
  if (!ec) acceptor.bind(local::endpoint(path.string()), ec);
  ::umask(old_mask);
  // And explicitly, should the bind have used another mask (another thread's umask call).
  if (!ec && ::chmod(path.c_str(), 0660) != 0) {
    ec = beast::error_code(errno, boost::system::system_category());
  }
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("api.socket: cannot listen on " + path.string() + ": " + ec.message());
  }
  impl_->do_accept();
  logger().info("listening socket={}", path.string());
}

std::size_t Server::inflight_bytes() const { return impl_ ? impl_->inflight_bytes : 0; }

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  // Parked requests are read and handled (the handler refuses what it must while stopping);
  // the queue also holds the only reference to them.
  for (auto& session : std::exchange(impl_->parked, {})) impl_->let_in(std::move(session));
  beast::error_code ec;
  if (impl_->acceptor.is_open()) {
    impl_->acceptor.close(ec);
    std::error_code fec;
    std::filesystem::remove(impl_->options.socket_path, fec);
  }
}

}  // namespace korehook::api
