#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli/command_testing.hpp"

namespace korehook::cli {
namespace {

using testing::build_error;
using testing::build_ok;
using testing::render;

TEST_CASE("cli accounts create: request") {
  auto req = build_ok({"accounts", "create", "acme"});
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/accounts");
  CHECK(req.body == R"({"id":"acme"})");
  req = build_ok({"accounts", "create", "Acme_Inc-2", "--name", "Acme \"Inc\""});
  CHECK(req.body == R"({"id":"Acme_Inc-2","name":"Acme \"Inc\""})");
}

TEST_CASE("cli accounts create: bad id or name") {
  for (const std::string& bad :
       std::vector<std::string>{"", "a b", "a.b", "a/b", std::string(65, 'a')}) {
    INFO(bad);
    CHECK_THAT(build_error({"accounts", "create", bad}),
               Catch::StartsWith("ID must be 1 to 64 characters"));
  }
  CHECK_THAT(build_error({"accounts", "create", "a", "--name", ""}),
             Catch::Contains("--name must not be empty"));
  // Accounts are named by their id, not by --account.
  CHECK_FALSE(
      parse_command_line(std::vector<std::string>{"accounts", "create", "a", "--account", "b"})
          .ok());
}

TEST_CASE("cli accounts list/get: requests") {
  auto req = build_ok({"accounts", "list"});
  CHECK(req.method == "GET");
  CHECK(req.target == "/v1/accounts");
  CHECK(build_ok({"accounts", "list", "--limit", "2", "--cursor", "acme"}).target ==
        "/v1/accounts?limit=2&cursor=acme");
  req = build_ok({"accounts", "get", "a b"});
  CHECK(req.method == "GET");
  CHECK(req.target == "/v1/accounts/a%20b");
}

TEST_CASE("cli render: accounts") {
  const std::string account =
      R"({"id":"acme","name":"Acme Inc","created_at":"2026-11-29T00:47:06.123Z"})";
  CHECK(render("accounts get", account) ==
        "Account     acme\n"
        "Name        Acme Inc\n"
        "Created at  2026-11-29T00:47:06.123Z\n");
  CHECK(render("accounts create", account) == render("accounts get", account));
  CHECK(render("accounts list", R"({"data":[)" + account +
                                    R"(,{"id":"default","name":"default","created_at":"x"}],
                                    "next_cursor":"default"})") ==
        "ID       NAME      CREATED AT\n"
        "acme     Acme Inc  2026-11-29T00:47:06.123Z\n"
        "default  default   x\n"
        "more: --cursor default\n");
  CHECK(render("accounts list", R"({"data":[],"next_cursor":null})") == "No accounts.\n");
  for (const char* answer : {"{}", "null", R"({"data":"x","id":[1]})", R"({"data":[1,null]})"}) {
    INFO(answer);
    CHECK_NOTHROW(render("accounts get", answer));
    CHECK_NOTHROW(render("accounts list", answer));
  }
}

}  // namespace
}  // namespace korehook::cli
