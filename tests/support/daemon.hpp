#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "korehook/client/client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace korehook::testing {

struct DaemonOptions {
  std::chrono::milliseconds start_timeout{20'000};  // until GET /healthz answers 200
  std::vector<std::string> extra_args{};            // after --config FILE
  std::vector<std::pair<std::string, std::string>> env{};
};

// Runs the real korehookd binary (KOREHOOKD_PATH) in its own temporary directory:
//   <dir>/korehook.yaml  the config, <dir>/api.sock  the API socket,
//   <dir>/korehook.db    the store,  <dir>/korehookd.log  stdout + stderr (all runs appended).
// The YAML text may use the placeholders {{dir}}, {{socket}}, {{store}} and {{key}}. When it
// has no top-level `api:` key, `api: {socket: {{socket}}}` is added; likewise `store: {path:
// {{store}}}` and `secrets: {key_file: {{key}}}` (a fixed test key) — so most tests write only
// the parts they care about.
// The destructor kills a still running daemon (SIGKILL). Not thread-safe.
class Daemon {
 public:
  explicit Daemon(std::string yaml, DaemonOptions options = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts korehookd and waits until GET /healthz over the socket answers 200. Throws
  // std::runtime_error, with the log, when it exits early or is not healthy in time (it is
  // killed then). REQUIRES: not running.
  void start();
  // SIGKILL and reap. No-op when not running.
  void kill9();
  // SIGTERM and wait at most `timeout`. Returns the exit code (128 + signal when killed by a
  // signal); -1 when it did not exit in time (then it is killed with SIGKILL).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // terminate() if running, then start() with the same config file and store.
  void restart();
  // kill(pid, signal), e.g. SIGHUP after set_config(). REQUIRES: running.
  void send_signal(int signal);
  // Rewrites the config file (placeholders and defaults applied again).
  void set_config(std::string yaml);

  bool running();                                                  // reaps the process if it exited
  std::optional<int> exit_status() const { return exit_status_; }  // of the last run
  pid_t pid() const { return pid_; }                               // -1 when not running

  const TempDir& dir() const { return dir_; }
  std::string socket_path() const { return dir_.file("api.sock"); }
  std::string store_path() const { return dir_.file("korehook.db"); }
  // The secrets key file written for the daemon ({{key}}; used unless the YAML has `secrets:`).
  std::string key_path() const { return dir_.file("secrets.key"); }
  std::string config_path() const { return dir_.file("korehook.yaml"); }
  std::string log_path() const { return dir_.file("korehookd.log"); }
  std::string log_text() const;
  // Waits (polling the log file) until it contains `needle`.
  bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout);

  // A client of the API socket (created on first use, 30 s timeout).
  client::Client& client();
  // Shorthand for client().request(...).
  Result<client::Response> request(std::string_view method, std::string_view target,
                                   std::string_view body = {});
  // Runs the korehook CLI against this daemon (KOREHOOK_SOCKET set to the socket).
  CommandResult cli(const std::vector<std::string>& args, CommandOptions options = {});

 private:
  std::string expand(std::string yaml) const;
  void reap(int status);

  TempDir dir_;
  DaemonOptions options_;
  pid_t pid_ = -1;
  int runs_ = 0;
  std::optional<int> exit_status_;
  std::unique_ptr<client::Client> client_;
};

}  // namespace korehook::testing
