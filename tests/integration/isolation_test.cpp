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
  std::string yaml = f.yaml(eps);
  const std::string grace = "  shutdown_grace: 5s\n";
  REQUIRE(yaml.find(grace) != std::string::npos);
  yaml.insert(yaml.find(grace) + grace.size(), "  max_in_flight: 2\n");
  Daemon daemon(yaml);
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
  std::string yaml = f.yaml({ep});
  const std::string grace = "  shutdown_grace: 5s\n";
  REQUIRE(yaml.find(grace) != std::string::npos);
  yaml.insert(yaml.find(grace) + grace.size(), "  memory_queue: 16\n");
  Daemon daemon(yaml);
  daemon.start();

  constexpr int kEvents = 120;
  std::string batch = R"({"events":[)";
  for (int i = 0; i < kEvents; ++i) {
    batch += (i == 0 ? "" : ",");
    batch += R"({"type":"one.x","data":{"n":)" + std::to_string(i) + "}}";
  }
  batch += "]}";
  auto answer = daemon.request("POST", "/v1/events/batch", batch);
  REQUIRE(answer.ok());
  REQUIRE(answer->status == 202);
  const auto data = parse_json(answer->body).at("data").as_array();
  REQUIRE(data.size() == kEvents);
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
  Fixture f;
  BlackHole dead;  // accepts TCP, never answers: the dead endpoint keeps holding its share
  EndpointYaml dead_ep = endpoint(
      "ep_dead", "https://localhost:" + std::to_string(dead.port()) + "/hooks", "[\"dead.*\"]");
  dead_ep.extra =
      "    connect_timeout: 1s\n    max_in_flight: 2\n"
      "    retry: {max_attempts: 20, initial_delay: 2s, max_delay: 2s}\n";
  const EndpointYaml ok_ep = endpoint("ep_ok", f.receiver_url("/ok"), "[\"ok.*\"]");
  std::string yaml = f.yaml({dead_ep, ok_ep});
  const std::string grace = "  shutdown_grace: 5s\n";
  REQUIRE(yaml.find(grace) != std::string::npos);
  yaml.insert(yaml.find(grace) + grace.size(), "  memory_queue: 16\n");
  Daemon daemon(yaml);
  daemon.start();

  auto submit_batch = [&](const std::string& type, int n) {
    std::string batch = R"({"events":[)";
    for (int i = 0; i < n; ++i) {
      batch += (i == 0 ? "" : ",");
      batch += R"({"type":")" + type + R"(","data":{"n":)" + std::to_string(i) + "}}";
    }
    batch += "]}";
    auto answer = daemon.request("POST", "/v1/events/batch", batch);
    REQUIRE(answer.ok());
    REQUIRE(answer->status == 202);
    return parse_json(answer->body).at("data").as_array();
  };
  // The dead endpoint's backlog waits in the store; a claim leaving it out finds nothing.
  submit_batch("dead.x", 20);
  REQUIRE(daemon.wait_for_log("left_out=1 claimed=0", 20s));
  // Now more than a share for the healthy endpoint: most of it is stored, and claimed.
  const auto ok_events = submit_batch("ok.x", 40);
  for (const auto& item : ok_events) {
    wait_for_delivery_state(daemon, std::string(item.at("id").as_string()), "delivered", 20s);
  }
  CHECK(f.receiver().request_count() == 40);
}

}  // namespace
}  // namespace korehook::testing
