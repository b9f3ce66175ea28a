// Secrets never leak (issue 5, point 7): every flow at debug log level with a secret and a
// custom Authorization header; neither may appear in the log, in any API answer but the one
// that created it, or in an attempt record.

#include <atomic>
#include <csignal>

#include "fixture.hpp"

namespace korehook::testing {

TEST_CASE("leak: secret values and header values appear only in their create responses", "[leak]") {
  Fixture f;
  std::atomic<int> mode{0};  // 0: 200, 1: 500, 2: 410
  f.receiver().set_handler([&](const ReceivedRequest&) {
    switch (mode.load()) {
      case 1:
        return Reply{.status = 500, .body = "try later"};
      case 2:
        return Reply{.status = 410, .body = "gone"};
      default:
        return Reply{.status = 200, .headers = {{"x-ok", "1"}}, .body = "ok"};
    }
  });
  Daemon d(f.yaml({endpoint("ep_yaml", f.receiver_url("/yaml"), "[\"none.*\"]")}));
  d.start();
  const std::string header_canary = "Bearer canary-header-7f3a9c";

  std::vector<std::string> answers;  // every answer but the two create responses
  auto call = [&](std::string_view method, const std::string& target,
                  const std::string& body = "") {
    auto res = d.request(method, target, body);
    REQUIRE(res.ok());
    answers.push_back(res->body);
    return res->body;
  };

  auto created = d.request("POST", "/v1/secrets", R"({"Name":"canary"})");
  REQUIRE(created.ok());
  const std::string secret(parse_json(created->body).at("secret").as_string());
  auto second = d.request("POST", "/v1/secrets", R"({"Name":"next"})");
  REQUIRE(second.ok());
  const std::string next_secret(parse_json(second->body).at("secret").as_string());
  const std::string next_id(parse_json(second->body).at("id").as_string());
  auto ep = d.request("POST", "/v1/endpoints",
                      R"({"id":"ep_api","url":")" + f.receiver_url("/api") +
                          R"(","headers":{"Authorization":")" + header_canary + "\"}}");
  REQUIRE(ep.ok());
  REQUIRE(ep->status == 201);

  // Deliveries: success, retries, a 410, a redelivery, a replay.
  const std::string ok_id = submit_event(d, R"({"type":"a.ok","data":{"n":1}})");
  wait_for_delivery_state(d, ok_id, "delivered");
  mode = 1;
  const std::string failing = submit_event(d, R"({"type":"a.fail","data":{"n":2}})");
  wait_for_delivery_state(d, failing, "failed");
  mode = 0;
  call("POST", "/v1/deliveries/replay", R"({"state":"failed"})");
  wait_for_delivery_state(d, failing, "delivered");
  const std::string dlv(get_event(d, ok_id).at("deliveries").as_array()[0].at("id").as_string());
  call("POST", "/v1/deliveries/" + dlv + "/redeliver");
  call("PATCH", "/v1/secrets/" + next_id, R"({"Status":"active","overlap":"1h"})");
  const std::string rotated = submit_event(d, R"({"type":"a.rot","data":{"n":3}})");
  wait_for_delivery_state(d, rotated, "delivered");
  mode = 2;
  const std::size_t before_gone = f.receiver().request_count();
  const std::string gone = submit_event(d, R"({"type":"a.gone","data":{"n":4}})");
  REQUIRE(f.receiver().wait_for_requests(before_gone + 1, 10s));
  mode = 0;

  // Every read route.
  for (const std::string& target :
       {std::string("/v1/endpoints"), std::string("/v1/endpoints/ep_api"),
        std::string("/v1/endpoints/ep_yaml"), std::string("/v1/secrets"),
        std::string("/v1/secrets?status=active"), std::string("/v1/deliveries"),
        "/v1/deliveries/" + dlv, "/v1/events/" + ok_id, "/v1/events/" + failing,
        "/v1/events/" + gone, std::string("/v1/accounts"), std::string("/v1/accounts/default")}) {
    call("GET", target);
  }
  call("PATCH", "/v1/endpoints/ep_api", R"({"description":"changed"})");
  call("POST", "/v1/endpoints/ep_api/disable", R"({"reason":"test"})");
  call("POST", "/v1/endpoints/ep_api/enable");
  d.send_signal(SIGHUP);
  REQUIRE(d.wait_for_log("reloaded", 10s));
  const auto cli = d.cli({"endpoints", "get", "ep_api"});
  answers.push_back(cli.out + cli.err);
  const auto cli_json = d.cli({"--json", "secrets", "list"});
  answers.push_back(cli_json.out + cli_json.err);
  d.terminate();

  // The receiver did get both (the check below is not vacuous).
  bool header_sent = false;
  for (const auto& r : f.receiver().requests()) {
    if (r.header("authorization") == header_canary) header_sent = true;
  }
  CHECK(header_sent);

  const std::string log = d.log_text();
  CHECK(log.find("level=debug") != std::string::npos);  // debug logging was on
  const std::vector<std::string> canaries = {secret, secret.substr(6), next_secret,
                                             next_secret.substr(6), "canary-header-7f3a9c"};
  for (const auto& canary : canaries) {
    INFO("canary: " << canary);
    CHECK(log.find(canary) == std::string::npos);
    for (const auto& answer : answers) {
      INFO("answer: " << answer);
      CHECK(answer.find(canary) == std::string::npos);
    }
  }
  CHECK(answers.size() >= 20);
}

}  // namespace korehook::testing
