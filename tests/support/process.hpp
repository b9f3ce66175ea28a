#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace korehook::testing {

struct CommandResult {
  // The exit code, or 128 + signal number when the process was killed by a signal (shell
  // convention); -1 when it did not finish in time (it is killed then).
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  bool timed_out = false;
};

struct CommandOptions {
  std::vector<std::pair<std::string, std::string>> env{};  // added to (or replacing in) ours
  std::string input{};                                     // written to stdin, then closed
  std::chrono::milliseconds timeout{30'000};
};

// Runs `path` with `args` (argv[0] is `path`), captures stdout and stderr, waits for it with a
// bounded wait (killed with SIGKILL when the timeout passes). Throws std::runtime_error when
// the program cannot be started.
CommandResult run_command(const std::string& path, const std::vector<std::string>& args,
                          const CommandOptions& options = {});

// The `korehook` CLI built with the tests (KOREHOOK_CLI_PATH).
CommandResult run_cli(const std::vector<std::string>& args, const CommandOptions& options = {});

// argv and envp for posix_spawn: `path` + `args`, and our environment with `env` added or
// replacing entries. The char* vectors point into the owned strings (keep the object alive).
struct SpawnArgs {
  SpawnArgs(const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::pair<std::string, std::string>>& env);
  SpawnArgs(const SpawnArgs&) = delete;
  SpawnArgs& operator=(const SpawnArgs&) = delete;
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

// Exit status of waitpid() in the convention above.
int decode_wait_status(int status);

}  // namespace korehook::testing
