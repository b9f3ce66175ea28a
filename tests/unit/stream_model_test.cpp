// Event Streams in the pure core: the CloudEvents envelope, destination defaults, and the
// YAML keys event_streams, destinations and rules.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "korehook/config/config.hpp"
#include "korehook/model/stream.hpp"

using namespace korehook;
using Catch::Matchers::Contains;

namespace {

std::string error_of(std::string_view yaml) {
  try {
    (void)config::parse_config(yaml, "korehook.yaml");
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  FAIL("expected a ConfigError for:\n" << yaml);
  return {};
}

CloudEvent event(std::string id, std::string content_type, std::string body) {
  CloudEvent e;
  e.id = std::move(id);
  e.time = 1'700'000'000'123;
  e.type = "sim.activated";
  e.source = "kore-events";
  e.content_type = std::move(content_type);
  e.body = std::move(body);
  return e;
}

}  // namespace

TEST_CASE("streams: a CloudEvent carries the event's JSON as data, bytes kept", "[streams]") {
  CloudEvent e = event("evt_1", "application/json", R"({"b":1,"a":[1.50,"\u00e9"]})");
  e.dataschema = dataschema_for(e.type, std::string("2"));
  const std::string text = cloud_event_json(e);
  CHECK(text ==
        R"({"id":"evt_1","time":"2023-11-14T22:13:20.123Z","type":"sim.activated",)"
        R"("source":"kore-events","dataschema":"/schemas/sim.activated/2","specversion":"1.0",)"
        R"("datacontenttype":"application/json","data":{"b":1,"a":[1.50,"\u00e9"]}})");
  CHECK_FALSE(dataschema_for("x", std::nullopt).has_value());
}

TEST_CASE("streams: a body that is not JSON travels as a JSON string", "[streams]") {
  const std::string form =
      cloud_event_json(event("evt_2", "application/x-www-form-urlencoded", "a=1&b=\"2\""));
  const auto parsed = boost::json::parse(form);
  CHECK(parsed.at("data") == "a=1&b=\"2\"");
  CHECK_FALSE(parsed.as_object().contains("dataschema"));
  // A JSON content type whose body is not JSON is a string too: the array stays valid.
  const std::string broken = cloud_events_array(
      {event("a", "application/json", "{oops"), event("b", "application/cloud+json", "[1]")});
  const auto array = boost::json::parse(broken).as_array();
  REQUIRE(array.size() == 2);
  CHECK(array[0].at("data") == "{oops");
  CHECK(array[1].at("data").as_array().size() == 1);
  CHECK(cloud_events_array({}) == "[]");
}

TEST_CASE("streams: destination defaults follow KORE", "[streams]") {
  const EndpointSettings s = destination_defaults();
  CHECK(s.event_types.empty());
  CHECK(destination_timeout(s) == Millis{5'000});
  CHECK(s.connect_timeout == Millis{2'000});
  CHECK(s.retry.max_attempts == 4);
  EndpointSettings t;
  set_destination_timeout(t, Millis{1'001});
  CHECK(destination_timeout(t) == Millis{1'001});
  CHECK(validate_schema_version("1.2-beta") == std::nullopt);
  CHECK(validate_schema_version("").has_value());
  CHECK(validate_schema_version("a b").has_value());
  CHECK(validate_rule_name("").has_value());
  CHECK(parse_rule_status("disabled") == RuleStatus::kDisabled);
  CHECK_FALSE(parse_rule_status("off").has_value());
}

TEST_CASE("streams: an attempt's timeouts: a destination's bounds the whole attempt",
          "[streams][timeout]") {
  EndpointSettings d = destination_defaults();
  set_destination_timeout(d, Millis{1'000});
  const AttemptTimeouts dt = attempt_timeouts(d, EndpointKind::kDestination);
  CHECK(dt.total == Millis{1'000});
  CHECK(dt.connect == Millis{400});  // each step of connecting: a second address gets a turn
  CHECK(dt.read == Millis{1'000});   // the answer: whatever the connect left

  EndpointSettings e;
  e.connect_timeout = Millis{2'000};
  e.read_timeout = Millis{7'000};
  const AttemptTimeouts et = attempt_timeouts(e, EndpointKind::kEndpoint);
  CHECK(et.connect == Millis{2'000});
  CHECK(et.read == Millis{7'000});
  CHECK(et.total == Millis{9'000});
}

TEST_CASE("config: event_streams, destinations and rules", "[config][streams]") {
  const config::Config c = config::parse_config(
      "event_streams:\n"
      "  source: my-source\n"
      "  batch:\n"
      "    linger: 250ms\n"
      "    max_events: 20\n"
      "destinations:\n"
      "  - id: dst_a\n"
      "    name: Stream A\n"
      "    url: https://stream.example.com/in\n"
      "    timeout: 3s\n"
      "    retry: {max_attempts: 2}\n"
      "    headers: {X-Key: k}\n"
      "rules:\n"
      "  - id: rule_a\n"
      "    name: A\n"
      "    destination: dst_a\n"
      "    status: disabled\n"
      "    event_types: [\"sim.*\"]\n"
      "    schema_version: \"1\"\n",
      "k.yaml");
  CHECK(c.streams.source == "my-source");
  CHECK(c.streams.linger == Millis{250});
  CHECK(c.streams.max_events == 20);
  REQUIRE(c.destinations.size() == 1);
  CHECK(c.destinations[0].description == "Stream A");
  CHECK(destination_timeout(c.destinations[0]) == Millis{3'000});
  CHECK(c.destinations[0].retry.max_attempts == 2);
  CHECK(c.destinations[0].event_types.empty());
  CHECK(c.destinations[0].headers.size() == 1);
  REQUIRE(c.rules.size() == 1);
  CHECK(c.rules[0].status == RuleStatus::kDisabled);
  CHECK(c.rules[0].schema_version == std::optional<std::string>("1"));
  CHECK(c.rules[0].source == EndpointSource::kConfig);

  const config::Config defaults = config::parse_config("", "k.yaml");
  CHECK(defaults.streams.source == "kore-events");
  CHECK(defaults.streams.linger == Millis{1'000});
  CHECK(defaults.streams.max_events == 50);
}

TEST_CASE("config: bad Event Streams keys name the path", "[config][streams]") {
  CHECK_THAT(error_of("event_streams:\n  batch:\n    max_events: 51\n"),
             Contains("korehook.yaml:3:17: event_streams.batch.max_events"));
  CHECK_THAT(error_of("destinations:\n  - id: d\n    url: https://x.example/\n"),
             Contains("destinations[0].name: required key is missing"));
  CHECK_THAT(error_of("destinations:\n  - id: d\n    name: n\n    url: https://x.example/\n"
                      "    type: sqs\n"),
             Contains("destinations[0].type"));
  CHECK_THAT(error_of("rules:\n  - id: r\n    name: n\n    destination: d\n"),
             Contains("rules[0].event_types: required key is missing"));
  CHECK_THAT(error_of("endpoints:\n  - id: x\n    url: https://x.example/\n"
                      "destinations:\n  - id: x\n    name: n\n    url: https://x.example/\n"),
             Contains("duplicate id 'x'"));
}
