#include "korehook/client/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace korehook::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using Stream = beast::basic_stream<local, asio::any_io_executor, beast::unlimited_rate_policy>;

struct Client::Impl {
  std::string socket_path;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  std::optional<Stream> stream;
  beast::flat_buffer buffer;

  // Runs the io_context until `op` completes; the stream's expiry bounds every step.
  beast::error_code run_until_done(std::optional<beast::error_code>& result) {
    io.restart();
    while (!result && io.run_one() > 0) {
    }
    return result.value_or(asio::error::operation_aborted);
  }

  beast::error_code connect() {
    stream.emplace(io);
    buffer.clear();
    std::optional<beast::error_code> result;
    stream->expires_after(timeout);
    stream->async_connect(local::endpoint(socket_path), [&](beast::error_code ec) { result = ec; });
    return run_until_done(result);
  }

  Result<Response> exchange(http::request<http::string_body>& req) {
    std::optional<beast::error_code> result;
    stream->expires_after(timeout);
    http::async_write(*stream, req, [&](beast::error_code ec, std::size_t) { result = ec; });
    if (auto ec = run_until_done(result)) return io_error("write", ec);

    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    result.reset();
    http::async_read(*stream, buffer, parser,
                     [&](beast::error_code ec, std::size_t) { result = ec; });
    if (auto ec = run_until_done(result)) return io_error("read", ec);

    auto& res = parser.get();
    Response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) stream.reset();
    return out;
  }

  Error not_running(beast::error_code ec) {
    stream.reset();
    return Error{"not_running", "korehookd is not running (cannot connect to " + socket_path +
                                    ": " + ec.message() + ")"};
  }

  Error io_error(const char* step, beast::error_code ec) {
    stream.reset();
    if (ec == beast::error::timeout) {
      return Error{"timeout", std::string("no answer from ") + socket_path + " within " +
                                  std::to_string(timeout.count()) + " ms (" + step + ")"};
    }
    return Error{"io_error", std::string(step) + " on " + socket_path + ": " + ec.message()};
  }
};

Client::Client(std::string socket_path, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->socket_path = std::move(socket_path);
  impl_->timeout = timeout;
}

Client::~Client() = default;

Result<Response> Client::request(std::string_view method, std::string_view target,
                                 std::string_view body, std::string_view content_type) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "korehook-cli");
  req.keep_alive(true);
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    req.set(http::field::content_type, content_type);
    req.body() = std::string(body);
  }
  req.prepare_payload();

  // A kept-alive connection the daemon closed meanwhile fails on first use: retry once on a
  // fresh connection, but only when the request never reached a live connection.
  const bool reused = impl_->stream.has_value();
  if (!reused) {
    if (auto ec = impl_->connect()) {
      if (ec == asio::error::connection_refused || ec == asio::error::not_found ||
          ec == boost::system::errc::no_such_file_or_directory) {
        return impl_->not_running(ec);
      }
      return impl_->io_error("connect", ec);
    }
  }
  auto result = impl_->exchange(req);
  if (!result.ok() && reused && result.error().code == "io_error") {
    if (auto ec = impl_->connect()) return impl_->not_running(ec);
    return impl_->exchange(req);
  }
  return result;
}

}  // namespace korehook::client
