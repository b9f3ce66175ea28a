#pragma once

// Helpers for the store tests: a fresh temporary directory per test, builders for events
// and deliveries, and a way to wait for a store callback (with a generous upper bound, never
// a fixed sleep).

#include <stdlib.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "korehook/model/types.hpp"
#include "korehook/store/store.hpp"
#include "korehook/util/clock.hpp"
#include "store/sqlite.hpp"
#include "store/sqlite_store.hpp"

namespace korehook::store::testing {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "korehook-store-XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Runs completions on the store thread, right away.
inline Poster inline_poster() {
  return [](std::function<void()> f) { f(); };
}

inline const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

// The secrets key of the tests' stores (any 32 bytes).
inline crypto::Key test_key(std::uint8_t fill = 0x5a) {
  crypto::Key key;
  key.fill(fill);
  return key;
}

inline std::unique_ptr<SqliteStore> open_store(const std::string& path, bool fsync = true,
                                               Poster post = inline_poster(),
                                               std::optional<crypto::Key> key = test_key()) {
  return open_sqlite_store(SqliteOptions{path, fsync, key}, std::move(post), system_clock());
}

// Starts an asynchronous call with a callback and waits for its result.
//   auto r = await<bool>([&](auto done) { store.account_exists("default", done); });
template <class T, class Start>
Result<T> await(Start&& start) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  start(Callback<T>([promise](Result<T> r) { promise->set_value(std::move(r)); }));
  REQUIRE(future.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  return future.get();
}

// Commits everything queued before it (commands run in order) and waits for that.
inline void sync(Store& store) {
  REQUIRE(await<bool>([&](auto done) { store.account_exists("default", done); }).ok());
}

// The result of attempt `number` of a delivery: 200 when it ends delivered, else 503 (kHttp),
// with the new schedule and lease the dispatcher would send.
inline AttemptDone make_result(const std::string& delivery_id, int number, DeliveryState state,
                               TimeMs next = 0, TimeMs lease = 0) {
  AttemptDone r;
  r.attempt.delivery_id = delivery_id;
  r.attempt.number = number;
  r.attempt.started_at = 1000 + number;
  r.attempt.duration_ms = 12;
  r.attempt.status_code = state == DeliveryState::kDelivered ? 200 : 503;
  if (state != DeliveryState::kDelivered) r.attempt.error = retry::ErrorClass::kHttp;
  r.new_state = state;
  r.next_attempt_at = next;
  r.lease_until = lease;
  return r;
}

// Sets deliveries to state in_flight (1) in the file, as earlier builds did when an attempt
// started (the dispatcher now tracks attempts in memory): recover() still handles such rows.
// The store holds the file's lock while it is open, so it is closed (once it has committed
// what was queued), the rows are written through a connection of their own, and the store is
// opened again with open_store's defaults.
inline void write_in_flight(std::unique_ptr<SqliteStore>& store, const std::string& path,
                            const std::vector<std::string>& ids) {
  sync(*store);
  store.reset();
  {
    sqlite::Database db(path);
    for (const auto& id : ids) {
      sqlite::Statement update(db, "UPDATE deliveries SET state = 1 WHERE id = ? AND state = 0");
      update.use().bind(id).exec();
    }
  }
  store = open_store(path);
}

inline EventRecord make_event(std::string id, TimeMs created_at = 1000,
                              std::optional<std::string> key = std::nullopt,
                              std::string account = std::string(kDefaultAccount)) {
  EventRecord e;
  e.id = std::move(id);
  e.account_id = std::move(account);
  e.type = "sim.activated";
  e.content_type = "application/json";
  e.body = R"({"id":")" + e.id + R"("})";
  e.idempotency_key = std::move(key);
  e.created_at = created_at;
  return e;
}

inline DeliveryRecord make_delivery(std::string id, const std::string& event_id,
                                    TimeMs next_attempt_at = 1000, std::string endpoint = "ep_1") {
  DeliveryRecord d;
  d.id = id;
  d.event_id = event_id;
  d.endpoint_id = std::move(endpoint);
  d.token = "tok-" + id;
  d.state = DeliveryState::kPending;
  d.attempt_count = 0;
  d.next_attempt_at = next_attempt_at;
  return d;
}

inline NewEvent make_new_event(EventRecord event, std::vector<DeliveryRecord> deliveries,
                               TimeMs lease_until = 0) {
  NewEvent ne;
  ne.event = std::move(event);
  ne.deliveries = std::move(deliveries);
  ne.lease_until = lease_until;
  return ne;
}

inline Result<std::vector<AppendResult>> append(Store& store, std::vector<NewEvent> events) {
  return await<std::vector<AppendResult>>(
      [&](auto done) { store.append_events(std::move(events), done); });
}

inline Result<std::optional<EventView>> get_event(Store& store, const std::string& id,
                                                  std::string account = "default") {
  return await<std::optional<EventView>>([&](auto done) { store.get_event(account, id, done); });
}

inline Result<std::vector<Work>> claim(Store& store, TimeMs now, TimeMs due_before, int limit,
                                       TimeMs lease_until, std::vector<std::string> exclude = {}) {
  return await<std::vector<Work>>([&](auto done) {
    store.claim_due(now, due_before, limit, lease_until, std::move(exclude), done);
  });
}

inline EndpointRecord make_endpoint(std::string id, std::string account = "default",
                                    TimeMs created_at = 1000) {
  EndpointRecord e;
  e.id = std::move(id);
  e.account_id = std::move(account);
  e.settings.url = "https://hooks.example.com/" + e.id;
  e.settings.description = "endpoint " + e.id;
  e.created_at = created_at;
  return e;
}

inline Result<EndpointRecord> create_endpoint(Store& store, EndpointRecord e) {
  return await<EndpointRecord>([&](auto done) { store.create_endpoint(std::move(e), done); });
}

inline Result<EndpointRecord> set_state(Store& store, const std::string& id, DisabledReason reason,
                                        TimeMs now = 5000, std::string account = "") {
  return await<EndpointRecord>(
      [&](auto done) { store.set_endpoint_state(account, id, reason, "because", now, done); });
}

inline Result<AccountRecord> create_account(Store& store, std::string id,
                                            TimeMs created_at = 1000) {
  return await<AccountRecord>([&](auto done) {
    store.create_account(AccountRecord{id, "name of " + id, created_at}, done);
  });
}

inline std::vector<std::string> ids_of(const std::vector<Work>& work) {
  std::vector<std::string> ids;
  for (const auto& w : work) ids.push_back(w.delivery.id);
  return ids;
}

// Holds the store thread inside a completion (inline Poster) until released, so that the
// commands queued meanwhile are all taken together in the next batch: group commit made
// deterministic for a test.
class StoreThreadGate {
 public:
  explicit StoreThreadGate(Store& store) {
    auto entered = std::make_shared<std::promise<void>>();
    auto entered_future = entered->get_future();
    auto released = release_.get_future().share();
    store.account_exists("default", [entered, released](Result<bool>) {
      entered->set_value();
      released.wait();
    });
    REQUIRE(entered_future.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  }
  ~StoreThreadGate() { open(); }
  StoreThreadGate(const StoreThreadGate&) = delete;
  StoreThreadGate& operator=(const StoreThreadGate&) = delete;

  void open() {
    if (!opened_) release_.set_value();
    opened_ = true;
  }

 private:
  std::promise<void> release_;
  bool opened_ = false;
};

}  // namespace korehook::store::testing
