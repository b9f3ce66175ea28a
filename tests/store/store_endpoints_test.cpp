#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "store/store_fixture.hpp"

using namespace korehook;
using namespace korehook::store;
using namespace korehook::store::testing;

namespace {

Result<Page<EndpointRecord>> list_page(Store& store, const std::string& account,
                                       std::optional<std::string> cursor, int limit) {
  return await<Page<EndpointRecord>>(
      [&](auto done) { store.list_endpoints(account, cursor, limit, done); });
}

Result<std::optional<EndpointRecord>> get(Store& store, const std::string& account,
                                          const std::string& id) {
  return await<std::optional<EndpointRecord>>(
      [&](auto done) { store.get_endpoint(account, id, done); });
}

std::vector<EndpointRecord> all(Store& store) {
  auto r = await<std::vector<EndpointRecord>>([&](auto done) { store.all_endpoints(done); });
  REQUIRE(r.ok());
  return *r;
}

Result<ConfigSync> sync_config(Store& store, std::vector<EndpointRecord> declared,
                               TimeMs now = 5000) {
  return await<ConfigSync>(
      [&](auto done) { store.sync_config_endpoints(std::move(declared), now, done); });
}

EndpointRecord config_endpoint(std::string id, bool enabled = true,
                               std::string account = "default") {
  EndpointRecord e = make_endpoint(std::move(id), std::move(account));
  e.source = EndpointSource::kConfig;
  if (!enabled) e.disabled_reason = DisabledReason::kConfig;
  return e;
}

std::set<std::string> claimed_ids(Store& store, TimeMs now) {
  auto r = claim(store, now, now, 100, now + 60'000);
  REQUIRE(r.ok());
  auto ids = ids_of(*r);
  return {ids.begin(), ids.end()};
}

Result<int> delete_endpoint(Store& store, const std::string& account, const std::string& id) {
  return await<int>([&](auto done) { store.delete_endpoint(account, id, 6000, done); });
}

// Settings with every field away from its default, so a round trip proves each one.
EndpointSettings unusual_settings() {
  EndpointSettings s;
  s.url = "https://example.net:8443/hook?x=1";
  s.description = "déjà \"quoted\"";
  s.event_types = {"sim.*", "order.created"};
  s.connect_timeout = Millis{1234};
  s.read_timeout = Millis{5678};
  s.retry = retry::RetryPolicy{3, Millis{250}, Millis{90'000}};
  s.max_in_flight = 7;
  s.rate_limit = 12.5;
  s.disable_after = Millis{0};
  s.headers = {{"X-Tenant", "acme"}, {"X-Empty", ""}};
  s.kore_signature = false;
  s.standard_signature = true;
  s.ca_file = "/etc/korehook/ca.pem";
  return s;
}

void check_same(const EndpointSettings& a, const EndpointSettings& b) {
  CHECK(a.url == b.url);
  CHECK(a.description == b.description);
  CHECK(a.event_types == b.event_types);
  CHECK(a.connect_timeout == b.connect_timeout);
  CHECK(a.read_timeout == b.read_timeout);
  CHECK(a.retry.max_attempts == b.retry.max_attempts);
  CHECK(a.retry.initial_delay == b.retry.initial_delay);
  CHECK(a.retry.max_delay == b.retry.max_delay);
  CHECK(a.max_in_flight == b.max_in_flight);
  CHECK(a.rate_limit == b.rate_limit);
  CHECK(a.disable_after == b.disable_after);
  CHECK(a.headers == b.headers);
  CHECK(a.kore_signature == b.kore_signature);
  CHECK(a.standard_signature == b.standard_signature);
  CHECK(a.ca_file == b.ca_file);
}

}  // namespace

TEST_CASE("store: accounts are created once, read back and listed by id in pages",
          "[store][accounts]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  for (const char* id : {"acct_c", "acct_a", "acct_e", "acct_b", "acct_d"}) {
    REQUIRE(create_account(*store, id, 2000).ok());
  }
  auto again = create_account(*store, "acct_a");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == "conflict");

  auto a =
      await<std::optional<AccountRecord>>([&](auto done) { store->get_account("acct_a", done); });
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  CHECK((*a)->name == "name of acct_a");
  CHECK((*a)->created_at == 2000);
  auto missing =
      await<std::optional<AccountRecord>>([&](auto done) { store->get_account("nope", done); });
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());

  // default + 5, pages of 2: 3 pages, no overlap, no cursor after the last.
  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  int pages = 0;
  do {
    auto page =
        await<Page<AccountRecord>>([&](auto done) { store->list_accounts(cursor, 2, done); });
    REQUIRE(page.ok());
    for (const auto& acc : page->items) seen.push_back(acc.id);
    cursor = page->next_cursor;
    ++pages;
  } while (cursor && pages < 10);
  CHECK(pages == 3);
  CHECK(seen ==
        std::vector<std::string>{"acct_a", "acct_b", "acct_c", "acct_d", "acct_e", "default"});
}

TEST_CASE("store: endpoints are created, read, listed in creation order, updated and deleted",
          "[store][endpoints]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(create_account(*store, "acct_b").ok());

  EndpointRecord first = make_endpoint("ep_z", "default", 1000);
  first.settings = unusual_settings();
  auto created = create_endpoint(*store, first);
  REQUIRE(created.ok());
  CHECK(created->source == EndpointSource::kApi);
  CHECK(created->enabled());
  CHECK(created->updated_at == 1000);
  // Ids sort the other way round from creation: the list follows creation.
  for (const char* id : {"ep_y", "ep_x", "ep_w", "ep_v"}) {
    REQUIRE(create_endpoint(*store, make_endpoint(id, "default", 2000)).ok());
  }
  REQUIRE(create_endpoint(*store, make_endpoint("ep_other", "acct_b", 2000)).ok());

  SECTION("settings and headers round-trip") {
    auto got = get(*store, "default", "ep_z");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    check_same((*got)->settings, first.settings);
    CHECK((*got)->created_at == 1000);
    auto everything = all(*store);
    REQUIRE(everything.size() == 6);
    check_same(everything[0].settings, first.settings);
  }

  SECTION("create: conflict on an existing id, in any account; not_found account") {
    auto dup = create_endpoint(*store, make_endpoint("ep_other", "default"));
    REQUIRE_FALSE(dup.ok());
    CHECK(dup.error().code == "conflict");
    auto no_account = create_endpoint(*store, make_endpoint("ep_new", "acct_missing"));
    REQUIRE_FALSE(no_account.ok());
    CHECK(no_account.error().code == "not_found");
  }

  SECTION("scoped by account") {
    auto other = get(*store, "default", "ep_other");
    REQUIRE(other.ok());
    CHECK_FALSE(other->has_value());
    const EndpointSettings settings;
    auto upd = await<EndpointRecord>(
        [&](auto done) { store->update_endpoint("default", "ep_other", settings, 3000, done); });
    REQUIRE_FALSE(upd.ok());
    CHECK(upd.error().code == "not_found");
    auto del = delete_endpoint(*store, "default", "ep_other");
    REQUIRE_FALSE(del.ok());
    CHECK(del.error().code == "not_found");
    auto st = set_state(*store, "ep_other", DisabledReason::kManual, 3000, "default");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == "not_found");
  }

  SECTION("list: 3 pages, no overlap, no cursor at the end") {
    std::vector<std::string> seen;
    std::optional<std::string> cursor;
    int pages = 0;
    do {
      auto page = list_page(*store, "default", cursor, 2);
      REQUIRE(page.ok());
      for (const auto& e : page->items) seen.push_back(e.id);
      cursor = page->next_cursor;
      ++pages;
    } while (cursor && pages < 10);
    CHECK(pages == 3);
    CHECK(seen == std::vector<std::string>{"ep_z", "ep_y", "ep_x", "ep_w", "ep_v"});
    auto exact = list_page(*store, "acct_b", std::nullopt, 1);
    REQUIRE(exact.ok());
    CHECK(exact->items.size() == 1);
    CHECK_FALSE(exact->next_cursor.has_value());
    auto bad = list_page(*store, "default", std::string("not-a-cursor"), 2);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == "invalid_argument");
  }

  SECTION("update replaces the settings") {
    EndpointSettings s;
    s.url = "https://other.example.com/";
    s.headers = {{"X-New", "1"}};
    auto upd = await<EndpointRecord>(
        [&](auto done) { store->update_endpoint("default", "ep_z", s, 3000, done); });
    REQUIRE(upd.ok());
    CHECK(upd->updated_at == 3000);
    CHECK(upd->created_at == 1000);
    auto got = get(*store, "default", "ep_z");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    check_same((*got)->settings, s);
  }

  SECTION("delete cancels the live deliveries and answers how many") {
    REQUIRE(
        append(
            *store,
            {make_new_event(make_event("evt_1"), {make_delivery("dlv_1", "evt_1", 1000, "ep_y"),
                                                  make_delivery("dlv_2", "evt_1", 1000, "ep_x")}),
             make_new_event(make_event("evt_2"), {make_delivery("dlv_3", "evt_2", 1000, "ep_y")})})
            .ok());
    auto n = delete_endpoint(*store, "default", "ep_y");
    REQUIRE(n.ok());
    CHECK(*n == 2);
    auto gone = get(*store, "default", "ep_y");
    REQUIRE(gone.ok());
    CHECK_FALSE(gone->has_value());
    auto event = get_event(*store, "evt_1");
    REQUIRE(event.ok());
    CHECK((*event)->deliveries[0].delivery.state == DeliveryState::kCancelled);
    CHECK((*event)->deliveries[1].delivery.state == DeliveryState::kPending);
    CHECK(claimed_ids(*store, 2000) == std::set<std::string>{"dlv_2"});
    auto again = delete_endpoint(*store, "default", "ep_y");
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == "not_found");
  }
}

TEST_CASE("store: endpoint headers need the secrets key, plain ones do not", "[store][endpoints]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"), true, inline_poster(), std::nullopt);
  REQUIRE(create_endpoint(*store, make_endpoint("ep_plain")).ok());
  EndpointRecord with_headers = make_endpoint("ep_headers");
  with_headers.settings.headers = {{"X-Api-Key", "k"}};
  auto r = create_endpoint(*store, with_headers);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "store_error");
  CHECK_THAT(r.error().message, Catch::Contains("secrets.key_file"));
  CHECK(all(*store).size() == 1);
}

TEST_CASE("store: a disabled endpoint's deliveries are parked and never claimed until enabled",
          "[store][endpoints]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(create_endpoint(*store, make_endpoint("ep_1")).ok());
  REQUIRE(create_endpoint(*store, make_endpoint("ep_2")).ok());
  // dlv_held is held in memory (leased) when the endpoint is disabled; dlv_2 is elsewhere.
  REQUIRE(append(*store, {make_new_event(make_event("evt_1"),
                                         {make_delivery("dlv_1", "evt_1", 1000, "ep_1"),
                                          make_delivery("dlv_2", "evt_1", 1000, "ep_2")}),
                          make_new_event(make_event("evt_2"),
                                         {make_delivery("dlv_held", "evt_2", 1000, "ep_1")},
                                         /*lease_until=*/kLeaseHeld)})
              .ok());

  auto disabled = set_state(*store, "ep_1", DisabledReason::kManual, 2000);
  REQUIRE(disabled.ok());
  CHECK(disabled->disabled_reason == DisabledReason::kManual);
  CHECK(disabled->disabled_detail == "because");
  CHECK(claimed_ids(*store, 3000) == std::set<std::string>{"dlv_2"});
  // A parked lease never runs out: far later, only dlv_2 (its lease has) is claimed again.
  CHECK(claimed_ids(*store, 10'000'000) == std::set<std::string>{"dlv_2"});

  SECTION("recover keeps them parked") {
    auto recovered = store->recover(4000);
    REQUIRE(recovered.ok());
    CHECK(*recovered == 1);  // dlv_2 (leased by the claim); parked ones were not interrupted
    CHECK(claimed_ids(*store, 5000) == std::set<std::string>{"dlv_2"});
  }

  SECTION("enabling unparks them and clears failing_since") {
    store->set_endpoint_failing_since("ep_1", 1500);
    sync(*store);
    auto got = get(*store, "default", "ep_1");
    REQUIRE(got.ok());
    CHECK((*got)->failing_since == 1500);
    auto enabled = set_state(*store, "ep_1", DisabledReason::kNone, 6000, "default");
    REQUIRE(enabled.ok());
    CHECK(enabled->enabled());
    CHECK(enabled->failing_since == 0);
    CHECK(enabled->disabled_detail.empty());
    CHECK(claimed_ids(*store, 7000) == std::set<std::string>{"dlv_1", "dlv_held"});
  }

  SECTION("unknown endpoint") {
    auto r = set_state(*store, "ep_nope", DisabledReason::kGone);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "not_found");
  }
}

TEST_CASE("store: enabling unparks only parked leases, not deliveries held in memory",
          "[store][endpoints]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(create_endpoint(*store, make_endpoint("ep_1")).ok());
  REQUIRE(set_state(*store, "ep_1", DisabledReason::kGone).ok());
  // Appended after the disable, already held by the dispatcher.
  REQUIRE(
      append(*store, {make_new_event(make_event("evt_1"),
                                     {make_delivery("dlv_1", "evt_1", 1000, "ep_1")}, kLeaseHeld)})
          .ok());
  REQUIRE(set_state(*store, "ep_1", DisabledReason::kNone).ok());
  CHECK(claimed_ids(*store, 9000).empty());
}

TEST_CASE("store: config sync upserts, removes, refuses API ids and keeps runtime disables",
          "[store][endpoints]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(create_account(*store, "acct_b").ok());
  REQUIRE(create_endpoint(*store, make_endpoint("ep_api")).ok());

  EndpointRecord a = config_endpoint("ep_a");
  a.settings.headers = {{"X-Static", "yes"}};
  auto first = sync_config(*store, {a, config_endpoint("ep_b"), config_endpoint("ep_c", false)});
  REQUIRE(first.ok());
  CHECK(first->removed == 0);
  REQUIRE(first->endpoints.size() == 4);
  auto by_id = [](const ConfigSync& s, const std::string& id) {
    for (const auto& e : s.endpoints) {
      if (e.id == id) return e;
    }
    FAIL("no endpoint " << id);
    return EndpointRecord{};
  };
  CHECK(by_id(*first, "ep_a").source == EndpointSource::kConfig);
  CHECK(by_id(*first, "ep_a").settings.headers == a.settings.headers);
  CHECK(by_id(*first, "ep_c").disabled_reason == DisabledReason::kConfig);
  CHECK(by_id(*first, "ep_api").source == EndpointSource::kApi);

  SECTION("config endpoints refuse API update and delete") {
    const EndpointSettings settings;
    auto upd = await<EndpointRecord>(
        [&](auto done) { store->update_endpoint("default", "ep_a", settings, 6000, done); });
    REQUIRE_FALSE(upd.ok());
    CHECK(upd.error().code == "declared_in_config");
    CHECK(upd.error().message ==
          "endpoint 'ep_a' is declared in the configuration file; change it there and reload "
          "(SIGHUP)");
    auto del = delete_endpoint(*store, "default", "ep_a");
    REQUIRE_FALSE(del.ok());
    CHECK(del.error().code == "declared_in_config");
  }

  SECTION("an id of an API endpoint is a conflict and nothing changes") {
    auto r = sync_config(*store, {config_endpoint("ep_api")});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "conflict");
    CHECK_THAT(r.error().message, Catch::Contains("ep_api"));
    CHECK(all(*store).size() == 4);
  }

  SECTION("an unknown account is not_found naming both, and nothing changes") {
    auto r = sync_config(*store, {config_endpoint("ep_new", true, "acct_missing")});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "not_found");
    CHECK_THAT(r.error().message, Catch::Contains("acct_missing"));
    CHECK_THAT(r.error().message, Catch::Contains("ep_new"));
    CHECK(all(*store).size() == 4);
  }

  SECTION("removed endpoints are deleted and their live deliveries cancelled") {
    REQUIRE(append(*store, {make_new_event(make_event("evt_1"),
                                           {make_delivery("dlv_b", "evt_1", 1000, "ep_b"),
                                            make_delivery("dlv_a", "evt_1", 1000, "ep_a")})})
                .ok());
    auto r = sync_config(*store, {a, config_endpoint("ep_new", true, "acct_b")});
    REQUIRE(r.ok());
    CHECK(r->removed == 2);  // ep_b, ep_c
    CHECK(r->cancelled == 1);
    std::set<std::string> ids;
    for (const auto& e : r->endpoints) ids.insert(e.id);
    CHECK(ids == std::set<std::string>{"ep_a", "ep_api", "ep_new"});
    CHECK(claimed_ids(*store, 2000) == std::set<std::string>{"dlv_a"});
  }

  SECTION("a runtime disable survives a sync; enabled: false wins; enabled: true lifts only it") {
    REQUIRE(set_state(*store, "ep_a", DisabledReason::kFailing).ok());
    REQUIRE(append(*store, {make_new_event(make_event("evt_1"),
                                           {make_delivery("dlv_a", "evt_1", 1000, "ep_a"),
                                            make_delivery("dlv_b", "evt_1", 1000, "ep_b"),
                                            make_delivery("dlv_c", "evt_1", 1000, "ep_c")})})
                .ok());
    // Appended while disabled, as the dispatcher does not: park them as a recover would.
    REQUIRE(store->recover(1500).ok());
    CHECK(claimed_ids(*store, 2000) == std::set<std::string>{"dlv_b"});
    REQUIRE(store->recover(2500).ok());

    EndpointRecord a2 = a;
    a2.settings.description = "changed";
    auto r =
        sync_config(*store, {a2, config_endpoint("ep_b", false), config_endpoint("ep_c")}, 3000);
    REQUIRE(r.ok());
    CHECK(r->removed == 0);
    CHECK(by_id(*r, "ep_a").disabled_reason == DisabledReason::kFailing);
    CHECK(by_id(*r, "ep_a").settings.description == "changed");
    CHECK(by_id(*r, "ep_a").updated_at == 3000);
    CHECK(by_id(*r, "ep_b").disabled_reason == DisabledReason::kConfig);
    CHECK(by_id(*r, "ep_c").enabled());
    CHECK(claimed_ids(*store, 4000) == std::set<std::string>{"dlv_c"});

    // enabled: false over a runtime disable, then enabled: true clears everything it set.
    auto r2 = sync_config(
        *store, {config_endpoint("ep_a", false), config_endpoint("ep_b"), config_endpoint("ep_c")},
        5000);
    REQUIRE(r2.ok());
    CHECK(by_id(*r2, "ep_a").disabled_reason == DisabledReason::kConfig);
    CHECK(by_id(*r2, "ep_b").enabled());
    CHECK(claimed_ids(*store, 6000) == std::set<std::string>{"dlv_b"});
    auto r3 = sync_config(
        *store, {config_endpoint("ep_a"), config_endpoint("ep_b"), config_endpoint("ep_c")}, 7000);
    REQUIRE(r3.ok());
    CHECK(by_id(*r3, "ep_a").enabled());
    CHECK(claimed_ids(*store, 8000) == std::set<std::string>{"dlv_a"});

    // An unchanged sync touches nothing.
    auto r4 = sync_config(
        *store, {config_endpoint("ep_a"), config_endpoint("ep_b"), config_endpoint("ep_c")}, 9000);
    REQUIRE(r4.ok());
    CHECK(by_id(*r4, "ep_a").updated_at == 7000);
  }

  SECTION("the API can enable and disable a config endpoint") {
    auto r = set_state(*store, "ep_c", DisabledReason::kNone);
    REQUIRE(r.ok());
    CHECK(r->enabled());
    auto m = set_state(*store, "ep_a", DisabledReason::kManual);
    REQUIRE(m.ok());
    CHECK(m->disabled_reason == DisabledReason::kManual);
  }
}

TEST_CASE("store: a config endpoint first declared disabled parks the deliveries naming it",
          "[store][endpoints]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  // As a schema 1 database leaves them: deliveries of YAML endpoints with no endpoints row.
  REQUIRE(append(*store, {make_new_event(make_event("evt_1"),
                                         {make_delivery("dlv_off", "evt_1", 1000, "ep_off"),
                                          make_delivery("dlv_on", "evt_1", 1000, "ep_on")})})
              .ok());
  write_in_flight(store, dir.file("k.db"), {"dlv_off"});
  auto r = sync_config(*store, {config_endpoint("ep_off", false), config_endpoint("ep_on")});
  REQUIRE(r.ok());
  CHECK(claimed_ids(*store, 2000) == std::set<std::string>{"dlv_on"});
  auto recovered = store->recover(3000);
  REQUIRE(recovered.ok());
  CHECK(*recovered == 1);  // dlv_on's lease
  CHECK(claimed_ids(*store, 4000) == std::set<std::string>{"dlv_on"});
  auto event = get_event(*store, "evt_1");
  REQUIRE(event.ok());
  CHECK((*event)->deliveries.at(0).delivery.state == DeliveryState::kPending);  // was in flight
}
