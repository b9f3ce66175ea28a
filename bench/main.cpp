// korehook-bench: the performance issue's scenarios against korehookd, nginx (TLS 1.3 sink),
// wrk and raw SQLite on this machine, printed as one table of figures and ratios.
// Run it with scripts/bench.sh (it installs nginx and wrk and builds everything).
//
// Environment: BENCH_SCALE (default 1: full counts; 0.1 for a quick run), BENCH_ONLY (run the
// scenarios whose key contains this: drain, batch, e2e, latency, isolation, backlog),
// BENCH_BUDGET_S (default 570: later scenarios are skipped, the backlog fill cut short, so the
// run ends in time), BENCH_LOG_LEVEL (korehookd's log.level, default info), BENCH_E2E_RATES
// (row 3 at these rates instead of its search, e.g. 5000,8000,11000), BENCH_E2E_BATCH (row 3's
// producers send this many events per request through the batch route; default 1),
// BENCH_E2E_PRODUCERS (row 3's producer connections for every step instead of the search's),
// BENCH_CONNECTIONS (wrk's connections and korehookd's max_in_flight, default 16),
// KOREHOOK_BENCH_WRAPPER (run korehookd under e.g. "valgrind --tool=callgrind"; the profile
// then covers the drains alone, or the whole run with BENCH_PROFILE=all).

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "scenarios.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string cpu_model() {
  const std::string cpuinfo = korehook::testing::read_file("/proc/cpuinfo");
  const auto pos = cpuinfo.find("model name");
  if (pos == std::string::npos) return "?";
  const auto colon = cpuinfo.find(':', pos);
  return cpuinfo.substr(colon + 2, cpuinfo.find('\n', colon) - colon - 2);
}

// "5000,8000" -> {5000, 8000}, "" -> {}; throws on anything that is not a list of positive
// rates (an empty item too, e.g. a trailing comma).
std::vector<double> rate_list(const std::string& text) {
  std::vector<double> rates;
  if (text.empty()) return rates;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t end = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, end - at);
    char* rest = nullptr;
    const double rate = std::strtod(item.c_str(), &rest);
    if (item.empty() || *rest != 0 || !std::isfinite(rate) || rate <= 0) {
      throw std::runtime_error("BENCH_E2E_RATES: '" + item +
                               "' is not a rate in events/s (expected e.g. 5000,8000,11000)");
    }
    rates.push_back(rate);
    at = end + 1;
  }
  return rates;
}

// "10" -> 10; throws unless a whole number from `low` to `high`, naming the variable and
// what the number counts.
int whole_number(const char* name, const std::string& text, long low, long high, const char* what) {
  char* rest = nullptr;
  const long n = std::strtol(text.c_str(), &rest, 10);
  if (text.empty() || *rest != 0 || n < low || n > high) {
    throw std::runtime_error(std::string(name) + ": '" + text + "' is not a number of " + what +
                             " from " + std::to_string(low) + " to " + std::to_string(high));
  }
  return static_cast<int>(n);
}

}  // namespace

int main() {
  using namespace korehook::bench;
  BenchOptions options;
  options.scale = std::atof(env_or("BENCH_SCALE", "1").c_str());
  if (options.scale <= 0) options.scale = 1;
  options.only = env_or("BENCH_ONLY", "");
  options.log_level = env_or("BENCH_LOG_LEVEL", "info");
  options.budget = std::chrono::seconds(std::atol(env_or("BENCH_BUDGET_S", "570").c_str()));
  const auto self = std::filesystem::read_symlink("/proc/self/exe");
  options.sqlite_program = (self.parent_path() / "korehook-bench-sqlite").string();
  // For bench/korehookd-exec.sh, which the daemon runner starts.
  ::setenv("KOREHOOK_BENCH_DAEMON", KOREHOOK_BENCH_DAEMON, 0);

  utsname uts{};
  ::uname(&uts);
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::printf("korehook bench %s: %ld cores (%s), %s %s, scale %g\n", when,
              ::sysconf(_SC_NPROCESSORS_ONLN), cpu_model().c_str(), uts.sysname, uts.release,
              options.scale);
  std::fflush(stdout);

  try {
    options.e2e_rates = rate_list(env_or("BENCH_E2E_RATES", ""));
    // 1,000: the batch route's limit.
    options.e2e_batch = whole_number("BENCH_E2E_BATCH", env_or("BENCH_E2E_BATCH", "1"), 1, 1000,
                                     "events per request");
    // wrk's connections and korehookd's max_in_flight for the sink's endpoints; the API's
    // clients stay as they are.
    options.connections = whole_number(
        "BENCH_CONNECTIONS", env_or("BENCH_CONNECTIONS", std::to_string(options.connections)), 1,
        256, "connections");
    if (const std::string producers = env_or("BENCH_E2E_PRODUCERS", ""); !producers.empty()) {
      options.e2e_producers =
          whole_number("BENCH_E2E_PRODUCERS", producers, 1, 1024, "producer connections");
    }
    Bench bench(options);
    const auto rows = bench.run();
    std::printf("\n%s", format_table(rows).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "korehook-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
