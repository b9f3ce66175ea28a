#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "store/store_fixture.hpp"

using namespace korehook;
using namespace korehook::store;
using namespace korehook::store::testing;

namespace {

Result<Page<DeliveryInfo>> list_page(Store& store, DeliveryFilter filter,
                                     std::optional<std::string> cursor, int limit) {
  return await<Page<DeliveryInfo>>(
      [&](auto done) { store.list_deliveries(std::move(filter), cursor, limit, done); });
}

std::vector<std::string> list_ids(Store& store, DeliveryFilter filter) {
  auto page = list_page(store, std::move(filter), std::nullopt, 1000);
  REQUIRE(page.ok());
  std::vector<std::string> ids;
  for (const auto& d : page->items) ids.push_back(d.delivery.id);
  return ids;
}

DeliveryFilter account(std::string id = "default") {
  DeliveryFilter f;
  f.account_id = std::move(id);
  return f;
}

Result<DeliveryInfo> redeliver(Store& store, const std::string& id, TimeMs now,
                               std::string acct = "default") {
  return await<DeliveryInfo>([&](auto done) { store.redeliver(acct, id, now, done); });
}

Result<int> replay(Store& store, DeliveryFilter filter, TimeMs now) {
  return await<int>([&](auto done) { store.replay(std::move(filter), now, done); });
}

void complete(Store& store, std::vector<AttemptDone> results) {
  REQUIRE(await<Unit>([&](auto done) { store.complete_attempts(std::move(results), done); }).ok());
}

std::set<std::string> claimed_ids(Store& store, TimeMs now) {
  auto r = claim(store, now, now, 100, now + 60'000);
  REQUIRE(r.ok());
  auto ids = ids_of(*r);
  return {ids.begin(), ids.end()};
}

// Two accounts. default: evt_1 (sim.activated, t=1000) -> dlv_1 (ep_1), dlv_2 (ep_2);
// evt_2 (order.created, t=2000) -> dlv_3 (ep_1); evt_cb (t=3000, callback) -> dlv_cb.
// acct_b: evt_b (t=1500) -> dlv_b (ep_b).
void populate(Store& store) {
  REQUIRE(create_account(store, "acct_b").ok());
  for (const char* ep : {"ep_1", "ep_2"}) REQUIRE(create_endpoint(store, make_endpoint(ep)).ok());
  REQUIRE(create_endpoint(store, make_endpoint("ep_b", "acct_b")).ok());
  EventRecord e2 = make_event("evt_2", 2000);
  e2.type = "order.created";
  EventRecord cb = make_event("evt_cb", 3000);
  cb.callback_url = "https://callback.example.com/x";
  REQUIRE(append(store, {make_new_event(make_event("evt_1", 1000),
                                        {make_delivery("dlv_1", "evt_1", 1000, "ep_1"),
                                         make_delivery("dlv_2", "evt_1", 1000, "ep_2")}),
                         make_new_event(make_event("evt_b", 1500, std::nullopt, "acct_b"),
                                        {make_delivery("dlv_b", "evt_b", 1500, "ep_b")}),
                         make_new_event(e2, {make_delivery("dlv_3", "evt_2", 2000, "ep_1")}),
                         make_new_event(cb, {make_delivery("dlv_cb", "evt_cb", 3000, "")})})
              .ok());
}

}  // namespace

TEST_CASE("store: claim_due and get_event carry the callback URL and the new delivery fields",
          "[store][deliveries]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  populate(*store);
  auto work = claim(*store, 5000, 5000, 10, 60'000);
  REQUIRE(work.ok());
  REQUIRE(work->size() == 5);  // claim_due is not scoped: dlv_b of acct_b too
  for (const auto& w : *work) {
    CAPTURE(w.delivery.id);
    CHECK(w.delivery.created_at == w.delivery.next_attempt_at);  // as appended
    CHECK(w.delivery.updated_at == 5000);                        // the claim
    CHECK(w.delivery.cycle_start == 0);
    CHECK(w.payload->callback_url.has_value() == (w.delivery.id == "dlv_cb"));
  }
  auto event = get_event(*store, "evt_cb");
  REQUIRE(event.ok());
  REQUIRE(event->has_value());
  CHECK((*event)->event.callback_url ==
        std::optional<std::string>("https://callback.example.com/x"));
  CHECK((*event)->deliveries.at(0).delivery.endpoint_id.empty());
}

TEST_CASE("store: attempts keep their response headers, bounded", "[store][deliveries]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  populate(*store);
  AttemptDone first = make_result("dlv_1", 1, DeliveryState::kPending, 9000);
  first.attempt.response_headers = {{"Retry-After", "30"}, {"X-Request-Id", "abc"}};
  AttemptDone second = make_result("dlv_2", 1, DeliveryState::kPending, 9000);
  for (int i = 0; i < 100; ++i) {
    second.attempt.response_headers.emplace_back("X-H" + std::to_string(i), "v");
  }
  AttemptDone third = make_result("dlv_3", 1, DeliveryState::kPending, 9000);
  third.attempt.response_headers = {
      {"A", std::string(10'000, 'a')}, {"B", std::string(10'000, 'b')}, {"C", "c"}};
  complete(*store, {first, second, third});

  auto detail = await<std::optional<DeliveryDetail>>(
      [&](auto done) { store->get_delivery("default", "dlv_1", done); });
  REQUIRE(detail.ok());
  REQUIRE(detail->has_value());
  REQUIRE((*detail)->attempts.size() == 1);
  CHECK((*detail)->attempts[0].response_headers == first.attempt.response_headers);
  CHECK((*detail)->attempts[0].status_code == std::optional<int>(503));

  auto event = get_event(*store, "evt_1");
  REQUIRE(event.ok());
  const auto& many = (*event)->deliveries.at(1).attempts.at(0).response_headers;
  CHECK(many.size() == 64);
  CHECK(many.back().first == "X-H63");
  auto big = get_event(*store, "evt_2");
  REQUIRE(big.ok());
  const auto& cut = (*big)->deliveries.at(0).attempts.at(0).response_headers;
  REQUIRE(cut.size() == 1);  // the second would pass 16 KiB
  CHECK(cut[0].first == "A");
}

TEST_CASE("store: list_deliveries filters, pages newest first and is scoped by account",
          "[store][deliveries]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  populate(*store);
  complete(*store, {make_result("dlv_1", 1, DeliveryState::kDelivered),
                    make_result("dlv_2", 1, DeliveryState::kFailed)});

  CHECK(list_ids(*store, account()) ==
        std::vector<std::string>{"dlv_cb", "dlv_3", "dlv_2", "dlv_1"});
  CHECK(list_ids(*store, account("acct_b")) == std::vector<std::string>{"dlv_b"});
  CHECK(list_ids(*store, account("acct_nobody")).empty());

  DeliveryFilter by_endpoint = account();
  by_endpoint.endpoint_id = "ep_1";
  CHECK(list_ids(*store, by_endpoint) == std::vector<std::string>{"dlv_3", "dlv_1"});
  DeliveryFilter by_state = account();
  by_state.state = DeliveryState::kFailed;
  CHECK(list_ids(*store, by_state) == std::vector<std::string>{"dlv_2"});
  DeliveryFilter by_type = account();
  by_type.event_type = "order.created";
  CHECK(list_ids(*store, by_type) == std::vector<std::string>{"dlv_3"});
  DeliveryFilter by_time = account();
  by_time.since = 2000;  // inclusive
  by_time.until = 3000;  // exclusive
  CHECK(list_ids(*store, by_time) == std::vector<std::string>{"dlv_3"});
  DeliveryFilter other_endpoint = account();
  other_endpoint.endpoint_id = "ep_b";  // acct_b's endpoint, asked as default
  CHECK(list_ids(*store, other_endpoint).empty());
  // The id lists the API builds from the dispatcher's attempts underway.
  DeliveryFilter only = account();
  only.state = DeliveryState::kPending;
  only.only_ids = std::vector<std::string>{"dlv_3", "dlv_1", "dlv_b"};
  CHECK(list_ids(*store, only) == std::vector<std::string>{"dlv_3"});
  only.only_ids = std::vector<std::string>{};
  CHECK(list_ids(*store, only).empty());
  DeliveryFilter except = account();
  except.state = DeliveryState::kPending;
  CHECK(list_ids(*store, except) == std::vector<std::string>{"dlv_cb", "dlv_3"});
  except.except_ids = {"dlv_3", "dlv_nobody"};
  CHECK(list_ids(*store, except) == std::vector<std::string>{"dlv_cb"});

  auto page = list_page(*store, account(), std::nullopt, 1000);
  REQUIRE(page.ok());
  const DeliveryInfo& cb = page->items.at(0);
  CHECK(cb.account_id == "default");
  CHECK(cb.event_type == "sim.activated");
  CHECK(cb.callback_url == std::optional<std::string>("https://callback.example.com/x"));

  SECTION("3 pages, no overlap, no cursor at the end") {
    std::vector<std::string> seen;
    std::optional<std::string> cursor;
    int pages = 0;
    do {
      auto p = list_page(*store, account(), cursor, 2);
      REQUIRE(p.ok());
      for (const auto& d : p->items) seen.push_back(d.delivery.id);
      cursor = p->next_cursor;
      ++pages;
    } while (cursor && pages < 10);
    CHECK(pages == 2);
    CHECK(seen == std::vector<std::string>{"dlv_cb", "dlv_3", "dlv_2", "dlv_1"});
    seen.clear();
    cursor.reset();
    pages = 0;
    do {
      auto p = list_page(*store, account(), cursor, 3);
      REQUIRE(p.ok());
      for (const auto& d : p->items) seen.push_back(d.delivery.id);
      cursor = p->next_cursor;
      ++pages;
    } while (cursor && pages < 10);
    CHECK(pages == 2);
    CHECK(seen.size() == 4);
    // Pages of one with a filter bound.
    DeliveryFilter ep1 = account();
    ep1.since = 1000;
    seen.clear();
    cursor.reset();
    pages = 0;
    do {
      auto p = list_page(*store, ep1, cursor, 1);
      REQUIRE(p.ok());
      for (const auto& d : p->items) seen.push_back(d.delivery.id);
      cursor = p->next_cursor;
      ++pages;
    } while (cursor && pages < 10);
    CHECK(pages == 4);
    CHECK(seen == std::vector<std::string>{"dlv_cb", "dlv_3", "dlv_2", "dlv_1"});
    auto bad = list_page(*store, account(), std::string("x1"), 2);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == "invalid_argument");
  }

  SECTION("get_delivery is scoped") {
    auto mine = await<std::optional<DeliveryDetail>>(
        [&](auto done) { store->get_delivery("acct_b", "dlv_b", done); });
    REQUIRE(mine.ok());
    REQUIRE(mine->has_value());
    CHECK((*mine)->info.delivery.endpoint_id == "ep_b");
    auto theirs = await<std::optional<DeliveryDetail>>(
        [&](auto done) { store->get_delivery("default", "dlv_b", done); });
    REQUIRE(theirs.ok());
    CHECK_FALSE(theirs->has_value());
  }
}

TEST_CASE("store: redeliver requeues a finished delivery with its token and a new cycle",
          "[store][deliveries]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  populate(*store);
  complete(*store, {make_result("dlv_1", 1, DeliveryState::kPending, 1100)});
  complete(*store, {make_result("dlv_1", 2, DeliveryState::kFailed)});
  complete(*store, {make_result("dlv_2", 1, DeliveryState::kDelivered),
                    make_result("dlv_cb", 1, DeliveryState::kFailed)});

  auto r = redeliver(*store, "dlv_1", 50'000);
  REQUIRE(r.ok());
  CHECK(r->delivery.state == DeliveryState::kPending);
  CHECK(r->delivery.token == "tok-dlv_1");
  CHECK(r->delivery.attempt_count == 2);
  CHECK(r->delivery.cycle_start == 2);
  CHECK(r->delivery.next_attempt_at == 50'000);
  CHECK(r->delivery.updated_at == 50'000);

  auto work = claim(*store, 50'000, 50'000, 10, 90'000);
  REQUIRE(work.ok());
  // dlv_3 and dlv_b were never finished; dlv_b is in acct_b but claim is global.
  std::set<std::string> ids;
  for (const auto& w : *work) {
    ids.insert(w.delivery.id);
    if (w.delivery.id == "dlv_1") {
      CHECK(w.delivery.token == "tok-dlv_1");
      CHECK(w.delivery.cycle_start == 2);
    }
  }
  CHECK(ids == std::set<std::string>{"dlv_1", "dlv_3", "dlv_b"});

  SECTION("pending or in flight: conflict") {
    auto again = redeliver(*store, "dlv_1", 60'000);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == "conflict");
  }

  SECTION("another account's delivery: not_found") {
    auto theirs = redeliver(*store, "dlv_2", 60'000, "acct_b");
    REQUIRE_FALSE(theirs.ok());
    CHECK(theirs.error().code == "not_found");
  }

  SECTION("a callback delivery can be redelivered") {
    auto cb = redeliver(*store, "dlv_cb", 60'000);
    REQUIRE(cb.ok());
    CHECK(cb->callback_url.has_value());
    CHECK(claimed_ids(*store, 60'000) == std::set<std::string>{"dlv_cb"});
  }

  SECTION("a disabled endpoint's delivery is parked at once") {
    REQUIRE(set_state(*store, "ep_2", DisabledReason::kManual).ok());
    REQUIRE(redeliver(*store, "dlv_2", 60'000).ok());
    CHECK(claimed_ids(*store, 60'000).empty());
    REQUIRE(set_state(*store, "ep_2", DisabledReason::kNone).ok());
    CHECK(claimed_ids(*store, 60'000) == std::set<std::string>{"dlv_2"});
  }

  SECTION("a deleted endpoint's delivery: conflict") {
    REQUIRE(await<int>([&](auto done) {
              store->delete_endpoint("default", "ep_2", 60'000, done);
            }).ok());
    auto gone = redeliver(*store, "dlv_2", 60'000);
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error().code == "conflict");
    CHECK_THAT(gone.error().message, Catch::Contains("endpoint"));
    CHECK_THAT(gone.error().message, Catch::Contains("deleted"));
  }
}

TEST_CASE("store: replay requeues the matching finished deliveries of one account",
          "[store][deliveries]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  populate(*store);
  REQUIRE(create_endpoint(*store, make_endpoint("ep_3")).ok());
  REQUIRE(append(*store, {make_new_event(make_event("evt_3", 2500),
                                         {make_delivery("dlv_4", "evt_3", 2500, "ep_3"),
                                          make_delivery("dlv_5", "evt_3", 2500, "ep_gone")})})
              .ok());
  complete(*store, {make_result("dlv_1", 1, DeliveryState::kFailed),
                    make_result("dlv_2", 1, DeliveryState::kDelivered),
                    make_result("dlv_3", 1, DeliveryState::kFailed),
                    make_result("dlv_4", 1, DeliveryState::kFailed),
                    make_result("dlv_5", 1, DeliveryState::kFailed),
                    make_result("dlv_cb", 1, DeliveryState::kFailed),
                    make_result("dlv_b", 1, DeliveryState::kFailed)});
  REQUIRE(set_state(*store, "ep_3", DisabledReason::kManual).ok());

  SECTION("state is required and must be a finished one") {
    auto none = replay(*store, account(), 9000);
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == "invalid_argument");
    DeliveryFilter pending = account();
    pending.state = DeliveryState::kPending;
    auto r = replay(*store, pending, 9000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "invalid_argument");
  }

  SECTION("by state and time range; deleted endpoints skipped; disabled ones parked") {
    DeliveryFilter f = account();
    f.state = DeliveryState::kFailed;
    f.since = 1000;
    f.until = 3000;
    auto n = replay(*store, f, 9000);
    REQUIRE(n.ok());
    CHECK(*n == 3);  // dlv_1, dlv_3, dlv_4 (parked); not dlv_5 (ep_gone), dlv_cb (t=3000)
    CHECK(claimed_ids(*store, 9000) == std::set<std::string>{"dlv_1", "dlv_3"});
    auto detail = await<std::optional<DeliveryDetail>>(
        [&](auto done) { store->get_delivery("default", "dlv_4", done); });
    REQUIRE(detail.ok());
    CHECK((*detail)->info.delivery.state == DeliveryState::kPending);
    CHECK((*detail)->info.delivery.cycle_start == 1);
    CHECK((*detail)->info.delivery.token == "tok-dlv_4");
    CHECK(list_ids(*store, [] {
            DeliveryFilter still = account("acct_b");
            still.state = DeliveryState::kFailed;
            return still;
          }()) == std::vector<std::string>{"dlv_b"});
  }

  SECTION("by endpoint and event type, callbacks included") {
    DeliveryFilter f = account();
    f.state = DeliveryState::kFailed;
    f.endpoint_id = "ep_1";
    f.event_type = "order.created";
    auto n = replay(*store, f, 9000);
    REQUIRE(n.ok());
    CHECK(*n == 1);
    DeliveryFilter cb = account();
    cb.state = DeliveryState::kFailed;
    cb.endpoint_id = "";
    auto m = replay(*store, cb, 9000);
    REQUIRE(m.ok());
    CHECK(*m == 1);
    CHECK(claimed_ids(*store, 9000) == std::set<std::string>{"dlv_3", "dlv_cb"});
  }
}
