#include "support/daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace korehook::testing {

namespace {

constexpr std::chrono::milliseconds kPollInterval{10};

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

bool has_top_level_key(std::string_view yaml, std::string_view key) {
  std::size_t start = 0;
  while (start <= yaml.size()) {
    const std::size_t end = yaml.find('\n', start);
    const std::string_view line =
        yaml.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (line.substr(0, key.size()) == key && line.size() > key.size() && line[key.size()] == ':') {
      return true;
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return false;
}

}  // namespace

Daemon::Daemon(std::string yaml, DaemonOptions options) : options_(std::move(options)) {
  // A fixed test key (a daemon's key must stay the same across its restarts).
  write_file(key_path(), std::string(64, '7') + "\n");
  set_config(std::move(yaml));
}

Daemon::~Daemon() {
  client_.reset();
  kill9();
}

std::string Daemon::expand(std::string yaml) const {
  std::string prefix;
  if (!has_top_level_key(yaml, "api")) prefix += "api:\n  socket: {{socket}}\n";
  if (!has_top_level_key(yaml, "store")) prefix += "store:\n  path: {{store}}\n";
  if (!has_top_level_key(yaml, "secrets")) prefix += "secrets:\n  key_file: {{key}}\n";
  yaml = prefix + yaml;
  replace_all(yaml, "{{key}}", key_path());
  replace_all(yaml, "{{socket}}", socket_path());
  replace_all(yaml, "{{store}}", store_path());
  replace_all(yaml, "{{dir}}", dir_.path());
  return yaml;
}

void Daemon::set_config(std::string yaml) { write_file(config_path(), expand(std::move(yaml))); }

std::string Daemon::log_text() const { return read_file(log_path()); }

void Daemon::reap(int status) {
  exit_status_ = decode_wait_status(status);
  pid_ = -1;
  client_.reset();
}

bool Daemon::running() {
  if (pid_ < 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reap(status);
    return false;
  }
  return true;
}

void Daemon::start() {
  if (running()) throw std::runtime_error("korehookd already running");
  ++runs_;
  exit_status_.reset();

  const int log_fd = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path());
  const std::string marker = "--- test: korehookd run " + std::to_string(runs_) + " ---\n";
  [[maybe_unused]] const ssize_t ignored = ::write(log_fd, marker.data(), marker.size());

  std::vector<std::string> args{"--config", config_path()};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  SpawnArgs spawn(KOREHOOKD_PATH, args, options_.env);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
  // Sockets of receivers in this process must not leak into the daemon.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = -1;
  const int rc =
      ::posix_spawn(&pid, KOREHOOKD_PATH, &actions, nullptr, spawn.argv.data(), spawn.envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(log_fd);
  if (rc != 0) {
    throw std::runtime_error(std::string("cannot run " KOREHOOKD_PATH ": ") + std::strerror(rc));
  }
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) {
      throw std::runtime_error("korehookd exited during startup with status " +
                               std::to_string(exit_status_.value_or(-1)) + "; log:\n" + log_text());
    }
    struct stat st {};
    if (::stat(socket_path().c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      client::Client probe(socket_path(), std::chrono::seconds(2));
      auto response = probe.request("GET", "/healthz");
      if (response.ok() && response->status == 200) return;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  kill9();
  throw std::runtime_error("korehookd not healthy within " +
                           std::to_string(options_.start_timeout.count()) + " ms; log:\n" +
                           log_text());
}

void Daemon::kill9() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reap(status);
}

int Daemon::terminate(std::chrono::milliseconds timeout) {
  if (!running()) return exit_status_.value_or(-1);
  client_.reset();
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return *exit_status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill9();
  exit_status_ = -1;
  return -1;
}

void Daemon::restart() {
  terminate();
  start();
}

void Daemon::send_signal(int signal) {
  if (pid_ < 0) throw std::runtime_error("korehookd is not running");
  ::kill(pid_, signal);
}

bool Daemon::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (log_text().find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

client::Client& Daemon::client() {
  if (!client_) client_ = std::make_unique<client::Client>(socket_path(), std::chrono::seconds(30));
  return *client_;
}

Result<client::Response> Daemon::request(std::string_view method, std::string_view target,
                                         std::string_view body) {
  return client().request(method, target, body);
}

CommandResult Daemon::cli(const std::vector<std::string>& args, CommandOptions options) {
  options.env.emplace_back("KOREHOOK_SOCKET", socket_path());
  return run_cli(args, options);
}

}  // namespace korehook::testing
