#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

extern char** environ;

namespace korehook::testing {

namespace {

// A pipe, or for the child's stdin a socket pair: send(MSG_NOSIGNAL) to a child that exited
// early must not raise SIGPIPE in the test process.
struct Pipe {
  int read = -1;
  int write = -1;
  explicit Pipe(bool socket = false) {
    int fds[2];
    const int rc = socket ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
                          : ::pipe2(fds, O_CLOEXEC);
    if (rc != 0) throw std::runtime_error("pipe2/socketpair failed");
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (read >= 0) ::close(read);
    read = -1;
  }
  void close_write() {
    if (write >= 0) ::close(write);
    write = -1;
  }
};

}  // namespace

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

SpawnArgs::SpawnArgs(const std::string& path, const std::vector<std::string>& args,
                     const std::vector<std::pair<std::string, std::string>>& env) {
  argv_storage.push_back(path);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::map<std::string, std::string> env_map;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env_map[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : env) env_map[k] = v;
  for (const auto& [k, v] : env_map) env_storage.push_back(k + "=" + v);
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
}

CommandResult run_command(const std::string& path, const std::vector<std::string>& args,
                          const CommandOptions& options) {
  Pipe in(/*socket=*/true), out, err;

  SpawnArgs spawn(path, args, options.env);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write, 1);
  posix_spawn_file_actions_adddup2(&actions, err.write, 2);
  // Sockets of receivers in this process must not leak into the child.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = -1;
  const int rc =
      ::posix_spawn(&pid, path.c_str(), &actions, nullptr, spawn.argv.data(), spawn.envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + path + ": " + std::strerror(rc));

  in.close_read();
  out.close_write();
  err.close_write();

  CommandResult result;
  std::size_t written = 0;
  if (options.input.empty()) in.close_write();
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  std::array<char, 8192> buffer;
  while (out.read >= 0 || err.read >= 0) {
    std::vector<pollfd> fds;
    if (out.read >= 0) fds.push_back({out.read, POLLIN, 0});
    if (err.read >= 0) fds.push_back({err.read, POLLIN, 0});
    if (in.write >= 0) fds.push_back({in.write, POLLOUT, 0});
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == in.write) {
        const ssize_t w = ::send(in.write, options.input.data() + written,
                                 options.input.size() - written, MSG_NOSIGNAL);
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 || written == options.input.size()) in.close_write();
        continue;
      }
      const ssize_t r = ::read(p.fd, buffer.data(), buffer.size());
      if (r > 0) {
        (p.fd == out.read ? result.out : result.err)
            .append(buffer.data(), static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        if (p.fd == out.read) {
          out.close_read();
        } else {
          err.close_read();
        }
      }
    }
  }
  in.close_write();
  if (result.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = result.timed_out ? -1 : decode_wait_status(status);
  return result;
}

CommandResult run_cli(const std::vector<std::string>& args, const CommandOptions& options) {
  return run_command(KOREHOOK_CLI_PATH, args, options);
}

}  // namespace korehook::testing
