// korehook: the command-line client of korehookd. Everything but the process boundary lives
// in run() so that it can be tested in-process.

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/parse.hpp"
#include "cli/run.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  const auto code =
      korehook::cli::run(args, std::cout, std::cerr,
                         korehook::cli::default_socket_path(std::getenv("KOREHOOK_SOCKET")));
  std::cout.flush();
  return static_cast<int>(code);
}
