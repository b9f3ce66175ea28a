#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "korehook/util/time.hpp"

namespace korehook::api {

struct Request {
  std::string method;                                      // "GET", "POST", ...
  std::string target;                                      // as received
  std::string path;                                        // decoded path, no query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::string content_type;
  std::string body;
  const std::string* query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string body;  // JSON unless content_type says otherwise
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
};

using Respond = std::function<void(Response)>;
// Called on the io_context thread; `respond` must be called exactly once, on that thread.
using Handler = std::function<void(Request, Respond)>;

struct ServerOptions {
  std::string socket_path;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  int max_connections = 256;
  Millis header_timeout{10'000};   // from the first byte to the end of the header
  Millis request_timeout{30'000};  // the whole request
  Millis idle_timeout{60'000};     // a kept-alive connection with nothing to read
};

// HTTP/1.1 server on a Unix socket: one session object per connection, every read bounded in
// size and time. The socket is created 0660 in a directory created 0750.
class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Throws std::runtime_error with a clear message (socket in use
  // by a running daemon, a non-socket file in the way, permissions).
  void start();
  // Stops accepting and removes the socket file; open sessions finish their current request.
  void stop();

  struct Impl;  // defined in server.cpp (its sessions share it)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace korehook::api
