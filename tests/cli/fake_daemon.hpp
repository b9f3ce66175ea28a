#pragma once

#include <string>
#include <thread>

namespace korehook::cli::testing {

// A stand-in for korehookd on a Unix socket in a fresh temporary directory: accepts one
// connection, reads one HTTP request and answers it with a canned status and JSON body.
// Every wait is bounded (5 s) so a broken CLI fails the test instead of hanging it.
class FakeDaemon {
 public:
  FakeDaemon(int status, std::string body);
  ~FakeDaemon();
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  const std::string& socket_path() const { return socket_path_; }

  // The request as received ("" when none came). Waits for the serving thread to finish.
  const std::string& request();
  // Its first line, e.g. "POST /v1/events HTTP/1.1", and its body.
  std::string request_line();
  std::string request_body();

 private:
  void serve();

  int status_;
  std::string body_;
  std::string dir_;
  std::string socket_path_;
  int listen_fd_ = -1;
  std::string request_;
  std::thread thread_;
};

}  // namespace korehook::cli::testing
