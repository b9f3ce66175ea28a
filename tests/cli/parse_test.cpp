#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/parse.hpp"

namespace korehook::cli {
namespace {

using Action = Invocation::Action;

Result<Invocation> parse(std::vector<std::string> args) { return parse_command_line(args); }

Invocation parse_ok(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string parse_error(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "usage");
  return r.error().message;
}

std::string path_of(const Invocation& inv) {
  REQUIRE(inv.command != nullptr);
  return std::string(inv.command->path);
}

TEST_CASE("cli parse: send with every flag") {
  const auto inv = parse_ok({"send", "--type", "sim.activated", "--data", R"({"a":1})",
                             "--idempotency-key", "k1", "--account", "acme"});
  CHECK(inv.action == Action::kRun);
  CHECK(path_of(inv) == "send");
  CHECK(inv.args.operands.empty());
  CHECK(inv.args.get("type") == "sim.activated");
  CHECK(inv.args.get("data") == R"({"a":1})");
  CHECK(inv.args.get("idempotency-key") == "k1");
  CHECK(inv.args.get("account") == "acme");
  CHECK_FALSE(inv.args.get("body").has_value());
}

TEST_CASE("cli parse: --flag=value and values that start with a dash") {
  const auto inv = parse_ok({"send", "--type=a=b", "--body", "-x", "--content-type=text/plain"});
  CHECK(inv.args.get("type") == "a=b");
  CHECK(inv.args.get("body") == "-x");
  CHECK(inv.args.get("content-type") == "text/plain");
  CHECK(parse_ok({"send", "--data", "-1", "--type", "t"}).args.get("data") == "-1");
}

TEST_CASE("cli parse: events get, secrets create/list/activate") {
  auto inv = parse_ok({"events", "get", "evt_1", "--account", "a"});
  CHECK(path_of(inv) == "events get");
  CHECK(inv.args.operands == std::vector<std::string>{"evt_1"});
  CHECK(inv.args.get("account") == "a");

  inv = parse_ok({"secrets", "create", "primary"});
  CHECK(path_of(inv) == "secrets create");
  CHECK(inv.args.operands == std::vector<std::string>{"primary"});

  inv = parse_ok({"secrets", "list", "--status", "pending", "--page", "2", "--page-size", "5"});
  CHECK(path_of(inv) == "secrets list");
  CHECK(inv.args.get("status") == "pending");
  CHECK(inv.args.get("page") == "2");
  CHECK(inv.args.get("page-size") == "5");

  inv = parse_ok({"secrets", "activate", "whs_1"});
  CHECK(path_of(inv) == "secrets activate");
  CHECK(inv.args.operands == std::vector<std::string>{"whs_1"});
}

TEST_CASE("cli parse: global options anywhere on the line") {
  auto inv = parse_ok({"--socket", "/tmp/a.sock", "--json", "secrets", "list"});
  CHECK(inv.global.socket == "/tmp/a.sock");
  CHECK(inv.global.json);
  CHECK(inv.global.timeout == kDefaultTimeout);

  inv = parse_ok({"secrets", "--timeout", "500ms", "list", "--socket=/x.sock"});
  CHECK(path_of(inv) == "secrets list");
  CHECK(inv.global.timeout == std::chrono::milliseconds(500));
  CHECK(inv.global.socket == "/x.sock");
  CHECK_FALSE(inv.global.json);

  inv = parse_ok({"events", "get", "evt_1", "--timeout", "2m", "--json"});
  CHECK(inv.global.timeout == std::chrono::minutes(2));
  CHECK(inv.global.json);
  CHECK_FALSE(inv.global.socket.has_value());
}

TEST_CASE("cli parse: -- ends options") {
  const auto inv = parse_ok({"secrets", "create", "--", "--weird-name"});
  CHECK(inv.args.operands == std::vector<std::string>{"--weird-name"});
}

TEST_CASE("cli parse: version and help") {
  CHECK(parse_ok({"--version"}).action == Action::kVersion);
  CHECK(parse_ok({"secrets", "list", "--version"}).action == Action::kVersion);

  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"help"}, {"--help"}, {"-h"}}) {
    const auto inv = parse_ok(args);
    CHECK(inv.action == Action::kHelp);
    CHECK(inv.help_topic.empty());
  }
  CHECK(parse_ok({"help", "secrets", "create"}).help_topic == "secrets create");
  CHECK(parse_ok({"secrets", "create", "--help"}).help_topic == "secrets create");
  CHECK(parse_ok({"send", "-h"}).help_topic == "send");
  // Help wins over missing operands and flags: `korehook events get -h` must not complain.
  CHECK(parse_ok({"events", "get", "-h"}).action == Action::kHelp);
  CHECK(parse_ok({"secrets", "--help"}).help_topic == "secrets");
  CHECK(parse_ok({"help", "secrets"}).help_topic == "secrets");
}

TEST_CASE("cli parse: unknown commands") {
  CHECK_THAT(parse_error({"frobnicate"}),
             Catch::Contains("unknown command 'frobnicate'") && Catch::Contains("send"));
  CHECK_THAT(parse_error({"secrets", "delete", "x"}),
             Catch::Contains("unknown command 'korehook secrets delete'") &&
                 Catch::Contains("create, list, activate"));
  CHECK_THAT(parse_error({"help", "nope"}), Catch::Contains("unknown command 'nope'"));
  CHECK_THAT(parse_error({}), Catch::Contains("missing command"));
  CHECK_THAT(parse_error({"secrets"}), Catch::Contains("'korehook secrets' needs a command"));
  CHECK_THAT(parse_error({"--json"}), Catch::Contains("missing command"));
}

TEST_CASE("cli parse: unknown and malformed options") {
  CHECK_THAT(parse_error({"secrets", "list", "--bogus"}),
             Catch::Contains("unknown option '--bogus' for 'korehook secrets list'") &&
                 Catch::Contains("korehook help secrets list"));
  CHECK_THAT(parse_error({"--account", "x", "secrets", "list"}),
             Catch::Contains("unknown option '--account' (a command's options go after"));
  CHECK_THAT(parse_error({"--nope", "secrets", "list"}),
             Catch::Contains("unknown option '--nope'") && !Catch::Contains("go after"));
  CHECK_THAT(parse_error({"send", "-t", "x"}), Catch::Contains("unknown option '-t'"));
  CHECK_THAT(parse_error({"send", "--type"}), Catch::Contains("--type needs a value (T)"));
  CHECK_THAT(parse_error({"secrets", "list", "--json=yes"}),
             Catch::Contains("--json takes no value"));
  CHECK_THAT(parse_error({"send", "--type", "a", "--type", "b"}),
             Catch::Contains("--type given more than once"));
  CHECK_THAT(parse_error({"--socket=", "secrets", "list"}), Catch::Contains("--socket"));
  // Another command's flag is unknown here.
  CHECK_THAT(parse_error({"secrets", "create", "x", "--status", "active"}),
             Catch::Contains("unknown option '--status'"));
}

TEST_CASE("cli parse: bad --timeout") {
  for (const char* bad : {"0s", "10", "abc", "-5s", "5 s", ""}) {
    INFO(bad);
    CHECK_THAT(parse_error({"--timeout", bad, "secrets", "list"}),
               Catch::Contains("--timeout must be a positive duration"));
  }
}

TEST_CASE("cli parse: operand counts") {
  CHECK_THAT(parse_error({"events", "get"}),
             Catch::Contains("missing ID for 'korehook events get'"));
  CHECK_THAT(parse_error({"secrets", "create"}), Catch::Contains("missing NAME"));
  CHECK_THAT(parse_error({"secrets", "activate"}), Catch::Contains("missing ID"));
  CHECK_THAT(parse_error({"events", "get", "a", "b"}), Catch::Contains("unexpected argument 'b'"));
  CHECK_THAT(parse_error({"send", "extra", "--type", "t"}),
             Catch::Contains("unexpected argument 'extra'"));
  CHECK_THAT(parse_error({"secrets", "list", "x"}), Catch::Contains("unexpected argument 'x'"));
}

TEST_CASE("cli parse: default socket path") {
  CHECK(default_socket_path(nullptr) == "/run/korehook/api.sock");
  CHECK(default_socket_path("") == "/run/korehook/api.sock");
  CHECK(default_socket_path("/tmp/k.sock") == "/tmp/k.sock");
}

TEST_CASE("cli help texts") {
  const std::string general = help_text("");
  for (const CommandSpec& command : all_commands()) {
    CHECK_THAT(general, Catch::Contains(std::string(command.path)));
    const std::string text = help_text(command.path);
    CHECK_THAT(text, Catch::StartsWith("Usage: korehook " + std::string(command.synopsis)));
    // The options table (not the synopsis) labels each flag with its value's name: "--url URL".
    const std::size_t options = text.find("\nOptions:\n");
    if (!command.flags.empty()) REQUIRE(options != std::string::npos);
    for (const FlagSpec& flag : command.flags) {
      std::string label = "\n  --" + std::string(flag.name);
      if (!flag.value_name.empty()) label += " " + std::string(flag.value_name);
      CHECK_THAT(text.substr(options), Catch::Contains(label + " "));
    }
  }
  CHECK_THAT(general, Catch::Contains("--socket PATH") && Catch::Contains("--json") &&
                          Catch::Contains("--timeout DURATION") && Catch::Contains("Exit status"));
  const std::string group = help_text("secrets");
  CHECK_THAT(group, Catch::Contains("secrets create") && Catch::Contains("secrets activate"));
  CHECK_THAT(group, !Catch::Contains("send"));
}

TEST_CASE("cli registry is consistent") {
  const std::vector<std::string_view> globals = {"socket", "json", "timeout", "help", "version"};
  std::vector<std::string_view> paths;
  for (const CommandSpec& command : all_commands()) {
    INFO(command.path);
    CHECK(command.build != nullptr);
    CHECK(command.render != nullptr);
    CHECK_FALSE(command.summary.empty());
    CHECK(command.synopsis.starts_with(command.path));
    // A leaf cannot also be a group: `korehook a b` would be ambiguous.
    CHECK_FALSE(is_group(command.path));
    CHECK(std::find(paths.begin(), paths.end(), command.path) == paths.end());
    paths.push_back(command.path);
    std::vector<std::string_view> names;
    for (const FlagSpec& flag : command.flags) {
      CHECK(std::find(globals.begin(), globals.end(), flag.name) == globals.end());
      CHECK(std::find(names.begin(), names.end(), flag.name) == names.end());
      names.push_back(flag.name);
    }
  }
  CHECK(find_command("secrets list") != nullptr);
  CHECK(find_command("secrets") == nullptr);
  CHECK(is_group("secrets"));
  CHECK(is_group("events"));
  CHECK_FALSE(is_group("secret"));
  CHECK_FALSE(is_group(""));
}

}  // namespace
}  // namespace korehook::cli
