// One dead endpoint must not hold up the others (SPEC §4): its deliveries take at most its
// share of the in-memory queue, and claims from the store leave it out while it holds that.

#include <algorithm>
#include <catch2/catch.hpp>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "integration/fixture.hpp"

namespace korehook::testing {
namespace {

// `yaml` (Fixture::yaml) with `line` added under `delivery:`, e.g. "  memory_queue: 16\n".
std::string with_delivery_setting(std::string yaml, const std::string& line) {
  const std::string grace = "  shutdown_grace: 5s\n";
  const auto at = yaml.find(grace);
  REQUIRE(at != std::string::npos);
  yaml.insert(at + grace.size(), line);
  return yaml;
}

// An endpoint at `dead` (accepts TCP, never answers): every attempt times out after 1 s, and
// its retries stay due within the in-memory horizon, so it keeps holding its share.
EndpointYaml dead_endpoint(const BlackHole& dead) {
  EndpointYaml ep = endpoint(
      "ep_dead", "https://localhost:" + std::to_string(dead.port()) + "/hooks", "[\"dead.*\"]");
  ep.extra =
      "    connect_timeout: 1s\n    max_in_flight: 2\n"
      "    retry: {max_attempts: 20, initial_delay: 2s, max_delay: 2s}\n";
  return ep;
}

// POST /v1/events/batch of `n` events of `type`; the answer's data (one item per event).
boost::json::array submit_batch(Daemon& daemon, const std::string& type, int n) {
  std::string batch = R"({"events":[)";
  for (int i = 0; i < n; ++i) {
    batch += (i == 0 ? "" : ",");
    batch += R"({"type":")" + type + R"(","data":{"n":)" + std::to_string(i) + "}}";
  }
  batch += "]}";
  auto answer = daemon.request("POST", "/v1/events/batch", batch);
  REQUIRE(answer.ok());
  REQUIRE(answer->status == 202);
  auto data = parse_json(answer->body).at("data").as_array();
  REQUIRE(data.size() == static_cast<std::size_t>(n));
  return data;
}

// A running daemon with a dead endpoint (dead.* events) and a healthy one (ok.* events, to
// the fixture's receiver); 16 deliveries in memory at most, 4 per endpoint.
struct DeadAndHealthy {
  Fixture f;
  BlackHole dead;
  Daemon daemon{with_delivery_setting(
      f.yaml({dead_endpoint(dead), endpoint("ep_ok", f.receiver_url("/ok"), "[\"ok.*\"]")}),
      "  memory_queue: 16\n")};
  DeadAndHealthy() { daemon.start(); }
};

TEST_CASE("isolation: a dead endpoint's backlog does not stall a healthy endpoint",
          "[delivery][isolation]") {
  // The dead endpoint's retries stay due within the in-memory horizon, so the old shared
  // queue kept them all: its 40 deliveries would fill memory.
  DeadAndHealthy setup;
  Fixture& f = setup.f;
  Daemon& daemon = setup.daemon;

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
  CHECK(setup.dead.connections_accepted() >= 1);
}

TEST_CASE("isolation: delivery.max_in_flight bounds the attempts in flight over all endpoints",
          "[delivery][isolation]") {
  Fixture f;
  f.receiver().set_handler([](const ReceivedRequest&) { return Reply::hang(); });
  std::vector<EndpointYaml> eps;
  for (const char* id : {"ep_a", "ep_b", "ep_c"}) {
    EndpointYaml ep = endpoint(id, f.receiver_url(std::string("/") + id));
    ep.extra = "    max_in_flight: 4\n    read_timeout: 30s\n";
    eps.push_back(ep);
  }
  Daemon daemon(with_delivery_setting(f.yaml(eps), "  max_in_flight: 2\n"));
  daemon.start();

  // 4 events x 3 endpoints: 12 deliveries, each endpoint allowing 4 at once.
  std::vector<std::string> events;
  for (int i = 0; i < 4; ++i)
    events.push_back(submit_event(daemon, R"({"type":"sim.x","data":{"n":1}})"));
  REQUIRE(f.receiver().wait_for_requests(2, 10s));
  // The receiver never answers: had the limit not held, more would have arrived by now.
  CHECK_FALSE(f.receiver().wait_for_requests(3, 1s));
  CHECK(f.receiver().request_count() == 2);

  // Answered from now on: every delivery goes through, two at a time.
  f.receiver().set_handler([](const ReceivedRequest&) { return Reply{}; });
  f.receiver().close_connections();
  for (const auto& id : events) {
    const auto event = wait_for_event(
        daemon, id, [](const auto& e) { return all_delivered(e); }, 20s);
    INFO("event: " << boost::json::serialize(event));
    CHECK(all_delivered(event));
  }
}

// Counts the log lines that contain every one of `needles`.
std::size_t count_lines(const std::string& log, std::initializer_list<std::string_view> needles) {
  std::size_t n = 0;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string_view line(log.data() + start, end - start);
    if (std::all_of(needles.begin(), needles.end(),
                    [&](std::string_view x) { return line.find(x) != std::string_view::npos; })) {
      ++n;
    }
    start = end + 1;
  }
  return n;
}

TEST_CASE("isolation: a target left out of claims costs no claim when nothing else is stored",
          "[delivery][isolation]") {
  Fixture f;
  // Slow enough that memory fills and most of the backlog waits in the store.
  f.receiver().set_handler([](const ReceivedRequest&) { return Reply{.delay = 2ms}; });
  EndpointYaml ep = endpoint("ep_one", f.receiver_url("/one"));
  ep.extra = "    max_in_flight: 1\n";
  // 16 deliveries in memory at most, 4 per endpoint: claims of at most 4, the endpoint left
  // out of claims while it holds 2 or more.
  Daemon daemon(with_delivery_setting(f.yaml({ep}), "  memory_queue: 16\n"));
  daemon.start();

  constexpr int kEvents = 120;
  const auto data = submit_batch(daemon, "one.x", kEvents);
  REQUIRE(f.receiver().wait_for_requests(kEvents, 30s));
  wait_for_delivery_state(daemon, std::string(data.back().at("id").as_string()), "delivered");

  // Each time the endpoint holds its half share, a claim leaving it out would find nothing:
  // one is made to learn that, the others are not.
  const std::string log = daemon.log_text();
  const std::size_t claims = count_lines(log, {"claim limit="});
  const std::size_t empty = count_lines(log, {"claim limit=", "left_out=1 claimed=0"});
  const std::size_t not_made = count_lines(log, {"claim not made"});
  INFO("claims " << claims << ", of which found nothing while leaving the endpoint out " << empty
                 << "; not made " << not_made);
  CHECK(claims >= kEvents / 4);  // the backlog came from the store, at most 4 at a time
  CHECK(empty <= 2);
  CHECK(not_made >= kEvents / 8);
  CHECK(f.receiver().request_count() == kEvents);
}

TEST_CASE("isolation: work stored for another target is claimed while one is left out",
          "[delivery][isolation]") {
  DeadAndHealthy setup;
  Daemon& daemon = setup.daemon;

  // The dead endpoint's backlog waits in the store; a claim leaving it out finds nothing.
  submit_batch(daemon, "dead.x", 20);
  REQUIRE(daemon.wait_for_log("left_out=1 claimed=0", 20s));
  // Now more than a share for the healthy endpoint: most of it is stored, and claimed.
  const auto ok_events = submit_batch(daemon, "ok.x", 40);
  for (const auto& item : ok_events) {
    wait_for_delivery_state(daemon, std::string(item.at("id").as_string()), "delivered", 20s);
  }
  CHECK(setup.f.receiver().request_count() == 40);
}

}  // namespace
}  // namespace korehook::testing
