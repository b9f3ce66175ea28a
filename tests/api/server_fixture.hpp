#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "korehook/api/server.hpp"
#include "support/raw_connection.hpp"
#include "support/temp_dir.hpp"

namespace korehook::api::test {

using namespace std::chrono_literals;
using testing::body_of;
using testing::get_request;
using testing::RawConnection;
using testing::status_of;

// A 200 response with a JSON body.
inline Response ok_response(std::string body) {
  Response res;
  res.body = std::move(body);
  return res;
}

// A Server on its own io_context thread, in a temporary directory. The default handler
// answers 200 {"ok":true}.
class ServerFixture {
 public:
  explicit ServerFixture(ServerOptions options = {}, Handler handler = ok_handler())
      : socket_path_(dir_.file("run/api.sock")),
        server_(io_, with_path(std::move(options), socket_path_), std::move(handler)) {
    server_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ServerFixture() {
    std::promise<void> stopped;
    boost::asio::post(io_, [&] {
      server_.stop();
      stopped.set_value();
    });
    stopped.get_future().wait_for(5s);
    work_.reset();
    io_.stop();
    thread_.join();
  }
  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  const std::string& socket_path() const { return socket_path_; }
  const testing::TempDir& dir() const { return dir_; }
  boost::asio::io_context& io() { return io_; }

  // Server::inflight_bytes, read on the io thread.
  std::size_t inflight_bytes() {
    std::promise<std::size_t> bytes;
    boost::asio::post(io_, [&] { bytes.set_value(server_.inflight_bytes()); });
    return bytes.get_future().get();
  }
  // Waits (up to 5 s) until inflight_bytes() is `bytes`; answers the last value read.
  std::size_t wait_for_inflight_bytes(std::size_t bytes) {
    std::size_t now = inflight_bytes();
    for (int i = 0; i < 5000 && now != bytes; ++i) {
      std::this_thread::sleep_for(1ms);
      now = inflight_bytes();
    }
    return now;
  }

  // One request on a fresh connection; the whole response.
  std::string exchange(std::string_view request) {
    RawConnection c(socket_path_);
    if (!c.connected() || !c.send(request)) return {};
    return c.read_until_close();
  }

  static Handler ok_handler() {
    return [](Request, Respond respond) { respond(ok_response(R"({"ok":true})")); };
  }

 private:
  static ServerOptions with_path(ServerOptions options, const std::string& path) {
    options.socket_path = path;
    return options;
  }

  testing::TempDir dir_;
  std::string socket_path_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  Server server_;
  std::thread thread_;
};

}  // namespace korehook::api::test
