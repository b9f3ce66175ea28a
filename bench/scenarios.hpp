#pragma once

// The scenarios of the performance issue, each a row of one table (docs/performance.md).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"
#include "korehook/model/endpoint.hpp"

namespace korehook::bench {

struct BenchOptions {
  double scale = 1.0;                // multiplies every event count (BENCH_SCALE)
  std::string log_level = "info";    // korehookd's log.level (BENCH_LOG_LEVEL)
  std::chrono::seconds budget{570};  // the whole run stops submitting after this (BENCH_BUDGET_S)
  // wrk's connections and korehookd's max_in_flight for the sink's endpoints (BENCH_CONNECTIONS,
  // a diagnostic; korehook's default max_in_flight unless set). The API's clients do not follow
  // it.
  int connections = EndpointSettings{}.max_in_flight;
  std::string only;            // run only scenarios whose key contains this (BENCH_ONLY)
  std::string sqlite_program;  // korehook-bench-sqlite
  // Row 3 measured at these rates, one step each, instead of its search (BENCH_E2E_RATES, a
  // comma-separated list: a diagnostic of how the backlog and the 202 behave by rate).
  std::vector<double> e2e_rates;
  // Events per request of row 3's producers (BENCH_E2E_BATCH, a diagnostic): 1 is
  // POST /v1/events, the row as the issue has it; more uses POST /v1/events/batch, which shows
  // what the delivery sustains while ingest costs little.
  int e2e_batch = 1;
  // Row 3's producers for every step (BENCH_E2E_PRODUCERS, a diagnostic); 0: the search's own,
  // 64 and 128 after a step they could not keep up with.
  int e2e_producers = 0;
};

struct Row {
  std::string id;
  std::string scenario;
  std::string figure;
  std::string reference;
  std::string ratio;
  std::string target;
  std::string verdict;  // "ok", "BELOW", "n/a", "skipped"
};

class Bench {
 public:
  explicit Bench(BenchOptions options);
  ~Bench();
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  // Runs the selected scenarios and returns the rows (also printed as they complete).
  std::vector<Row> run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The table as GitHub markdown.
std::string format_table(const std::vector<Row>& rows);

}  // namespace korehook::bench
