#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli/command_testing.hpp"

namespace korehook::cli {
namespace {

using testing::body_of;
using testing::build_error;
using testing::build_ok;

TEST_CASE("cli send: JSON data goes in as raw text") {
  // Key order, spacing and number spelling are the producer's: no re-serialization.
  const auto req =
      build_ok({"send", "--type", "sim.activated", "--data", R"({"b": 1.50, "a": [1]})"});
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/events");
  CHECK(req.body == R"({"type":"sim.activated","data":{"b": 1.50, "a": [1]}})");
  CHECK_NOTHROW(boost::json::parse(req.body));
}

TEST_CASE("cli send: scalars and nested JSON are valid data") {
  CHECK(build_ok({"send", "--type", "t", "--data", "-1"}).body == R"({"type":"t","data":-1})");
  CHECK(build_ok({"send", "--type", "t", "--data", "null"}).body == R"({"type":"t","data":null})");
  CHECK(build_ok({"send", "--type", "t", "--data", "\n[ {\"x\" : \"\\u00e9\"} ]\n"}).body ==
        "{\"type\":\"t\",\"data\":\n[ {\"x\" : \"\\u00e9\"} ]\n}");
}

TEST_CASE("cli send: body, content type, idempotency key and account") {
  const auto req = build_ok({"send", "--type", "sim.\"q\"", "--body", "field1=value1&f=\n",
                             "--content-type", "application/x-www-form-urlencoded",
                             "--idempotency-key", "key 1", "--account", "acme co/x"});
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/events?account=acme%20co%2Fx");
  const auto body = boost::json::parse(req.body).as_object();
  CHECK(body.at("type").as_string() == "sim.\"q\"");
  CHECK(body.at("body").as_string() == "field1=value1&f=\n");
  CHECK(body.at("content_type").as_string() == "application/x-www-form-urlencoded");
  CHECK(body.at("idempotency_key").as_string() == "key 1");
  CHECK_FALSE(body.contains("data"));
  CHECK(body.size() == 4);
}

TEST_CASE("cli send: invalid JSON data is a clear usage error") {
  CHECK_THAT(build_error({"send", "--type", "t", "--data", R"({"a":1,})"}),
             Catch::Contains("--data is not valid JSON") && Catch::Contains("line 1, column 8"));
  CHECK_THAT(build_error({"send", "--type", "t", "--data", "{\"a\":\n tru}"}),
             Catch::Contains("line 2"));
  CHECK_THAT(build_error({"send", "--type", "t", "--data", R"({"a":)"}),
             Catch::Contains("not valid JSON") && Catch::Contains("end of the input"));
  CHECK_THAT(build_error({"send", "--type", "t", "--data", ""}), Catch::Contains("not valid JSON"));
  CHECK_THAT(build_error({"send", "--type", "t", "--data", "{} {}"}),
             Catch::Contains("not valid JSON"));
  CHECK_THAT(build_error({"send", "--type", "t", "--data", "{'a':1}"}),
             Catch::Contains("not valid JSON"));
  CHECK_THAT(build_error({"send", "--type", "t", "--data", "\"\xff\""}),
             Catch::Contains("not valid JSON"));
  // Deeper than the daemon accepts.
  CHECK_THAT(
      build_error({"send", "--type", "t", "--data", std::string(65, '[') + std::string(65, ']')}),
      Catch::Contains("not valid JSON"));
  CHECK(build_ok({"send", "--type", "t", "--data", std::string(60, '[') + std::string(60, ']')})
            .method == "POST");
}

TEST_CASE("cli send: payload flag combinations") {
  CHECK_THAT(build_error({"send", "--data", "{}"}), Catch::Contains("missing --type"));
  CHECK_THAT(build_error({"send", "--type", "", "--data", "{}"}),
             Catch::Contains("--type must not be empty"));
  CHECK_THAT(build_error({"send", "--type", "t"}), Catch::Contains("missing the payload"));
  CHECK_THAT(build_error({"send", "--type", "t", "--data", "{}", "--body", "x", "--content-type",
                          "text/plain"}),
             Catch::Contains("either --data or --body"));
  CHECK_THAT(build_error({"send", "--type", "t", "--body", "x"}),
             Catch::Contains("--body needs --content-type"));
  CHECK_THAT(build_error({"send", "--type", "t", "--data", "{}", "--content-type", "text/plain"}),
             Catch::Contains("--content-type goes with --body"));
}

TEST_CASE("cli events get: request") {
  auto req = build_ok({"events", "get", "evt_01abc"});
  CHECK(req.method == "GET");
  CHECK(req.target == "/v1/events/evt_01abc");
  CHECK(req.body.empty());
  req = build_ok({"events", "get", "../x?y", "--account", "a&b"});
  CHECK(req.target == "/v1/events/..%2Fx%3Fy?account=a%26b");
}

TEST_CASE("cli secrets create: request") {
  auto req = build_ok({"secrets", "create", "main \"key\""});
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/secrets");
  CHECK(req.body == R"({"Name":"main \"key\""})");
  CHECK(build_ok({"secrets", "create", "n", "--account", "acme"}).target ==
        "/v1/secrets?account=acme");
}

TEST_CASE("cli secrets list: request") {
  CHECK(build_ok({"secrets", "list"}).target == "/v1/secrets");
  auto req = build_ok({"secrets", "list", "--status", "active", "--page", "3", "--page-size", "007",
                       "--account", "acme"});
  CHECK(req.method == "GET");
  CHECK(req.target == "/v1/secrets?status=active&page_number=3&page_size=7&account=acme");
  CHECK(build_ok({"secrets", "list", "--page-size", "10"}).target == "/v1/secrets?page_size=10");
}

TEST_CASE("cli secrets list: bad values") {
  CHECK_THAT(build_error({"secrets", "list", "--status", "disabled"}),
             Catch::Contains("--status must be active or pending, not 'disabled'"));
  for (const char* bad : {"0", "-1", "x", "1.5", "", "99999999999999999999"}) {
    INFO(bad);
    CHECK_THAT(build_error({"secrets", "list", "--page", bad}),
               Catch::Contains("--page must be an integer"));
  }
  CHECK_THAT(build_error({"secrets", "list", "--page-size", "1001"}),
             Catch::Contains("--page-size must be an integer from 1 to 1000"));
}

TEST_CASE("cli secrets activate: request") {
  const auto req = build_ok({"secrets", "activate", "whs_01x", "--account", "acme"});
  CHECK(req.method == "PATCH");
  CHECK(req.target == "/v1/secrets/whs_01x?account=acme");
  CHECK(req.body == R"({"Status":"active"})");
}

TEST_CASE("cli send: callback URL") {
  const auto req = build_ok({"send", "--type", "op.done", "--data", "{}", "--callback-url",
                             "https://cb.example/done?x=1", "--idempotency-key", "k"});
  CHECK(
      req.body ==
      R"({"type":"op.done","data":{},"idempotency_key":"k","callback_url":"https://cb.example/done?x=1"})");
  CHECK_THAT(build_error({"send", "--type", "t", "--data", "{}", "--callback-url", ""}),
             Catch::Contains("--callback-url must not be empty"));
}

TEST_CASE("cli secrets activate: overlap") {
  const auto req = build_ok({"secrets", "activate", "whs_2", "--overlap", "24h"});
  CHECK(req.method == "PATCH");
  CHECK(req.target == "/v1/secrets/whs_2");
  CHECK(req.body == R"({"Status":"active","overlap":"24h"})");
  CHECK(body_of(build_ok({"secrets", "activate", "whs_2", "--overlap", "0s"})).at("overlap") ==
        "0s");
  for (const char* bad : {"", "24", "1d", "-1h", "24 h", "1.5h"}) {
    INFO(bad);
    CHECK_THAT(build_error({"secrets", "activate", "whs_2", "--overlap", bad}),
               Catch::StartsWith("--overlap must be a duration") &&
                   Catch::Contains("'" + std::string(bad) + "'"));
  }
}

}  // namespace
}  // namespace korehook::cli
