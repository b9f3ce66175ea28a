#pragma once

// Helpers for the tests of the command table: run a command line through the parser and the
// command's build function, or render a sample answer with a command's renderer.

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "cli/parse.hpp"

namespace korehook::cli::testing {

inline Result<ApiRequest> build(std::vector<std::string> args) {
  auto inv = parse_command_line(args);
  INFO((inv.ok() ? std::string() : inv.error().message));
  REQUIRE(inv.ok());
  REQUIRE(inv->command != nullptr);
  return inv->command->build(inv->args);
}

inline ApiRequest build_ok(std::vector<std::string> args) {
  auto r = build(std::move(args));
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

// The usage error's message.
inline std::string build_error(std::vector<std::string> args) {
  auto r = build(std::move(args));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "usage");
  return r.error().message;
}

// The request body, parsed (fails the test when it is not a JSON object).
inline boost::json::object body_of(const ApiRequest& request) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(request.body, ec);
  INFO(request.body);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  return std::move(v.as_object());
}

inline std::string render(std::string_view command, std::string_view answer) {
  const CommandSpec* spec = find_command(command);
  REQUIRE(spec != nullptr);
  return spec->render(boost::json::parse(answer));
}

}  // namespace korehook::cli::testing
