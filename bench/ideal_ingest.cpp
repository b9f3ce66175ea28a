// A measure for rows 2a and 3, not a part of korehookd: what a minimal server reaches on this
// machine when it takes single events over a Unix socket and acknowledges each only once it is
// durable, and (mode e2e) when it also delivers them, measured with the bench's own producers,
// nginx sink and step rule. docs/performance.md ("What a minimal server reaches here") has the
// figures.
//
// The server does strictly less than korehookd: no JSON parsing, no routing, no idempotency
// index, no retry schedule, no API beyond the one route. It runs one event loop thread. It reads
// every request that has arrived and inserts each body as a row of the raw SQLite reference's
// table, with one small delivery row per event unless `events` is given (the two indexes
// korehookd's due-work and event lookups need are on it). It commits them in one transaction
// (WAL, synchronous=NORMAL) and syncs the WAL, which is what synchronous=FULL adds in WAL mode,
// then writes each 202. Requests that arrive meanwhile wait in their sockets and form the next
// group. With `inline` (the default) the loop syncs itself; with `pipelined` a second thread
// syncs while the loop goes on, and the loop answers a group once a sync after its commit ends.
// With `threaded` (korehookd's shape, reduced) a store thread owns SQLite: the loop hands it
// what one turn gathered (events, attempt records), the store thread writes all that waits as one
// transaction, syncs it when it holds events, and hands the durable events back (an eventfd).
//
// Mode e2e also delivers every durable event: a POST with KORE's and Standard Webhooks' headers
// (two HMAC-SHA256 of the body) over one of 16 keep-alive TLS 1.3 connections to an nginx sink
// set up as the bench's, verified against a test CA; each response is recorded (an attempt row,
// the delivery row updated) in a later transaction. A transaction holding attempt records alone
// waits up to 1 ms for more and is committed without a sync (the next sync covers it).
//
//   korehook-bench-ideal [events=100000] [connections=16] [deliveries|events]
//                        [inline|pipelined|threaded]
//   korehook-bench-ideal e2e [inline|pipelined|threaded] [producers=64] [rate ...]
//
// Ingest prints the rate, the server's CPU per event and the raw SQLite reference
// (korehook-bench-sqlite next to this program, 100 rows per transaction, the same filesystem).
// Mode e2e measures wrk against the sink as the bench does, then runs one step per rate (a
// fraction of wrk's; default 0.3 0.35 0.4 0.45) as row 3 does: open loop for 4 s, the backlog
// (acknowledged minus served) compared after the first second and at the end, flat when it grew
// by at most 3 % of the rate over the remaining 3 s (or 64 events).

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "korehook/model/endpoint.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace bench = korehook::bench;
namespace testing = korehook::testing;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "korehook-bench-ideal: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

void exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    die(std::string(sql) + ": " + sqlite3_errmsg(db));
  }
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    die(std::string("prepare: ") + sqlite3_errmsg(db));
  }
  return stmt;
}

void step(sqlite3* db, sqlite3_stmt* stmt) {
  if (sqlite3_step(stmt) != SQLITE_DONE) die(std::string("step: ") + sqlite3_errmsg(db));
  sqlite3_reset(stmt);
}

void bind_text(sqlite3_stmt* stmt, int index, std::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The end of the first complete HTTP message in `in` at or after `from` (0 while it has not all
// arrived), with where its body starts and how long it is.
std::size_t message_end(const std::string& in, std::size_t from, std::size_t& body_at,
                        std::size_t& body_size) {
  const auto head_end = in.find("\r\n\r\n", from);
  if (head_end == std::string::npos) return 0;
  std::size_t length = 0;
  constexpr std::string_view kName = "content-length:";
  for (std::size_t line = in.find("\r\n", from); line < head_end;
       line = in.find("\r\n", line + 2)) {
    const std::string_view field(in.data() + line + 2, head_end - line - 2);
    if (field.size() > kName.size() && strncasecmp(field.data(), kName.data(), kName.size()) == 0) {
      length = std::strtoul(field.data() + kName.size(), nullptr, 10);
    }
  }
  body_at = head_end + 4;
  body_size = length;
  return in.size() >= body_at + length ? body_at + length : 0;
}

// inline: the loop commits and syncs; pipelined: the loop commits, a syncer thread syncs;
// threaded: a store thread owns SQLite (inserts, commits, syncs), the loop only the sockets.
enum class Shape { kInline, kPipelined, kThreaded };

// The delivery's keep-alive connections to the sink, and wrk's against it (the same count, as
// korehook-bench measures them): korehook's default max_in_flight.
const int kSinkConnections = korehook::EndpointSettings{}.max_in_flight;

volatile sig_atomic_t g_stop = 0;
void on_term(int) { g_stop = 1; }

// One delivery connection: TLS over a blocking connect, then non-blocking.
struct Sink {
  int fd = -1;
  SSL* ssl = nullptr;
  bool busy = false;
  std::string delivery_id;
  std::int64_t started_at = 0;
  std::string in;
};

struct Append {
  std::size_t client = 0;
  std::string id;
  std::string body;
};

struct Attempt {
  std::string delivery_id;
  std::int64_t started_at = 0;
  std::int64_t duration_ms = 0;
  int status = 0;
};

struct Batch {
  std::vector<Append> appends;
  std::vector<Attempt> attempts;
};

struct Delivery {
  std::string event_id;
  std::string delivery_id;
  std::string body;
};

class Server {
 public:
  Server(const std::string& socket_path, const std::string& db_path, bool deliveries, Shape shape,
         std::uint16_t sink_port, const std::string& ca_file)
      : deliveries_(deliveries), sink_port_(sink_port), shape_(shape) {
    open_store(db_path);
    if (sink_port_ != 0) connect_sinks(ca_file);
    listen(socket_path);
  }

  [[noreturn]] void run() {
    struct sigaction sa {};
    sa.sa_handler = on_term;
    ::sigaction(SIGTERM, &sa, nullptr);
    // SIGTERM is let in only while waiting, so it cannot slip in between the check and the wait.
    sigset_t term, waiting;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &term, &waiting);
    sigdelset(&waiting, SIGTERM);
    if (shape_ == Shape::kPipelined) {
      synced_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      add(synced_fd_, kSynced);
      std::thread([this] { syncer(); }).detach();
    }
    if (shape_ == Shape::kThreaded) {
      synced_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      add(synced_fd_, kStored);
      std::thread([this] { store(); }).detach();
    }
    const auto started = Clock::now();
    std::vector<epoll_event> events(256);
    for (;;) {
      // An open transaction holding attempt records alone waits up to 1 ms for more.
      const int n = ::epoll_pwait(ep_, events.data(), static_cast<int>(events.size()),
                                  shape_ != Shape::kThreaded && open_ ? 1 : -1, &waiting);
      if (g_stop) report(started);
      if (n < 0 && errno != EINTR) die(std::string("epoll_wait: ") + std::strerror(errno));
      for (int i = 0; i < n; ++i) {
        const std::uint64_t key = events[i].data.u64;
        if (key == kListener) {
          accept_all();
        } else if (key == kSynced) {
          std::uint64_t ignored = 0;
          if (::read(synced_fd_, &ignored, sizeof ignored) < 0 && errno != EAGAIN) die("eventfd");
          release(synced_.load());
        } else if (key == kStored) {
          std::uint64_t ignored = 0;
          if (::read(synced_fd_, &ignored, sizeof ignored) < 0 && errno != EAGAIN) die("eventfd");
          stored();
        } else if (key >= kSinkBase) {
          read_sink(sinks_[key - kSinkBase]);
        } else {
          read_client(key);
        }
      }
      if (shape_ == Shape::kThreaded) {
        hand_to_store();
        continue;
      }
      if (!open_) continue;
      if (waiting_.empty() && Clock::now() - opened_ < std::chrono::milliseconds(1)) continue;
      const auto commit_start = Clock::now();
      exec(db_, "COMMIT");
      open_ = false;
      ++commits_;
      // Only a transaction holding new events needs its sync before anything is answered
      // (synchronous=NORMAL commits without one; this is what FULL adds in WAL mode).
      if (!waiting_.empty()) {
        ++groups_;
        unsynced_.push_back(Group{commits_, std::move(waiting_), std::move(committed_)});
        waiting_.clear();
        committed_.clear();
        if (shape_ == Shape::kPipelined) {
          const std::lock_guard lock(sync_mutex_);
          sync_requested_ = commits_;
          sync_wanted_.notify_one();
        } else {
          sync_wal();
          release(commits_);
        }
      }
      commit_s_ += std::chrono::duration<double>(Clock::now() - commit_start).count();
    }
  }

 private:
  static constexpr std::uint64_t kListener = ~std::uint64_t{0};
  static constexpr std::uint64_t kSynced = ~std::uint64_t{0} - 1;
  static constexpr std::uint64_t kStored = ~std::uint64_t{0} - 2;
  static constexpr std::uint64_t kSinkBase = std::uint64_t{1} << 32;
  static constexpr std::size_t kMaxRequest = std::size_t{1} << 20;  // or response

  struct Client {
    int fd = -1;
    std::string in;
    std::string out;
  };

  void open_store(const std::string& db_path) {
    if (sqlite3_open(db_path.c_str(), &db_) != SQLITE_OK) die("open " + db_path);
    exec(db_, "PRAGMA journal_mode=WAL");
    exec(db_, "PRAGMA synchronous=NORMAL");
    wal_path_ = db_path + "-wal";
    exec(db_,
         "CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL, created_at INTEGER NOT "
         "NULL, body BLOB NOT NULL)");
    exec(db_,
         "CREATE TABLE deliveries (id TEXT PRIMARY KEY, event_id TEXT NOT NULL, state INTEGER "
         "NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL)");
    exec(db_, "CREATE INDEX deliveries_event ON deliveries(event_id)");
    exec(db_, "CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state IN (0, 1)");
    exec(db_,
         "CREATE TABLE attempts (delivery_id TEXT NOT NULL, number INTEGER NOT NULL, started_at "
         "INTEGER NOT NULL, duration_ms INTEGER NOT NULL, status_code INTEGER, PRIMARY "
         "KEY(delivery_id, number)) WITHOUT ROWID");
    insert_event_ =
        prepare(db_, "INSERT INTO events (id, type, created_at, body) VALUES (?,?,?,?)");
    insert_delivery_ = prepare(
        db_, "INSERT INTO deliveries (id, event_id, state, next_attempt_at) VALUES (?,?,0,?)");
    insert_attempt_ = prepare(db_,
                              "INSERT INTO attempts (delivery_id, number, started_at, "
                              "duration_ms, status_code) VALUES (?,1,?,?,?)");
    complete_ = prepare(db_, "UPDATE deliveries SET state = 2, attempts = 1 WHERE id = ?");
  }

  // Answers and queues for delivery every group whose sync is done (up to commit `upto`).
  void release(std::uint64_t upto) {
    while (!unsynced_.empty() && unsynced_.front().commit <= upto) {
      Group& g = unsynced_.front();
      for (const std::size_t index : g.clients) {
        Client& c = clients_[index];
        // Two requests of one connection in the group: answered at once. A closed one: dropped.
        if (c.out.empty() || c.fd < 0) continue;
        const ssize_t put = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (put != static_cast<ssize_t>(c.out.size())) die("short send of a 202");
        c.out.clear();
      }
      for (auto& d : g.deliveries) queue_.push_back(std::move(d));
      unsynced_.pop_front();
    }
    for (auto& sink : sinks_) {
      if (queue_.empty()) break;
      if (!sink.busy) send_delivery(sink);
    }
  }

  // The syncer thread (pipelined): syncs the WAL for the latest commit asked, then wakes the
  // loop. One sync covers every commit before it.
  void syncer() {
    std::uint64_t done = 0;
    for (;;) {
      std::unique_lock lock(sync_mutex_);
      sync_wanted_.wait(lock, [&] { return sync_requested_ > done; });
      const std::uint64_t target = sync_requested_;
      lock.unlock();
      sync_wal();
      done = target;
      synced_.store(target);
      const std::uint64_t one = 1;
      if (::write(synced_fd_, &one, sizeof one) != sizeof one) die("eventfd write");
    }
  }

  void sync_wal() {
    if (wal_ < 0) wal_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_ < 0 || ::fdatasync(wal_) != 0)
      die("sync of " + wal_path_ + ": " + std::strerror(errno));
  }

  void begin() {
    if (open_) return;
    exec(db_, "BEGIN IMMEDIATE");
    open_ = true;
    opened_ = Clock::now();
  }

  void connect_sinks(const std::string& ca_file) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr || SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION) != 1 ||
        SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
      die("TLS context");
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    mac_ = EVP_MAC_CTX_new(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_END};
    if (mac_ == nullptr || EVP_MAC_CTX_set_params(mac_, params) != 1) die("HMAC context");
    sinks_.resize(static_cast<std::size_t>(kSinkConnections));
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      Sink& s = sinks_[i];
      s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(sink_port_);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        die(std::string("connect to the sink: ") + std::strerror(errno));
      }
      const int one = 1;
      ::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      s.ssl = SSL_new(ctx_);
      SSL_set_fd(s.ssl, s.fd);
      SSL_set1_host(s.ssl, "localhost");
      if (SSL_connect(s.ssl) != 1) die("TLS handshake with the sink");
      ::fcntl(s.fd, F_SETFL, ::fcntl(s.fd, F_GETFL) | O_NONBLOCK);
    }
  }

  void listen(const std::string& socket_path) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 256) != 0) {
      die("listen on " + socket_path + ": " + std::strerror(errno));
    }
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    add(listener_, kListener);
    for (std::size_t i = 0; i < sinks_.size(); ++i) add(sinks_[i].fd, kSinkBase + i);
  }

  void add(int fd, std::uint64_t key) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  }

  void accept_all() {
    for (int fd;
         (fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
      add(fd, clients_.size());
      clients_.push_back(Client{fd, {}, {}});
    }
  }

  void read_client(std::size_t index) {
    Client& c = clients_[index];
    if (c.fd < 0) return;
    for (;;) {
      const ssize_t got = ::recv(c.fd, buffer_, sizeof buffer_, 0);
      if (got > 0) {
        c.in.append(buffer_, static_cast<std::size_t>(got));
        // The producers send one request of about 1 KiB at a time.
        if (c.in.size() > kMaxRequest) die("a request over 1 MiB on the API socket");
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got == 0 || errno != EAGAIN) {
        ::close(c.fd);
        c.fd = -1;
        return;
      }
      break;
    }
    std::size_t at = 0, body_at = 0, body_size = 0;
    while (const std::size_t end = message_end(c.in, at, body_at, body_size)) {
      const std::string id = "evt_ideal_" + std::to_string(next_id_++);
      const std::string_view body(c.in.data() + body_at, body_size);
      const std::string answer = "{\"id\":\"" + id + "\"}";
      c.out += "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: " +
               std::to_string(answer.size()) + "\r\n\r\n" + answer;
      at = end;
      if (shape_ == Shape::kThreaded) {
        local_.appends.push_back(Append{index, id, std::string(body)});
        continue;
      }
      begin();
      insert(id, body);
      if (deliveries_ && sink_port_ != 0) {
        committed_.push_back(Delivery{id, "dlv" + id.substr(3), std::string(body)});
      }
      waiting_.push_back(index);
    }
    c.in.erase(0, at);
  }

  // The event's row, and its delivery's unless mode events.
  void insert(const std::string& id, std::string_view body) {
    const std::int64_t now = now_ms();
    bind_text(insert_event_, 1, id);
    bind_text(insert_event_, 2, "bench.drain");
    sqlite3_bind_int64(insert_event_, 3, now);
    sqlite3_bind_blob(insert_event_, 4, body.data(), static_cast<int>(body.size()),
                      SQLITE_TRANSIENT);
    step(db_, insert_event_);
    if (deliveries_) {
      const std::string delivery = "dlv" + id.substr(3);
      bind_text(insert_delivery_, 1, delivery);
      bind_text(insert_delivery_, 2, id);
      sqlite3_bind_int64(insert_delivery_, 3, now);
      step(db_, insert_delivery_);
    }
  }

  void record(const Attempt& a) {
    bind_text(insert_attempt_, 1, a.delivery_id);
    sqlite3_bind_int64(insert_attempt_, 2, a.started_at);
    sqlite3_bind_int64(insert_attempt_, 3, a.duration_ms);
    sqlite3_bind_int(insert_attempt_, 4, a.status);
    step(db_, insert_attempt_);
    bind_text(complete_, 1, a.delivery_id);
    step(db_, complete_);
  }

  // threaded: what the loop gathered in one turn goes to the store thread in one hand-off.
  void hand_to_store() {
    if (local_.appends.empty() && local_.attempts.empty()) return;
    {
      const std::lock_guard lock(store_mutex_);
      for (auto& a : local_.appends) inbox_.appends.push_back(std::move(a));
      for (auto& a : local_.attempts) inbox_.attempts.push_back(std::move(a));
    }
    store_wanted_.notify_one();
    local_.appends.clear();
    local_.attempts.clear();
  }

  // threaded: the store thread. Takes all that is waiting, writes it as one transaction, syncs
  // when it holds events, and hands the answered events back to the loop.
  void store() {
    for (;;) {
      Batch batch;
      {
        std::unique_lock lock(store_mutex_);
        store_wanted_.wait(lock,
                           [&] { return !inbox_.appends.empty() || !inbox_.attempts.empty(); });
        std::swap(batch, inbox_);
      }
      const auto commit_start = Clock::now();
      begin();
      Group group;
      for (const Append& a : batch.appends) {
        insert(a.id, a.body);
        group.clients.push_back(a.client);
        if (deliveries_ && sink_port_ != 0) {
          group.deliveries.push_back(Delivery{a.id, "dlv" + a.id.substr(3), a.body});
        }
      }
      for (const Attempt& a : batch.attempts) record(a);
      exec(db_, "COMMIT");
      open_ = false;
      ++commits_;
      if (!batch.appends.empty()) {
        sync_wal();
        ++groups_;
        {
          const std::lock_guard lock(store_mutex_);
          outbox_.push_back(std::move(group));
        }
        const std::uint64_t one = 1;
        if (::write(synced_fd_, &one, sizeof one) != sizeof one) die("eventfd write");
      }
      commit_s_ += std::chrono::duration<double>(Clock::now() - commit_start).count();
    }
  }

  // threaded: answers and queues for delivery what the store thread made durable.
  void stored() {
    std::vector<Group> done;
    {
      const std::lock_guard lock(store_mutex_);
      std::swap(done, outbox_);
    }
    for (Group& g : done) unsynced_.push_back(std::move(g));
    release(~std::uint64_t{0});
  }

  std::string sign(std::string_view what) {
    unsigned char mac[32];
    std::size_t size = 0;
    static const unsigned char kKey[32] = {1, 2, 3};
    if (EVP_MAC_init(mac_, kKey, sizeof kKey, nullptr) != 1 ||
        EVP_MAC_update(mac_, reinterpret_cast<const unsigned char*>(what.data()), what.size()) !=
            1 ||
        EVP_MAC_final(mac_, mac, &size, sizeof mac) != 1) {
      die("HMAC");
    }
    return std::string(reinterpret_cast<const char*>(mac), size);
  }

  static std::string hex(const std::string& raw) {
    static const char* kDigits = "0123456789abcdef";
    std::string out;
    for (unsigned char ch : raw) {
      out += kDigits[ch >> 4];
      out += kDigits[ch & 15];
    }
    return out;
  }

  static std::string base64(const std::string& raw) {
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(raw.data()),
                                  static_cast<int>(raw.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
  }

  void send_delivery(Sink& s) {
    Delivery d = std::move(queue_.front());
    queue_.pop_front();
    const std::string timestamp = std::to_string(now_ms() / 1000);
    const std::string kore = hex(sign(d.body));
    const std::string standard = base64(sign(d.delivery_id + "." + timestamp + "." + d.body));
    std::string request =
        "POST /hooks/ideal HTTP/1.1\r\nhost: 127.0.0.1:" + std::to_string(sink_port_) +
        "\r\nuser-agent: KoreProxy/1.1\r\ncontent-type: application/json\r\n"
        "content-length: " +
        std::to_string(d.body.size()) + "\r\nkore-idempotency-token: " + d.delivery_id +
        "\r\ndate: " + timestamp + "\r\nkore-signature: " + kore +
        "\r\nwebhook-id: " + d.delivery_id + "\r\nwebhook-timestamp: " + timestamp +
        "\r\nwebhook-signature: v1," + standard + "\r\n\r\n" + d.body;
    const int put = SSL_write(s.ssl, request.data(), static_cast<int>(request.size()));
    if (put != static_cast<int>(request.size())) die("SSL_write did not take the whole request");
    s.busy = true;
    s.delivery_id = std::move(d.delivery_id);
    s.started_at = now_ms();
  }

  void read_sink(Sink& s) {
    for (;;) {
      const int got = SSL_read(s.ssl, buffer_, sizeof buffer_);
      if (got > 0) {
        s.in.append(buffer_, static_cast<std::size_t>(got));
        if (s.in.size() > kMaxRequest) die("a response over 1 MiB from the sink");
        continue;
      }
      const int error = SSL_get_error(s.ssl, got);
      if (error == SSL_ERROR_WANT_READ) break;
      die("the sink closed or broke a connection");
    }
    std::size_t body_at = 0, body_size = 0;
    while (const std::size_t end = message_end(s.in, 0, body_at, body_size)) {
      if (!s.busy) die("a response with no request");
      const int status = std::atoi(s.in.c_str() + 9);
      s.in.erase(0, end);
      Attempt attempt{s.delivery_id, s.started_at, now_ms() - s.started_at, status};
      if (shape_ == Shape::kThreaded) {
        local_.attempts.push_back(std::move(attempt));
      } else {
        begin();
        record(attempt);
      }
      ++delivered_;
      s.busy = false;
      if (!queue_.empty()) send_delivery(s);
    }
  }

  [[noreturn]] void report(Clock::time_point started) {
    const double s = std::chrono::duration<double>(Clock::now() - started).count();
    std::printf(
        "server: %llu events in %llu synced commits (%.2f per commit), %llu commits in all, "
        "%llu delivered, COMMIT and sync %.0f %% of %.2f s\n",
        static_cast<unsigned long long>(next_id_), static_cast<unsigned long long>(groups_),
        groups_ ? static_cast<double>(next_id_) / static_cast<double>(groups_) : 0.0,
        static_cast<unsigned long long>(commits_), static_cast<unsigned long long>(delivered_),
        100.0 * commit_s_ / s, s);
    std::fflush(stdout);
    std::_Exit(0);
  }

  const bool deliveries_;
  const std::uint16_t sink_port_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_event_ = nullptr;
  sqlite3_stmt* insert_delivery_ = nullptr;
  sqlite3_stmt* insert_attempt_ = nullptr;
  sqlite3_stmt* complete_ = nullptr;
  bool open_ = false;
  Clock::time_point opened_;
  std::string wal_path_;
  int wal_ = -1;
  SSL_CTX* ctx_ = nullptr;
  EVP_MAC_CTX* mac_ = nullptr;
  int listener_ = -1;
  int ep_ = -1;
  std::vector<Client> clients_;
  std::vector<Sink> sinks_;
  struct Group {
    std::uint64_t commit = 0;
    std::vector<std::size_t> clients;
    std::vector<Delivery> deliveries;
  };
  std::vector<std::size_t> waiting_;  // clients whose events are in the open transaction
  std::vector<Delivery> committed_;   // the open transaction's deliveries
  std::deque<Group> unsynced_;        // committed, waiting for their sync
  const Shape shape_;
  Batch local_;  // threaded: gathered by the loop in this turn
  std::mutex store_mutex_;
  std::condition_variable store_wanted_;
  Batch inbox_;                // threaded: for the store thread
  std::vector<Group> outbox_;  // threaded: durable, for the loop
  int synced_fd_ = -1;
  std::mutex sync_mutex_;
  std::condition_variable sync_wanted_;
  std::uint64_t sync_requested_ = 0;
  std::atomic<std::uint64_t> synced_{0};
  std::deque<Delivery> queue_;  // durable, not yet sent
  char buffer_[1 << 16];
  std::uint64_t next_id_ = 0;
  // Written by the thread that commits, read once at the end.
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> groups_{0};  // commits holding events, each synced
  std::uint64_t delivered_ = 0;
  std::atomic<double> commit_s_{0};
};

// Forks the server; returns its pid once its socket exists.
pid_t start_server(const std::string& socket_path, const std::string& db_path, bool deliveries,
                   Shape shape, std::uint16_t sink_port, const std::string& ca_file) {
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    Server server(socket_path, db_path, deliveries, shape, sink_port, ca_file);
    server.run();
  }
  const auto wait_until = Clock::now() + std::chrono::seconds(10);
  while (!std::filesystem::exists(socket_path)) {
    if (Clock::now() > wait_until) die("the server did not listen");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pid;
}

// Stops the server (it prints its figures); its CPU seconds.
double stop_server(pid_t pid) {
  ::kill(pid, SIGTERM);
  rusage usage{};
  ::wait4(pid, nullptr, 0, &usage);
  return bench::cpu_seconds(usage);
}

double raw_sqlite_rate(const testing::TempDir& dir) {
  const auto self = std::filesystem::canonical("/proc/self/exe");
  return bench::run_raw_sqlite((self.parent_path() / "korehook-bench-sqlite").string(),
                               dir.file("raw.db"), 40'000, 100)
      .rows_per_s;
}

const char* shape_name(Shape shape) {
  return shape == Shape::kInline ? "inline" : shape == Shape::kPipelined ? "pipelined" : "threaded";
}

int ingest(std::uint64_t count, int connections, const std::string& mode, Shape shape) {
  testing::TempDir dir;
  const std::string socket_path = dir.file("ideal.sock");
  const pid_t server =
      start_server(socket_path, dir.file("ideal.db"), mode == "deliveries", shape, 0, "");
  bench::LoadSpec spec;
  spec.socket = socket_path;
  spec.connections = connections;
  spec.count = count;
  spec.type_of = [](std::uint64_t) { return std::string("bench.drain"); };
  const auto load = bench::run_load(spec);
  const double cpu = stop_server(server);
  if (load.failed != 0) die("failed requests: " + load.first_error);
  const double raw = raw_sqlite_rate(dir);
  std::printf(
      "ideal (%s, %s, %d connections): %llu events in %.2f s, %.0f events/s, ack p50 %.2f ms p99 "
      "%.2f ms, server CPU %.1f µs/event; raw SQLite %.0f rows/s; ratio %.3f\n",
      mode.c_str(), shape_name(shape), connections, static_cast<unsigned long long>(load.acked),
      load.seconds, load.events_per_s(), bench::percentile(load.ack_ms, 50),
      bench::percentile(load.ack_ms, 99),
      1e6 * cpu / static_cast<double>(std::max<std::uint64_t>(load.acked, 1)), raw,
      load.events_per_s() / raw);
  return 0;
}

int end_to_end(const std::vector<double>& fractions, Shape shape, int producers) {
  testing::TempDir certs;
  testing::TestCa ca{certs.path()};
  const testing::IssuedCert cert = ca.issue_server("sink", {"localhost"}, {"127.0.0.1"});
  testing::TempDir nginx_dir;
  bench::NginxSink nginx(nginx_dir.path(), cert.chain_file, cert.key_file);
  const double wrk = bench::run_wrk("https://127.0.0.1:" + std::to_string(nginx.port()) + "/wrk",
                                    kSinkConnections, 8, bench::event_data(0));
  std::printf("wrk: %d connections, 8 s: %.0f requests/s\n", kSinkConnections, wrk);
  testing::TempDir dir;
  const std::string socket_path = dir.file("ideal.sock");
  const pid_t server =
      start_server(socket_path, dir.file("ideal.db"), true, shape, nginx.port(), ca.ca_file());
  constexpr double kSeconds = 4;
  for (const double fraction : fractions) {
    const double rate = fraction * wrk;
    const std::uint64_t base = nginx.requests();
    bench::LoadSpec spec;
    spec.socket = socket_path;
    spec.connections = producers;
    spec.count = static_cast<std::uint64_t>(rate * kSeconds);
    spec.rate = rate;
    spec.max_time = std::chrono::milliseconds(static_cast<long>(kSeconds * 1000) + 2000);
    spec.type_of = [](std::uint64_t) { return std::string("bench.e2e"); };
    bench::LoadProgress progress;
    bench::LoadResult result;
    const double cpu0 = bench::process_cpu_seconds(server);
    const double nginx0 = nginx.cpu_seconds();
    const double own0 = bench::own_cpu_seconds();
    const double machine0 = bench::machine_busy_seconds();
    std::thread producers([&] { result = bench::run_load(spec, &progress); });
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double b1 =
        static_cast<double>(progress.acked) - static_cast<double>(nginx.requests() - base);
    producers.join();
    if (result.failed != 0) die("failed requests: " + result.first_error);
    const double b2 =
        static_cast<double>(progress.acked) - static_cast<double>(nginx.requests() - base);
    const double per = 1e6 / static_cast<double>(std::max<std::uint64_t>(result.acked, 1));
    const double cpu = (bench::process_cpu_seconds(server) - cpu0) * per;
    const double sink = (nginx.cpu_seconds() - nginx0) * per;
    const double own = (bench::own_cpu_seconds() - own0) * per;
    const double machine = (bench::machine_busy_seconds() - machine0) * per;
    const double achieved = result.events_per_s();
    const bool kept_up = result.failed == 0 && achieved >= 0.97 * rate;
    const bool flat = b2 - b1 <= std::max(64.0, 0.03 * std::min(rate, achieved) * (kSeconds - 1));
    std::printf(
        "%.2f x wrk = %.0f/s: submitted %.0f/s (ack p50 %.2f ms, p99 %.2f ms), backlog %.0f -> "
        "%.0f: %s%s; µs per event: server %.0f, nginx %.0f, producers %.0f, machine %.0f\n",
        fraction, rate, achieved, bench::percentile(result.ack_ms, 50),
        bench::percentile(result.ack_ms, 99), b1, b2, flat ? "flat" : "backlog growing",
        kept_up ? "" : ", producers short", cpu, sink, own, machine);
    std::fflush(stdout);
    if (!nginx.wait_for_requests(base + progress.acked, std::chrono::seconds(60))) {
      die("the backlog did not drain");
    }
  }
  stop_server(server);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Shape shape = Shape::kInline;
  for (auto it = args.begin(); it != args.end();) {
    if (*it == "inline" || *it == "pipelined" || *it == "threaded") {
      shape = *it == "inline"      ? Shape::kInline
              : *it == "pipelined" ? Shape::kPipelined
                                   : Shape::kThreaded;
      it = args.erase(it);
    } else {
      ++it;
    }
  }
  if (!args.empty() && args[0] == "e2e") {
    std::vector<double> fractions;
    int producers = 64;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i].rfind("producers=", 0) == 0) {
        producers = std::atoi(args[i].c_str() + 10);
        if (producers < 1 || producers > 1024) die("producers: 1 to 1024");
        continue;
      }
      fractions.push_back(std::atof(args[i].c_str()));
    }
    if (fractions.empty()) fractions = {0.3, 0.35, 0.4, 0.45};
    for (const double f : fractions) {
      if (!(f > 0 && f <= 2)) die("a rate is a fraction of wrk's, in (0, 2]");
    }
    return end_to_end(fractions, shape, producers);
  }
  const std::uint64_t count =
      args.size() > 0 ? std::strtoull(args[0].c_str(), nullptr, 10) : 100'000;
  const int connections = args.size() > 1 ? std::atoi(args[1].c_str()) : 16;
  const std::string mode = args.size() > 2 ? args[2] : "deliveries";
  if (count == 0 || connections < 1 || (mode != "events" && mode != "deliveries")) {
    std::fprintf(stderr,
                 "usage: korehook-bench-ideal [events=100000] [connections=16] "
                 "[deliveries|events] [inline|pipelined|threaded]\n"
                 "       korehook-bench-ideal e2e [inline|pipelined|threaded] [producers=64] "
                 "[rate ...]\n");
    return 2;
  }
  return ingest(count, connections, mode, shape);
}
