#include "harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "korehook/client/client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace korehook::bench {

using namespace std::chrono_literals;
using testing::read_file;
using testing::write_file;

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

namespace {

// utime + stime from a /proc/.../stat file, in seconds; 0 when unreadable.
double stat_cpu_seconds(const std::string& path) {
  const std::string stat = read_file(path);
  // Fields after the command name, which is in parentheses and may contain spaces.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  unsigned long utime = 0;
  unsigned long stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

ProcStats read_proc_stats(pid_t pid) {
  ProcStats out;
  const std::string proc = "/proc/" + std::to_string(pid);
  out.cpu_seconds = stat_cpu_seconds(proc + "/stat");
  if (DIR* tasks = ::opendir((proc + "/task").c_str())) {
    while (dirent* entry = ::readdir(tasks)) {
      const pid_t tid = std::atoi(entry->d_name);
      if (tid > 0) {
        const std::string task = proc + "/task/" + entry->d_name;
        out.thread_cpu_seconds[tid] = stat_cpu_seconds(task + "/stat");
        // schedstat: "<ns on a CPU> <ns waiting on a run queue> <timeslices>"
        std::istringstream sched(read_file(task + "/schedstat"));
        unsigned long long on_cpu = 0;
        unsigned long long waiting = 0;
        if (sched >> on_cpu >> waiting) out.thread_wait_seconds[tid] = waiting / 1e9;
      }
    }
    ::closedir(tasks);
  }
  std::istringstream status(read_file(proc + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) out.vm_hwm_kib = std::atol(line.c_str() + 6);
    if (line.rfind("VmRSS:", 0) == 0) out.vm_rss_kib = std::atol(line.c_str() + 6);
  }
  return out;
}

std::string thread_utilization(const ProcStats& from, const ProcStats& to, pid_t pid,
                               double seconds) {
  std::string out;
  for (const auto& entry : to.thread_cpu_seconds) {
    const pid_t tid = entry.first;
    auto delta = [&](const std::map<pid_t, double>& a, const std::map<pid_t, double>& b) {
      const auto x = a.find(tid);
      const auto y = b.find(tid);
      return (y == b.end() ? 0 : y->second) - (x == a.end() ? 0 : x->second);
    };
    const double used = delta(from.thread_cpu_seconds, to.thread_cpu_seconds);
    const double waited = delta(from.thread_wait_seconds, to.thread_wait_seconds);
    if (used <= 0 || seconds <= 0) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s %.0f%% +%.0f%% waiting", out.empty() ? "" : ", ",
                  tid == pid ? "main" : std::to_string(tid).c_str(), 100 * used / seconds,
                  100 * waited / seconds);
    out += buf;
  }
  return out;
}

namespace {

std::uint16_t free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("no free port: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One blocking HTTP/1.0 GET on 127.0.0.1:port; the whole answer, or "" on failure.
std::string http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: sink\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n = 0;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

pid_t spawn_background(const std::string& path, const std::vector<std::string>& args,
                       const std::string& log_file) {
  testing::SpawnArgs spawn(path, args, {});
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = -1;
  const int rc =
      ::posix_spawnp(&pid, path.c_str(), &actions, nullptr, spawn.argv.data(), spawn.envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + path + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

NginxSink::NginxSink(std::string dir, const std::string& cert_chain_file,
                     const std::string& key_file)
    : dir_(std::move(dir)), port_(free_tcp_port()), status_port_(free_tcp_port()) {
  const std::string d = dir_;
  std::string conf;
  conf += "daemon off;\nworker_processes auto;\npid " + d + "/nginx.pid;\n";
  conf += "error_log " + d + "/error.log warn;\nworker_rlimit_nofile 20000;\n";
  conf += "events { worker_connections 8192; }\n";
  conf += "http {\n  access_log off;\n";
  for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    conf += std::string("  ") + temp + "_temp_path " + d + "/" + temp + ";\n";
  }
  conf += "  keepalive_requests 100000000;\n  keepalive_timeout 600s;\n";
  conf += "  client_max_body_size 16m;\n  client_body_buffer_size 64k;\n";
  conf += "  server {\n    listen 127.0.0.1:" + std::to_string(port_) + " ssl backlog=4096;\n";
  conf += "    ssl_certificate " + cert_chain_file + ";\n";
  conf += "    ssl_certificate_key " + key_file + ";\n";
  conf += "    ssl_protocols TLSv1.3;\n    ssl_session_cache off;\n";
  conf += "    location / { return 200; }\n  }\n";
  conf += "  server {\n    listen 127.0.0.1:" + std::to_string(status_port_) + ";\n";
  conf += "    location / { stub_status; }\n  }\n}\n";
  write_file(d + "/nginx.conf", conf);
  master_ = spawn_background("nginx", {"-p", d, "-e", d + "/error.log", "-c", d + "/nginx.conf"},
                             d + "/nginx.out");
  const auto deadline = Clock::now() + 10s;
  while (http_get(status_port_, "/").find("Active connections") == std::string::npos) {
    int status = 0;
    if (::waitpid(master_, &status, WNOHANG) == master_) {
      master_ = -1;
      throw std::runtime_error("nginx exited: " + read_file(d + "/nginx.out") +
                               read_file(d + "/error.log"));
    }
    if (Clock::now() > deadline) throw std::runtime_error("nginx did not start");
    std::this_thread::sleep_for(20ms);
  }
  polls_ = 0;
  requests();  // the first poll counts from here
}

NginxSink::~NginxSink() { stop(); }

std::uint64_t NginxSink::requests() {
  // "Active connections: 1 \nserver accepts handled requests\n 1 1 1 \n..."
  const std::string text = http_get(status_port_, "/");
  ++polls_;
  const auto pos = text.find("handled requests");
  if (pos == std::string::npos) throw std::runtime_error("nginx stub_status: no answer");
  std::istringstream in(text.substr(pos + 16));
  std::uint64_t accepts = 0;
  std::uint64_t handled = 0;
  std::uint64_t total = 0;
  in >> accepts >> handled >> total;
  return total - polls_;
}

std::optional<Clock::time_point> NginxSink::wait_for_requests(std::uint64_t n,
                                                              std::chrono::milliseconds timeout,
                                                              std::chrono::milliseconds stall) {
  const auto deadline = Clock::now() + timeout;
  std::uint64_t last = 0;
  auto last_change = Clock::now();
  for (;;) {
    const auto now = Clock::now();
    const std::uint64_t count = requests();
    if (count >= n) return now;
    if (count != last) {
      last = count;
      last_change = now;
    }
    if (now > deadline || now - last_change > stall) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

std::vector<pid_t> NginxSink::pids() const {
  std::vector<pid_t> out{master_};
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = ::readdir(proc)) {
    const pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream in(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    in >> state >> ppid;
    if (ppid == master_) out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

void NginxSink::pause() {
  for (pid_t pid : pids()) ::kill(pid, SIGSTOP);
  paused_ = true;
}

void NginxSink::resume() {
  for (pid_t pid : pids()) ::kill(pid, SIGCONT);
  paused_ = false;
}

void NginxSink::stop() {
  if (master_ < 0) return;
  if (paused_) resume();
  ::kill(master_, SIGQUIT);
  const auto deadline = Clock::now() + 5s;
  int status = 0;
  while (::waitpid(master_, &status, WNOHANG) != master_) {
    if (Clock::now() > deadline) {
      for (pid_t pid : pids()) ::kill(pid, SIGKILL);
      ::waitpid(master_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  master_ = -1;
}

std::string NginxSink::version() {
  auto r = testing::run_command("/usr/sbin/nginx", {"-v"});
  std::string v = r.err + r.out;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  const auto slash = v.find("nginx/");
  return slash == std::string::npos ? v : v.substr(slash);
}

double run_wrk(const std::string& url, int connections, int seconds, const std::string& body) {
  testing::TempDir dir;
  // Headers of the size and kind a delivery carries (values are placeholders).
  std::string lua = "wrk.method = \"POST\"\n";
  lua += "wrk.body = [[" + body + "]]\n";
  const std::pair<const char*, std::string> headers[] = {
      {"user-agent", "KoreProxy/1.1"},
      {"date", "2026-11-29T00:47:06Z"},
      {"kore-idempotency-token", "0b6f1d0c-6f7d-4d7e-9b55-1f0c8f1a2b3c"},
      {"kore-signature", std::string(64, 'a')},
      {"content-type", "application/json"},
      {"webhook-id", "0b6f1d0c-6f7d-4d7e-9b55-1f0c8f1a2b3c"},
      {"webhook-timestamp", "1764377226"},
      {"webhook-signature", "v1," + std::string(44, 'A')},
  };
  for (const auto& [name, value] : headers) {
    lua += std::string("wrk.headers[\"") + name + "\"] = \"" + value + "\"\n";
  }
  write_file(dir.file("post.lua"), lua);
  const int threads = std::max(
      1, std::min<int>(connections, static_cast<int>(std::thread::hardware_concurrency())));
  testing::CommandOptions options;
  options.timeout = std::chrono::seconds(seconds + 30);
  auto r =
      testing::run_command("/usr/bin/wrk",
                           {"-t" + std::to_string(threads), "-c" + std::to_string(connections),
                            "-d" + std::to_string(seconds) + "s", "-s", dir.file("post.lua"), url},
                           options);
  const auto pos = r.out.find("Requests/sec:");
  if (r.exit_code != 0 || pos == std::string::npos) {
    throw std::runtime_error("wrk failed: " + r.out + r.err);
  }
  if (r.out.find("Non-2xx") != std::string::npos) {
    throw std::runtime_error("wrk: the sink answered non-2xx: " + r.out);
  }
  return std::atof(r.out.c_str() + pos + 13);
}

std::string wrk_version() {
  auto r = testing::run_command("/usr/bin/wrk", {"-v"});
  std::string v = r.out + r.err;
  return v.substr(0, v.find(' ', v.find(' ') + 1));
}

std::string event_data(std::uint64_t seq) {
  static const std::string pad(990, 'x');
  return "{\"seq\":" + std::to_string(seq) + ",\"pad\":\"" + pad + "\"}";
}

std::optional<std::uint64_t> parse_seq(std::string_view body) {
  const auto pos = body.find("\"seq\":");
  if (pos == std::string_view::npos) return std::nullopt;
  std::uint64_t v = 0;
  std::size_t i = pos + 6;
  if (i >= body.size() || body[i] < '0' || body[i] > '9') return std::nullopt;
  for (; i < body.size() && body[i] >= '0' && body[i] <= '9'; ++i) v = v * 10 + (body[i] - '0');
  return v;
}

namespace {

std::string one_event(const LoadSpec& spec, std::uint64_t seq) {
  return "{\"type\":\"" + spec.type_of(seq) + "\",\"data\":" + event_data(seq) + "}";
}

}  // namespace

LoadResult run_load(const LoadSpec& spec, LoadProgress* progress) {
  LoadProgress own;
  LoadProgress& prog = progress ? *progress : own;
  const std::uint64_t batch = static_cast<std::uint64_t>(std::max(1, spec.batch));
  const std::string path = batch > 1 ? "/v1/events/batch" : "/v1/events";
  std::atomic<std::uint64_t> next{0};  // offset of the next event to hand out
  std::mutex mutex;
  LoadResult result;
  const auto start = Clock::now();
  const auto deadline = start + spec.max_time;

  auto producer = [&] {
    client::Client client(spec.socket, std::chrono::seconds(60));
    std::vector<double> acks;
    std::string first_error;
    for (;;) {
      if (spec.stop && spec.stop->load()) break;
      const std::uint64_t offset = next.fetch_add(batch);
      if (offset >= spec.count) break;
      const std::uint64_t n = std::min(batch, spec.count - offset);
      if (spec.rate > 0) {  // open loop: request `offset` is due at start + offset / rate
        const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(offset / spec.rate));
        std::this_thread::sleep_until(due);
      }
      if (Clock::now() > deadline) break;
      std::string body;
      if (batch == 1) {
        body = one_event(spec, spec.first_seq + offset);
      } else {
        body = "{\"events\":[";
        for (std::uint64_t i = 0; i < n; ++i) {
          if (i) body += ',';
          body += one_event(spec, spec.first_seq + offset + i);
        }
        body += "]}";
      }
      const auto sent = Clock::now();
      if (spec.sent_at) {
        for (std::uint64_t i = 0; i < n; ++i) (*spec.sent_at)[offset + i] = sent;
      }
      auto res = client.request("POST", path, body);
      acks.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
      if (res.ok() && res->status == 202) {
        prog.acked += n;
      } else {
        prog.failed += n;
        if (first_error.empty()) {
          first_error = res.ok() ? std::to_string(res->status) + " " + res->body.substr(0, 200)
                                 : res.error().message;
        }
      }
    }
    std::lock_guard lock(mutex);
    result.ack_ms.insert(result.ack_ms.end(), acks.begin(), acks.end());
    if (result.first_error.empty()) result.first_error = first_error;
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < spec.connections; ++i) threads.emplace_back(producer);
  for (auto& t : threads) t.join();
  result.seconds = seconds_between(start, Clock::now());
  result.acked = prog.acked;
  result.failed = prog.failed;
  return result;
}

bool has_batch_route(const std::string& socket) {
  client::Client client(socket, std::chrono::seconds(10));
  auto res = client.request("POST", "/v1/events/batch",
                            R"({"events":[{"type":"bench.probe","data":{"probe":true}}]})");
  if (!res.ok()) throw std::runtime_error("batch probe: " + res.error().message);
  if (res->status == 202) return true;
  // 405: the route /v1/events/{id} (GET only) matched "batch" as an id.
  if (res->status != 404 && res->status != 405) {
    std::fprintf(stderr, "bench: POST /v1/events/batch answered %d %s; treated as absent\n",
                 res->status, res->body.c_str());
  }
  return false;
}

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * samples.size()));
  return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace korehook::bench
