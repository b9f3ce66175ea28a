#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "korehook/util/result.hpp"

namespace korehook::client {

struct Response {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A blocking HTTP/1.1 client for the API's Unix socket (used by the CLI and the tests).
// Keeps one connection open and reconnects when the daemon closed it.
// Errors: `not_running` (no socket / connection refused), `io_error`, `timeout`.
class Client {
 public:
  explicit Client(std::string socket_path,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<Response> request(std::string_view method, std::string_view target,
                           std::string_view body = {},
                           std::string_view content_type = "application/json");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace korehook::client
