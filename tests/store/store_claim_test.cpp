#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "store/queries.hpp"
#include "store/store_fixture.hpp"

using namespace korehook;
using namespace korehook::store;
using namespace korehook::store::testing;

namespace {

std::optional<TimeMs> next_due(Store& store, TimeMs now, std::vector<std::string> exclude = {}) {
  auto r = await<std::optional<TimeMs>>(
      [&](auto done) { store.next_unleased_due(now, std::move(exclude), done); });
  REQUIRE(r.ok());
  return *r;
}

std::vector<std::string> query_plan(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string explain = "EXPLAIN QUERY PLAN " + sql;
  REQUIRE(sqlite3_prepare_v2(db, explain.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  std::vector<std::string> details;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    details.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return details;
}

}  // namespace

TEST_CASE("store: claim_due respects due_before, order, limit and leases, one payload per event",
          "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(append(*store,
                 {make_new_event(make_event("evt_a"), {make_delivery("dlv_500", "evt_a", 500),
                                                       make_delivery("dlv_100", "evt_a", 100),
                                                       make_delivery("dlv_300", "evt_a", 300)}),
                  make_new_event(make_event("evt_b"), {make_delivery("dlv_200", "evt_b", 200),
                                                       make_delivery("dlv_900", "evt_b", 900)})})
              .ok());
  CHECK(next_due(*store, 0) == std::optional<TimeMs>(100));

  // now = 1000, but only what is due by 300.
  auto first = claim(*store, 1000, 300, 10, 5000);
  REQUIRE(first.ok());
  REQUIRE(ids_of(*first) == std::vector<std::string>{"dlv_100", "dlv_200", "dlv_300"});
  const auto& w = *first;
  REQUIRE(w[0].payload);
  CHECK(w[0].payload.get() == w[2].payload.get());  // dlv_100 and dlv_300 share evt_a
  CHECK(w[0].payload.get() != w[1].payload.get());
  CHECK(w[0].payload->event_id == "evt_a");
  CHECK(w[0].payload->account_id == "default");
  CHECK(w[0].payload->type == "sim.activated");
  CHECK(w[0].payload->content_type == "application/json");
  CHECK(w[0].payload->body == R"({"id":"evt_a"})");
  CHECK(w[1].payload->event_id == "evt_b");
  CHECK(w[0].delivery.token == "tok-dlv_100");
  CHECK(w[0].delivery.state == DeliveryState::kPending);

  // Leased: a second claim does not hand them out again.
  auto second = claim(*store, 1000, 300, 10, 5000);
  REQUIRE(second.ok());
  CHECK(second->empty());
  CHECK(next_due(*store, 1000) == std::optional<TimeMs>(500));

  // Limit: the earliest unleased one only.
  auto limited = claim(*store, 1000, 10'000, 1, 5000);
  REQUIRE(limited.ok());
  CHECK(ids_of(*limited) == std::vector<std::string>{"dlv_500"});

  // Once the leases ran out (lease_until <= now), they are due again.
  auto expired = claim(*store, 5000, 10'000, 10, 9000);
  REQUIRE(expired.ok());
  CHECK(ids_of(*expired) ==
        std::vector<std::string>{"dlv_100", "dlv_200", "dlv_300", "dlv_500", "dlv_900"});
  CHECK((*expired)[0].delivery.updated_at == 5000);  // the claim's time, stored with the lease
  CHECK(next_due(*store, 5000) == std::nullopt);
}

TEST_CASE("store: claim_due and next_unleased_due leave out the endpoints they are told to",
          "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  // ep_dead's rows are due first; "" stands for callback deliveries.
  REQUIRE(append(*store, {make_new_event(make_event("evt_a"),
                                         {make_delivery("dlv_d1", "evt_a", 100, "ep_dead"),
                                          make_delivery("dlv_d2", "evt_a", 150, "ep_dead"),
                                          make_delivery("dlv_ok", "evt_a", 300, "ep_ok"),
                                          make_delivery("dlv_cb", "evt_a", 400, "")})})
              .ok());
  CHECK(next_due(*store, 0, {"ep_dead"}) == std::optional<TimeMs>(300));
  CHECK(next_due(*store, 0, {"ep_dead", "ep_ok"}) == std::optional<TimeMs>(400));
  CHECK(next_due(*store, 0, {"ep_dead", "ep_ok", ""}) == std::nullopt);

  auto some = claim(*store, 1000, 1000, 1, 5000, {"ep_dead"});
  REQUIRE(some.ok());
  CHECK(ids_of(*some) == std::vector<std::string>{"dlv_ok"});
  auto callbacks_out = claim(*store, 1000, 1000, 10, 5000, {"ep_dead", ""});
  REQUIRE(callbacks_out.ok());
  CHECK(callbacks_out->empty());
  auto rest = claim(*store, 1000, 1000, 10, 5000);
  REQUIRE(rest.ok());
  CHECK(ids_of(*rest) == std::vector<std::string>{"dlv_d1", "dlv_d2", "dlv_cb"});
}

TEST_CASE("store: deliveries appended with a lease are not claimed until it expires", "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(
      append(*store, {make_new_event(make_event("evt_1"), {make_delivery("dlv_1", "evt_1", 1000)},
                                     /*lease_until=*/2000)})
          .ok());
  CHECK(next_due(*store, 1000) == std::nullopt);
  auto held = claim(*store, 1000, 1000, 10, 3000);
  REQUIRE(held.ok());
  CHECK(held->empty());
  CHECK(next_due(*store, 2000) == std::optional<TimeMs>(1000));
  auto due = claim(*store, 2000, 2000, 10, 3000);
  REQUIRE(due.ok());
  CHECK(ids_of(*due) == std::vector<std::string>{"dlv_1"});
}

TEST_CASE("store: finished deliveries are not claimed again", "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(append(*store, {make_new_event(make_event("evt_1"), {make_delivery("dlv_1", "evt_1")})})
              .ok());
  AttemptDone done;
  done.attempt.delivery_id = "dlv_1";
  done.attempt.number = 1;
  done.attempt.status_code = 204;
  done.new_state = DeliveryState::kDelivered;
  REQUIRE(await<Unit>([&](auto cb) { store->complete_attempts({done}, cb); }).ok());
  sync(*store);
  auto e = get_event(*store, "evt_1");
  REQUIRE(e.ok());
  CHECK((*e)->deliveries[0].delivery.state == DeliveryState::kDelivered);
  auto work = claim(*store, 5000, 5000, 10, 6000);
  REQUIRE(work.ok());
  CHECK(work->empty());
}

TEST_CASE("store: recover() makes in-flight and leased deliveries due again after a crash",
          "[store]") {
  TempDir dir;
  const std::string path = dir.file("live/k.db");
  auto store = open_store(path);
  REQUIRE(append(*store, {make_new_event(make_event("evt_1"),
                                         {make_delivery("dlv_flying", "evt_1", 1000),
                                          make_delivery("dlv_leased", "evt_1", 1500),
                                          make_delivery("dlv_later", "evt_1", 50'000),
                                          make_delivery("dlv_idle", "evt_1", 60'000)})})
              .ok());
  // dlv_flying: claimed and its attempt started. dlv_leased: claimed only. dlv_later: a retry
  // the dispatcher holds a lease on. dlv_idle: untouched.
  auto claimed = claim(*store, 2000, 2000, 10, 100'000);
  REQUIRE(claimed.ok());
  REQUIRE(ids_of(*claimed) == std::vector<std::string>{"dlv_flying", "dlv_leased"});
  write_in_flight(store, path, {"dlv_flying"});
  const AttemptDone retry =
      make_result("dlv_later", 1, DeliveryState::kPending, 50'000, /*lease=*/100'000);
  REQUIRE(await<Unit>([&](auto cb) { store->complete_attempts({retry}, cb); }).ok());
  sync(*store);

  // The crash: copy the database and its WAL while the store is still open (no checkpoint,
  // no clean close), and open the copy.
  std::string crashed;
  SECTION("crash copy of db + wal") {
    const std::string copy_dir = dir.file("crashed");
    std::filesystem::create_directory(copy_dir);
    crashed = copy_dir + "/k.db";
    REQUIRE(std::filesystem::exists(path + "-wal"));
    std::filesystem::copy_file(path, crashed);
    std::filesystem::copy_file(path + "-wal", crashed + "-wal");
  }
  SECTION("clean close and reopen") {
    store->close();
    crashed = path;
  }

  auto reopened = open_store(crashed);
  auto recovered = reopened->recover(3000);
  REQUIRE(recovered.ok());
  CHECK(*recovered == 3);  // flying, leased, later
  CHECK(next_due(*reopened, 3000) == std::optional<TimeMs>(1000));

  auto due = claim(*reopened, 3000, 3000, 10, 10'000);
  REQUIRE(due.ok());
  REQUIRE(ids_of(*due) == std::vector<std::string>{"dlv_flying", "dlv_leased"});
  CHECK((*due)[0].delivery.state == DeliveryState::kPending);
  CHECK((*due)[0].delivery.token == "tok-dlv_flying");
  CHECK((*due)[0].delivery.next_attempt_at == 1000);  // min(next_attempt_at, now)
  CHECK((*due)[1].delivery.token == "tok-dlv_leased");

  // The retry keeps its schedule and attempt count, without the dead process's lease.
  auto later = claim(*reopened, 3000, 50'000, 10, 10'000);
  REQUIRE(later.ok());
  REQUIRE(ids_of(*later) == std::vector<std::string>{"dlv_later"});
  CHECK((*later)[0].delivery.next_attempt_at == 50'000);
  CHECK((*later)[0].delivery.attempt_count == 1);

  // A second recover() has nothing left to do but the leases just taken.
  auto again = reopened->recover(3000);
  REQUIRE(again.ok());
  CHECK(*again == 3);
}

TEST_CASE(
    "store: an in-flight delivery whose schedule is in the future is due now after "
    "recover()",
    "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(
      append(*store, {make_new_event(make_event("evt_1"), {make_delivery("dlv_1", "evt_1", 9000)},
                                     /*lease_until=*/20'000)})
          .ok());
  write_in_flight(store, dir.file("k.db"), {"dlv_1"});
  store->close();
  auto reopened = open_store(dir.file("k.db"));
  auto r = reopened->recover(4000);
  REQUIRE(r.ok());
  CHECK(*r == 1);
  CHECK(next_due(*reopened, 4000) == std::optional<TimeMs>(4000));
  auto nothing = reopened->recover(4000);
  REQUIRE(nothing.ok());
  CHECK(*nothing == 0);
}

TEST_CASE("store: finding due work uses the partial index, never a scan of deliveries", "[store]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  open_store(path)->close();
  for (const char* sql : {queries::kDueWork, queries::kNextUnleasedDue}) {
    CAPTURE(sql);
    auto plan = query_plan(path, sql);
    CAPTURE(plan);
    bool uses_index = false;
    for (const auto& step : plan) {
      if (step.find("deliveries_due") != std::string::npos) uses_index = true;
      CHECK(step != "SCAN deliveries");
      CHECK(step != "SCAN d");
      CHECK(step.find("SCAN e") == std::string::npos);  // each event by its primary key
    }
    CHECK(uses_index);
  }
  // The leases: each row by its rowid.
  auto plan = query_plan(path, queries::kLeaseRows);
  CAPTURE(plan);
  bool by_rowid = false;
  for (const auto& step : plan) {
    if (step.find("SEARCH deliveries USING INTEGER PRIMARY KEY") != std::string::npos) {
      by_rowid = true;
    }
    CHECK(step.find("SCAN deliveries") == std::string::npos);
  }
  CHECK(by_rowid);
}
