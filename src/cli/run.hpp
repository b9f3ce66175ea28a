#pragma once

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

namespace korehook::cli {

enum class ExitCode : int {
  kOk = 0,
  kApiError = 1,  // the daemon answered an error, or the exchange with it failed
  kUsage = 2,
  kNotRunning = 3,
};

// Runs one CLI invocation: parses `args` (without the program name), talks to the daemon
// when the command needs it, prints results to `out` and diagnostics to `err`.
// `default_socket` is used when --socket is not given (see default_socket_path()).
ExitCode run(std::span<const std::string> args, std::ostream& out, std::ostream& err,
             std::string_view default_socket);

}  // namespace korehook::cli
