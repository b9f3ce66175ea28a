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
using testing::render;
namespace json = boost::json;

using Strings = std::vector<std::string>;

Strings create_with(Strings extra) {
  Strings args = {"endpoints", "create", "--url", "https://example.com/hook"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST_CASE("cli endpoints create: minimal request") {
  const auto req = build_ok(create_with({}));
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/endpoints");
  CHECK(req.body == R"({"url":"https://example.com/hook"})");
}

TEST_CASE("cli endpoints create: every flag") {
  const auto req = build_ok(create_with({"--id",
                                         "ep_billing-1",
                                         "--description",
                                         "Billing \"prod\"",
                                         "--event-type",
                                         "sim.*",
                                         "--event-type",
                                         "invoice.paid",
                                         "--header",
                                         "X-Api-Key:  abc def ",
                                         "--header",
                                         "X-Env:\tprod",
                                         "--connect-timeout",
                                         "3s",
                                         "--read-timeout",
                                         "20s",
                                         "--max-attempts",
                                         "10",
                                         "--initial-delay",
                                         "500ms",
                                         "--max-delay",
                                         "2h",
                                         "--max-in-flight",
                                         "4",
                                         "--rate-limit",
                                         "50",
                                         "--signatures",
                                         "standard",
                                         "--ca-file",
                                         "/etc/ssl/ca.pem",
                                         "--disabled",
                                         "--account",
                                         "acme"}));
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/endpoints?account=acme");
  // The id goes first, the rest in a fixed order.
  CHECK(req.body.starts_with(R"({"id":"ep_billing-1","url":)"));
  const json::object body = body_of(req);
  CHECK(body.at("url") == "https://example.com/hook");
  CHECK(body.at("description") == "Billing \"prod\"");
  CHECK(body.at("event_types") == json::array{"sim.*", "invoice.paid"});
  CHECK(body.at("headers") == json::object{{"X-Api-Key", "abc def"}, {"X-Env", "prod"}});
  CHECK(body.at("connect_timeout") == "3s");
  CHECK(body.at("read_timeout") == "20s");
  CHECK(body.at("retry") ==
        json::object{{"max_attempts", 10}, {"initial_delay", "500ms"}, {"max_delay", "2h"}});
  CHECK(body.at("max_in_flight") == 4);
  CHECK(body.at("rate_limit") == 50);
  CHECK(body.at("signatures") == json::array{"standard"});
  CHECK(body.at("ca_file") == "/etc/ssl/ca.pem");
  CHECK(body.at("enabled") == false);
  CHECK(body.size() == 13);
}

TEST_CASE("cli endpoints create: required and create-only flags") {
  CHECK_THAT(build_error({"endpoints", "create"}), Catch::Contains("missing --url URL"));
  CHECK_THAT(build_error({"endpoints", "create", "--url", ""}),
             Catch::Contains("--url must not be empty"));
  for (const char* bad : {"", "a b", "ep/1", "é", "x;y"}) {
    INFO(bad);
    CHECK_THAT(build_error(create_with({"--id", bad})),
               Catch::Contains("--id must be 1 to 64 characters"));
  }
  CHECK_THAT(build_error(create_with({"--id", std::string(65, 'a')})),
             Catch::Contains("--id must be"));
  CHECK(
      body_of(build_ok(create_with({"--id", std::string(64, 'a')}))).at("id").as_string().size() ==
      64);
  CHECK_THAT(build_error(create_with({"--event-type", ""})),
             Catch::Contains("--event-type must not be empty"));
}

TEST_CASE("cli endpoints create: header syntax") {
  CHECK(body_of(build_ok(create_with({"--header", "X-Empty:"}))).at("headers") ==
        json::object{{"X-Empty", ""}});
  CHECK(body_of(build_ok(create_with({"--header", "x-a: b:c"}))).at("headers") ==
        json::object{{"x-a", "b:c"}});
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"X-Api-Key abc", "no ':'"},
      {": abc", "empty name"},
      {"X Api: abc", "may not contain ' '"},
      {"X(1): abc", "may not contain '('"},
      {"X-A: a\r\nInjected: 1", "control character"},
      {"X-A: a\nb", "control character"},
      {std::string("X-A: a\0b", 8), "control character"},
      {"X-A: \x7f", "control character"},
  };
  for (const auto& [text, why] : bad) {
    INFO(text);
    CHECK_THAT(build_error(create_with({"--header", text})),
               Catch::StartsWith("--header must be 'Name: value'") && Catch::Contains(why));
  }
  CHECK_THAT(build_error(create_with({"--header", "X-A: 1", "--header", "x-a: 2"})),
             Catch::Contains("--header 'x-a' given twice"));
}

TEST_CASE("cli endpoints create: durations and integers name the flag") {
  for (const char* flag :
       {"--connect-timeout", "--read-timeout", "--initial-delay", "--max-delay"}) {
    for (const char* bad : {"5", "5 s", "-1s", "1.5s", "5d", ""}) {
      INFO(flag << " " << bad);
      CHECK_THAT(build_error(create_with({flag, bad})),
                 Catch::StartsWith(std::string(flag) + " must be a duration") &&
                     Catch::Contains("'" + std::string(bad) + "'"));
    }
  }
  for (const char* flag : {"--max-attempts", "--max-in-flight"}) {
    for (const char* bad : {"0", "-1", "x", "2.5", ""}) {
      INFO(flag << " " << bad);
      CHECK_THAT(build_error(create_with({flag, bad})),
                 Catch::StartsWith(std::string(flag) + " must be an integer"));
    }
  }
  // Only the retry fields given are sent.
  CHECK(body_of(build_ok(create_with({"--max-delay", "1h"}))).at("retry") ==
        json::object{{"max_delay", "1h"}});
}

TEST_CASE("cli endpoints create: rate limit") {
  CHECK(body_of(build_ok(create_with({"--rate-limit", "100000"}))).at("rate_limit") == 100000);
  const json::value half = body_of(build_ok(create_with({"--rate-limit", "0.5"}))).at("rate_limit");
  CHECK(half.is_double());
  CHECK(half.get_double() == 0.5);
  for (const char* bad : {"0", "0.0", "-1", "100001", "100000.5", "abc", "1e3", "inf", "nan", ""}) {
    INFO(bad);
    CHECK_THAT(build_error(create_with({"--rate-limit", bad})),
               Catch::StartsWith("--rate-limit must be a number"));
  }
}

TEST_CASE("cli endpoints create: signatures") {
  CHECK(body_of(build_ok(create_with({"--signatures", "kore,standard"}))).at("signatures") ==
        json::array{"kore", "standard"});
  CHECK(body_of(build_ok(create_with({"--signatures", "kore"}))).at("signatures") ==
        json::array{"kore"});
  for (const char* bad : {"", "kore,", "hmac", "kore, standard", "KORE"}) {
    INFO(bad);
    CHECK_THAT(build_error(create_with({"--signatures", bad})),
               Catch::Contains("--signatures must be a comma-separated list"));
  }
  CHECK_THAT(build_error(create_with({"--signatures", "kore,kore"})),
             Catch::Contains("names 'kore' twice"));
}

TEST_CASE("cli endpoints create: CA file must be absolute") {
  CHECK_THAT(build_error(create_with({"--ca-file", "ca.pem"})),
             Catch::Contains("--ca-file must be an absolute path"));
  CHECK_THAT(build_error(create_with({"--ca-file", ""})), Catch::Contains("--ca-file"));
}

TEST_CASE("cli endpoints update: only the given fields, PATCH") {
  auto req = build_ok({"endpoints", "update", "ep 1/x", "--description", "", "--account", "acme"});
  CHECK(req.method == "PATCH");
  CHECK(req.target == "/v1/endpoints/ep%201%2Fx?account=acme");
  CHECK(req.body == R"({"description":""})");

  req = build_ok({"endpoints", "update", "ep_1", "--url", "https://b.example", "--header", "A: 1",
                  "--max-attempts", "3"});
  CHECK(req.body ==
        R"({"url":"https://b.example","headers":{"A":"1"},"retry":{"max_attempts":3}})");

  req = build_ok({"endpoints", "update", "ep_1", "--no-rate-limit", "--no-ca-file"});
  CHECK(req.body == R"({"rate_limit":null,"ca_file":null})");
}

TEST_CASE("cli endpoints update: errors") {
  CHECK_THAT(build_error({"endpoints", "update", "ep_1"}), Catch::Contains("nothing to change"));
  CHECK_THAT(build_error({"endpoints", "update", "ep_1", "--account", "acme"}),
             Catch::Contains("nothing to change"));
  CHECK_THAT(build_error({"endpoints", "update", "ep_1", "--rate-limit", "5", "--no-rate-limit"}),
             Catch::Contains("either --rate-limit or --no-rate-limit"));
  CHECK_THAT(build_error({"endpoints", "update", "ep_1", "--ca-file", "/a", "--no-ca-file"}),
             Catch::Contains("either --ca-file or --no-ca-file"));
  CHECK_THAT(build_error({"endpoints", "update", "ep_1", "--read-timeout", "soon"}),
             Catch::StartsWith("--read-timeout must be a duration"));
  // Create-only flags are not update flags and vice versa.
  for (const Strings& args : {Strings{"endpoints", "update", "ep_1", "--id", "x"},
                              Strings{"endpoints", "update", "ep_1", "--disabled"},
                              Strings{"endpoints", "create", "--url", "u", "--no-ca-file"}}) {
    CHECK_FALSE(parse_command_line(args).ok());
  }
}

TEST_CASE("cli endpoints list/get/delete/enable/disable: requests") {
  auto req = build_ok({"endpoints", "list"});
  CHECK(req.method == "GET");
  CHECK(req.target == "/v1/endpoints");
  req =
      build_ok({"endpoints", "list", "--limit", "1000", "--cursor", "abc/=+", "--account", "acme"});
  CHECK(req.target == "/v1/endpoints?limit=1000&cursor=abc%2F%3D%2B&account=acme");
  CHECK_THAT(build_error({"endpoints", "list", "--limit", "1001"}),
             Catch::Contains("--limit must be an integer from 1 to 1000"));
  CHECK_THAT(build_error({"endpoints", "list", "--limit", "0"}), Catch::Contains("--limit"));

  req = build_ok({"endpoints", "get", "ep_1", "--account", "acme"});
  CHECK(req.method == "GET");
  CHECK(req.target == "/v1/endpoints/ep_1?account=acme");
  CHECK(req.body.empty());

  req = build_ok({"endpoints", "delete", "ep_1"});
  CHECK(req.method == "DELETE");
  CHECK(req.target == "/v1/endpoints/ep_1");
  CHECK(req.body.empty());

  req = build_ok({"endpoints", "enable", "ep_1", "--account", "a"});
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/endpoints/ep_1/enable?account=a");
  CHECK(req.body.empty());

  req = build_ok({"endpoints", "disable", "ep_1"});
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/endpoints/ep_1/disable");
  CHECK(req.body == "{}");
  req = build_ok({"endpoints", "disable", "ep_1", "--reason", "maintenance \"window\""});
  CHECK(req.body == R"({"reason":"maintenance \"window\""})");
}

constexpr std::string_view kEndpoint = R"({
  "id":"ep_1","account":"default","url":"https://example.com/hook","description":"Billing",
  "event_types":["sim.*","invoice.paid"],"enabled":true,"disabled_reason":null,
  "disabled_detail":null,"connect_timeout":"5s","read_timeout":"15s",
  "retry":{"max_attempts":8,"initial_delay":"5s","max_delay":"10h"},"max_in_flight":16,
  "rate_limit":null,"headers":{"X-Env":"<redacted>","X-Key":"<redacted>"},
  "signatures":["kore","standard"],"ca_file":null,"source":"api",
  "created_at":"2026-11-29T00:47:06.123Z","updated_at":"2026-11-29T00:48:00.000Z"})";

TEST_CASE("cli render: endpoint") {
  CHECK(render("endpoints get", kEndpoint) ==
        "Endpoint         ep_1\n"
        "URL              https://example.com/hook\n"
        "Description      Billing\n"
        "Account          default\n"
        "State            enabled\n"
        "Event types      sim.*, invoice.paid\n"
        "Signatures       kore, standard\n"
        "Connect timeout  5s\n"
        "Read timeout     15s\n"
        "Max attempts     8\n"
        "Initial delay    5s\n"
        "Max delay        10h\n"
        "Max in flight    16\n"
        "Rate limit       none\n"
        "CA file          system trust store\n"
        "Headers          X-Env: <redacted>\n"
        "                 X-Key: <redacted>\n"
        "Source           api\n"
        "Created at       2026-11-29T00:47:06.123Z\n"
        "Updated at       2026-11-29T00:48:00.000Z\n");
  CHECK_THAT(render("endpoints update", kEndpoint), Catch::Contains("X-Key: <redacted>"));
  const std::string created = render("endpoints create", kEndpoint);
  CHECK_THAT(created, Catch::StartsWith("Endpoint         ep_1\n") &&
                          Catch::EndsWith("Header values are shown only now: later answers "
                                          "redact them.\n"));
  CHECK_THAT(render("endpoints create", R"({"id":"ep_1","headers":{}})"),
             !Catch::Contains("Header values"));
}

TEST_CASE("cli render: disabled endpoint, rate limit, CA file") {
  const std::string out = render("endpoints get", R"({"id":"ep_1","enabled":false,
      "disabled_reason":"gone","disabled_detail":"answered 410 Gone\nsecond line",
      "rate_limit":2.5,"ca_file":"/etc/ca.pem"})");
  CHECK_THAT(out, Catch::Contains("State            disabled (gone: answered 410 Gone)\n"));
  CHECK_THAT(out, Catch::Contains("Rate limit       2.5/s\n"));
  CHECK_THAT(out, Catch::Contains("CA file          /etc/ca.pem\n"));
  CHECK_THAT(render("endpoints get", R"({"enabled":false})"),
             Catch::Contains("State            disabled\n"));
}

TEST_CASE("cli render: endpoint with missing or mistyped fields does not throw") {
  for (const char* answer :
       {"{}", "null", "[]", "\"x\"",
        R"({"id":1,"enabled":"yes","event_types":"sim.*","retry":5,"headers":[1],
            "signatures":[1,null],"rate_limit":"fast","disabled_reason":3})",
        R"({"retry":null,"headers":{"A":7},"enabled":null})"}) {
    INFO(answer);
    for (const char* command :
         {"endpoints get", "endpoints create", "endpoints enable", "endpoints disable"}) {
      std::string out;
      CHECK_NOTHROW(out = render(command, answer));
      CHECK_FALSE(out.empty());
    }
    CHECK_NOTHROW(render("endpoints list", answer));
  }
  CHECK_THAT(render("endpoints get", "{}"), Catch::Contains("Max attempts     -\n"));
  CHECK_THAT(
      render("endpoints get", R"({"headers":{"A":7},"signatures":[1,"kore"]})"),
      Catch::Contains("Headers          A: 7\n") && Catch::Contains("Signatures       1, kore\n"));
}

TEST_CASE("cli render: endpoints list") {
  const std::string out = render("endpoints list", R"({"data":[
      {"id":"ep_1","url":"https://a.example/h","event_types":["*"],"enabled":true,"source":"api"},
      {"id":"ep_22","url":"https://b.example/h","event_types":["sim.*","x"],"enabled":false,
       "disabled_reason":"manual","disabled_detail":"maintenance","source":"config"}],
      "next_cursor":"c_2"})");
  CHECK(out ==
        "ID     STATE                           EVENT TYPES  SOURCE  URL\n"
        "ep_1   enabled                         *            api     https://a.example/h\n"
        "ep_22  disabled (manual: maintenance)  sim.*, x     config  https://b.example/h\n"
        "more: --cursor c_2\n");
  CHECK(render("endpoints list", R"({"data":[],"next_cursor":null})") == "No endpoints.\n");
}

TEST_CASE("cli render: endpoint state changes and delete") {
  CHECK(render("endpoints enable", R"({"id":"ep_1","enabled":true})") ==
        "Endpoint ep_1 is enabled.\n");
  CHECK(
      render("endpoints disable",
             R"({"id":"ep_1","enabled":false,"disabled_reason":"manual","disabled_detail":""})") ==
      "Endpoint ep_1 is disabled (manual).\n");
  CHECK(render("endpoints delete", "null") ==
        "Endpoint deleted; its pending deliveries are cancelled.\n");
}

}  // namespace
}  // namespace korehook::cli
