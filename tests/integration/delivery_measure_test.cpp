// Measurements, not assertions on time (STYLE rule 12): latency from submit to the request at
// the receiver on an idle daemon, and deliveries per second to one receiver. Hidden from the
// default run; run with `integration_tests "[measure]"`. The only assertions are that every
// event arrived, once.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/fixture.hpp"

namespace korehook::testing {
namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.5);
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

TEST_CASE("delivery: submit-to-receiver latency and deliveries per second", "[.][measure]") {
  constexpr int kLatencyEvents = 50;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  constexpr int kBulkEvents = kThreads * kPerThread;

  Fixture f;
  std::string yaml = f.yaml_one_endpoint();
  // Debug logging of every attempt would measure the log, not the daemon.
  const auto level = yaml.find("level: debug");
  REQUIRE(level != std::string::npos);
  yaml.replace(level, 12, "level: info");
  Daemon daemon(yaml);
  daemon.start();

  // 1. Idle daemon: one event at a time, each after the previous one arrived. The 202 comes
  // after the store's commit (fsync), the request may reach the receiver before or after it.
  std::vector<double> latencies;
  std::vector<double> acks;
  for (int i = 0; i < kLatencyEvents; ++i) {
    const auto start = Clock::now();
    submit_event(daemon, R"({"type":"sim.latency","data":{"i":)" + std::to_string(i) + "}}");
    acks.push_back(ms(Clock::now() - start));
    REQUIRE(f.receiver().wait_for_requests(static_cast<std::size_t>(i) + 1, 10s));
    latencies.push_back(
        ms(f.receiver().requests().at(static_cast<std::size_t>(i)).received_at - start));
  }
  std::sort(latencies.begin(), latencies.end());
  std::sort(acks.begin(), acks.end());
  std::printf(
      "[measure] idle daemon, %d events one at a time: submit -> received p50 %.2f ms, "
      "p99 %.2f ms, max %.2f ms; submit -> 202 p50 %.2f ms, p99 %.2f ms\n",
      kLatencyEvents, percentile(latencies, 50), percentile(latencies, 99), latencies.back(),
      percentile(acks, 50), percentile(acks, 99));

  // 2. Throughput: 4 producers, each with its own API connection, as fast as they can.
  std::atomic<int> rejected{0};
  const auto bulk_start = Clock::now();
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      client::Client client(daemon.socket_path());
      for (int i = 0; i < kPerThread; ++i) {
        const std::string body = R"({"type":"sim.bulk","data":{"t":)" + std::to_string(t) +
                                 R"(,"i":)" + std::to_string(i) + "}}";
        auto res = client.request("POST", "/v1/events", body);
        if (!res.ok() || res->status != 202) ++rejected;
      }
    });
  }
  for (auto& p : producers) p.join();
  const auto submitted = Clock::now();
  CHECK(rejected == 0);

  const std::size_t total = static_cast<std::size_t>(kLatencyEvents + kBulkEvents);
  REQUIRE(f.receiver().wait_for_requests(total, 120s));
  const auto requests = f.receiver().requests();
  auto last = bulk_start;
  std::set<std::string> bodies;
  std::set<std::string> tokens;
  for (const auto& request : requests) {
    last = std::max(last, request.received_at);
    bodies.insert(request.body);
    tokens.insert(header_or_absent(request, "kore-idempotency-token"));
  }
  CHECK(requests.size() == total);  // each event exactly once
  CHECK(bodies.size() == total);
  CHECK(tokens.size() == total);

  const double bulk_ms = ms(last - bulk_start);
  std::printf(
      "[measure] %d events from %d API clients: accepted in %.0f ms (%.0f events/s), "
      "all delivered in %.0f ms: %.0f deliveries/s to one receiver over %llu "
      "connections\n",
      kBulkEvents, kThreads, ms(submitted - bulk_start),
      kBulkEvents / (ms(submitted - bulk_start) / 1000.0), bulk_ms,
      kBulkEvents / (bulk_ms / 1000.0),
      static_cast<unsigned long long>(f.receiver().connections_accepted()));
}

}  // namespace
}  // namespace korehook::testing
