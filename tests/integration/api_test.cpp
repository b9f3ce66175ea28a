// The API on the Unix socket (issue point 4): events, errors, health and the KORE secret
// lifecycle, against the real korehookd and a real TLS receiver.

#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "integration/fixture.hpp"

namespace korehook::testing {
namespace {

namespace json = boost::json;

bool matches(const std::string& text, const char* pattern) {
  return std::regex_match(text, std::regex(pattern));
}

const char* const kEventId = "evt_[0-9a-z]{26}";
const char* const kDeliveryId = "dlv_[0-9a-z]{26}";
const char* const kSecretId = "whs_[0-9a-z]{26}";
const char* const kTimestamp = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)";

std::string str(const json::value& v) {
  REQUIRE(v.is_string());
  return std::string(v.as_string());
}

// Checks the error shape {status, code, message, info} (and nothing else) with a status
// equal to the HTTP status; returns the object.
json::object expect_error(const Result<client::Response>& res, int status,
                          const std::string& code) {
  REQUIRE(res.ok());
  INFO("answer: HTTP " << res->status << " " << res->body);
  CHECK(res->status == status);
  const json::value parsed = parse_json(res->body);
  REQUIRE(parsed.is_object());
  const json::object& o = parsed.as_object();
  CHECK(o.size() == 4);
  REQUIRE(o.contains("status"));
  REQUIRE(o.contains("code"));
  REQUIRE(o.contains("message"));
  REQUIRE(o.contains("info"));
  CHECK(o.at("status").is_int64());
  if (o.at("status").is_int64()) CHECK(o.at("status").as_int64() == status);
  CHECK(str(o.at("code")) == code);
  CHECK_FALSE(str(o.at("message")).empty());
  CHECK(o.at("info").is_object());
  return o;
}

json::object json_object(const Result<client::Response>& res, int status) {
  REQUIRE(res.ok());
  INFO("answer: HTTP " << res->status << " " << res->body);
  REQUIRE(res->status == status);
  const json::value parsed = parse_json(res->body);
  REQUIRE(parsed.is_object());
  return parsed.as_object();
}

}  // namespace

TEST_CASE("api: POST /v1/events answers 202 with an id, and GET returns it with its deliveries",
          "[api]") {
  Fixture fx;
  const EndpointYaml sims = endpoint("ep_sims", fx.receiver_url("/sims"), "[\"sim.*\"]");
  const EndpointYaml other = endpoint("ep_other", fx.receiver_url("/other"), "[\"order.*\"]");
  Daemon daemon(fx.yaml({sims, other}));
  daemon.start();

  const std::string submitted = R"({"type": "sim.activated",
      "data": {"iccid": "8988", "b": [1, 2.5, true, null], "a": {"nested": "x y"}}})";
  auto res = daemon.request("POST", "/v1/events", submitted);
  const json::object answer = json_object(res, 202);
  const std::string id = str(answer.at("id"));
  CHECK(matches(id, kEventId));
  CHECK(answer.at("duplicate") == json::value(false));

  const json::object event = wait_for_event(daemon, id, all_delivered);
  INFO("event: " << json::serialize(event));
  CHECK(str(event.at("id")) == id);
  CHECK(str(event.at("type")) == "sim.activated");
  CHECK(event.at("data") == parse_json(submitted).at("data"));
  CHECK(matches(str(event.at("created_at")), kTimestamp));

  // Only the endpoint whose event_types match gets a delivery.
  const auto& deliveries = event.at("deliveries").as_array();
  REQUIRE(deliveries.size() == 1);
  const json::object& d = deliveries[0].as_object();
  CHECK(matches(str(d.at("id")), kDeliveryId));
  CHECK(str(d.at("endpoint_id")) == "ep_sims");
  CHECK(str(d.at("state")) == "delivered");
  REQUIRE(d.at("attempts").is_array());
  const auto& attempts = d.at("attempts").as_array();
  REQUIRE(attempts.size() == 1);
  const json::object& a = attempts[0].as_object();
  CHECK(a.at("number") == json::value(1));
  CHECK(matches(str(a.at("started_at")), kTimestamp));
  CHECK(a.at("status_code") == json::value(200));
  CHECK(a.at("error").is_null());
  CHECK((a.at("duration_ms").is_int64() && a.at("duration_ms").as_int64() >= 0));

  // What the receiver got is the minified data, on the matching endpoint's path only.
  REQUIRE(fx.receiver().wait_for_requests(1, 10s));
  const auto received = fx.receiver().requests();
  REQUIRE(received.size() == 1);
  CHECK(received[0].target == "/sims");
  CHECK(received[0].body == R"({"iccid":"8988","b":[1,2.5,true,null],"a":{"nested":"x y"}})");
}

TEST_CASE("api: an event with a raw body keeps its content type", "[api]") {
  Fixture fx;
  Daemon daemon(fx.yaml_one_endpoint());
  daemon.start();

  const std::string id = submit_event(
      daemon,
      R"({"type":"form.posted","body":"field1=value1&field2=value2","content_type":"application/x-www-form-urlencoded"})");
  const json::object event = wait_for_event(daemon, id, all_delivered);
  INFO("event: " << json::serialize(event));
  CHECK(str(event.at("content_type")) == "application/x-www-form-urlencoded");
  CHECK(str(event.at("body")) == "field1=value1&field2=value2");
  REQUIRE(fx.receiver().wait_for_requests(1, 10s));
  const auto received = fx.receiver().requests();
  REQUIRE(received.size() == 1);
  CHECK(received[0].body == "field1=value1&field2=value2");
  CHECK(received[0].header("content-type").value_or("") == "application/x-www-form-urlencoded");
}

// The event routes read an event's members from the minified text, without a DOM; what a
// JSON parser would make of them must hold all the same.
TEST_CASE("api: an event's members are read as JSON defines them", "[api]") {
  Fixture fx;
  Daemon daemon(fx.yaml_one_endpoint());
  daemon.start();

  // An escaped key names the member it spells; a null member is absent; of duplicate keys
  // the last counts; escapes in a string value are decoded.
  const std::string id = submit_event(
      daemon, R"({"type":"first.x","data":{"n":1},"t\u0079pe":"sim.x","callback_url":null,)"
              R"("idempotency_key":"k\u00e9y\/1","account":null,"data":{"n":2}})");
  const json::object event = wait_for_event(daemon, id, all_delivered);
  INFO("event: " << json::serialize(event));
  CHECK(str(event.at("type")) == "sim.x");
  CHECK(str(event.at("idempotency_key")) == "k\xC3\xA9y/1");
  CHECK(event.at("callback_url").is_null());
  CHECK(event.at("data") == json::parse(R"({"n":2})"));
  REQUIRE(fx.receiver().wait_for_requests(1, 10s));
  CHECK(fx.receiver().requests().at(0).body == R"({"n":2})");

  auto& client = daemon.client();
  const auto not_string =
      expect_error(client.request("POST", "/v1/events", R"({"type":["sim.x"],"data":{}})"), 400,
                   "invalid_field");
  CHECK(str(not_string.at("info").at("field")) == "type");
  CHECK_THAT(str(not_string.at("message")), Catch::Contains("must be a string"));
  const auto unknown = expect_error(
      client.request("POST", "/v1/events", R"({"type":"sim.x","data":{},"dat\u0061s":1})"), 400,
      "invalid_field");
  CHECK(str(unknown.at("info").at("field")) == "datas");
  expect_error(client.request("POST", "/v1/events", R"("sim.x")"), 400, "invalid_json");

  const auto not_array = expect_error(
      client.request("POST", "/v1/events/batch", R"({"events":{"type":"sim.x","data":{}}})"), 400,
      "invalid_field");
  CHECK(str(not_array.at("info").at("field")) == "events");
  const auto not_event = expect_error(
      client.request("POST", "/v1/events/batch", R"({"events":[{"type":"sim.x","data":{}},7]})"),
      400, "invalid_field");
  CHECK(not_event.at("info").at("index") == 1);
  CHECK_THAT(str(not_event.at("message")), Catch::Contains("must be an event object"));
  // Nothing of the refused requests was stored: the one event is all there is.
  const json::object page = json_object(client.request("GET", "/v1/deliveries?limit=10"), 200);
  CHECK(page.at("data").as_array().size() == 1);
}

// HTTP lets a header value carry bytes that are not UTF-8, and a body excerpt cut at its
// limit can end inside a character; the attempt's record must still come back as JSON.
TEST_CASE("api: a receiver's bytes that are not UTF-8 come back as valid JSON", "[api]") {
  Fixture fx;
  std::string body;
  for (int i = 0; i < 1366; ++i) body += "\xE2\x82\xAC";  // 4,098 bytes: the cut splits a '€'
  fx.receiver().set_handler([&](const ReceivedRequest&) {
    Reply reply;
    reply.headers = {{"x-note", "caf\xE9 ok"}};
    reply.body = body;
    return reply;
  });
  Daemon daemon(fx.yaml_one_endpoint());
  daemon.start();
  const std::string id = submit_event(daemon, R"({"type":"sim.x","data":{"n":1}})");
  wait_for_event(daemon, id, all_delivered);

  auto answer = daemon.request("GET", "/v1/events/" + id);
  REQUIRE(answer.ok());
  REQUIRE(answer->status == 200);
  json::error_code ec;
  const json::value event = json::parse(answer->body, ec);  // UTF-8 checked
  REQUIRE_FALSE(ec);
  const json::object& attempt = event.at("deliveries").at(0).at("attempts").at(0).as_object();
  std::optional<std::string> note;
  for (const auto& h : attempt.at("response_headers").as_array()) {
    if (h.at("name") == "x-note") note = str(h.at("value"));
  }
  // Each byte that does not make a character becomes U+FFFD.
  CHECK(note == "caf\xEF\xBF\xBD ok");
  const std::string excerpt = str(attempt.at("response_excerpt"));
  CHECK(excerpt == body.substr(0, 4095) + "\xEF\xBF\xBD");
}

TEST_CASE("api: a repeated idempotency_key returns the original id and creates nothing", "[api]") {
  Fixture fx;
  Daemon daemon(fx.yaml_one_endpoint());
  daemon.start();

  const std::string body = R"({"type":"sim.x","data":{"n":1},"idempotency_key":"order-42"})";
  const json::object first = json_object(daemon.request("POST", "/v1/events", body), 202);
  const std::string id = str(first.at("id"));
  CHECK(first.at("duplicate") == json::value(false));
  wait_for_event(daemon, id, all_delivered);

  // Same key, even with other data: the original event, marked as a duplicate.
  const json::object second =
      json_object(daemon.request("POST", "/v1/events",
                                 R"({"type":"sim.x","data":{"n":2},"idempotency_key":"order-42"})"),
                  202);
  CHECK(str(second.at("id")) == id);
  CHECK(second.at("duplicate") == json::value(true));

  // A different key is a new event. It is submitted after the duplicate, so by the time it
  // has been delivered a delivery created by the duplicate would have been dispatched too.
  const std::string marker =
      submit_event(daemon, R"({"type":"sim.x","data":{"n":3},"idempotency_key":"order-43"})");
  CHECK(marker != id);
  wait_for_event(daemon, marker, all_delivered);

  const json::object event = get_event(daemon, id);
  CHECK(event.at("deliveries").as_array().size() == 1);
  CHECK(event.at("data") == json::parse(R"({"n":1})"));
  CHECK(str(event.at("idempotency_key")) == "order-42");

  const auto received = fx.receiver().requests();
  std::vector<std::string> bodies;
  for (const auto& r : received) bodies.push_back(r.body);
  CHECK(bodies == std::vector<std::string>{R"({"n":1})", R"({"n":3})"});
}

TEST_CASE("api: an event for an unknown account is refused with 404", "[api]") {
  Fixture fx;
  Daemon daemon(fx.yaml_one_endpoint());
  daemon.start();

  expect_error(daemon.request("POST", "/v1/events",
                              R"({"type":"sim.x","data":{},"account":"no_such_account"})"),
               404, "not_found");
  // The same through ?account=.
  expect_error(
      daemon.request("POST", "/v1/events?account=no_such_account", R"({"type":"sim.x","data":{}})"),
      404, "not_found");
  // The default account by name works.
  const std::string id =
      submit_event(daemon, R"({"type":"sim.x","data":{"ok":true},"account":"default"})");
  wait_for_event(daemon, id, all_delivered);
  CHECK(fx.receiver().request_count() == 1);
}

TEST_CASE("api: bad requests get {status, code, message, info} and change nothing", "[api]") {
  Fixture fx;
  const std::string api_yaml = "api:\n  socket: {{socket}}\n  max_body_bytes: 1024\n";
  Daemon daemon(fx.yaml({EndpointYaml{}}, api_yaml));
  daemon.start();
  auto& client = daemon.client();
  std::size_t accepted = 0;  // good events submitted by a section

  SECTION("invalid JSON") {
    expect_error(client.request("POST", "/v1/events", R"({"type": "sim.x", )"), 400,
                 "invalid_json");
  }
  SECTION("a body that is not an object") {
    expect_error(client.request("POST", "/v1/events", "[1, 2]"), 400, "invalid_json");
  }
  SECTION("missing type names the field") {
    const auto e =
        expect_error(client.request("POST", "/v1/events", R"({"data":{}})"), 400, "invalid_field");
    CHECK_THAT(str(e.at("message")), Catch::Contains("type"));
    CHECK(e.at("info").as_object().if_contains("field") != nullptr);
    if (auto* f = e.at("info").as_object().if_contains("field")) CHECK(str(*f) == "type");
  }
  SECTION("both data and body") {
    const auto e = expect_error(
        client.request("POST", "/v1/events",
                       R"({"type":"sim.x","data":{},"body":"a=b","content_type":"text/plain"})"),
        400, "invalid_field");
    CHECK_THAT(str(e.at("message")), Catch::Contains("data") && Catch::Contains("body"));
  }
  SECTION("neither data nor body") {
    expect_error(client.request("POST", "/v1/events", R"({"type":"sim.x"})"), 400, "invalid_field");
  }
  SECTION("wrong content-type") {
    expect_error(
        client.request("POST", "/v1/events", R"({"type":"sim.x","data":{}})", "text/plain"), 415,
        "unsupported_media_type");
  }
  SECTION("unknown route") {
    expect_error(client.request("GET", "/v1/nothing-here"), 404, "not_found");
    expect_error(client.request("GET", "/"), 404, "not_found");
  }
  SECTION("wrong method") {
    expect_error(client.request("DELETE", "/v1/events"), 405, "method_not_allowed");
    expect_error(client.request("PUT", "/v1/events/evt_01jf8c4889ehtbzt0n9mzk1prc"), 405,
                 "method_not_allowed");
    expect_error(client.request("POST", "/healthz"), 405, "method_not_allowed");
    expect_error(client.request("DELETE", "/v1/secrets"), 405, "method_not_allowed");
  }
  SECTION("GET of an unknown event") {
    const auto e = expect_error(client.request("GET", "/v1/events/evt_01jf8c4889ehtbzt0n9mzk1prc"),
                                404, "not_found");
    CHECK_THAT(str(e.at("message")), Catch::Contains("evt_01jf8c4889ehtbzt0n9mzk1prc"));
  }
  SECTION("deep nesting: accepted up to the limit, a clear 400 beyond it") {
    auto nested = [](int depth) {
      return R"({"type":"sim.x","data":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
    };
    expect_error(client.request("POST", "/v1/events", nested(64)), 400, "invalid_json");
    // 63 levels of data inside the event object: 64, the deepest the API accepts.
    const std::string id = submit_event(daemon, nested(63));
    const auto event = wait_for_event(daemon, id, all_delivered);
    CHECK(event.contains("data"));
    accepted = 1;
  }
  SECTION("a secret with an account that is not a string") {
    const auto e = expect_error(
        client.request("POST", "/v1/secrets", R"({"Name":"s","account":5})"), 400, "invalid_field");
    if (auto* f = e.at("info").as_object().if_contains("field")) CHECK(str(*f) == "account");
    expect_error(client.request("POST", "/v1/secrets", R"({"Name":"s","account":""})"), 400,
                 "invalid_field");
    // Nothing was created: the default account still has no secret.
    const json::object list = json_object(client.request("GET", "/v1/secrets"), 200);
    CHECK(list.at("data").as_array().empty());
  }
  SECTION("a body over api.max_body_bytes") {
    const std::string big =
        R"({"type":"sim.x","data":{"pad":")" + std::string(2000, 'x') + R"("}})";
    expect_error(client.request("POST", "/v1/events", big), 413, "body_too_large");
    // The limit is on the body: one just below it is accepted.
    const std::string fits =
        R"({"type":"sim.x","data":{"pad":")" + std::string(900, 'x') + R"("}})";
    REQUIRE(fits.size() < 1024);
    const std::string id = submit_event(daemon, fits);
    wait_for_event(daemon, id, all_delivered);
    accepted = 1;
  }

  // The daemon is still healthy and the bad requests created nothing: a good event submitted
  // now is delivered after the section's good events, and nothing else was.
  const std::string id = submit_event(daemon, R"({"type":"sim.x","data":{"after":true}})");
  wait_for_event(daemon, id, all_delivered);
  const auto received = fx.receiver().requests();
  REQUIRE(received.size() == accepted + 1);
  CHECK(received.back().body == R"({"after":true})");
}

TEST_CASE("api: GET /healthz answers 200", "[api]") {
  Fixture fx;
  Daemon daemon(fx.yaml({}));
  daemon.start();
  const json::object health = json_object(daemon.request("GET", "/healthz"), 200);
  CHECK(str(health.at("status")) == "ok");
}

TEST_CASE("api: secrets follow the KORE lifecycle", "[api]") {
  Fixture fx;
  Daemon daemon(fx.yaml({}));
  daemon.start();

  auto create = [&](const std::string& name) {
    return json_object(daemon.request("POST", "/v1/secrets", R"({"Name":")" + name + "\"}"), 201);
  };
  auto list = [&](const std::string& query = "") {
    auto res = daemon.request("GET", "/v1/secrets" + query);
    REQUIRE(res.ok());
    INFO("answer: " << res->body);
    REQUIRE(res->status == 200);
    return std::pair{parse_json(res->body).as_object(), res->body};
  };
  auto status_of = [&](const json::object& page, const std::string& id) -> std::string {
    for (const auto& s : page.at("data").as_array()) {
      if (s.at("id").as_string() == id) return str(s.at("status"));
    }
    return "(absent)";
  };

  // First: active at once.
  const json::object first = create("a");
  INFO("first: " << json::serialize(first));
  const std::string first_id = str(first.at("id"));
  CHECK(first_id.size() == 30);
  CHECK(matches(first_id, kSecretId));
  CHECK(str(first.at("name")) == "a");
  CHECK(str(first.at("status")) == "active");
  CHECK(str(first.at("secret")).starts_with("whsec_"));
  CHECK(str(first.at("secret")).size() >= 6 + 32);  // base64 of 24+ bytes
  CHECK(matches(str(first.at("last_modified")), kTimestamp));

  // Second: pending.
  const json::object second = create("a");
  const std::string second_id = str(second.at("id"));
  CHECK(second_id != first_id);
  CHECK(str(second.at("status")) == "pending");
  CHECK(str(second.at("secret")) != str(first.at("secret")));

  // Third: pending, and it replaces the second, which is disabled.
  const json::object third = create("a");
  const std::string third_id = str(third.at("id"));
  CHECK(str(third.at("status")) == "pending");
  {
    const auto [page, text] = list();
    CHECK(status_of(page, first_id) == "active");
    CHECK(status_of(page, second_id) == "disabled");
    CHECK(status_of(page, third_id) == "pending");
    // The values never appear in a list, nor a "secret" member.
    for (const auto* s : {&first, &second, &third}) {
      CHECK_THAT(text, !Catch::Contains(std::string(s->at("secret").as_string())));
    }
    for (const auto& item : page.at("data").as_array()) {
      CHECK_FALSE(item.as_object().contains("secret"));
      CHECK(str(item.at("name")) == "a");
      CHECK(matches(str(item.at("last_modified")), kTimestamp));
    }
  }
  {
    const auto [page, text] = list("?status=pending");
    const auto& data = page.at("data").as_array();
    REQUIRE(data.size() == 1);
    CHECK(str(data[0].at("id")) == third_id);
    CHECK(page.at("meta_data").at("count") == json::value(1));
  }
  {
    const auto [page, text] = list("?status=active");
    const auto& data = page.at("data").as_array();
    REQUIRE(data.size() == 1);
    CHECK(str(data[0].at("id")) == first_id);
  }

  // Activating the pending one disables the active one.
  const json::object activated = json_object(
      daemon.request("PATCH", "/v1/secrets/" + third_id, R"({"Status":"active"})"), 200);
  CHECK(str(activated.at("id")) == third_id);
  CHECK(str(activated.at("status")) == "active");
  CHECK_FALSE(activated.contains("secret"));
  {
    const auto [page, text] = list();
    CHECK(status_of(page, first_id) == "disabled");
    CHECK(status_of(page, second_id) == "disabled");
    CHECK(status_of(page, third_id) == "active");
  }

  // Disabled is for good.
  expect_error(daemon.request("PATCH", "/v1/secrets/" + first_id, R"({"Status":"active"})"), 409,
               "invalid_transition");
  expect_error(daemon.request("PATCH", "/v1/secrets/" + second_id, R"({"Status":"active"})"), 409,
               "invalid_transition");
  {
    const auto [page, text] = list();
    CHECK(status_of(page, first_id) == "disabled");
    CHECK(status_of(page, third_id) == "active");
  }

  // Activation is the only status change a client may ask for: other values are bad input.
  for (const char* body :
       {R"({"Status":"disabled"})", R"({"Status":"pending"})", R"({"Status":"bogus"})"}) {
    INFO(body);
    const auto e = expect_error(daemon.request("PATCH", "/v1/secrets/" + third_id, body), 400,
                                "invalid_field");
    CHECK(e.at("info").at("field") == json::value("Status"));
  }
  expect_error(daemon.request("PATCH", "/v1/secrets/" + third_id, "{}"), 400, "invalid_field");
  // A rename keeps the status.
  const json::object renamed =
      json_object(daemon.request("PATCH", "/v1/secrets/" + third_id, R"({"Name":"renamed"})"), 200);
  CHECK(str(renamed.at("name")) == "renamed");
  CHECK(str(renamed.at("status")) == "active");
  CHECK_FALSE(renamed.contains("secret"));
  {
    const auto [page, text] = list();
    CHECK(status_of(page, third_id) == "active");
  }

  // Unknown secrets, bad bodies.
  expect_error(daemon.request("PATCH", "/v1/secrets/whs_01jf8c4889ehtbzt0n9mzk1prc",
                              R"({"Status":"active"})"),
               404, "not_found");
  expect_error(daemon.request("POST", "/v1/secrets", R"({})"), 400, "invalid_field");
  expect_error(daemon.request("POST", "/v1/secrets", R"({"Name": )"), 400, "invalid_json");
  expect_error(daemon.request("GET", "/v1/secrets?status=bogus"), 400, "invalid_parameter");
  expect_error(daemon.request("POST", "/v1/secrets?account=no_such_account", R"({"Name":"x"})"),
               404, "not_found");
}

TEST_CASE("api: GET /v1/secrets pages with page_size and page_number", "[api]") {
  Fixture fx;
  Daemon daemon(fx.yaml({}));
  daemon.start();

  // active, disabled, pending: three secrets in all.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto res = daemon.request("POST", "/v1/secrets", R"({"Name":"s)" + std::to_string(i) + "\"}");
    ids.push_back(str(json_object(res, 201).at("id")));
  }
  auto get = [&](const std::string& target) {
    return json_object(daemon.request("GET", target), 200);
  };
  auto ids_of = [](const json::object& page) {
    std::set<std::string> out;
    for (const auto& s : page.at("data").as_array()) out.insert(str(s.at("id")));
    return out;
  };

  const json::object all = get("/v1/secrets");
  CHECK(all.at("data").as_array().size() == 3);
  CHECK(all.at("meta_data").at("count") == json::value(3));
  CHECK(all.at("meta_data").at("next_page_url").is_null());
  CHECK(all.at("meta_data").at("previous_page_url").is_null());

  const json::object page1 = get("/v1/secrets?page_size=2&page_number=1");
  INFO("page 1: " << json::serialize(page1));
  const json::object& meta1 = page1.at("meta_data").as_object();
  CHECK(page1.at("data").as_array().size() == 2);
  CHECK(meta1.at("count") == json::value(3));
  CHECK(meta1.at("page_size") == json::value(2));
  CHECK(meta1.at("page_number") == json::value(1));
  CHECK(meta1.at("previous_page_url").is_null());
  REQUIRE(meta1.at("next_page_url").is_string());

  // next_page_url is a working target.
  const json::object page2 = get(str(meta1.at("next_page_url")));
  INFO("page 2: " << json::serialize(page2));
  const json::object& meta2 = page2.at("meta_data").as_object();
  CHECK(page2.at("data").as_array().size() == 1);
  CHECK(meta2.at("count") == json::value(3));
  CHECK(meta2.at("page_number") == json::value(2));
  CHECK(meta2.at("next_page_url").is_null());
  REQUIRE(meta2.at("previous_page_url").is_string());
  CHECK(get("/v1/secrets?page_size=2&page_number=2") == page2);

  // The pages split the whole set without overlap; newest first.
  std::set<std::string> seen = ids_of(page1);
  for (const auto& id : ids_of(page2)) CHECK(seen.insert(id).second);
  CHECK(seen == std::set<std::string>(ids.begin(), ids.end()));
  CHECK(str(page2.at("data").as_array()[0].at("id")) == ids[0]);

  // previous_page_url leads back to page 1.
  CHECK(get(str(meta2.at("previous_page_url"))) == page1);

  // Past the end: empty.
  const json::object page3 = get("/v1/secrets?page_size=2&page_number=3");
  CHECK(page3.at("data").as_array().empty());
  CHECK(page3.at("meta_data").at("count") == json::value(3));

  // Bad parameters.
  for (const char* target : {"/v1/secrets?page_size=0", "/v1/secrets?page_size=-1",
                             "/v1/secrets?page_size=abc", "/v1/secrets?page_number=0"}) {
    INFO(target);
    const auto e = expect_error(daemon.request("GET", target), 400, "invalid_parameter");
    CHECK(e.at("info").as_object().contains("parameter"));
  }
}

}  // namespace korehook::testing
