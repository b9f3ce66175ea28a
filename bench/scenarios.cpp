#include "scenarios.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "support/daemon.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"
#include "support/tls_receiver.hpp"

namespace korehook::bench {

using namespace std::chrono_literals;
using testing::Daemon;

namespace {

constexpr const char* kSinkHost = "sink.bench";  // resolved to 127.0.0.1 by network.resolve
// The API's clients: row 2's 16 concurrent keep-alive clients (the issue's count), also those
// that queue the drains; row 3's search and the backlog fill start from 4 times as many.
// Independent of BenchOptions::connections (BENCH_CONNECTIONS), which is wrk's and korehookd's.
constexpr int kClients = 16;

std::string fmt(double v, int decimals = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  // Thousands separators on the integer part, for readability of rates.
  const std::string s = buf;
  const std::size_t begin = s[0] == '-' ? 1 : 0;
  const std::size_t end = std::min(s.find('.'), s.size());
  std::string out = s.substr(0, begin);
  for (std::size_t i = begin; i < end; ++i) {
    if (i > begin && (end - i) % 3 == 0) out.push_back(',');
    out.push_back(s[i]);
  }
  return out + s.substr(end);
}

// "-" when a side was not measured (0 / 0, x / 0).
std::string ratio_text(double r) { return std::isfinite(r) ? fmt(r, 2) + " ×" : "-"; }

void note(const char* format, auto... args) {
  std::fprintf(stderr, "bench: ");
  std::fprintf(stderr, format, args...);
  std::fprintf(stderr, "\n");
}

// "bench 31 µs CPU/request, 12% of a core": what the bench process itself (the producers, and
// whatever else runs in it meanwhile) cost during `load`.
std::string bench_cost(double cpu_seconds, const LoadResult& load) {
  char buf[96];
  std::snprintf(
      buf, sizeof buf, "bench %.0f µs CPU/request, %.0f%% of a core",
      cpu_seconds * 1e6 / static_cast<double>(std::max<std::size_t>(1, load.ack_ms.size())),
      load.seconds > 0 ? 100 * cpu_seconds / load.seconds : 0);
  return buf;
}

struct Endpoint {
  std::string id;
  std::string url;
  std::string event_types;  // YAML flow list
  std::string extra;        // more lines, indented by 4 spaces
};

// Under callgrind, profile the drains alone, unless BENCH_PROFILE=all (the whole run).
bool profiling() {
  const char* wrapper = std::getenv("KOREHOOK_BENCH_WRAPPER");
  const char* what = std::getenv("BENCH_PROFILE");
  return wrapper != nullptr && std::string_view(wrapper).find("callgrind") != std::string::npos &&
         (what == nullptr || std::string_view(what) != "all");
}

void callgrind_control(const std::string& option, pid_t pid) {
  auto r = testing::run_command("/usr/bin/callgrind_control", {option, std::to_string(pid)});
  if (r.exit_code != 0) note("callgrind_control %s failed: %s", option.c_str(), r.err.c_str());
}

struct DrainFigures {
  LoadResult load;        // the queueing phase (sink paused)
  double drain_rate = 0;  // deliveries per second once the sink resumed
  double drain_seconds = 0;
  std::uint64_t delivered = 0;
  double cpu_us_per_delivery = 0;
  double cpu_us_per_event = 0;  // while queueing
  ProcStats queued;             // at the end of the queueing phase
  ProcStats after;              // when the window was delivered
  bool complete = false;
};

}  // namespace

struct Bench::Impl {
  BenchOptions options;
  Clock::time_point started = Clock::now();
  Clock::time_point deadline = started + options.budget;
  testing::TempDir certs;
  testing::TestCa ca{certs.path()};
  testing::IssuedCert cert = ca.issue_server("sink", {"localhost", kSinkHost}, {"127.0.0.1"});
  testing::TempDir nginx_dir;
  std::unique_ptr<NginxSink> nginx;
  std::vector<Row> rows;

  double wrk_rate = 0;
  double raw_rate = 0;
  double commit_p50_ms = 0;  // raw SQLite, one row per transaction: the floor of any ack
  double commit_p99_ms = 0;
  double ingest_rate = 0;
  double drain_rate = 0;

  explicit Impl(BenchOptions o) : options(std::move(o)) {}

  std::uint64_t scaled(double n) const {
    return static_cast<std::uint64_t>(std::max(100.0, std::round(n * options.scale)));
  }
  double remaining_s() const { return seconds_between(Clock::now(), deadline); }
  bool selected(const std::string& key) const {
    return options.only.empty() || options.only.find(key) != std::string::npos;
  }

  void add(Row row) {
    std::fprintf(stderr, "bench: %s %s: %s (reference %s) ratio %s target %s %s\n", row.id.c_str(),
                 row.scenario.c_str(), row.figure.c_str(), row.reference.c_str(), row.ratio.c_str(),
                 row.target.c_str(), row.verdict.c_str());
    rows.push_back(std::move(row));
  }
  void skip(std::string id, std::string scenario, std::string target, std::string why) {
    add({std::move(id), std::move(scenario), why, "-", "-", std::move(target), "skipped"});
  }

  std::string sink_url(const std::string& path) const {
    return "https://" + std::string(kSinkHost) + ":" + std::to_string(nginx->port()) + path;
  }

  // A daemon config: trusts the bench CA, may reach loopback, resolves sink.bench to 127.0.0.1.
  // Timeouts are long because queueing scenarios pause the sink with requests in flight.
  std::string yaml(const std::vector<Endpoint>& endpoints, int max_in_flight) const {
    std::string y;
    y += "tls:\n  ca_file: " + ca.ca_file() + "\n";
    y += "network:\n  allow_private: [\"127.0.0.0/8\"]\n";
    y += "  resolve: {\"" + std::string(kSinkHost) + "\": [\"127.0.0.1\"]}\n";
    y += "store:\n  path: {{store}}\n  fsync: true\n";
    y += "defaults:\n  connect_timeout: 10m\n  read_timeout: 10m\n";
    y += "  max_in_flight: " + std::to_string(max_in_flight) + "\n";
    y += "  retry: {max_attempts: 8, initial_delay: 1s, max_delay: 1m}\n";
    y += "delivery:\n  shutdown_grace: 2s\n";
    y += "log:\n  level: " + options.log_level + "\n";
    y += "endpoints:\n";
    for (const auto& ep : endpoints) {
      y += "  - id: " + ep.id + "\n    url: " + ep.url + "\n";
      y += "    event_types: " + ep.event_types + "\n" + ep.extra;
    }
    return y;
  }

  std::unique_ptr<Daemon> start_daemon(const std::vector<Endpoint>& endpoints, int max_in_flight) {
    testing::DaemonOptions daemon_options;
    daemon_options.start_timeout = 60s;  // valgrind
    auto daemon = std::make_unique<Daemon>(yaml(endpoints, max_in_flight), daemon_options);
    daemon->start();
    return daemon;
  }

  void stop_daemon(Daemon& daemon) {
    const int code = daemon.terminate(30s);
    if (code != 0) note("korehookd exited with %d; log: %s", code, daemon.log_path().c_str());
  }

  LoadSpec load_spec(const Daemon& daemon, std::uint64_t count, std::string type) const {
    LoadSpec spec;
    spec.socket = daemon.socket_path();
    spec.connections = kClients;
    spec.count = count;
    spec.type_of = [type = std::move(type)](std::uint64_t) { return type; };
    return spec;
  }

  // How long a drain window may take: a drain that stalls (e.g. memory held by a dead
  // endpoint) must not eat the whole budget.
  std::chrono::milliseconds drain_timeout() const {
    return std::chrono::milliseconds(
        static_cast<long>(std::clamp(remaining_s() - 20, 10.0, 120.0) * 1000));
  }

  // A window delivered faster than wrk's rate against this sink, the ceiling of any sender
  // here, by half again: its requests were counted while the sink was to be paused, so it
  // measured nothing (seen twice, as a window "in 0.00 s"). Says so.
  bool implausible(std::uint64_t window, double seconds) const {
    const double max_rate = 1.5 * (wrk_rate > 0 ? wrk_rate : 100'000.0);  // deliveries/s
    if (static_cast<double>(window) < max_rate * seconds) return false;
    note("drain window: %llu deliveries counted %.4f s after the resume; not measured",
         static_cast<unsigned long long>(window), seconds);
    return true;
  }

  // Queues the events of `spec` while the sink is paused (the ingest figure), resumes the
  // sink and measures how fast the first `window` deliveries reach it.
  DrainFigures queued_drain(Daemon& daemon, const LoadSpec& spec, std::uint64_t window) {
    DrainFigures out;
    const std::uint64_t base = nginx->requests();
    const ProcStats start = read_proc_stats(daemon.pid());
    nginx->pause();
    const double bench_cpu = own_cpu_seconds();
    out.load = run_load(spec);
    const std::string cost = bench_cost(own_cpu_seconds() - bench_cpu, out.load);
    const ProcStats queued = read_proc_stats(daemon.pid());
    out.queued = queued;
    // Under callgrind (KOREHOOK_BENCH_WRAPPER), profile the drain alone: zero the counters now,
    // dump when the window is delivered.
    if (profiling()) callgrind_control("-z", daemon.pid());
    const auto resumed = Clock::now();
    nginx->resume();
    const auto done = nginx->wait_for_requests(base + window, drain_timeout());
    out.after = read_proc_stats(daemon.pid());
    if (profiling()) callgrind_control("-d", daemon.pid());
    const bool measured = !done || !implausible(window, seconds_between(resumed, *done));
    out.complete = done.has_value() && measured;
    out.delivered = nginx->requests() - base;
    out.drain_seconds = seconds_between(resumed, done.value_or(Clock::now()));
    out.drain_rate =
        measured ? static_cast<double>(out.complete ? window : out.delivered) / out.drain_seconds
                 : 0;
    out.cpu_us_per_delivery = (out.after.cpu_seconds - queued.cpu_seconds) * 1e6 /
                              static_cast<double>(std::max<std::uint64_t>(1, out.delivered));
    out.cpu_us_per_event = (queued.cpu_seconds - start.cpu_seconds) * 1e6 /
                           static_cast<double>(std::max<std::uint64_t>(1, out.load.acked));
    // Is one thread the limit? (main = the io_context: API, dispatcher, sender, TLS.)
    note("korehookd threads, CPU share of wall time: queueing %s; drain %s",
         thread_utilization(start, queued, daemon.pid(), out.load.seconds).c_str(),
         thread_utilization(queued, out.after, daemon.pid(), out.drain_seconds).c_str());
    note(
        "queued %llu events in %.2f s (%.0f/s, %llu failed%s%s; %s), ack p50 %.2f ms p99 %.2f ms; "
        "%llu deliveries in %.2f s (%.0f/s)%s; CPU %.0f µs/event, %.0f µs/delivery; "
        "peak RSS %ld KiB queued, %ld KiB after the drain",
        static_cast<unsigned long long>(out.load.acked), out.load.seconds, out.load.events_per_s(),
        static_cast<unsigned long long>(out.load.failed), out.load.first_error.empty() ? "" : ": ",
        out.load.first_error.c_str(), cost.c_str(), percentile(out.load.ack_ms, 50),
        percentile(out.load.ack_ms, 99),
        static_cast<unsigned long long>(out.complete ? window : out.delivered), out.drain_seconds,
        out.drain_rate,
        out.complete ? "" : (measured ? " (INCOMPLETE: stalled or timed out)" : " (NOT MEASURED)"),
        out.cpu_us_per_event, out.cpu_us_per_delivery, out.queued.vm_hwm_kib, out.after.vm_hwm_kib);
    return out;
  }

  // Restarts `daemon` (what it still has queued stays in its store) with the sink paused, then
  // resumes the sink and measures how fast the first `window` deliveries reach it, as
  // queued_drain does. 0 when they did not all arrive in time.
  double restarted_drain(Daemon& daemon, std::uint64_t window) {
    stop_daemon(daemon);  // the sink still answers, so the attempts in flight end at once
    const std::uint64_t base = nginx->requests();
    nginx->pause();
    daemon.start();
    const ProcStats started = read_proc_stats(daemon.pid());  // its startup is not the window's
    const auto resumed = Clock::now();
    nginx->resume();
    const auto done = nginx->wait_for_requests(base + window, drain_timeout());
    if (!done) {
      note("restarted drain: %llu of %llu deliveries in time",
           static_cast<unsigned long long>(nginx->requests() - base),
           static_cast<unsigned long long>(window));
      return 0;
    }
    if (implausible(window, seconds_between(resumed, *done))) return 0;
    const ProcStats after = read_proc_stats(daemon.pid());
    const double rate = static_cast<double>(window) / seconds_between(resumed, *done);
    const std::uint64_t delivered = std::max<std::uint64_t>(1, nginx->requests() - base);
    note("restarted drain: %llu deliveries in %.2f s (%.0f/s); CPU %.0f µs/delivery",
         static_cast<unsigned long long>(window), seconds_between(resumed, *done), rate,
         (after.cpu_seconds - started.cpu_seconds) * 1e6 / static_cast<double>(delivered));
    return rate;
  }

  // --- references ---------------------------------------------------------------------------

  void reference_wrk() {
    const int seconds = std::clamp(static_cast<int>(std::lround(8 * options.scale)), 2, 8);
    wrk_rate = run_wrk("https://127.0.0.1:" + std::to_string(nginx->port()) + "/hooks/wrk",
                       options.connections, seconds, event_data(0));
    note("wrk: %d connections, %d s: %.0f requests/s", options.connections, seconds, wrk_rate);
  }

  void reference_sqlite() {
    testing::TempDir dir;  // same filesystem as the daemons' stores
    const auto rows_n = static_cast<long>(scaled(40'000));
    const RawSqlite batch = run_raw_sqlite(options.sqlite_program, dir.file("raw.db"), rows_n, 100);
    raw_rate = batch.rows_per_s;
    note("raw SQLite, 100 rows per transaction: %s", batch.line.c_str());
    // One row per transaction: what a durable commit costs on this disk.
    testing::TempDir single;
    const RawSqlite one = run_raw_sqlite(options.sqlite_program, single.file("raw.db"), 500, 1);
    commit_p50_ms = one.commit_p50_ms;
    commit_p99_ms = one.commit_p99_ms;
    note("raw SQLite, 1 row per transaction: %s", one.line.c_str());
  }

  // --- 1 and 2: drain of a queue, single-event ingest ------------------------------------------

  void drain_and_ingest() {
    const std::string target = "≥ 0.5 (aim 0.6)";
    const std::uint64_t n = scaled(100'000);
    const std::string drain_name = "Drain: " + fmt(n) + " queued for 1 endpoint";
    const std::string ingest_name =
        "Ingest: POST /v1/events, " + std::to_string(kClients) + " clients";
    auto daemon = start_daemon({{"ep_drain", sink_url("/hooks/ep_drain"), "[\"bench.drain\"]", ""}},
                               options.connections);
    auto spec = load_spec(*daemon, n, "bench.drain");
    DrainFigures f = queued_drain(*daemon, spec, n);
    stop_daemon(*daemon);
    ingest_rate = f.load.events_per_s();
    drain_rate = f.drain_rate;
    add({"1", drain_name, fmt(f.drain_rate) + " deliveries/s", "wrk " + fmt(wrk_rate) + " req/s",
         ratio_text(f.drain_rate / wrk_rate), target,
         f.complete && f.drain_rate >= 0.5 * wrk_rate ? "ok" : "BELOW"});
    add({"2a", ingest_name, fmt(ingest_rate) + " events/s",
         "raw SQLite " + fmt(raw_rate) + " rows/s", ratio_text(ingest_rate / raw_rate), "≥ 0.3",
         f.load.failed == 0 && ingest_rate >= 0.3 * raw_rate ? "ok" : "BELOW"});
    add({"8", "CPU per delivery (drain, korehookd alone)",
         fmt(f.cpu_us_per_delivery) + " µs/delivery; ingest " + fmt(f.cpu_us_per_event) +
             " µs/event",
         "-", "-", "printed; profile in docs/performance.md", "-"});
  }

  // --- 2b: batch ingest -------------------------------------------------------------------------

  void batch_ingest() {
    const std::string name =
        "Ingest: POST /v1/events/batch (100/request), " + std::to_string(kClients) + " clients";
    auto daemon = start_daemon({{"ep_batch", sink_url("/hooks/ep_batch"), "[\"bench.batch\"]", ""}},
                               options.connections);
    if (!has_batch_route(daemon->socket_path())) {
      stop_daemon(*daemon);
      add({"2b", name, "n/a (no batch route)", "raw SQLite " + fmt(raw_rate) + " rows/s", "n/a",
           "≥ 0.8", "n/a"});
      return;
    }
    auto spec = load_spec(*daemon, scaled(100'000), "bench.batch");
    spec.batch = 100;
    nginx->pause();  // ingest alone, as in row 2a
    const double bench_cpu = own_cpu_seconds();
    const LoadResult load = run_load(spec);
    const std::string cost = bench_cost(own_cpu_seconds() - bench_cpu, load);
    stop_daemon(*daemon);
    nginx->resume();
    const double rate = load.events_per_s();
    note("batch ingest: %llu events in %.2f s, %llu failed %s, request p50 %.1f ms p99 %.1f ms; %s",
         static_cast<unsigned long long>(load.acked), load.seconds,
         static_cast<unsigned long long>(load.failed), load.first_error.c_str(),
         percentile(load.ack_ms, 50), percentile(load.ack_ms, 99), cost.c_str());
    add({"2b", name, fmt(rate) + " events/s", "raw SQLite " + fmt(raw_rate) + " rows/s",
         ratio_text(rate / raw_rate), "≥ 0.8",
         load.failed == 0 && rate >= 0.8 * raw_rate ? "ok" : "BELOW"});
  }

  // --- 3: end to end ----------------------------------------------------------------------------

  // What one step showed: `flat` when the backlog (acknowledged - received by the sink) stayed
  // flat and the producers kept up with the rate asked; `sustained` the rate korehookd took in
  // and delivered with the backlog flat and no request failed, else 0. The two differ when the
  // producers fell short (each has one request in flight, so the 202's time caps them) but what
  // they did submit was delivered as fast: that rate was sustained end to end all the same.
  struct Step {
    bool flat = false;
    double sustained = 0;
  };
  // The machine's CPU time, by whom it was spent, at one instant of a step.
  struct CpuSplit {
    double machine = 0;
    double korehookd = 0;
    double nginx = 0;
    double bench = 0;
    std::uint64_t acked = 0;
  };
  CpuSplit cpu_split(Daemon& daemon, const LoadProgress& progress) {
    return CpuSplit{machine_busy_seconds(), process_cpu_seconds(daemon.pid()), nginx->cpu_seconds(),
                    own_cpu_seconds(), progress.acked.load()};
  }

  // "machine 150 µs/event (94% of 2 CPUs busy): korehookd 100, nginx 30, bench 15, other 5":
  // what the machine spent per event acknowledged between `a` and `b`, `seconds` apart. On a
  // flat step every event was also delivered, so this is the cost of one event end to end,
  // and the two CPUs' time divided by it bounds the rate the row can reach.
  static std::string cpu_budget(const CpuSplit& a, const CpuSplit& b, double seconds) {
    const double events = static_cast<double>(b.acked - a.acked);
    if (events <= 0 || seconds <= 0) return "machine budget: no events in the window";
    auto per_event = [&](double from, double to) { return (to - from) * 1e6 / events; };
    const double machine = per_event(a.machine, b.machine);
    const double korehookd = per_event(a.korehookd, b.korehookd);
    const double sink = per_event(a.nginx, b.nginx);
    const double bench = per_event(a.bench, b.bench);
    const long cpus = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "machine %.0f µs/event (%.0f%% of %ld CPUs busy): korehookd %.0f, nginx %.0f, "
                  "bench %.0f, other %.0f",
                  machine, 100 * (b.machine - a.machine) / (seconds * static_cast<double>(cpus)),
                  cpus, korehookd, sink, bench, machine - korehookd - sink - bench);
    return buf;
  }

  // `connections` producers, open loop at `rate`. Each connection has one request in flight,
  // so N connections offer at most N / (mean 202 time): the search (end_to_end) starts with 64
  // and offers more only after a step whose producers fell short with the backlog flat.
  Step step_at(Daemon& daemon, double rate, double seconds, int connections) {
    const std::uint64_t base = nginx->requests();
    auto spec = load_spec(daemon, static_cast<std::uint64_t>(rate * seconds), "bench.e2e");
    spec.connections = connections;
    spec.batch = options.e2e_batch;
    spec.rate = rate;
    spec.max_time = std::chrono::milliseconds(static_cast<long>(seconds * 1000) + 2000);
    LoadProgress progress;
    LoadResult result;
    const double bench_cpu = own_cpu_seconds();
    std::thread producer([&] { result = run_load(spec, &progress); });
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    const double b1 =
        static_cast<double>(progress.acked) - static_cast<double>(nginx->requests() - base);
    // The budget is taken from here to the end of the load, past the first second's start-up.
    const CpuSplit split_from = cpu_split(daemon, progress);
    const auto window_start = Clock::now();
    producer.join();
    const std::string budget = cpu_budget(split_from, cpu_split(daemon, progress),
                                          seconds_between(window_start, Clock::now()));
    const std::string cost = bench_cost(own_cpu_seconds() - bench_cpu, result);
    const double b2 =
        static_cast<double>(progress.acked) - static_cast<double>(nginx->requests() - base);
    const double achieved = result.events_per_s();
    const double growth = b2 - b1;
    const bool kept_up = result.failed == 0 && achieved >= 0.97 * rate;
    const bool backlog_flat =
        growth <= std::max(64.0, 0.03 * std::min(rate, achieved) * (seconds - 1));
    const bool flat = kept_up && backlog_flat;
    const char* verdict = flat           ? "flat"
                          : backlog_flat ? "producers short of the rate"
                          : kept_up      ? "backlog growing"
                                         : "backlog growing, producers short of the rate";
    note(
        "end to end at %.0f/s, %d producers: submitted %.0f/s (ack p50 %.2f ms, p99 %.2f ms), "
        "backlog %.0f -> %.0f: %s (%s); %s",
        rate, connections, achieved, percentile(result.ack_ms, 50), percentile(result.ack_ms, 99),
        b1, b2, verdict, cost.c_str(), budget.c_str());
    // Let the backlog drain before the next step.
    nginx->wait_for_requests(base + progress.acked, 60s);
    // A failed request counts against the step, as against `flat`.
    const bool sustained = backlog_flat && result.failed == 0;
    return Step{flat, !sustained ? 0 : flat ? rate : achieved};
  }

  void end_to_end() {
    std::string name =
        options.e2e_rates.empty()
            ? "End to end: ingest + delivery, highest flat rate"
            : "End to end: ingest + delivery, highest flat rate of BENCH_E2E_RATES (a diagnostic)";
    if (options.e2e_batch > 1) {
      name += ", ingest " + std::to_string(options.e2e_batch) +
              " events per batch request (BENCH_E2E_BATCH, a diagnostic)";
    }
    auto daemon = start_daemon({{"ep_e2e", sink_url("/hooks/ep_e2e"), "[\"bench.e2e\"]", ""}},
                               options.connections);
    const double step_s = std::clamp(4.0 * options.scale, 2.0, 4.0);
    double hi = 1.1 * (drain_rate > 0 ? drain_rate : 20'000.0);
    double lo = 0;
    double best = 0;
    // 64 producers at first. Under delivery the 202 takes 3-5 ms here, which caps them at
    // 13-17k events/s, the row's range. A step whose producers fell short while korehookd kept
    // the backlog flat shows the producers' limit, not korehookd's, and says nothing about the
    // rate asked: it raises the floor to what they did submit (that was sustained end to end),
    // and the steps after it run 128 producers. Not 128 from the start: more requests in
    // flight take more of the io thread's turns, so the delivery falls behind sooner (the
    // tenth round's search found less with 128 from the first step), and 256 made the backlog
    // grow at rates 128 held flat (the nineteenth round).
    int connections = 4 * kClients;
    const int max_connections = 8 * kClients;
    // Seven steps: the first, at 1.1 x the drain's rate, is far above the row's range, so five
    // left the last bracket about a thousand events/s wide (the nineteenth round).
    constexpr int kSteps = 7;
    if (options.e2e_producers > 0) connections = options.e2e_producers;
    // The row: the highest rate sustained with a flat backlog over the steps, the search's
    // flat steps and the steps where the producers fell short alike.
    for (const double rate : options.e2e_rates) {
      if (remaining_s() > 60) {
        best = std::max(best, step_at(*daemon, rate, step_s, connections).sustained);
      }
    }
    for (int step = 0; step < kSteps && options.e2e_rates.empty() && remaining_s() > 60; ++step) {
      const double rate = step == 0 ? hi : (lo + hi) / 2;
      const Step result = step_at(*daemon, rate, step_s, connections);
      best = std::max(best, result.sustained);
      if (result.flat) {
        lo = rate;
        if (step == 0) break;
      } else if (result.sustained > 0) {  // the producers fell short, korehookd kept up
        lo = std::max(lo, result.sustained);
        if (options.e2e_producers == 0 && connections < max_connections) {
          connections = std::min(2 * connections, max_connections);
        } else {
          // As many producers as the search offers, and still short: their 202s came too
          // late for the rate, so korehookd did not take it in. Without lowering the ceiling
          // the next step would ask the same rate again.
          hi = rate;
        }
      } else {
        hi = rate;
      }
    }
    stop_daemon(*daemon);
    add({"3", name, fmt(best) + " events/s delivered", "wrk " + fmt(wrk_rate) + " req/s",
         ratio_text(best / wrk_rate), "≥ 0.4 (aim 0.5)", best >= 0.4 * wrk_rate ? "ok" : "BELOW"});
  }

  // --- 4: latency -------------------------------------------------------------------------------

  // How late this machine wakes a thread: `samples` sleeps of 1 ms on an otherwise idle
  // machine, the overshoot of each in ms. A 202 takes several wake-ups (io thread, store
  // thread, syncer, io thread, producer), so late ones can show in row 4's tail; on a
  // paravirtualised guest they reach tens of ms.
  static std::vector<double> wake_lateness(int samples) {
    std::vector<double> late;
    late.reserve(static_cast<std::size_t>(samples));
    for (int i = 0; i < samples; ++i) {
      const auto before = Clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      late.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count() - 1);
    }
    return late;
  }

  void latency() {
    const std::string name = "Latency at 1,000 events/s, submit -> sink";
    const std::vector<double> late =
        wake_lateness(static_cast<int>(std::clamp(2000 * options.scale, 500.0, 2000.0)));
    note(
        "wake-up lateness of %zu sleeps of 1 ms: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max "
        "%.2f ms",
        late.size(), percentile(late, 50), percentile(late, 99), percentile(late, 99.9),
        percentile(late, 100));
    // nginx logs time with millisecond resolution only: this row uses the test suite's TLS
    // receiver (Beast, in this process) which stamps each request with steady_clock, the clock
    // the producers stamp the submit with.
    testing::ReceiverOptions receiver_options;
    receiver_options.cert_chain_file = cert.chain_file;
    receiver_options.key_file = cert.key_file;
    receiver_options.idle_timeout = 600s;
    testing::TlsReceiver receiver(receiver_options);
    const std::string url = "https://" + std::string(kSinkHost) + ":" +
                            std::to_string(receiver.port()) + "/hooks/ep_latency";
    auto daemon =
        start_daemon({{"ep_latency", url, "[\"bench.latency\"]", ""}}, options.connections);
    const double seconds = std::clamp(10.0 * options.scale, 3.0, 10.0);
    auto spec = load_spec(*daemon, static_cast<std::uint64_t>(1000 * seconds), "bench.latency");
    spec.rate = 1000;
    std::vector<Clock::time_point> sent(spec.count);
    spec.sent_at = &sent;
    const double bench_cpu = own_cpu_seconds();
    const LoadResult load = run_load(spec);
    const std::string cost = bench_cost(own_cpu_seconds() - bench_cpu, load);  // + the receiver
    receiver.wait_for_requests(load.acked, 30s);
    stop_daemon(*daemon);
    std::vector<double> latencies;
    for (const auto& request : receiver.requests()) {
      const auto seq = parse_seq(request.body);
      if (!seq || *seq >= spec.count || *seq < 1000) continue;  // the first second warms up
      latencies.push_back(
          std::chrono::duration<double, std::milli>(request.received_at - sent[*seq]).count());
    }
    const double p50 = percentile(latencies, 50);
    const double p99 = percentile(latencies, 99);
    const double max = percentile(latencies, 100);
    note(
        "latency: %zu samples, p50 %.2f ms, p99 %.2f ms, max %.2f ms; 202 p50 %.2f ms, p99 %.2f "
        "ms; submitted %.0f/s; %s (producers and receiver)",
        latencies.size(), p50, p99, max, percentile(load.ack_ms, 50), percentile(load.ack_ms, 99),
        load.events_per_s(), cost.c_str());
    add({"4", name,
         "p50 " + fmt(p50, 2) + " ms, p99 " + fmt(p99, 2) + " ms (202: p50 " +
             fmt(percentile(load.ack_ms, 50), 2) + ", p99 " + fmt(percentile(load.ack_ms, 99), 2) +
             ")",
         "raw SQLite commit p50 " + fmt(commit_p50_ms, 2) + " ms, p99 " + fmt(commit_p99_ms, 2) +
             " ms; a 1 ms sleep wakes late by p99 " + fmt(percentile(late, 99), 2) + ", p99.9 " +
             fmt(percentile(late, 99.9), 2) + " ms",
         "-", "p50 ≤ 2 ms, p99 ≤ 10 ms",
         !latencies.empty() && p50 <= 2 && p99 <= 10 ? "ok" : "BELOW"});
  }

  // --- 5 and 6: memory with a large backlog, backlog scaling -------------------------------------

  std::vector<Endpoint> many_endpoints(int n) const {
    std::vector<Endpoint> eps;
    for (int i = 0; i < n; ++i) {
      const std::string id = "ep_m" + std::to_string(i);
      eps.push_back({id, sink_url("/hooks/" + id), "[\"bench.m" + std::to_string(i) + "\"]", ""});
    }
    return eps;
  }

  LoadSpec many_spec(const Daemon& daemon, std::uint64_t count, int endpoints) const {
    LoadSpec spec = load_spec(daemon, count, "");
    spec.type_of = [endpoints](std::uint64_t seq) {
      return "bench.m" + std::to_string(seq % static_cast<std::uint64_t>(endpoints));
    };
    return spec;
  }

  void backlog(bool batch) {
    const int n_endpoints = static_cast<int>(scaled(1000));
    // One request in flight per endpoint: up to 1,000 connections already; 16 each would be
    // 16,000 TLS connections on 2 cores.
    const int in_flight = 1;
    const std::uint64_t small = scaled(10'000);
    const std::uint64_t large = scaled(1'000'000);
    // 90 %: the small run's last deliveries would otherwise add a tail (a retry, the last
    // endpoints' connections) that the large run, still busy, does not have.
    const std::uint64_t window = small * 9 / 10;

    // Small backlog, measured before and again after the large one: the reference is their
    // mean, so that the machine's drift over the large fill (a minute or more, a GiB written)
    // does not count as the backlog's effect. Each short drain moves by ±20 % by itself.
    auto small_drain = [&] {
      auto a = start_daemon(many_endpoints(n_endpoints), in_flight);
      DrainFigures f = queued_drain(*a, many_spec(*a, small, n_endpoints), window);
      stop_daemon(*a);
      return f;
    };
    const DrainFigures fa = small_drain();

    // Large backlog: as much of `large` as the time budget allows.
    auto b = start_daemon(many_endpoints(n_endpoints), in_flight);
    auto spec = many_spec(*b, large, n_endpoints);
    // Only the size of the backlog matters here: more producers make bigger group commits.
    spec.connections = 4 * kClients;
    if (batch) spec.batch = 100;
    spec.max_time =
        std::chrono::milliseconds(static_cast<long>(std::max(10.0, remaining_s() - 45) * 1000));
    DrainFigures fb = queued_drain(*b, spec, window);
    // A second window of the large backlog, measured as the first: korehookd restarted (its
    // connections closed, so the window opens with a handshake per endpoint again, as the
    // small drains' do) with the sink paused until it is up. The figure is the mean of the
    // two, as the reference is: one window of about a second moves by ±20 % by itself.
    const double large_second = restarted_drain(*b, window);
    stop_daemon(*b);
    const DrainFigures fa2 = small_drain();
    const double small_rate = (fa.drain_rate + fa2.drain_rate) / 2;
    const double large_rate = large_second > 0 ? (fb.drain_rate + large_second) / 2 : fb.drain_rate;
    const std::uint64_t pending = fb.load.acked;
    const std::string capped =
        pending < large ? " (time budget: " + fmt(pending) + " of " + fmt(large) + " queued)" : "";
    add({"5",
         "Memory: " + fmt(pending) + " pending for " + fmt(n_endpoints) + " endpoints" + capped,
         "peak RSS " + fmt(fb.after.vm_hwm_kib / 1024.0, 1) + " MiB (" +
             fmt(fb.queued.vm_hwm_kib / 1024.0, 1) + " MiB until the sink resumed; " +
             fmt(std::max(fa.after.vm_hwm_kib, fa2.after.vm_hwm_kib) / 1024.0, 1) + " MiB with " +
             fmt(small) + " pending)",
         "-", "-", "≤ 64 MiB", fb.after.vm_hwm_kib <= 64 * 1024 ? "ok" : "BELOW"});
    const double r = large_rate / small_rate;
    add({"6", "Backlog scaling: drain with " + fmt(pending) + " vs " + fmt(small) + " pending",
         fmt(large_rate) + " vs " + fmt(small_rate) + " deliveries/s (first " + fmt(window) + "; " +
             fmt(pending) + " pending: " + fmt(fb.drain_rate) + ", then " +
             (large_second > 0 ? fmt(large_second) : std::string("not measured")) +
             " after a restart; " + fmt(small) + " pending: " + fmt(fa.drain_rate) + " before, " +
             fmt(fa2.drain_rate) + " after)",
         "-", ratio_text(r), "≥ 0.9",
         fa.complete && fa2.complete && fb.complete && large_second > 0 && r >= 0.9 ? "ok"
                                                                                    : "BELOW"});
  }

  // --- 7: isolation -----------------------------------------------------------------------------

  void isolation() {
    testing::BlackHole dead;  // accepts TCP, never answers: every TLS handshake times out
    const std::string dead_url =
        "https://" + std::string(kSinkHost) + ":" + std::to_string(dead.port()) + "/hooks/dead";
    const std::vector<Endpoint> eps{{"ep_ok", sink_url("/hooks/ep_ok"), "[\"bench.ok\"]", ""},
                                    {"ep_dead", dead_url, "[\"bench.dead\"]",
                                     "    connect_timeout: 2s\n    read_timeout: 2s\n"}};
    const std::uint64_t healthy = scaled(30'000);
    const std::uint64_t dead_n = scaled(10'000);

    // The healthy drain without the dead endpoint's backlog, measured before and again after
    // the one with it: the reference is their mean, so that the machine's drift between the
    // runs does not count as the dead endpoint's effect (row 6 does the same; one drain of
    // about a second moves by ±15 % by itself).
    auto healthy_drain = [&] {
      auto a = start_daemon(eps, options.connections);
      DrainFigures f = queued_drain(*a, load_spec(*a, healthy, "bench.ok"), healthy);
      stop_daemon(*a);
      return f;
    };
    const DrainFigures without = healthy_drain();

    auto b = start_daemon(eps, options.connections);
    const LoadResult dead_load = run_load(load_spec(*b, dead_n, "bench.dead"));
    note("isolation: %llu deliveries queued for the dead endpoint",
         static_cast<unsigned long long>(dead_load.acked));
    // Twice beside it, as the reference is measured twice: the dead endpoint's deliveries are
    // still pending for the second (none of them can be delivered).
    DrainFigures with = queued_drain(*b, load_spec(*b, healthy, "bench.ok"), healthy);
    DrainFigures with_again = queued_drain(*b, load_spec(*b, healthy, "bench.ok"), healthy);
    stop_daemon(*b);
    const DrainFigures without_after = healthy_drain();
    const double reference = (without.drain_rate + without_after.drain_rate) / 2;
    const double rate = (with.drain_rate + with_again.drain_rate) / 2;
    const double r = rate / reference;
    std::string stalled;
    for (const DrainFigures* f : {&with, &with_again}) {
      if (f->complete) continue;
      stalled += " (stalled: " + fmt(static_cast<double>(f->delivered)) + " of " +
                 fmt(static_cast<double>(healthy)) + " delivered in " + fmt(f->drain_seconds, 0) +
                 " s)";
    }
    add({"7", "Isolation: + 1 dead endpoint with " + fmt(dead_n) + " pending",
         fmt(rate) + " vs " + fmt(reference) + " deliveries/s" + stalled +
             " (with it: " + fmt(with.drain_rate) + ", then " + fmt(with_again.drain_rate) +
             "; without it: " + fmt(without.drain_rate) + " before, " +
             fmt(without_after.drain_rate) + " after)",
         "-", ratio_text(r), "≥ 0.9",
         with.complete && with_again.complete && without.complete && without_after.complete &&
                 r >= 0.9
             ? "ok"
             : "BELOW"});
  }

  // --- the run ----------------------------------------------------------------------------------

  template <class F>
  void guarded(const std::string& key, const std::string& id, const std::string& scenario,
               double min_seconds, F&& f) {
    if (!selected(key)) return;
    if (remaining_s() < min_seconds) {
      skip(id, scenario, "-", "skipped: time budget");
      return;
    }
    try {
      f();
    } catch (const std::exception& e) {
      note("%s failed: %s", key.c_str(), e.what());
      add({id, scenario, std::string("error: ") + e.what(), "-", "-", "-", "error"});
      if (nginx) nginx->resume();
    }
  }

  std::vector<Row> run() {
    nginx = std::make_unique<NginxSink>(nginx_dir.path(), cert.chain_file, cert.key_file);
    note("nginx %s on 127.0.0.1:%u (TLS 1.3), wrk %s, scale %.2f, budget %lld s",
         NginxSink::version().c_str(), nginx->port(), wrk_version().c_str(), options.scale,
         static_cast<long long>(options.budget.count()));
    reference_wrk();
    reference_sqlite();
    bool batch = false;
    guarded("drain", "1", "Drain + ingest", 30, [&] { drain_and_ingest(); });
    guarded("batch", "2b", "Batch ingest", 30, [&] {
      batch_ingest();
      batch = rows.back().verdict != "n/a";
    });
    guarded("e2e", "3", "End to end", 60, [&] { end_to_end(); });
    guarded("latency", "4", "Latency", 30, [&] { latency(); });
    guarded("isolation", "7", "Isolation", 60, [&] { isolation(); });
    guarded("backlog", "5/6", "Memory and backlog scaling", 60, [&] { backlog(batch); });
    nginx->stop();
    std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) { return x.id < y.id; });
    note("done in %.0f s", seconds_between(started, Clock::now()));
    return rows;
  }
};

Bench::Bench(BenchOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Bench::~Bench() = default;
std::vector<Row> Bench::run() { return impl_->run(); }

std::string format_table(const std::vector<Row>& rows) {
  std::string out = "| # | scenario | korehook | reference | ratio | target | verdict |\n";
  out += "|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    out += "| " + r.id + " | " + r.scenario + " | " + r.figure + " | " + r.reference + " | " +
           r.ratio + " | " + r.target + " | " + r.verdict + " |\n";
  }
  return out;
}

}  // namespace korehook::bench
