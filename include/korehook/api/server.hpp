#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
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
  std::size_t max_body_bytes = 1 << 20;      // larger: 413
  std::size_t max_header_bytes = 16 * 1024;  // larger: 431
  int max_connections = 256;
  // Request bodies admitted and not answered yet, in bytes: past it, a request waits after
  // its header (its body left in the socket) until answers make room. A request without a
  // body, and any request while nothing else is in flight, is always let in; a body still
  // arriving a second after it was let in gives up its share until complete.
  std::size_t max_inflight_bytes = 4 << 20;
  Millis header_timeout{10'000};   // from the start of a request to the end of its header
  Millis request_timeout{30'000};  // the whole request
  Millis idle_timeout{60'000};     // a kept-alive connection with nothing to read
  // Peer credentials (SO_PEERCRED) allowed in: uid in allow_uids or primary gid in
  // allow_gids. Both empty: anyone who can open the socket. Root gets no exception: list 0 to
  // let it in. Others get 403 `forbidden` for every request.
  std::vector<std::uint32_t> allow_uids;
  std::vector<std::uint32_t> allow_gids;
};

// HTTP/1.1 server on a Unix socket: one session object per connection, every read bounded in
// size and time. The socket is mode 0660 and its directory, when created here, 0750, whatever
// the umask. Errors are JSON ({status, code, message, info}): 400 malformed (including
// conflicting Content-Length / Transfer-Encoding), 403 peer not allowed, 408 request too
// slow, 413 body too large, 431 header too large, 503 too many connections.
// At max_connections, a new connection evicts the connection that has waited longest for a
// request header (idle or slow clients), so slow clients cannot lock others out; only when
// every connection is busy with a request is the new one refused with 503.
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
  // Body bytes counted against max_inflight_bytes now. Call on the io thread.
  std::size_t inflight_bytes() const;

  struct Impl;  // defined in server.cpp (its sessions share it)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace korehook::api
