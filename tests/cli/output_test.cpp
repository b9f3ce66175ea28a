#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "cli/command_testing.hpp"
#include "cli/output.hpp"

namespace korehook::cli {
namespace {

using testing::render;

TEST_CASE("cli table: columns aligned, no trailing spaces") {
  const std::string table =
      format_table({"ID", "NAME", "STATUS"}, {{"whs_1", "primary", "active"}, {"whs_22", "b", ""}});
  CHECK(table ==
        "ID      NAME     STATUS\n"
        "whs_1   primary  active\n"
        "whs_22  b\n");
}

TEST_CASE("cli table: indent, no header, short rows, UTF-8 width") {
  CHECK(format_table({}, {{"a", "1"}, {"long", "2"}}, 2) == "  a     1\n  long  2\n");
  CHECK(format_table({"A", "B", "C"}, {{"x"}}) == "A  B  C\nx\n");
  // "é" is two bytes but one column.
  CHECK(format_table({"N", "V"}, {{"\xc3\xa9t\xc3\xa9", "1"}, {"abc", "2"}}) ==
        "N    V\n\xc3\xa9t\xc3\xa9  1\nabc  2\n");
  CHECK(format_table({"ID"}, {}) == "ID\n");
  CHECK(format_table({}, {}).empty());
}

TEST_CASE("cli display: control characters are escaped") {
  CHECK(display("plain") == "plain");
  CHECK(display("a\x1b[31mred\nb\x7f") == "a\\x1b[31mred\\x0ab\\x7f");
  CHECK(display("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("cli JSON field access never throws") {
  const auto v =
      boost::json::parse(R"({"s":"x","n":3,"b":true,"z":null,"e":"","a":[1,2],"o":{"k":1}})");
  CHECK(field(v, "s") == "x");
  CHECK(field(v, "n") == "3");
  CHECK(field(v, "b") == "true");
  CHECK(field(v, "z") == "-");
  CHECK(field(v, "missing") == "-");
  CHECK(field(v, "e").empty());
  CHECK(field(v, "o") == R"({"k":1})");
  CHECK(field(boost::json::parse(R"({"d":2.5,"i":-7,"u":18446744073709551615})"), "d") == "2.5");
  CHECK(field(boost::json::parse(R"({"d":1e300})"), "d") == "1e+300");
  CHECK(field(boost::json::parse("[1]"), "s") == "-");
  CHECK(has_field(v, "s"));
  CHECK(has_field(v, "n"));
  CHECK_FALSE(has_field(v, "z"));
  CHECK_FALSE(has_field(v, "e"));
  CHECK_FALSE(has_field(v, "missing"));
  CHECK(elements(v, "a").size() == 2);
  CHECK(elements(v, "s").empty());
  CHECK(elements(v, "missing").empty());
}

TEST_CASE("cli first_line: first line only, cut by code points, escaped") {
  CHECK(first_line("ok") == "ok");
  CHECK(first_line("") == "");
  CHECK(first_line("a\nb") == "a");
  CHECK(first_line("a\r\nb") == "a");
  CHECK(first_line("\nb").empty());
  CHECK(first_line("abcdef", 3) == "abc...");
  CHECK(first_line("abc", 3) == "abc");
  // "é" is two bytes, one character: never cut inside it.
  CHECK(first_line("\xc3\xa9\xc3\xa9\xc3\xa9", 2) == "\xc3\xa9\xc3\xa9...");
  CHECK(first_line("\xc3\xa9\xc3\xa9", 2) == "\xc3\xa9\xc3\xa9");
  CHECK(first_line("a\x1b[0mb\tc") == "a\\x1b[0mb\\x09c");
}

TEST_CASE("cli joined, next_cursor_hint, delivery_target") {
  const auto v = boost::json::parse(
      R"({"a":["x","y\u001b"],"n":[1,null,true],"e":[],"s":"x","c":"abc","z":null,"b":""})");
  CHECK(joined(v, "a") == "x, y\\x1b");
  CHECK(joined(v, "n") == "1, null, true");
  CHECK(joined(v, "e").empty());
  CHECK(joined(v, "s") == "-");
  CHECK(joined(v, "missing") == "-");
  CHECK(next_cursor_hint(boost::json::parse(R"({"next_cursor":"abc"})")) == "more: --cursor abc\n");
  CHECK(next_cursor_hint(boost::json::parse(R"({"next_cursor":null})")).empty());
  CHECK(next_cursor_hint(boost::json::parse(R"({"next_cursor":""})")).empty());
  CHECK(next_cursor_hint(boost::json::parse("[]")).empty());
  CHECK(delivery_target(boost::json::parse(R"({"endpoint_id":"ep_1","callback_url":"u"})")) ==
        "ep_1");
  CHECK(delivery_target(boost::json::parse(R"({"endpoint_id":null,"callback_url":"u"})")) == "u");
  CHECK(delivery_target(boost::json::parse("{}")) == "-");
}

TEST_CASE("cli API errors") {
  CHECK(format_api_error(
            404, R"({"status":404,"code":"not_found","message":"no event evt_1","info":{}})") ==
        "error: no event evt_1 (not_found, HTTP 404)");
  CHECK(format_api_error(400, R"({"message":"bad"})") == "error: bad (unknown, HTTP 400)");
  CHECK(format_api_error(502, "<html>Bad gateway</html>") ==
        "error: korehookd answered HTTP 502: <html>Bad gateway</html>");
  CHECK(format_api_error(500, "") == "error: korehookd answered HTTP 500 with an empty body");
  CHECK_THAT(format_api_error(500, std::string(1000, 'x')), Catch::EndsWith("x..."));
  CHECK(format_api_error(400, R"({"code":"x","message":"a\u001b]0;pwned\u0007"})") ==
        "error: a\\x1b]0;pwned\\x07 (x, HTTP 400)");
}

TEST_CASE("cli render: send") {
  CHECK(render("send", R"({"id":"evt_01a","duplicate":false})") == "evt_01a accepted\n");
  CHECK(render("send", R"({"id":"evt_01a"})") == "evt_01a accepted\n");
  CHECK(render("send", R"({"id":"evt_01a","duplicate":true})") ==
        "evt_01a (duplicate of an earlier submission)\n");
}

TEST_CASE("cli render: event with deliveries and attempts") {
  const std::string out = render("events get", R"({
    "id":"evt_01a","account":"default","type":"sim.activated","content_type":"application/json",
    "idempotency_key":null,"created_at":"2026-11-29T00:47:06.123Z","data":{"x":1},
    "deliveries":[
      {"id":"dlv_1","endpoint_id":"ep_1","token":"t","state":"delivered","attempt_count":2,
       "next_attempt_at":null,"attempts":[
         {"number":1,"started_at":"2026-11-29T00:47:06.200Z","status_code":null,"error":"tls",
          "error_detail":"certificate has expired","duration_ms":12,"response_excerpt":""},
         {"number":2,"started_at":"2026-11-29T00:47:08.200Z","status_code":200,"error":null,
          "error_detail":"","duration_ms":41,"response_excerpt":"ok"}]},
      {"id":"dlv_22","endpoint_id":null,"token":"u","state":"pending","attempt_count":0,
       "next_attempt_at":"2026-11-29T00:48:00.000Z","attempts":[]}]})");
  CHECK(out ==
        "Event         evt_01a\n"
        "Type          sim.activated\n"
        "Account       default\n"
        "Created at    2026-11-29T00:47:06.123Z\n"
        "Content type  application/json\n"
        "\n"
        "Deliveries (2):\n"
        "ID      ENDPOINT  STATE      ATTEMPTS  NEXT ATTEMPT\n"
        "dlv_1   ep_1      delivered  2         -\n"
        "dlv_22  -         pending    0         2026-11-29T00:48:00.000Z\n"
        "\n"
        "Attempts of dlv_1:\n"
        "  #  STARTED AT                RESULT  DURATION  DETAIL                   RESPONSE\n"
        "  1  2026-11-29T00:47:06.200Z  tls     12 ms     certificate has expired\n"
        "  2  2026-11-29T00:47:08.200Z  200     41 ms                              ok\n"
        "\n"
        "Attempts of dlv_22: none yet\n");
}

TEST_CASE("cli render: event without deliveries, with idempotency key") {
  const std::string out = render("events get", R"({"id":"evt_1","type":"t","account":"a",
      "content_type":"text/plain","idempotency_key":"k-1","created_at":"x","body":"b",
      "deliveries":[]})");
  CHECK_THAT(out, Catch::Contains("Idempotency key  k-1\n"));
  CHECK_THAT(out, Catch::EndsWith("\nNo deliveries (no endpoint matched this event).\n"));
}

TEST_CASE("cli render: malformed answers do not throw") {
  for (const char* answer : {"{}", "[]", "null", R"({"deliveries":{}})",
                             R"({"deliveries":[1,{"attempts":[null]}]})", R"({"data":"x"})"}) {
    INFO(answer);
    for (const CommandSpec& command : all_commands()) {
      CHECK_NOTHROW(command.render(boost::json::parse(answer)));
    }
  }
}

TEST_CASE("cli render: secrets create shows the value once, with a note") {
  const std::string active = render(
      "secrets create",
      R"({"id":"whs_1","name":"main","secret":"whsec_abc","status":"active","last_modified":"x"})");
  CHECK(active ==
        "Secret  whs_1\n"
        "Name    main\n"
        "Status  active\n"
        "Value   whsec_abc\n"
        "\n"
        "The value is shown only once: store it now, it cannot be read back.\n");
  const std::string pending = render(
      "secrets create",
      R"({"id":"whs_2","name":"next","secret":"whsec_def","status":"pending","last_modified":"x"})");
  CHECK_THAT(pending,
             Catch::Contains("whsec_def") && Catch::Contains("korehook secrets activate whs_2"));
}

TEST_CASE("cli render: secrets list") {
  const std::string out = render("secrets list", R"({"data":[
      {"id":"whs_1","name":"main","status":"active","last_modified":"2026-01-01T00:00:00.000Z"},
      {"id":"whs_2","name":"rotation key","status":"pending","last_modified":"2026-02-01T00:00:00.000Z"}],
      "meta_data":{"count":2,"page_size":2,"page_number":1,"previous_page_url":null,
                   "next_page_url":"/v1/secrets?page_number=2&page_size=2"}})");
  CHECK(out ==
        "ID     NAME          STATUS   LAST MODIFIED\n"
        "whs_1  main          active   2026-01-01T00:00:00.000Z\n"
        "whs_2  rotation key  pending  2026-02-01T00:00:00.000Z\n"
        "More on the next page: --page 2\n");
  CHECK(render("secrets list", R"({"data":[],"meta_data":{"count":0}})") == "No secrets.\n");
  CHECK_THAT(
      render("secrets list", R"({"data":[{"id":"whs_1"}],"meta_data":{"next_page_url":null}})"),
      !Catch::Contains("next page"));
}

TEST_CASE("cli render: secrets activate") {
  CHECK(render("secrets activate",
               R"({"id":"whs_2","name":"next","status":"active","last_modified":"x"})") ==
        "Secret whs_2 (next) is now active.\n");
}

}  // namespace
}  // namespace korehook::cli
