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
void register_stream_commands(std::vector<CommandSpec>& out);  // destinations, rules

// Shared by the commands that set custom headers (endpoint_commands.cpp): --header 'Name:
// value' -> {name, value}, the name an HTTP token, the value trimmed and free of control
// characters.
Result<std::pair<std::string, std::string>> parse_header(std::string_view text);
// The answer of a test event (stream_commands.cpp): "Test event delivered ..." or what failed.
std::string render_test_result(const boost::json::value& answer);
// Whether that answer reports success ("success": true).
bool test_succeeded(const boost::json::value& answer);

}  // namespace korehook::cli
