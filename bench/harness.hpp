#pragma once

// Building blocks of the bench: the nginx TLS sink, wrk, the producers (HTTP/1.1 over the API's
// Unix socket), and what /proc says about korehookd. The scenarios (scenarios.cpp) combine them.
// Not thread-safe unless a member says otherwise.

#include <sys/resource.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace korehook::bench {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point from, Clock::time_point to);

// What the kernel says about one process (korehookd).
struct ProcStats {
  double cpu_seconds = 0;  // utime + stime
  long vm_hwm_kib = 0;     // peak resident set
  long vm_rss_kib = 0;     // resident set now
  // utime + stime of each thread, by thread id (the thread id equal to the pid is the main
  // thread, which runs korehookd's io_context).
  std::map<pid_t, double> thread_cpu_seconds;
  // Time each thread was runnable but waiting for a CPU (schedstat): on a shared machine, the
  // share of the wall time a thread could not run.
  std::map<pid_t, double> thread_wait_seconds;
};
ProcStats read_proc_stats(pid_t pid);
// utime + stime of one process, every thread, in seconds; 0 when it is gone.
double process_cpu_seconds(pid_t pid);
// user + system time in `usage`, in seconds.
double cpu_seconds(const rusage& usage);
// CPU time of this process (user + system, every thread), in seconds.
double own_cpu_seconds();
// CPU time all CPUs of the machine spent busy (user, nice, system, irq, softirq, steal; not
// idle or waiting for I/O) since boot, in seconds, from /proc/stat.
double machine_busy_seconds();
// "main 40% +50% waiting, 1234 20% +10% waiting": each thread's CPU and run-queue wait between
// `from` and `to` as shares of `seconds`.
std::string thread_utilization(const ProcStats& from, const ProcStats& to, pid_t pid,
                               double seconds);

// nginx as the TLS 1.3 sink: `POST` anywhere on https://127.0.0.1:port() answers 200 with an
// empty body, keep-alive without limits, no access log. stub_status on a second, plain-HTTP port
// counts the requests. Runs in the foreground (daemon off) as a child of the bench.
class NginxSink {
 public:
  // `dir` holds the config, pid, error log and temp paths.
  NginxSink(std::string dir, const std::string& cert_chain_file, const std::string& key_file);
  ~NginxSink();  // stop()
  NginxSink(const NginxSink&) = delete;
  NginxSink& operator=(const NginxSink&) = delete;

  std::uint16_t port() const { return port_; }
  // Requests served on the TLS port since start (the status polls themselves excluded).
  // REQUIRES: not paused.
  std::uint64_t requests();
  // Polls requests() every 10 ms until it reaches `n`; the time the poll that first saw it
  // returned, or nullopt after `timeout`, or when the count did not move for `stall`.
  std::optional<Clock::time_point> wait_for_requests(
      std::uint64_t n, std::chrono::milliseconds timeout,
      std::chrono::milliseconds stall = std::chrono::seconds(15));
  // SIGSTOP / SIGCONT to the master and its workers. While paused the kernel still accepts TCP
  // connections into the listen backlog, so a sender's requests wait there without failing
  // (given long enough timeouts): work queues up in the sender, as behind a slow receiver.
  // pause() returns once every process has stopped; it throws when no worker is found or one
  // has not stopped within 2 s.
  void pause();
  void resume();
  void stop();
  static std::string version();
  // utime + stime of the master and its workers, in seconds.
  double cpu_seconds() const;

 private:
  std::vector<pid_t> pids() const;
  std::string dir_;
  pid_t master_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t status_port_ = 0;
  std::uint64_t polls_ = 0;
  bool paused_ = false;
};

// wrk's requests per second for POSTs of `body` (with a header set like a delivery's) to `url`
// over `connections` keep-alive connections, for `seconds`. Throws on failure.
double run_wrk(const std::string& url, int connections, int seconds, const std::string& body);
std::string wrk_version();

// One run of the raw SQLite reference (korehook-bench-sqlite at `program`): `rows` rows of
// 1 KiB, `per_txn` per transaction, into a new database at `db`. Throws when it fails or prints
// no rate; the commit percentiles are 0 when absent.
struct RawSqlite {
  double rows_per_s = 0;
  double commit_p50_ms = 0;
  double commit_p99_ms = 0;
  std::string line;  // what it printed
};
RawSqlite run_raw_sqlite(const std::string& program, const std::string& db, long rows,
                         long per_txn);

// The `data` of every bench event: {"seq":N,"pad":"xxx..."} of about 1 KiB (so the delivered
// body, which is the minified data, is about 1 KiB).
std::string event_data(std::uint64_t seq);
// Finds N in a body containing "seq":N; nullopt when absent.
std::optional<std::uint64_t> parse_seq(std::string_view body);

// Producers: `connections` keep-alive HTTP/1.1 connections on the API socket, driven by the
// calling thread with epoll, one request in flight per connection (a lean client, like wrk, so
// that the producers' syscalls and wake-ups take as little CPU from the daemon as they can).
struct LoadSpec {
  std::string socket;
  int connections = 16;
  // Events per request: 1 = POST /v1/events; more = POST /v1/events/batch {"events":[...]}.
  int batch = 1;
  std::uint64_t first_seq = 0;
  std::uint64_t count = 0;  // events to submit
  double rate = 0;          // events per second, open loop; 0 = as fast as acknowledged
  std::chrono::milliseconds max_time{600'000};            // stop submitting after this long
  std::function<std::string(std::uint64_t seq)> type_of;  // the event type of each seq
  // When set: sized `count`; [seq - first_seq] gets the moment the request carrying seq was
  // written (by the thread running run_load).
  std::vector<Clock::time_point>* sent_at = nullptr;
  std::atomic<bool>* stop = nullptr;  // set by another thread to stop early
};

// Updated as the responses come in: another thread may read it while run_load runs.
struct LoadProgress {
  std::atomic<std::uint64_t> acked{0};   // events acknowledged with 202
  std::atomic<std::uint64_t> failed{0};  // events in requests that got no 202
};

struct LoadResult {
  std::uint64_t acked = 0;
  std::uint64_t failed = 0;
  double seconds = 0;
  std::vector<double> ack_ms;  // per request: write -> 202
  std::string first_error;
  double events_per_s() const { return seconds > 0 ? static_cast<double>(acked) / seconds : 0; }
};

// Runs the producers until `count` events are submitted, `max_time` passed or `stop` is set,
// and the requests in flight are answered (or failed: no answer within 60 s, the connection
// closed or broken; a failed connection is reopened for the next request).
LoadResult run_load(const LoadSpec& spec, LoadProgress* progress = nullptr);

// True when the daemon has POST /v1/events/batch (a one-event batch of a type no endpoint
// subscribes to answers 202); false on 404 or 405.
bool has_batch_route(const std::string& socket);

// Nearest-rank percentile (p in 0..100) of unsorted samples.
double percentile(std::vector<double> samples, double p);

}  // namespace korehook::bench
