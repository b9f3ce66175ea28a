// End to end through the real korehookd: retries, redirects, Retry-After, timeouts and
// network errors, each recorded as an attempt with the right error class.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>

#include "integration/fixture.hpp"

namespace korehook::testing {
namespace {

using Catch::Matchers::Contains;

constexpr std::string_view kEvent = R"({"type":"sim.activated","data":{"n":1}})";

// Runs a daemon with one endpoint (`url`, extra YAML `extra`), submits one event, waits until
// its delivery failed and returns its attempts.
boost::json::array attempts_until_failed(const Fixture& f, const std::string& url,
                                         const std::string& extra,
                                         std::chrono::milliseconds timeout = 10s) {
  EndpointYaml ep;
  ep.url = url;
  ep.extra = extra;
  Daemon daemon(f.yaml({ep}));
  daemon.start();
  const std::string id = submit_event(daemon, std::string(kEvent));
  return first_delivery_attempts(wait_for_delivery_state(daemon, id, "failed", timeout));
}

TEST_CASE("delivery: 500, 500, 200 is delivered on the third attempt with one token",
          "[delivery][retry]") {
  Fixture f;
  std::atomic<int> calls{0};
  f.receiver().set_handler([&calls](const ReceivedRequest&) {
    return ++calls <= 2 ? Reply{.status = 500, .body = "busy"} : Reply{};
  });
  Daemon daemon(f.yaml_one_endpoint());
  daemon.start();

  const std::string id = submit_event(daemon, std::string(kEvent));
  const auto event = wait_for_delivery_state(daemon, id, "delivered");

  const auto attempts = first_delivery_attempts(event);
  REQUIRE(attempts.size() == 3);
  const int expected_status[] = {500, 500, 200};
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("attempt " << i + 1);
    CHECK(attempts[i].at("number").to_number<int>() == static_cast<int>(i) + 1);
    CHECK(attempts[i].at("status_code").to_number<int>() == expected_status[i]);
    if (i < 2) {
      CHECK(attempts[i].at("error").as_string() == "http");
    } else {
      CHECK(attempts[i].at("error").is_null());
    }
  }

  const auto requests = f.receiver().requests();
  REQUIRE(requests.size() == 3);
  const std::string token(deliveries_of(event)[0].at("token").as_string());
  for (const auto& request : requests) {
    INFO("request " << request.index);
    CHECK(header_or_absent(request, "kore-idempotency-token") == token);
    CHECK(header_or_absent(request, "webhook-id") == token);
    CHECK(request.body == requests[0].body);
    CHECK(request.target == "/hooks");
  }
}

TEST_CASE("delivery: a retry kept in memory does not stall work queued behind it",
          "[delivery][retry]") {
  // max_in_flight 1: the second event waits in the target's queue while the first attempt
  // is in flight; that attempt then fails and its retry is scheduled in memory.
  Fixture f;
  std::promise<void> second_submitted;
  auto released = second_submitted.get_future().share();
  std::atomic<int> calls{0};
  f.receiver().set_handler([&calls, released](const ReceivedRequest&) {
    if (++calls == 1) {
      released.wait_for(10s);
      return Reply{.status = 500};
    }
    return Reply{};
  });
  Daemon daemon(f.yaml_one_endpoint("    max_in_flight: 1\n"));
  daemon.start();

  const std::string first = submit_event(daemon, std::string(kEvent));
  REQUIRE(f.receiver().wait_for_requests(1, 10s));
  const std::string second = submit_event(daemon, std::string(kEvent));
  second_submitted.set_value();

  wait_for_delivery_state(daemon, second, "delivered");
  const auto event = wait_for_delivery_state(daemon, first, "delivered");
  CHECK(first_delivery_attempts(event).size() == 2);
}

TEST_CASE("delivery: an endpoint that always answers 500 fails after max_attempts",
          "[delivery][retry]") {
  Fixture f;
  f.receiver().set_handler([](const ReceivedRequest&) { return Reply{.status = 500}; });

  const auto attempts =
      attempts_until_failed(f, f.receiver_url(), "    retry: {max_attempts: 3}\n");

  REQUIRE(attempts.size() == 3);
  for (const auto& attempt : attempts) {
    CHECK(attempt.at("status_code").to_number<int>() == 500);
    CHECK(attempt.at("error").as_string() == "http");
  }
  CHECK(f.receiver().request_count() == 3);
}

TEST_CASE("delivery: a 302 is a failure and its Location is never followed", "[delivery][retry]") {
  Fixture f;
  const std::string location = f.receiver_url("/elsewhere");
  f.receiver().set_handler([&location](const ReceivedRequest& request) {
    if (request.target != "/hooks") return Reply{};
    return Reply{.status = 302, .headers = {{"location", location}}};
  });

  const auto attempts =
      attempts_until_failed(f, f.receiver_url(), "    retry: {max_attempts: 1}\n");

  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].at("status_code").to_number<int>() == 302);
  CHECK(attempts[0].at("error").as_string() == "http");
  const auto requests = f.receiver().requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/hooks");
}

TEST_CASE("delivery: 503 with Retry-After: 1 delays the next attempt by a second",
          "[delivery][retry]") {
  Fixture f;
  std::atomic<int> calls{0};
  f.receiver().set_handler([&calls](const ReceivedRequest&) {
    if (++calls == 1) return Reply{.status = 503, .headers = {{"retry-after", "1"}}};
    return Reply{};
  });
  // Without Retry-After the backoff would be at most initial_delay (100 ms).
  Daemon daemon(f.yaml_one_endpoint("    retry: {max_attempts: 3, initial_delay: 100ms}\n"));
  daemon.start();

  const std::string id = submit_event(daemon, std::string(kEvent));
  const auto event = wait_for_delivery_state(daemon, id, "delivered");

  const auto attempts = first_delivery_attempts(event);
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[0].at("status_code").to_number<int>() == 503);
  CHECK(attempts[0].at("error").as_string() == "http");
  CHECK(attempts[1].at("status_code").to_number<int>() == 200);

  const auto requests = f.receiver().requests();
  REQUIRE(requests.size() == 2);
  const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(requests[1].received_at -
                                                                         requests[0].received_at);
  INFO("gap between the attempts: " << gap.count() << " ms");
  CHECK(gap >= 900ms);
  CHECK(header_or_absent(requests[1], "kore-idempotency-token") ==
        header_or_absent(requests[0], "kore-idempotency-token"));
}

TEST_CASE("delivery: a response slower than read_timeout is a timeout", "[delivery][timeout]") {
  Fixture f;
  f.receiver().set_handler([](const ReceivedRequest&) { return Reply{.delay = 1s}; });

  const auto attempts = attempts_until_failed(
      f, f.receiver_url(), "    read_timeout: 300ms\n    retry: {max_attempts: 1}\n");

  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].at("error").as_string() == "timeout");
  CHECK(attempts[0].at("status_code").is_null());
  CHECK(attempts[0].at("duration_ms").to_number<std::int64_t>() >= 290);
  CHECK(f.receiver().request_count() == 1);  // the request went out; the answer came too late
}

TEST_CASE("delivery: a peer that never completes the TLS handshake is a timeout",
          "[delivery][timeout]") {
  Fixture f;
  BlackHole hole;

  const auto attempts =
      attempts_until_failed(f, "https://localhost:" + std::to_string(hole.port()) + "/hooks",
                            "    connect_timeout: 300ms\n    retry: {max_attempts: 1}\n");

  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].at("error").as_string() == "timeout");
  CHECK(attempts[0].at("status_code").is_null());
  CHECK(hole.connections_accepted() >= 1);
}

TEST_CASE("delivery: a refused connection is a connect error", "[delivery][timeout]") {
  Fixture f;
  ClosedPort closed;

  const auto attempts =
      attempts_until_failed(f, "https://localhost:" + std::to_string(closed.port()) + "/hooks",
                            "    retry: {max_attempts: 1}\n");

  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].at("error").as_string() == "connect");
  CHECK(attempts[0].at("status_code").is_null());
  CHECK_THAT(std::string(attempts[0].at("error_detail").as_string()),
             Contains(std::to_string(closed.port())));
}

TEST_CASE("delivery: a host name that does not resolve is a dns error", "[delivery][timeout]") {
  Fixture f;

  const auto attempts =
      // Leading hyphen: glibc refuses the name without a DNS query (nothing leaves the machine).
      attempts_until_failed(f, "https://-nonexistent.invalid/hooks",
                            "    connect_timeout: 2s\n    retry: {max_attempts: 1}\n", 15s);

  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].at("error").as_string() == "dns");
  CHECK(attempts[0].at("status_code").is_null());
  CHECK_THAT(std::string(attempts[0].at("error_detail").as_string()),
             Contains("nonexistent.invalid"));
}

}  // namespace
}  // namespace korehook::testing
