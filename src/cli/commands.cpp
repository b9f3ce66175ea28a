#include "cli/commands.hpp"

namespace korehook::cli {

std::span<const CommandSpec> all_commands() {
  static const std::vector<CommandSpec> kCommands = [] {
    std::vector<CommandSpec> out;
    register_event_commands(out);
    register_endpoint_commands(out);
    register_stream_commands(out);
    register_delivery_commands(out);
    register_secret_commands(out);
    register_account_commands(out);
    return out;
  }();
  return kCommands;
}

const CommandSpec* find_command(std::string_view path) {
  for (const CommandSpec& command : all_commands()) {
    if (command.path == path) return &command;
  }
  return nullptr;
}

bool is_group(std::string_view path) {
  if (path.empty()) return false;
  for (const CommandSpec& command : all_commands()) {
    if (command.path.size() > path.size() && command.path.starts_with(path) &&
        command.path[path.size()] == ' ') {
      return true;
    }
  }
  return false;
}

}  // namespace korehook::cli
