#include "cli/fake_daemon.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace korehook::cli::testing {

namespace {

constexpr int kWaitMs = 5000;

bool wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, kWaitMs) == 1;
}

// Content-Length of a request head, 0 when absent.
std::size_t content_length(const std::string& head) {
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::strtoul(lower.c_str() + at + 17, nullptr, 10);
}

}  // namespace

FakeDaemon::FakeDaemon(int status, std::string body) : status_(status), body_(std::move(body)) {
  char dir[] = "/tmp/khcli-XXXXXX";  // short: sun_path holds 108 bytes
  if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  dir_ = dir;
  socket_path_ = dir_ + "/api.sock";

  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof addr.sun_path - 1);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 4) != 0) {
    throw std::runtime_error("cannot listen on " + socket_path_);
  }
  thread_ = std::thread([this] { serve(); });
}

FakeDaemon::~FakeDaemon() {
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::unlink(socket_path_.c_str());
  ::rmdir(dir_.c_str());
}

void FakeDaemon::serve() {
  if (!wait_readable(listen_fd_)) return;
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  std::string in;
  char buffer[4096];
  for (;;) {
    const auto head_end = in.find("\r\n\r\n");
    if (head_end != std::string::npos &&
        in.size() >= head_end + 4 + content_length(in.substr(0, head_end + 2))) {
      break;
    }
    if (!wait_readable(fd)) break;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    in.append(buffer, static_cast<std::size_t>(n));
  }
  request_ = in;
  const std::string out = "HTTP/1.1 " + std::to_string(status_) +
                          " Whatever\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
  std::size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::write(fd, out.data() + sent, out.size() - sent);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

const std::string& FakeDaemon::request() {
  if (thread_.joinable()) thread_.join();
  return request_;
}

std::string FakeDaemon::request_line() {
  const std::string& r = request();
  return r.substr(0, r.find("\r\n"));
}

std::string FakeDaemon::request_body() {
  const std::string& r = request();
  const auto at = r.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : r.substr(at + 4);
}

}  // namespace korehook::cli::testing
