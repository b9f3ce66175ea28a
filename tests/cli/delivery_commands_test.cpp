#include <boost/json/value.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli/command_testing.hpp"

namespace korehook::cli {
namespace {

using testing::build_error;
using testing::build_ok;
using testing::render;

TEST_CASE("cli deliveries list: filters, pagination and account in the query") {
  auto req = build_ok({"deliveries", "list"});
  CHECK(req.method == "GET");
  CHECK(req.target == "/v1/deliveries");
  CHECK(req.body.empty());
  req = build_ok({"deliveries", "list", "--endpoint", "ep_1", "--state", "failed", "--event-type",
                  "sim.activated", "--since", "2026-11-29T00:00:00Z", "--until",
                  "2026-11-30T00:00:00+01:00", "--limit", "10", "--cursor", "c1", "--account",
                  "acme"});
  CHECK(req.target ==
        "/v1/deliveries?endpoint_id=ep_1&state=failed&event_type=sim.activated"
        "&since=2026-11-29T00%3A00%3A00Z&until=2026-11-30T00%3A00%3A00%2B01%3A00&limit=10"
        "&cursor=c1&account=acme");
  for (const char* state : {"pending", "in_flight", "delivered", "failed", "cancelled"}) {
    CHECK(build_ok({"deliveries", "list", "--state", state}).target ==
          "/v1/deliveries?state=" + std::string(state));
  }
  CHECK(build_error({"deliveries", "list", "--state", "done"}) ==
        "--state must be pending, in_flight, delivered, failed or cancelled, not 'done'");
  CHECK_THAT(build_error({"deliveries", "list", "--limit", "x"}), Catch::Contains("--limit"));
}

TEST_CASE("cli deliveries get/redeliver: requests") {
  auto req = build_ok({"deliveries", "get", "dlv_1", "--account", "acme"});
  CHECK(req.method == "GET");
  CHECK(req.target == "/v1/deliveries/dlv_1?account=acme");
  req = build_ok({"deliveries", "redeliver", "dlv/1"});
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/deliveries/dlv%2F1/redeliver");
  CHECK(req.body.empty());
}

TEST_CASE("cli deliveries replay: request body holds the filters given") {
  auto req = build_ok({"deliveries", "replay"});
  CHECK(req.method == "POST");
  CHECK(req.target == "/v1/deliveries/replay");
  CHECK(req.body == "{}");
  req = build_ok({"deliveries", "replay", "--endpoint", "ep_1", "--state", "cancelled",
                  "--event-type", "sim.x", "--since", "2026-11-29T00:00:00Z", "--until",
                  "2026-11-30T00:00:00Z", "--account", "acme"});
  CHECK(req.target == "/v1/deliveries/replay?account=acme");
  CHECK(req.body == R"({"endpoint_id":"ep_1","state":"cancelled","event_type":"sim.x",)"
                    R"("since":"2026-11-29T00:00:00Z","until":"2026-11-30T00:00:00Z"})");
  // What is still on its way cannot be replayed.
  CHECK(build_error({"deliveries", "replay", "--state", "pending"}) ==
        "--state must be failed, cancelled or delivered, not 'pending'");
  CHECK_FALSE(
      parse_command_line(std::vector<std::string>{"deliveries", "replay", "--limit", "5"}).ok());
}

constexpr std::string_view kDelivery = R"({
  "id":"dlv_1","event_id":"evt_1","event_type":"sim.activated","account":"default",
  "endpoint_id":"ep_1","callback_url":null,"token":"3f6c-uuid","state":"delivered",
  "attempt_count":2,"next_attempt_at":null,"created_at":"2026-11-29T00:47:06.123Z",
  "updated_at":"2026-11-29T00:47:08.300Z","attempts":[
    {"number":1,"started_at":"2026-11-29T00:47:06.200Z","duration_ms":5012,"status_code":null,
     "error":"timeout","error_detail":"no answer within 5s","response_headers":[],
     "response_excerpt":""},
    {"number":2,"started_at":"2026-11-29T00:47:08.200Z","duration_ms":41,"status_code":200,
     "error":null,"error_detail":"","response_headers":[{"name":"content-type","value":"text/plain"}],
     "response_excerpt":"ok\nsecond line"}]})";

TEST_CASE("cli render: delivery with attempts") {
  CHECK(render("deliveries get", kDelivery) ==
        "Delivery      dlv_1\n"
        "Event         evt_1\n"
        "Event type    sim.activated\n"
        "Account       default\n"
        "Endpoint      ep_1\n"
        "State         delivered\n"
        "Attempts      2\n"
        "Next attempt  -\n"
        "Token         3f6c-uuid\n"
        "Created at    2026-11-29T00:47:06.123Z\n"
        "Updated at    2026-11-29T00:47:08.300Z\n"
        "\n"
        "Attempts:\n"
        "  #  STARTED AT                RESULT   DURATION  DETAIL               RESPONSE\n"
        "  1  2026-11-29T00:47:06.200Z  timeout  5012 ms   no answer within 5s\n"
        "  2  2026-11-29T00:47:08.200Z  200      41 ms                          ok\n");
}

TEST_CASE("cli render: callback delivery without attempts") {
  const std::string out = render("deliveries get", R"({"id":"dlv_2","endpoint_id":null,
      "callback_url":"https://cb.example/done","state":"pending","attempts":[]})");
  CHECK_THAT(out, Catch::Contains("Callback URL  https://cb.example/done\n") &&
                      !Catch::Contains("Endpoint") && Catch::EndsWith("\nNo attempts yet.\n"));
}

TEST_CASE("cli render: long and hostile response excerpts are cut and escaped") {
  const std::string out = render("deliveries get", R"({"id":"d","attempts":[
      {"number":1,"status_code":500,"response_excerpt":")" +
                                                       std::string(100, 'x') + R"("},
      {"number":2,"status_code":502,"response_excerpt":"\u001b[2Jgone\r\nmore"}]})");
  CHECK_THAT(out, Catch::Contains(std::string(60, 'x') + "...\n") &&
                      !Catch::Contains(std::string(61, 'x')));
  CHECK_THAT(out, Catch::Contains("\\x1b[2Jgone\n") && !Catch::Contains("more"));
}

TEST_CASE("cli render: deliveries with missing or mistyped fields do not throw") {
  for (const char* answer :
       {"{}", "null", "[]", "7",
        R"({"attempts":{"number":1},"data":{"id":1},"replayed":"x","state":5})",
        R"({"attempts":[null,1,{"number":"x","duration_ms":null,"response_excerpt":5,
            "error_detail":[1],"status_code":"oops"}],"data":[null,{"id":[]}],"replayed":-1})"}) {
    INFO(answer);
    for (const char* command :
         {"deliveries get", "deliveries list", "deliveries redeliver", "deliveries replay"}) {
      std::string out;
      CHECK_NOTHROW(out = render(command, answer));
      CHECK_FALSE(out.empty());
    }
  }
}

TEST_CASE("cli render: deliveries list") {
  const std::string out = render("deliveries list", R"({"data":[
      {"id":"dlv_2","event_type":"sim.activated","endpoint_id":null,
       "callback_url":"https://cb.example/x","state":"failed","attempt_count":8,
       "created_at":"2026-11-29T00:47:06.123Z","next_attempt_at":null},
      {"id":"dlv_1","event_type":"t","endpoint_id":"ep_1","state":"pending","attempt_count":0,
       "created_at":"2026-11-29T00:40:00.000Z","next_attempt_at":"2026-11-29T00:50:00.000Z"}],
      "next_cursor":"Y3Vy"})");
  CHECK(out ==
        "ID     EVENT TYPE     TARGET                STATE    ATTEMPTS  CREATED AT                "
        "NEXT ATTEMPT\n"
        "dlv_2  sim.activated  https://cb.example/x  failed   8         2026-11-29T00:47:06.123Z  "
        "-\n"
        "dlv_1  t              ep_1                  pending  0         2026-11-29T00:40:00.000Z  "
        "2026-11-29T00:50:00.000Z\n"
        "more: --cursor Y3Vy\n");
  CHECK(render("deliveries list", R"({"data":[]})") == "No deliveries.\n");
  CHECK(render("deliveries list", R"({"data":[],"next_cursor":"c"})") ==
        "No deliveries.\nmore: --cursor c\n");
}

TEST_CASE("cli render: redeliver and replay") {
  CHECK(render("deliveries redeliver", R"({"id":"dlv_1","state":"pending"})") ==
        "Delivery dlv_1 is pending again, due now, with the same idempotency token.\n");
  CHECK(render("deliveries replay", R"({"replayed":0})") ==
        "No delivery matched: none replayed.\n");
  CHECK(render("deliveries replay", R"({"replayed":1})") == "Replayed 1 delivery.\n");
  CHECK(render("deliveries replay", R"({"replayed":1234})") == "Replayed 1234 deliveries.\n");
}

}  // namespace
}  // namespace korehook::cli
