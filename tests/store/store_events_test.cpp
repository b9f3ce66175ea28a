#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "store/store_fixture.hpp"

using namespace korehook;
using namespace korehook::store;
using namespace korehook::store::testing;

TEST_CASE("store: append_events then get_event returns the event, deliveries and no attempts",
          "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("korehook.db"));

  auto binary = make_event("evt_bin", 1234, "key-1");
  binary.content_type = "application/octet-stream";
  binary.body = std::string("a\0b\xff\n", 5);  // stored as bytes, NUL included
  auto empty = make_event("evt_empty", 1300);
  empty.body.clear();
  empty.content_type = "application/x-www-form-urlencoded";

  // Inserted "z" before "a": get_event keeps the creation order, not the id order.
  auto r =
      append(*store, {make_new_event(binary, {make_delivery("dlv_z", "evt_bin", 2000, "ep_b"),
                                              make_delivery("dlv_a", "evt_bin", 2000, "ep_a")}),
                      make_new_event(empty, {})});
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].event_id == "evt_bin");
  CHECK((*r)[0].created);
  CHECK((*r)[1].event_id == "evt_empty");
  CHECK((*r)[1].created);

  auto got = get_event(*store, "evt_bin");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  const EventView& view = **got;
  CHECK(view.event.id == "evt_bin");
  CHECK(view.event.account_id == "default");
  CHECK(view.event.type == "sim.activated");
  CHECK(view.event.content_type == "application/octet-stream");
  CHECK(view.event.body == std::string("a\0b\xff\n", 5));
  CHECK(view.event.idempotency_key == std::optional<std::string>("key-1"));
  CHECK(view.event.created_at == 1234);
  REQUIRE(view.deliveries.size() == 2);
  CHECK(view.deliveries[0].delivery.id == "dlv_z");
  CHECK(view.deliveries[1].delivery.id == "dlv_a");
  const DeliveryRecord& d = view.deliveries[1].delivery;
  CHECK(d.event_id == "evt_bin");
  CHECK(d.endpoint_id == "ep_a");
  CHECK(d.token == "tok-dlv_a");
  CHECK(d.state == DeliveryState::kPending);
  CHECK(d.attempt_count == 0);
  CHECK(d.next_attempt_at == 2000);
  CHECK(view.deliveries[0].attempts.empty());

  auto e = get_event(*store, "evt_empty");
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  CHECK((*e)->event.body.empty());
  CHECK_FALSE((*e)->event.idempotency_key.has_value());
  CHECK((*e)->deliveries.empty());

  SECTION("scoped to the account, unknown ids are absent") {
    auto other = get_event(*store, "evt_bin", "acct_other");
    REQUIRE(other.ok());
    CHECK_FALSE(other->has_value());
    auto missing = get_event(*store, "evt_nope");
    REQUIRE(missing.ok());
    CHECK_FALSE(missing->has_value());
  }

  SECTION("the data survives closing and reopening") {
    store->close();
    store->close();  // idempotent
    auto reopened = open_store(dir.file("korehook.db"));
    auto again = get_event(*reopened, "evt_bin");
    REQUIRE(again.ok());
    REQUIRE(again->has_value());
    CHECK((*again)->event.body == std::string("a\0b\xff\n", 5));
    CHECK((*again)->deliveries.size() == 2);
  }
}

TEST_CASE("store: account_exists knows the default account", "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  auto yes = await<bool>([&](auto done) { store->account_exists("default", done); });
  REQUIRE(yes.ok());
  CHECK(*yes);
  auto no = await<bool>([&](auto done) { store->account_exists("acct_nope", done); });
  REQUIRE(no.ok());
  CHECK_FALSE(*no);
}

TEST_CASE("store: a repeated idempotency key answers the original id and creates nothing",
          "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));

  auto first = append(*store, {make_new_event(make_event("evt_1", 1000, "order-42"),
                                              {make_delivery("dlv_1", "evt_1")})});
  REQUIRE(first.ok());
  CHECK((*first)[0].created);

  // A later submission with the same key, and two in one batch.
  auto repeat = append(
      *store,
      {make_new_event(make_event("evt_2", 2000, "order-42"), {make_delivery("dlv_2", "evt_2")}),
       make_new_event(make_event("evt_3", 2000, "order-43"), {make_delivery("dlv_3", "evt_3")}),
       make_new_event(make_event("evt_4", 2000, "order-43"), {make_delivery("dlv_4", "evt_4")})});
  REQUIRE(repeat.ok());
  REQUIRE(repeat->size() == 3);
  CHECK((*repeat)[0].event_id == "evt_1");
  CHECK_FALSE((*repeat)[0].created);
  CHECK((*repeat)[1].event_id == "evt_3");
  CHECK((*repeat)[1].created);
  CHECK((*repeat)[2].event_id == "evt_3");
  CHECK_FALSE((*repeat)[2].created);

  for (const char* absent : {"evt_2", "evt_4"}) {
    auto e = get_event(*store, absent);
    REQUIRE(e.ok());
    CHECK_FALSE(e->has_value());
  }
  // Only the original deliveries exist.
  auto work = claim(*store, 5000, 5000, 100, 9000);
  REQUIRE(work.ok());
  CHECK(ids_of(*work) == std::vector<std::string>{"dlv_1", "dlv_3"});
}

TEST_CASE(
    "store: append_events is all or nothing, other commands in the same commit are not "
    "affected",
    "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  const auto before = store->stats().write_transactions;

  std::future<Result<std::vector<AppendResult>>> bad_result, good_result;
  {
    // Both commands are queued while the store thread is held: one transaction.
    StoreThreadGate gate(*store);
    auto bad = std::make_shared<std::promise<Result<std::vector<AppendResult>>>>();
    auto good = std::make_shared<std::promise<Result<std::vector<AppendResult>>>>();
    bad_result = bad->get_future();
    good_result = good->get_future();
    store->append_events({make_new_event(make_event("evt_ok"), {make_delivery("dlv_ok", "evt_ok")}),
                          make_new_event(make_event("evt_ghost", 1000, std::nullopt, "ghost"),
                                         {make_delivery("dlv_ghost", "evt_ghost")})},
                         [bad](auto r) { bad->set_value(std::move(r)); });
    store->append_events(
        {make_new_event(make_event("evt_other"), {make_delivery("dlv_other", "evt_other")})},
        [good](auto r) { good->set_value(std::move(r)); });
  }
  REQUIRE(bad_result.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  REQUIRE(good_result.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  auto b = bad_result.get();
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().code == "not_found");
  CHECK(b.error().message == "account 'ghost' does not exist");
  auto g = good_result.get();
  REQUIRE(g.ok());
  CHECK((*g)[0].created);
  // The gate's own read commits before the gate; the two appends share one transaction.
  CHECK(store->stats().write_transactions == before + 1);

  auto ok_event = get_event(*store, "evt_ok");
  REQUIRE(ok_event.ok());
  CHECK_FALSE(ok_event->has_value());  // rolled back with the rest of its call
  auto other = get_event(*store, "evt_other");
  REQUIRE(other.ok());
  CHECK(other->has_value());
  auto work = claim(*store, 5000, 5000, 100, 9000);
  REQUIRE(work.ok());
  CHECK(ids_of(*work) == std::vector<std::string>{"dlv_other"});
}

TEST_CASE("store: a duplicate event id is a conflict and rolls back only its own call", "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(append(*store, {make_new_event(make_event("evt_1"), {})}).ok());
  auto dup = append(
      *store, {make_new_event(make_event("evt_2"), {}), make_new_event(make_event("evt_1"), {})});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == "conflict");
  auto e2 = get_event(*store, "evt_2");
  REQUIRE(e2.ok());
  CHECK_FALSE(e2->has_value());
}

TEST_CASE("store: a result arriving after the delivery was cancelled keeps it cancelled",
          "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(append(*store, {make_new_event(make_event("evt_1"), {make_delivery("dlv_1", "evt_1")},
                                         /*lease_until=*/kLeaseHeld)})
              .ok());
  // Its endpoint is deleted while the attempt runs; then the attempt's result (a retry, held
  // in memory) is recorded.
  store->cancel_deliveries({"dlv_1"});
  const AttemptDone late = make_result("dlv_1", 1, DeliveryState::kPending, 9000, kLeaseHeld);
  REQUIRE(await<Unit>([&](auto cb) { store->complete_attempts({late}, cb); }).ok());

  auto e = get_event(*store, "evt_1");
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  const DeliveryView& d = (*e)->deliveries.at(0);
  CHECK(d.delivery.state == DeliveryState::kCancelled);
  CHECK(d.delivery.attempt_count == 1);
  CHECK(d.delivery.next_attempt_at == 1000);
  REQUIRE(d.attempts.size() == 1);
  CHECK(d.attempts[0].status_code == std::optional<int>(503));
  // Not held, not due: recover() leaves it alone.
  auto recovered = store->recover(10'000);
  REQUIRE(recovered.ok());
  CHECK(*recovered == 0);
}

TEST_CASE("store: complete_attempts records attempts and the delivery's new state", "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(append(*store, {make_new_event(make_event("evt_1"), {make_delivery("dlv_1", "evt_1"),
                                                               make_delivery("dlv_2", "evt_1")})})
              .ok());

  AttemptDone first;
  first.attempt.delivery_id = "dlv_1";
  first.attempt.number = 1;
  first.attempt.started_at = 1100;
  first.attempt.duration_ms = 41;
  first.attempt.status_code = 503;
  first.attempt.error = retry::ErrorClass::kHttp;
  first.attempt.response_excerpt = std::string("busy\0", 5);
  first.new_state = DeliveryState::kPending;
  first.next_attempt_at = 6100;

  AttemptDone tls;
  tls.attempt.delivery_id = "dlv_2";
  tls.attempt.number = 1;
  tls.attempt.started_at = 1100;
  tls.attempt.duration_ms = 7;
  tls.attempt.error = retry::ErrorClass::kTls;
  tls.attempt.error_detail = "certificate has expired";
  tls.new_state = DeliveryState::kFailed;

  auto done = await<Unit>([&](auto cb) { store->complete_attempts({first, tls}, cb); });
  REQUIRE(done.ok());

  auto mid = get_event(*store, "evt_1");
  REQUIRE(mid.ok());
  REQUIRE(mid->has_value());
  const DeliveryView& d1 = (*mid)->deliveries[0];
  CHECK(d1.delivery.state == DeliveryState::kPending);
  CHECK(d1.delivery.attempt_count == 1);
  CHECK(d1.delivery.next_attempt_at == 6100);
  const DeliveryView& d2 = (*mid)->deliveries[1];
  CHECK(d2.delivery.state == DeliveryState::kFailed);
  CHECK(d2.delivery.next_attempt_at == 1000);  // a finished delivery keeps its last schedule
  REQUIRE(d2.attempts.size() == 1);
  CHECK_FALSE(d2.attempts[0].status_code.has_value());
  CHECK(d2.attempts[0].error == retry::ErrorClass::kTls);
  CHECK(d2.attempts[0].error_detail == "certificate has expired");
  CHECK(d2.attempts[0].response_excerpt.empty());

  AttemptDone second;
  second.attempt.delivery_id = "dlv_1";
  second.attempt.number = 2;
  second.attempt.started_at = 6100;
  second.attempt.duration_ms = 12;
  second.attempt.status_code = 200;
  second.attempt.response_excerpt = "ok";
  second.new_state = DeliveryState::kDelivered;
  REQUIRE(await<Unit>([&](auto cb) { store->complete_attempts({second}, cb); }).ok());

  auto after = get_event(*store, "evt_1");
  REQUIRE(after.ok());
  REQUIRE(after->has_value());
  const DeliveryView& d = (*after)->deliveries[0];
  CHECK(d.delivery.state == DeliveryState::kDelivered);
  CHECK(d.delivery.attempt_count == 2);
  CHECK(d.delivery.token == "tok-dlv_1");
  REQUIRE(d.attempts.size() == 2);
  CHECK(d.attempts[0].number == 1);
  CHECK(d.attempts[0].delivery_id == "dlv_1");
  CHECK(d.attempts[0].started_at == 1100);
  CHECK(d.attempts[0].duration_ms == 41);
  CHECK(d.attempts[0].status_code == std::optional<int>(503));
  CHECK(d.attempts[0].error == retry::ErrorClass::kHttp);
  CHECK(d.attempts[0].response_excerpt == std::string("busy\0", 5));
  CHECK(d.attempts[1].number == 2);
  CHECK(d.attempts[1].status_code == std::optional<int>(200));
  CHECK(d.attempts[1].error == retry::ErrorClass::kNone);
  CHECK(d.attempts[1].response_excerpt == "ok");

  // Nothing to claim: one delivered, one failed.
  auto work = claim(*store, 99999, 99999, 10, 100000);
  REQUIRE(work.ok());
  CHECK(work->empty());

  SECTION("a result for an unknown delivery is dropped, the others are recorded") {
    AttemptDone ghost = second;
    ghost.attempt.delivery_id = "dlv_ghost";
    AttemptDone retried = second;  // dlv_2 failed; a third attempt is recorded all the same
    retried.attempt.delivery_id = "dlv_2";
    retried.attempt.number = 9;
    auto r = await<Unit>([&](auto cb) { store->complete_attempts({ghost, retried}, cb); });
    REQUIRE(r.ok());
    auto v = get_event(*store, "evt_1");
    REQUIRE(v.ok());
    CHECK((*v)->deliveries[0].attempts.size() == 2);
    const auto& d2 = (*v)->deliveries[1];
    CHECK(d2.delivery.id == "dlv_2");
    CHECK(d2.delivery.attempt_count == 9);
    CHECK(d2.attempts.back().number == 9);
  }

  SECTION("a repeated attempt number keeps the first record") {
    AttemptDone again = second;
    again.attempt.response_excerpt = "again";
    auto r = await<Unit>([&](auto cb) { store->complete_attempts({again}, cb); });
    REQUIRE(r.ok());
    auto v = get_event(*store, "evt_1");
    REQUIRE(v.ok());
    REQUIRE((*v)->deliveries[0].attempts.size() == 2);
    CHECK((*v)->deliveries[0].attempts[1].response_excerpt == "ok");
  }
}

TEST_CASE("store: commands after close() fail with store_error", "[store]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  store->close();
  auto r = await<bool>([&](auto done) { store->account_exists("default", done); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "store_error");
  auto rec = store->recover(1000);
  REQUIRE_FALSE(rec.ok());
  CHECK(rec.error().code == "store_error");
  store->cancel_deliveries({"dlv_1"});  // logged and dropped
}
