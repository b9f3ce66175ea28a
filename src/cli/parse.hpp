#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>

#include "cli/command.hpp"

namespace korehook::cli {

inline constexpr std::string_view kDefaultSocket = "/run/korehook/api.sock";
inline constexpr std::chrono::milliseconds kDefaultTimeout = std::chrono::seconds(30);

// Options accepted before, between and after command words.
struct GlobalOptions {
  std::optional<std::string> socket;
  bool json = false;
  std::chrono::milliseconds timeout = kDefaultTimeout;
};

struct Invocation {
  enum class Action { kRun, kHelp, kVersion };
  Action action = Action::kRun;
  // kHelp: the topic, "" for the general help, else a command or group path.
  std::string help_topic;
  const CommandSpec* command = nullptr;  // kRun only
  GlobalOptions global;
  Args args;
};

// Parses the arguments after the program name. Accepts `--flag value` and `--flag=value`,
// `--` to end options, `-h`/`--help` (also `korehook help [COMMAND...]`), `--version`.
// Errors are usage errors whose message says what is wrong and where to read more.
Result<Invocation> parse_command_line(std::span<const std::string> args);

// The socket to use when --socket is not given: $KOREHOOK_SOCKET when set and not empty.
std::string default_socket_path(const char* env_value);

// Help for "" (all commands), a group ("secrets") or a command ("secrets create").
// REQUIRES: the topic is "", a group or a command.
std::string help_text(std::string_view topic);

}  // namespace korehook::cli
