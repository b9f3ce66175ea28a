#include "harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
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

// The fields of a /proc/.../stat file after the command name (which is in parentheses and may
// contain spaces), from the state on; empty when unreadable.
std::string stat_fields(const std::string& path) {
  const std::string stat = read_file(path);
  const auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? std::string()
                                                                : stat.substr(close + 2);
}

// The state letter of /proc/PID/stat (R, S, T, …); 0 when unreadable.
char process_state(pid_t pid) {
  const std::string fields = stat_fields("/proc/" + std::to_string(pid) + "/stat");
  return fields.empty() ? '\0' : fields[0];
}

// utime + stime from a /proc/.../stat file, in seconds; 0 when unreadable.
double stat_cpu_seconds(const std::string& path) {
  std::istringstream in(stat_fields(path));
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

double process_cpu_seconds(pid_t pid) {
  return stat_cpu_seconds("/proc/" + std::to_string(pid) + "/stat");
}

double cpu_seconds(const rusage& usage) {
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return cpu_seconds(usage);
}

RawSqlite run_raw_sqlite(const std::string& program, const std::string& db, long rows,
                         long per_txn) {
  const auto r =
      testing::run_command(program, {db, std::to_string(rows), std::to_string(per_txn), "1024"});
  auto figure = [&](std::string_view name) {
    const auto pos = r.out.find(name);
    return pos == std::string::npos ? -1.0 : std::atof(r.out.c_str() + pos + name.size());
  };
  RawSqlite out;
  out.rows_per_s = figure("rows_per_s=");
  if (r.exit_code != 0 || out.rows_per_s < 0) {
    throw std::runtime_error("korehook-bench-sqlite failed: " + r.out + r.err);
  }
  out.commit_p50_ms = std::max(0.0, figure("commit_p50_ms="));
  out.commit_p99_ms = std::max(0.0, figure("commit_p99_ms="));
  out.line = r.out;
  return out;
}

double machine_busy_seconds() {
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice", in clock ticks;
  // guest time is already counted in user.
  std::istringstream in(read_file("/proc/stat"));
  std::string label;
  unsigned long long t[8] = {};
  if (!(in >> label) || label != "cpu") return 0;
  for (auto& field : t) in >> field;
  const unsigned long long busy = t[0] + t[1] + t[2] + t[5] + t[6] + t[7];
  return static_cast<double>(busy) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

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
// `sent`, when given, says whether the whole request went out (nginx may then count it).
std::string http_get(std::uint16_t port, const std::string& path, bool* sent = nullptr) {
  if (sent) *sent = false;
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
      if (sent) *sent = true;
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
  // "Active connections: 1 \nserver accepts handled requests\n 1 1 1 \nReading: 0 ...": the
  // whole page, up to "Reading:", or the count is not read from it. A page cut short (the
  // poll's 2 s timeout) would leave `total` at 0, and 0 - polls_ would wrap around to a count
  // that ends a drain window at once; such a poll is made again.
  std::string text;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    bool sent = false;
    text = http_get(status_port_, "/", &sent);
    // nginx counts a poll whenever it read the request, whatever came back; one that was
    // never sent (its connect failed) it never saw.
    if (sent) ++polls_;
    const auto pos = text.find("handled requests");
    const auto end = text.find("Reading:");
    if (pos != std::string::npos && end != std::string::npos && end > pos) {
      std::istringstream in(text.substr(pos + 16, end - pos - 16));
      std::uint64_t accepts = 0;
      std::uint64_t handled = 0;
      std::uint64_t total = 0;
      if (in >> accepts >> handled >> total && total >= polls_) return total - polls_;
    }
  }
  throw std::runtime_error("nginx stub_status: no complete answer (last: '" + text.substr(0, 200) +
                           "')");
}

std::optional<Clock::time_point> NginxSink::wait_for_requests(std::uint64_t n,
                                                              std::chrono::milliseconds timeout,
                                                              std::chrono::milliseconds stall) {
  const auto deadline = Clock::now() + timeout;
  std::uint64_t last = 0;
  auto last_change = Clock::now();
  for (;;) {
    const std::uint64_t count = requests();
    // After the poll: nginx counted what the page says when it answered, and a poll may
    // wait behind a busy worker's backlog.
    const auto now = Clock::now();
    if (count >= n) return now;
    if (count != last) {
      last = count;
      last_change = now;
    }
    if (now > deadline || now - last_change > stall) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

double NginxSink::cpu_seconds() const {
  double total = 0;
  for (pid_t pid : pids()) total += process_cpu_seconds(pid);
  return total;
}

std::vector<pid_t> NginxSink::pids() const {
  std::vector<pid_t> out{master_};
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = ::readdir(proc)) {
    const pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    std::istringstream in(stat_fields("/proc/" + std::to_string(pid) + "/stat"));
    std::string state;
    pid_t ppid = 0;
    in >> state >> ppid;
    if (ppid == master_) out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

void NginxSink::pause() {
  const std::vector<pid_t> procs = pids();
  if (procs.size() < 2) throw std::runtime_error("nginx: no worker process to pause");
  for (pid_t pid : procs) ::kill(pid, SIGSTOP);
  paused_ = true;
  // A signal is delivered when its process next runs: wait until every one has stopped, so
  // that nothing is served once pause() returns.
  const auto deadline = Clock::now() + 2s;
  for (;;) {
    bool stopped = true;
    // The processes signalled: a stopped master starts no new worker.
    for (pid_t pid : procs) {
      // Stopped, or gone (a zombie or an exited worker serves nothing either).
      const char state = process_state(pid);
      if (state != 'T' && state != 'Z' && state != 'X' && state != '\0') stopped = false;
    }
    if (stopped) return;
    if (Clock::now() > deadline) throw std::runtime_error("nginx: a process did not stop");
    std::this_thread::sleep_for(1ms);
  }
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

namespace {

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

void append_event_data(std::string& out, std::uint64_t seq) {
  static const std::string pad(990, 'x');
  out += "{\"seq\":";
  append_number(out, seq);
  out += ",\"pad\":\"";
  out += pad;
  out += "\"}";
}

}  // namespace

std::string event_data(std::uint64_t seq) {
  std::string out;
  append_event_data(out, seq);
  return out;
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

// {"type":"<type>","data":<event_data>}
void append_event(std::string& out, const LoadSpec& spec, std::uint64_t seq) {
  out += "{\"type\":\"";
  out += spec.type_of(seq);
  out += "\",\"data\":";
  append_event_data(out, seq);
  out += '}';
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The status line and header of an HTTP/1.1 response.
struct ResponseHead {
  int status = 0;
  std::size_t size = 0;  // bytes up to and including the blank line
  std::size_t content_length = 0;
  bool close = false;  // the server closes the connection after this response
};

// The head at the start of `data`; nullopt while it is incomplete, or when malformed (then
// `error` says why).
std::optional<ResponseHead> parse_head(std::string_view data, std::string& error) {
  const auto blank = data.find("\r\n\r\n");
  if (blank == std::string_view::npos) return std::nullopt;
  ResponseHead head;
  head.size = blank + 4;
  std::string_view lines = data.substr(0, blank + 2);  // each line ends with CRLF
  const auto eol = lines.find("\r\n");
  const std::string_view status_line = lines.substr(0, eol);
  lines.remove_prefix(eol + 2);
  // "HTTP/1.1 202 Accepted"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ' ||
      std::from_chars(status_line.data() + 9, status_line.data() + 12, head.status).ptr !=
          status_line.data() + 12) {
    error = "bad status line \"" + std::string(status_line.substr(0, 100)) + "\"";
    return std::nullopt;
  }
  head.close = status_line[7] == '0';  // HTTP/1.0: closes unless it says keep-alive
  bool has_length = false;
  while (!lines.empty()) {
    const auto end = lines.find("\r\n");
    const std::string_view line = lines.substr(0, end);
    lines.remove_prefix(end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      error = "bad header line \"" + std::string(line.substr(0, 100)) + "\"";
      return std::nullopt;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      const auto [ptr, ec] =
          std::from_chars(value.data(), value.data() + value.size(), head.content_length);
      if (ec != std::errc() || ptr != value.data() + value.size()) {
        error = "bad content-length \"" + std::string(value.substr(0, 40)) + "\"";
        return std::nullopt;
      }
      has_length = true;
    } else if (iequals(name, "connection")) {
      if (iequals(value, "close")) head.close = true;
      if (iequals(value, "keep-alive")) head.close = false;
    } else if (iequals(name, "transfer-encoding")) {
      error = "transfer-encoding is not supported (korehookd sends content-length)";
      return std::nullopt;
    }
  }
  if (!has_length && head.status != 204 && head.status != 304) {
    error = "response without content-length";
    return std::nullopt;
  }
  return head;
}

// The producers: every connection of a LoadSpec driven by one thread with epoll (the
// daemon's API socket is local, so a producer's cost is syscalls and wake-ups, which this
// keeps to about one send, one recv and a share of one epoll_wait per request). Each
// connection carries one request at a time (keep-alive, no pipelining); a connection is
// opened when a request first needs it and after the daemon closed it.
class Producers {
 public:
  static constexpr auto kRequestTimeout = std::chrono::seconds(60);  // write -> response
  static constexpr std::size_t kMaxHead = 64 * 1024;
  static constexpr std::size_t kMaxBody = 64 * 1024 * 1024;

  Producers(const LoadSpec& spec, LoadProgress& progress)
      : spec_(spec),
        progress_(progress),
        batch_(static_cast<std::uint64_t>(std::max(1, spec.batch))),
        connections_(static_cast<std::size_t>(std::max(0, spec.connections))),
        events_(std::clamp<std::size_t>(connections_.size(), 1, 256)),
        buffer_(64 * 1024) {
    head_prefix_ = "POST ";
    head_prefix_ += batch_ > 1 ? "/v1/events/batch" : "/v1/events";
    // The header client::Client sends (Beast's spelling), with this program's name.
    head_prefix_ +=
        " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: korehook-bench\r\n"
        "Content-Type: application/json\r\nContent-Length: ";
    head_room_ = head_prefix_.size() + 24;  // + the length's digits + CRLF CRLF
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      connections_[i].index = i;
      idle_.push_back(i);
    }
    const std::uint64_t requests = spec.count / batch_ + 1;
    result_.ack_ms.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(requests, 1 << 22)));
  }

  ~Producers() {
    for (auto& c : connections_) close(c);
    ::close(epoll_);
  }

  Producers(const Producers&) = delete;
  Producers& operator=(const Producers&) = delete;

  LoadResult run() {
    start_ = Clock::now();
    deadline_ = start_ + spec_.max_time;
    submitting_ = !connections_.empty();
    for (;;) {
      submit(Clock::now());
      if (!submitting_ && in_flight_ == 0) break;
      wait();
      expire(Clock::now());
    }
    result_.seconds = seconds_between(start_, Clock::now());
    result_.acked = progress_.acked;
    result_.failed = progress_.failed;
    return std::move(result_);
  }

 private:
  struct Connection {
    std::size_t index = 0;
    int fd = -1;
    bool want_write = false;  // EPOLLOUT registered: the request did not fit in one send
    // The request: head_room_ bytes in which the header is written right before the body.
    std::string request;
    std::size_t begin = 0;  // the request's first byte in `request`
    std::size_t written = 0;
    std::string response;  // bytes read of the response in flight
    // The request in flight.
    bool busy = false;
    bool reused = false;   // sent on a connection that carried earlier requests
    bool retried = false;  // already resent once on a fresh connection
    std::uint64_t events = 0;
    Clock::time_point sent;
    Clock::time_point expires;
  };

  Clock::time_point due(std::uint64_t offset) const {
    return start_ + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(offset) / spec_.rate));
  }

  // Hands out the next requests to idle connections: in closed loop as long as there are
  // any, in open loop those already due.
  void submit(Clock::time_point now) {
    while (submitting_ && !idle_.empty()) {
      if (next_ >= spec_.count || (spec_.stop && spec_.stop->load()) || now > deadline_ ||
          (spec_.rate > 0 && due(next_) > deadline_)) {
        submitting_ = false;
        break;
      }
      if (spec_.rate > 0 && due(next_) > now) break;
      Connection& c = connections_[idle_.front()];
      idle_.pop_front();
      const std::uint64_t n = std::min(batch_, spec_.count - next_);
      start(c, next_, n);
      next_ += n;
    }
  }

  void start(Connection& c, std::uint64_t offset, std::uint64_t n) {
    // The body after head_room_ bytes, then the header right before it: one buffer, no copy.
    c.request.assign(head_room_, ' ');
    const std::uint64_t seq = spec_.first_seq + offset;
    if (batch_ == 1) {
      append_event(c.request, spec_, seq);
    } else {
      c.request += "{\"events\":[";
      for (std::uint64_t i = 0; i < n; ++i) {
        if (i) c.request += ',';
        append_event(c.request, spec_, seq + i);
      }
      c.request += "]}";
    }
    char length[24];
    char* length_end =
        std::to_chars(length, length + sizeof length, c.request.size() - head_room_).ptr;
    const auto length_size = static_cast<std::size_t>(length_end - length);
    c.begin = head_room_ - head_prefix_.size() - length_size - 4;
    char* out = c.request.data() + c.begin;
    out = std::copy(head_prefix_.begin(), head_prefix_.end(), out);
    out = std::copy(length, length_end, out);
    std::memcpy(out, "\r\n\r\n", 4);

    c.busy = true;
    ++in_flight_;
    c.events = n;
    c.retried = false;
    c.reused = c.fd >= 0;
    c.response.clear();
    c.sent = Clock::now();
    if (c.fd < 0) {
      if (std::string error = open(c); !error.empty()) return finish(c, false, error);
      c.sent = Clock::now();
    }
    c.expires = c.sent + kRequestTimeout;
    if (spec_.sent_at) {
      for (std::uint64_t i = 0; i < n; ++i) (*spec_.sent_at)[offset + i] = c.sent;
    }
    c.written = 0;
    send(c);
  }

  // Connects `c`; "" or what failed.
  std::string open(Connection& c) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (spec_.socket.size() >= sizeof addr.sun_path) return "socket path too long: " + spec_.socket;
    std::memcpy(addr.sun_path, spec_.socket.c_str(), spec_.socket.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
    // A Unix-socket connect completes at once unless the listen backlog is full; it is made
    // blocking, bounded by the request timeout, and the socket non-blocking after it.
    timeval timeout{};
    timeout.tv_sec = static_cast<time_t>(std::chrono::seconds(kRequestTimeout).count());
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int e = errno;
      ::close(fd);
      if (e == ECONNREFUSED || e == ENOENT) {
        return "korehookd is not running (cannot connect to " + spec_.socket + ": " +
               std::strerror(e) + ")";
      }
      return "connect on " + spec_.socket + ": " + std::strerror(e);
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = c.index;
    if (::fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      const int e = errno;
      ::close(fd);
      return std::string("registering a connection: ") + std::strerror(e);
    }
    c.fd = fd;
    c.want_write = false;
    return {};
  }

  void close(Connection& c) {
    if (c.fd >= 0) ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    c.want_write = false;
  }

  // Writes what the socket takes of the request; EPOLLOUT is watched only while some is left.
  void send(Connection& c) {
    const std::size_t size = c.request.size() - c.begin;
    while (c.written < size) {
      const ssize_t n =
          ::send(c.fd, c.request.data() + c.begin + c.written, size - c.written, MSG_NOSIGNAL);
      if (n >= 0) {
        c.written += static_cast<std::size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c.want_write) watch(c, true);
        return;
      } else if (errno != EINTR) {
        return fail(c, "write on " + spec_.socket + ": " + std::strerror(errno), true);
      }
    }
    if (c.want_write) watch(c, false);
  }

  void watch(Connection& c, bool writes) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    if (writes) ev.events |= EPOLLOUT;
    ev.data.u64 = c.index;
    if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev) != 0) {
      return fail(c, std::string("epoll_ctl: ") + std::strerror(errno), false);
    }
    c.want_write = writes;
  }

  // Reads what arrived; completes the request when its response is whole.
  void receive(Connection& c) {
    for (;;) {
      const ssize_t n = ::recv(c.fd, buffer_.data(), buffer_.size(), 0);
      if (n > 0) {
        if (!c.busy) return close(c);  // bytes nobody asked for: drop the connection
        c.response.append(buffer_.data(), static_cast<std::size_t>(n));
        if (!complete(c) || static_cast<std::size_t>(n) < buffer_.size()) return;
      } else if (n == 0) {
        if (!c.busy) return close(c);  // the daemon closed a kept-alive connection
        const std::string what = c.response.empty()
                                     ? "end of stream"
                                     : "end of stream after " + std::to_string(c.response.size()) +
                                           " bytes of a response";
        return fail(c, "read on " + spec_.socket + ": " + what, true);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      } else if (errno != EINTR) {
        if (!c.busy) return close(c);
        return fail(c, "read on " + spec_.socket + ": " + std::strerror(errno), true);
      }
    }
  }

  // Completes the request of `c` if its response is whole; true while the connection stays
  // open and more bytes are awaited.
  bool complete(Connection& c) {
    std::string error;
    const auto head = parse_head(c.response, error);
    if (!head) {
      if (error.empty() && c.response.size() > kMaxHead) error = "response header over 64 KiB";
      if (error.empty()) return true;
      fail(c, "bad response on " + spec_.socket + ": " + error, false);
      return false;
    }
    if (head->content_length > kMaxBody) {
      fail(c, "bad response on " + spec_.socket + ": body over 64 MiB", false);
      return false;
    }
    const std::size_t size = head->size + head->content_length;
    if (c.response.size() < size) return true;
    const bool accepted = head->status == 202;
    if (!accepted && result_.first_error.empty()) {
      error = std::to_string(head->status) + " " +
              c.response.substr(head->size, std::min<std::size_t>(head->content_length, 200));
    }
    // Extra bytes or an answer before the whole request was written: this connection can no
    // longer tell which response is whose.
    const bool keep =
        !head->close && c.response.size() == size && c.written == c.request.size() - c.begin;
    c.response.clear();
    if (!keep) close(c);
    finish(c, accepted, error);
    return false;
  }

  // A request that got no response: resent once on a fresh connection when `retry` and it was
  // sent on a kept-alive connection the daemon may have closed meanwhile (as client::Client
  // does), and nothing of a response came; otherwise counted failed.
  void fail(Connection& c, const std::string& error, bool retry) {
    retry = retry && c.reused && !c.retried && c.response.empty();
    close(c);
    c.response.clear();
    if (retry) {
      c.retried = true;
      c.reused = false;
      if (std::string connect_error = open(c); !connect_error.empty()) {
        return finish(c, false, connect_error);
      }
      c.written = 0;
      return send(c);
    }
    finish(c, false, error);
  }

  void finish(Connection& c, bool accepted, const std::string& error) {
    result_.ack_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - c.sent).count());
    if (accepted) {
      progress_.acked.fetch_add(c.events, std::memory_order_relaxed);
    } else {
      progress_.failed.fetch_add(c.events, std::memory_order_relaxed);
      if (result_.first_error.empty()) result_.first_error = error;
    }
    c.busy = false;
    --in_flight_;
    idle_.push_back(c.index);
  }

  // Waits for I/O, the next due request (open loop) or the earliest request timeout.
  void wait() {
    auto wake = Clock::time_point::max();
    if (submitting_ && !idle_.empty() && spec_.rate > 0) wake = due(next_);
    for (const auto& c : connections_) {
      if (c.busy) wake = std::min(wake, c.expires);
    }
    // `stop` is only read between requests: look at it at least every 100 ms.
    if (spec_.stop) wake = std::min(wake, Clock::now() + std::chrono::milliseconds(100));
    timespec timeout{};
    timespec* timeout_ptr = nullptr;
    if (wake != Clock::time_point::max()) {
      const auto ns = std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(wake - Clock::now()).count());
      timeout.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      timeout.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      timeout_ptr = &timeout;
    }
    const int n = ::epoll_pwait2(epoll_, events_.data(), static_cast<int>(events_.size()),
                                 timeout_ptr, nullptr);
    if (n < 0) {
      if (errno == EINTR) return;
      throw std::runtime_error(std::string("epoll_pwait2: ") + std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      Connection& c = connections_[events_[i].data.u64];
      const int fd = c.fd;
      if (fd < 0) continue;
      if ((events_[i].events & EPOLLOUT) && c.busy && c.want_write) send(c);
      if (c.fd == fd && (events_[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        receive(c);
      }
    }
  }

  void expire(Clock::time_point now) {
    for (auto& c : connections_) {
      if (c.busy && now >= c.expires) {
        fail(c,
             "no answer from " + spec_.socket + " within " +
                 std::to_string(std::chrono::milliseconds(kRequestTimeout).count()) + " ms",
             false);
      }
    }
  }

  const LoadSpec& spec_;
  LoadProgress& progress_;
  const std::uint64_t batch_;
  std::vector<Connection> connections_;
  std::deque<std::size_t> idle_;  // connections without a request, longest idle first
  std::vector<epoll_event> events_;
  std::vector<char> buffer_;  // recv buffer, shared
  std::string head_prefix_;   // the header up to the content-length value
  std::size_t head_room_ = 0;
  int epoll_ = -1;
  Clock::time_point start_;
  Clock::time_point deadline_;
  bool submitting_ = false;
  std::uint64_t next_ = 0;  // offset of the next event to hand out
  std::size_t in_flight_ = 0;
  LoadResult result_;
};

}  // namespace

LoadResult run_load(const LoadSpec& spec, LoadProgress* progress) {
  LoadProgress own;
  Producers producers(spec, progress ? *progress : own);
  return producers.run();
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
