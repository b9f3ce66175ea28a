// Process lifecycle of korehookd: SIGHUP reloads the configuration (or keeps the running one
// when the new file is invalid); SIGTERM exits 0 and removes the API socket.

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "integration/fixture.hpp"

namespace korehook::testing {
namespace {

namespace json = boost::json;

std::set<std::string> endpoint_ids(const json::object& event) {
  std::set<std::string> ids;
  for (const auto& d : event.at("deliveries").as_array()) {
    ids.insert(std::string(d.at("endpoint_id").as_string()));
  }
  return ids;
}

// Targets of the requests the receiver got from index `from` on.
std::multiset<std::string> targets_since(const TlsReceiver& receiver, std::size_t from) {
  std::multiset<std::string> targets;
  const auto requests = receiver.requests();
  for (std::size_t i = from; i < requests.size(); ++i) targets.insert(requests[i].target);
  return targets;
}

bool socket_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool healthy(Daemon& daemon) {
  auto res = daemon.request("GET", "/healthz");
  return res.ok() && res->status == 200;
}

}  // namespace

TEST_CASE("lifecycle: SIGHUP with a valid new config adds the new endpoint", "[lifecycle]") {
  Fixture fx;
  const EndpointYaml a = endpoint("ep_a", fx.receiver_url("/a"));
  const EndpointYaml b = endpoint("ep_b", fx.receiver_url("/b"));
  Daemon daemon(fx.yaml({a}));
  daemon.start();

  const std::string before = submit_event(daemon, R"({"type":"sim.x","data":{"n":1}})");
  const json::object before_event = wait_for_event(daemon, before, all_delivered);
  CHECK(endpoint_ids(before_event) == std::set<std::string>{"ep_a"});
  REQUIRE(fx.receiver().wait_for_requests(1, 10s));
  CHECK(targets_since(fx.receiver(), 0) == std::multiset<std::string>{"/a"});

  daemon.set_config(fx.yaml({a, b}));
  daemon.send_signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("reloaded config=", 10s));
  INFO("log:\n" << daemon.log_text());
  CHECK(daemon.running());

  const std::string after = submit_event(daemon, R"({"type":"sim.x","data":{"n":2}})");
  const json::object after_event = wait_for_event(daemon, after, all_delivered);
  INFO("event: " << json::serialize(after_event));
  CHECK(endpoint_ids(after_event) == std::set<std::string>{"ep_a", "ep_b"});
  CHECK(all_delivered(after_event));
  REQUIRE(fx.receiver().wait_for_requests(3, 10s));
  CHECK(targets_since(fx.receiver(), 1) == std::multiset<std::string>{"/a", "/b"});

  // The event from before the reload was not sent to the new endpoint.
  CHECK(endpoint_ids(get_event(daemon, before)) == std::set<std::string>{"ep_a"});
  CHECK(fx.receiver().request_count() == 3);
}

TEST_CASE("lifecycle: deliveries of an endpoint removed by SIGHUP are cancelled", "[lifecycle]") {
  Fixture fx;
  // ep_a fails, so its delivery waits for a retry when the endpoint disappears.
  fx.receiver().set_handler([](const ReceivedRequest& req) {
    Reply reply;
    reply.status = req.target == "/a" ? 500 : 200;
    return reply;
  });
  EndpointYaml a = endpoint("ep_a", fx.receiver_url("/a"));
  a.extra = "    retry: {max_attempts: 5, initial_delay: 1s, max_delay: 1s}\n";
  const EndpointYaml b = endpoint("ep_b", fx.receiver_url("/b"));
  Daemon daemon(fx.yaml({a, b}));
  daemon.start();

  const std::string id = submit_event(daemon, R"({"type":"sim.x","data":{"n":1}})");
  REQUIRE(fx.receiver().wait_for_requests(2, 10s));  // one attempt each

  daemon.set_config(fx.yaml({b}));
  daemon.send_signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("reloaded config=", 10s));

  // The retry of ep_a's delivery finds no endpoint: cancelled, not sent, not kept forever.
  const json::object event = wait_for_event(daemon, id, [](const json::object& e) {
    for (const auto& d : e.at("deliveries").as_array()) {
      if (d.at("endpoint_id") == "ep_a") return d.at("state") == "cancelled";
    }
    return false;
  });
  INFO("event: " << json::serialize(event) << "\nlog:\n" << daemon.log_text());
  for (const auto& d : event.at("deliveries").as_array()) {
    CHECK(d.at("state") == (d.at("endpoint_id") == "ep_a" ? "cancelled" : "delivered"));
  }
  CHECK(targets_since(fx.receiver(), 0) == std::multiset<std::string>{"/a", "/b"});

  // A restart does not bring it back.
  daemon.restart();
  const json::object again = get_event(daemon, id);
  int cancelled = 0;
  for (const auto& d : again.at("deliveries").as_array()) {
    if (d.at("endpoint_id") == "ep_a" && d.at("state") == "cancelled") ++cancelled;
  }
  CHECK(cancelled == 1);
}

TEST_CASE("lifecycle: SIGHUP with an invalid config keeps the running one", "[lifecycle]") {
  Fixture fx;
  const EndpointYaml a = endpoint("ep_a", fx.receiver_url("/a"));
  const EndpointYaml b = endpoint("ep_b", fx.receiver_url("/b"));
  Daemon daemon(fx.yaml({a}));
  daemon.start();

  // The new file adds ep_b but also has a mistake: none of it may take effect.
  daemon.set_config(fx.yaml({a, b}, "delivery_typo: true\n"));
  daemon.send_signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("reload failed", 10s));
  const std::string log = daemon.log_text();
  INFO("log:\n" << log);
  // The log says why, with the position and the key.
  CHECK_THAT(log, Catch::Contains(daemon.config_path() + ":"));
  CHECK_THAT(log, Catch::Contains("delivery_typo: unknown key 'delivery_typo'"));
  CHECK_THAT(log, !Catch::Contains("reloaded config="));

  CHECK(daemon.running());
  CHECK(healthy(daemon));

  const std::string id = submit_event(daemon, R"({"type":"sim.x","data":{"n":1}})");
  const json::object event = wait_for_event(daemon, id, all_delivered);
  INFO("event: " << json::serialize(event));
  CHECK(endpoint_ids(event) == std::set<std::string>{"ep_a"});
  CHECK(all_delivered(event));
  REQUIRE(fx.receiver().wait_for_requests(1, 10s));
  CHECK(targets_since(fx.receiver(), 0) == std::multiset<std::string>{"/a"});

  // Fixing the file and signalling again applies it.
  daemon.set_config(fx.yaml({a, b}));
  daemon.send_signal(SIGHUP);
  REQUIRE(daemon.wait_for_log("reloaded config=", 10s));
  const std::string later = submit_event(daemon, R"({"type":"sim.x","data":{"n":2}})");
  CHECK(endpoint_ids(wait_for_event(daemon, later, all_delivered)) ==
        std::set<std::string>{"ep_a", "ep_b"});
}

TEST_CASE("lifecycle: SIGTERM exits 0 and removes the socket", "[lifecycle]") {
  Fixture fx;
  Daemon daemon(fx.yaml_one_endpoint());
  daemon.start();
  REQUIRE(socket_exists(daemon.socket_path()));

  const std::string id = submit_event(daemon, R"({"type":"sim.x","data":{}})");
  wait_for_event(daemon, id, all_delivered);

  CHECK(daemon.terminate() == 0);
  INFO("log:\n" << daemon.log_text());
  CHECK_FALSE(daemon.running());
  CHECK_FALSE(socket_exists(daemon.socket_path()));
  CHECK_THAT(daemon.log_text(), Catch::Contains("korehookd stopped"));

  // The store is intact: a restart finds the event, delivered, and sends nothing again.
  daemon.start();
  const json::object event = get_event(daemon, id);
  CHECK(first_delivery_state(event) == "delivered");
  const std::string next = submit_event(daemon, R"({"type":"sim.x","data":{"next":1}})");
  wait_for_event(daemon, next, all_delivered);
  CHECK(fx.receiver().request_count() == 2);
}

}  // namespace korehook::testing
