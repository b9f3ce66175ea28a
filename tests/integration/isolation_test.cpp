// One dead endpoint must not hold up the others (SPEC §4): its deliveries take at most its
// share of the in-memory queue, and claims from the store leave it out while it holds that.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "integration/fixture.hpp"

namespace korehook::testing {
namespace {

TEST_CASE("isolation: a dead endpoint's backlog does not stall a healthy endpoint",
          "[delivery][isolation]") {
  Fixture f;
  BlackHole dead;  // accepts TCP, never answers: every attempt times out
  EndpointYaml dead_ep = endpoint(
      "ep_dead", "https://localhost:" + std::to_string(dead.port()) + "/hooks", "[\"dead.*\"]");
  // Retries stay due within the in-memory horizon, so the old shared queue kept them all.
  dead_ep.extra =
      "    connect_timeout: 1s\n    max_in_flight: 2\n"
      "    retry: {max_attempts: 20, initial_delay: 2s, max_delay: 2s}\n";
  const EndpointYaml ok_ep = endpoint("ep_ok", f.receiver_url("/ok"), "[\"ok.*\"]");
  // 16 deliveries in memory at most, 4 per endpoint: the dead endpoint's 40 would fill it.
  std::string yaml = f.yaml({dead_ep, ok_ep});
  const std::string grace = "  shutdown_grace: 5s\n";
  REQUIRE(yaml.find(grace) != std::string::npos);
  yaml.insert(yaml.find(grace) + grace.size(), "  memory_queue: 16\n");
  Daemon daemon(yaml);
  daemon.start();

  std::vector<std::string> dead_events;
  for (int i = 0; i < 40; ++i) {
    dead_events.push_back(
        submit_event(daemon, R"({"type":"dead.x","data":{"n":)" + std::to_string(i) + "}}"));
  }
  std::vector<std::string> ok_events;
  for (int i = 0; i < 40; ++i) {
    ok_events.push_back(
        submit_event(daemon, R"({"type":"ok.x","data":{"n":)" + std::to_string(i) + "}}"));
  }

  // Every healthy delivery arrives while the dead endpoint's are all still waiting.
  for (const auto& id : ok_events) wait_for_delivery_state(daemon, id, "delivered", 20s);
  REQUIRE(f.receiver().wait_for_requests(40, 10s));
  for (const auto& id : dead_events) {
    const std::string state = first_delivery_state(get_event(daemon, id));
    INFO("dead event " << id);
    CHECK((state == "pending" || state == "in_flight"));
  }
  CHECK(dead.connections_accepted() >= 1);
}

}  // namespace
}  // namespace korehook::testing
