#pragma once

#include <span>
#include <vector>

#include "cli/command.hpp"

namespace korehook::cli {

// Every command of the CLI, in help order. Built once; valid for the program's life.
std::span<const CommandSpec> all_commands();

// The command whose path is exactly `path`, or null.
const CommandSpec* find_command(std::string_view path);
// True when `path` is a group: a proper prefix (whole words) of some command's path.
bool is_group(std::string_view path);

// One register function per resource (src/cli/<resource>_commands.cpp).
void register_event_commands(std::vector<CommandSpec>& out);
void register_endpoint_commands(std::vector<CommandSpec>& out);
void register_delivery_commands(std::vector<CommandSpec>& out);
void register_secret_commands(std::vector<CommandSpec>& out);
void register_account_commands(std::vector<CommandSpec>& out);

}  // namespace korehook::cli
