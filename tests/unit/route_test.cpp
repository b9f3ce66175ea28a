#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "korehook/route/filter.hpp"

using namespace korehook::route;  // NOLINT(google-build-using-namespace)

TEST_CASE("type_matches: star, prefix and exact patterns", "[route]") {
  CHECK(type_matches("*", "sim.activated"));
  CHECK(type_matches("*", "x"));
  CHECK(type_matches("sim.*", "sim.activated"));
  CHECK(type_matches("sim.*", "sim.usage.threshold"));
  CHECK_FALSE(type_matches("sim.*", "sim"));
  CHECK_FALSE(type_matches("sim.*", "simcard.activated"));
  CHECK_FALSE(type_matches("sim.*", "esim.activated"));
  CHECK(type_matches("sim.usage.*", "sim.usage.threshold"));
  CHECK_FALSE(type_matches("sim.usage.*", "sim.activated"));
  CHECK(type_matches("sim.activated", "sim.activated"));
  CHECK_FALSE(type_matches("sim.activated", "sim.activated.v2"));
  CHECK_FALSE(type_matches("sim.activated", "SIM.activated"));
  CHECK_FALSE(type_matches("sim*", "sim.activated"));  // `*` is special only alone or after `.`
}

TEST_CASE("matches_any", "[route]") {
  const std::vector<std::string> patterns{"sim.*", "com.kore.eventstreams.test.event"};
  CHECK(matches_any(patterns, "sim.suspended"));
  CHECK(matches_any(patterns, "com.kore.eventstreams.test.event"));
  CHECK_FALSE(matches_any(patterns, "device.online"));
  CHECK_FALSE(matches_any({}, "sim.suspended"));
}

TEST_CASE("validate_event_type", "[route]") {
  CHECK_FALSE(validate_event_type("sim.activated"));
  CHECK_FALSE(validate_event_type("com.kore.eventstreams.test.event"));
  CHECK_FALSE(validate_event_type("a"));
  CHECK_FALSE(validate_event_type("Ns:type/sub_part-2.v1"));
  CHECK_FALSE(validate_event_type(std::string(200, 'a')));
  CHECK(validate_event_type(""));
  CHECK(validate_event_type(std::string(201, 'a')));
  for (const char* bad : {"sim activated", "sim.*", "*", "sim\n", "sim,x", "é", "a\\b", "a?b"}) {
    INFO(bad);
    CHECK(validate_event_type(bad));
  }
}

TEST_CASE("validate_pattern", "[route]") {
  CHECK_FALSE(validate_pattern("*"));
  CHECK_FALSE(validate_pattern("sim.*"));
  CHECK_FALSE(validate_pattern("sim.usage.*"));
  CHECK_FALSE(validate_pattern("sim.activated"));
  for (const char* bad :
       {"", ".*", "sim*", "*.sim", "sim.**", "sim.*.x", "**", "sim .*", "sim.*x"}) {
    INFO(bad);
    CHECK(validate_pattern(bad));
  }
  const auto message = validate_pattern("sim*");
  REQUIRE(message);
  CHECK(message->find("sim*") != std::string::npos);
}
