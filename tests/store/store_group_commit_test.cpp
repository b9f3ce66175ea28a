#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store_fixture.hpp"

using namespace korehook;
using namespace korehook::store;
using namespace korehook::store::testing;

namespace {

NewEvent numbered_event(const std::string& tag, int n) {
  std::string id = "evt_" + tag + "_" + std::to_string(n);
  return make_new_event(make_event(id, 1000 + n, "key-" + id),
                        {make_delivery("dlv_" + tag + "_" + std::to_string(n), id, 1000 + n)});
}

}  // namespace

TEST_CASE("store: everything queued while a commit runs is committed in one transaction",
          "[store][group-commit]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  const auto before = store->stats();
  constexpr int kAppends = 50;

  std::mutex mu;
  std::condition_variable cv;
  int acked = 0;
  int failed = 0;
  {
    StoreThreadGate gate(*store);
    for (int i = 0; i < kAppends; ++i) {
      store->append_events({numbered_event("g", i)}, [&](Result<std::vector<AppendResult>> r) {
        std::lock_guard lock(mu);
        ++acked;
        if (!r.ok() || !(*r)[0].created) ++failed;
        cv.notify_all();
      });
    }
  }
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return acked == kAppends; }));
  }
  CHECK(failed == 0);
  const auto after = store->stats();
  CHECK(after.write_transactions - before.write_transactions == 1);
  CHECK(after.write_commands - before.write_commands == kAppends);
  CHECK(after.largest_batch >= kAppends);
  // The appends ran under one savepoint, none of them failed.
  CHECK(after.savepoints - before.savepoints == 1);
  CHECK(after.group_replays == before.group_replays);
}

TEST_CASE("store: a command that fails in a shared savepoint is undone alone, the others kept",
          "[store][group-commit]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(
      append(*store, {make_new_event(make_event("evt_old"), {make_delivery("dlv_old", "evt_old")})})
          .ok());
  const auto before = store->stats();

  using Appended = Result<std::vector<AppendResult>>;
  auto expect = [](auto& promise) {
    return [promise](auto r) { promise->set_value(std::move(r)); };
  };
  auto a = std::make_shared<std::promise<Appended>>();
  auto dup = std::make_shared<std::promise<Appended>>();
  auto attempt = std::make_shared<std::promise<Result<Unit>>>();
  auto ghost = std::make_shared<std::promise<Appended>>();
  auto c = std::make_shared<std::promise<Appended>>();
  {
    // Queued while the store thread is held: one batch of five replayable write commands.
    StoreThreadGate gate(*store);
    store->append_events({make_new_event(make_event("evt_a"), {make_delivery("dlv_a", "evt_a")})},
                         expect(a));
    // Its second event repeats an id: a constraint error after its first event was written.
    store->append_events(
        {make_new_event(make_event("evt_b"), {make_delivery("dlv_b", "evt_b")}),
         make_new_event(make_event("evt_old"), {make_delivery("dlv_b2", "evt_old")})},
        expect(dup));
    store->complete_attempts({make_result("dlv_old", 1, DeliveryState::kDelivered)},
                             expect(attempt));
    // Fails with a result, no exception reaching the store: its account does not exist (the
    // append catches the foreign key's error).
    store->append_events({make_new_event(make_event("evt_g", 1000, std::nullopt, "ghost"),
                                         {make_delivery("dlv_g", "evt_g")})},
                         expect(ghost));
    store->append_events({make_new_event(make_event("evt_c"), {make_delivery("dlv_c", "evt_c")})},
                         expect(c));
  }
  auto result = [](auto& promise) {
    auto future = promise->get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    return future.get();
  };
  auto ra = result(a);
  REQUIRE(ra.ok());
  CHECK((*ra)[0].created);
  auto rdup = result(dup);
  REQUIRE_FALSE(rdup.ok());
  CHECK(rdup.error().code == "conflict");
  CHECK(result(attempt).ok());
  auto rghost = result(ghost);
  REQUIRE_FALSE(rghost.ok());
  CHECK(rghost.error().code == "not_found");
  auto rc = result(c);
  REQUIRE(rc.ok());
  CHECK((*rc)[0].created);

  const auto after = store->stats();
  CHECK(after.write_transactions - before.write_transactions == 1);
  // The group's savepoint, rolled back, then one per command as they ran again.
  CHECK(after.group_replays - before.group_replays == 1);
  CHECK(after.savepoints - before.savepoints == 1 + 5);

  auto present = [&](const std::string& id) {
    auto e = get_event(*store, id);
    REQUIRE(e.ok());
    return e->has_value();
  };
  CHECK(present("evt_a"));
  CHECK(present("evt_c"));
  CHECK_FALSE(present("evt_b"));  // written before the error, undone with its command
  CHECK_FALSE(present("evt_g"));
  auto old = get_event(*store, "evt_old");
  REQUIRE(old.ok());
  REQUIRE(old->has_value());
  REQUIRE((*old)->deliveries.size() == 1);  // not dlv_b2
  CHECK((*old)->deliveries[0].delivery.state == DeliveryState::kDelivered);
  CHECK((*old)->deliveries[0].attempts.size() == 1);
  // The appends' deliveries are all there is to claim: those of evt_a and evt_c.
  auto work = claim(*store, 5000, 5000, 100, 9000);
  REQUIRE(work.ok());
  auto ids = ids_of(*work);
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{"dlv_a", "dlv_c"});
}

TEST_CASE("store: concurrent producers are all acknowledged, durable, and share commits",
          "[store][group-commit]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 60;
  constexpr int kTotal = kThreads * kPerThread;

  std::atomic<int> acked = 0;
  std::atomic<int> failed = 0;
  StoreStats stats;
  {
    auto store = open_store(path, /*fsync=*/true);
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t) {
      producers.emplace_back([&, t] {
        // Each producer waits for its acknowledgement before submitting the next event, as
        // an API client waiting for its 202 does.
        for (int i = 0; i < kPerThread; ++i) {
          // No Catch2 assertion on this thread: Catch2 is not thread-safe.
          auto promise = std::make_shared<std::promise<Result<std::vector<AppendResult>>>>();
          auto future = promise->get_future();
          store->append_events({numbered_event("t" + std::to_string(t), i)},
                               [promise](auto r) { promise->set_value(std::move(r)); });
          auto r = future.get();
          ++acked;
          if (!r.ok() || !(*r)[0].created) ++failed;
        }
      });
    }
    for (auto& p : producers) p.join();
    REQUIRE(acked == kTotal);
    stats = store->stats();
  }
  CHECK(failed == 0);
  std::printf(
      "group commit: %d appends from %d producers in %llu write transactions (largest batch "
      "%llu)\n",
      kTotal, kThreads, static_cast<unsigned long long>(stats.write_transactions),
      static_cast<unsigned long long>(stats.largest_batch));
  CHECK(stats.write_commands == static_cast<std::uint64_t>(kTotal));
  CHECK(stats.write_transactions < static_cast<std::uint64_t>(kTotal));

  // Every acknowledged event is there after reopening.
  auto reopened = open_store(path);
  int present = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      auto e = get_event(*reopened, "evt_t" + std::to_string(t) + "_" + std::to_string(i));
      REQUIRE(e.ok());
      if (e->has_value() && (*e)->deliveries.size() == 1) ++present;
    }
  }
  CHECK(present == kTotal);
  auto work = claim(*reopened, 1'000'000, 1'000'000, kTotal + 10, 2'000'000);
  REQUIRE(work.ok());
  CHECK(work->size() == static_cast<std::size_t>(kTotal));
}

TEST_CASE("store: completions run in commit order while syncs overlap", "[store][group-commit]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"), /*fsync=*/true);
  // Queued from one thread without waiting: the queue's order is the commit order. Appends
  // (each waiting for a sync) alternate with claims (bookkeeping, no sync of their own), so
  // the syncers sync, overlap and finish many small groups.
  constexpr int kCommands = 2000;
  std::mutex mu;
  std::vector<int> order;  // completion order, guarded by mu
  std::promise<void> all_done;
  auto record = [&](int n) {
    std::lock_guard lock(mu);
    order.push_back(n);
    if (order.size() == kCommands) all_done.set_value();
    // A completion takes a moment, so that another sync ends while one syncer finishes.
    if (n % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  };
  for (int n = 0; n < kCommands; ++n) {
    if (n % 2 == 0) {
      store->append_events({numbered_event("o", n)}, [&, n](auto) { record(n); });
    } else {
      store->claim_due(1'000'000, 1'000'000, 1, 2'000'000, {}, [&, n](auto) { record(n); });
    }
    if (n % 50 == 0) std::this_thread::yield();
  }
  all_done.get_future().get();
  std::lock_guard lock(mu);
  REQUIRE(order.size() == kCommands);
  int misplaced = 0;
  for (int n = 0; n < kCommands; ++n) misplaced += order[n] != n;
  CHECK(misplaced == 0);
  CHECK(store->stats().wal_syncs > 0);
}

TEST_CASE("store: bookkeeping alone commits without an fsync, appends and API writes with one",
          "[store][group-commit]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  {
    auto store = open_store(path, /*fsync=*/true);
    REQUIRE(append(*store, {make_new_event(make_event("evt_1"), {make_delivery("dlv_1", "evt_1")})})
                .ok());
    CHECK(store->stats().relaxed_transactions == 0);

    auto claimed = claim(*store, 1000, 1000, 10, 5000);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 1);
    CHECK(store->stats().relaxed_transactions == 1);

    AttemptDone done;
    done.attempt.delivery_id = "dlv_1";
    done.attempt.number = 1;
    done.attempt.status_code = 204;
    done.new_state = DeliveryState::kDelivered;
    REQUIRE(await<Unit>([&](auto cb) { store->complete_attempts({done}, cb); }).ok());
    const StoreStats after_bookkeeping = store->stats();
    CHECK(after_bookkeeping.relaxed_transactions == 2);

    // An append in the same batch as bookkeeping, or alone, is durable: not counted.
    REQUIRE(append(*store, {make_new_event(make_event("evt_2"), {make_delivery("dlv_2", "evt_2")})})
                .ok());
    const StoreStats after_append = store->stats();
    CHECK(after_append.write_transactions == after_bookkeeping.write_transactions + 1);
    CHECK(after_append.relaxed_transactions == after_bookkeeping.relaxed_transactions);
    store->close();
  }
  // Committed all the same: the attempt's result is there after reopening.
  auto reopened = open_store(path);
  auto e = get_event(*reopened, "evt_1");
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  REQUIRE((*e)->deliveries.size() == 1);
  CHECK((*e)->deliveries[0].delivery.state == DeliveryState::kDelivered);
  CHECK((*e)->deliveries[0].attempts.size() == 1);
  CHECK(reopened->stats().relaxed_transactions == 0);
}

TEST_CASE("store: a durable write is acknowledged after the WAL is synced, bookkeeping without",
          "[store][group-commit]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"), /*fsync=*/true);
  // The completion reads the syncer's count: the sync came before it.
  auto syncs_seen_by_ack = [&](NewEvent event) {
    std::promise<std::uint64_t> seen;
    const std::uint64_t before = store->stats().wal_syncs;
    // (No assertion in here: it runs on the store's syncer thread.)
    store->append_events({std::move(event)}, [&](Result<std::vector<AppendResult>> r) {
      seen.set_value(r.ok() ? store->stats().wal_syncs : 0);
    });
    return std::make_pair(before, seen.get_future().get());
  };
  for (int i = 0; i < 5; ++i) {
    const auto [before, seen] = syncs_seen_by_ack(numbered_event("s", i));
    CHECK(seen > before);
  }
  // Bookkeeping alone: no sync.
  const std::uint64_t before = store->stats().wal_syncs;
  auto claimed = claim(*store, 10'000, 10'000, 10, 20'000);
  REQUIRE(claimed.ok());
  CHECK(claimed->size() == 5);
  CHECK(store->stats().wal_syncs == before);
  CHECK(store->stats().wal_syncs <= store->stats().write_transactions);
}

TEST_CASE("store: with fsync off nothing is synced", "[store][group-commit]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"), /*fsync=*/false);
  REQUIRE(append(*store, {numbered_event("n", 1)}).ok());
  CHECK(store->stats().write_transactions == 1);
  CHECK(store->stats().wal_syncs == 0);
}

TEST_CASE("store: with the dispatcher quiet, the store thread syncs a durable commit itself",
          "[store][group-commit]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"), /*fsync=*/true);
  // One append at a time: when each commits, nothing else is queued.
  for (int i = 0; i < 5; ++i) REQUIRE(append(*store, {numbered_event("i", i)}).ok());
  const StoreStats stats = store->stats();
  CHECK(stats.wal_syncs >= 5);
  CHECK(stats.store_thread_syncs == stats.wal_syncs);
}

namespace {

// A clock whose readings run queued hooks, one per reading, on the thread that reads it: the
// store thread, inside a command's body. Lets a test act while a batch runs.
class HookedClock final : public Clock {
 public:
  void then(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    hooks_.push_back(std::move(hook));
  }
  TimeMs now_ms() const override {
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      if (!hooks_.empty()) {
        hook = std::move(hooks_.front());
        hooks_.erase(hooks_.begin());
      }
    }
    if (hook) hook();
    return 5000;
  }

 private:
  mutable std::mutex mu_;
  mutable std::vector<std::function<void()>> hooks_;
};

}  // namespace

// A store on a HookedClock, and an append whose acknowledgement a test can wait for.
struct HookedStore {
  TempDir dir;
  HookedClock clock;
  std::unique_ptr<SqliteStore> store =
      open_sqlite_store(SqliteOptions{dir.file("k.db"), true, test_key()}, inline_poster(), clock);
  const StoreStats before = store->stats();
  std::promise<bool> appended;

  void append(const std::string& tag) {
    store->append_events({numbered_event(tag, 1)}, [this](Result<std::vector<AppendResult>> r) {
      appended.set_value(r.ok());
    });
  }
  bool acknowledged() {
    auto done = appended.get_future();
    REQUIRE(done.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    return done.get();
  }
};

TEST_CASE("store: with bookkeeping queued behind a durable commit, a syncer makes its fdatasync",
          "[store][group-commit]") {
  HookedStore h;
  std::promise<bool> synced_meanwhile;
  // The batch is an append and a read whose body reads the clock: it queues bookkeeping (no
  // bookkeeping has run yet). That bookkeeping's body then holds the store thread until the
  // append's batch is synced: only a syncer can make that fdatasync meanwhile.
  h.clock.then([&] { h.store->cancel_deliveries({"dlv_queued"}); });
  h.clock.then([&] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (h.store->stats().wal_syncs == h.before.wal_syncs &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    synced_meanwhile.set_value(h.store->stats().wal_syncs > h.before.wal_syncs);
  });
  {
    StoreThreadGate gate(*h.store);
    h.append("k");
    h.store->signing_keys([](auto) {});
  }
  CHECK(h.acknowledged());
  auto synced = synced_meanwhile.get_future();
  REQUIRE(synced.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  CHECK(synced.get());
  CHECK(h.store->stats().store_thread_syncs == h.before.store_thread_syncs);
}

TEST_CASE("store: right after bookkeeping ran, a syncer makes a durable commit's fdatasync",
          "[store][group-commit]") {
  HookedStore h;
  // The bookkeeping's body queues the append: the next batch, committed a moment after the
  // dispatcher's work, with nothing queued behind it.
  h.clock.then([&] { h.append("w"); });
  h.store->cancel_deliveries({"dlv_first"});
  CHECK(h.acknowledged());
  const StoreStats after = h.store->stats();
  CHECK(after.wal_syncs > h.before.wal_syncs);
  CHECK(after.store_thread_syncs == h.before.store_thread_syncs);
}
