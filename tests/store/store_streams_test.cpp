// Event Streams in the store: destinations (endpoints of kind kDestination), rules, pending
// rows written with their event, batches made from them, and the migration from schema 2.

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "store/schema.hpp"
#include "store/sqlite.hpp"
#include "store/store_fixture.hpp"

using namespace korehook;
using namespace korehook::store;
using namespace korehook::store::testing;

namespace {

EndpointRecord make_destination(std::string id, std::string account = "default") {
  EndpointRecord e = make_endpoint(std::move(id), std::move(account));
  e.kind = EndpointKind::kDestination;
  e.settings = destination_defaults();
  e.settings.url = "https://stream.example.com/" + e.id;
  e.settings.description = "stream " + e.id;
  return e;
}

RuleRecord make_rule(std::string id, std::string destination,
                     std::vector<std::string> types = {"sim.*"}) {
  RuleRecord r;
  r.id = std::move(id);
  r.account_id = "default";
  r.name = "rule " + r.id;
  r.destination_id = std::move(destination);
  r.event_types = std::move(types);
  r.created_at = 1000;
  return r;
}

Result<RuleRecord> create_rule(Store& store, RuleRecord r) {
  return await<RuleRecord>([&](auto done) { store.create_rule(std::move(r), done); });
}

Result<std::vector<StreamPending>> pending(Store& store) {
  return await<std::vector<StreamPending>>([&](auto done) { store.stream_pending(done); });
}

NewEvent streamed_event(std::string id, TimeMs at, std::vector<std::string> destinations) {
  NewEvent ne = make_new_event(make_event(std::move(id), at), {});
  for (auto& d : destinations) ne.streams.push_back(StreamTarget{std::move(d), "2"});
  return ne;
}

NewStreamBatch make_batch(std::string id, std::vector<std::string> events,
                          std::string destination = "dst_1") {
  NewStreamBatch b;
  b.batch_id = std::move(id);
  b.delivery_id = "dlv_" + b.batch_id;
  b.token = "tok-" + b.batch_id;
  b.destination_id = std::move(destination);
  b.account_id = "default";
  b.type = "sim.activated";
  b.source = "kore-events";
  b.event_ids = std::move(events);
  b.now = 5000;
  b.lease_until = kLeaseHeld;
  return b;
}

Result<StreamBatchResult> make(Store& store, NewStreamBatch b) {
  return await<StreamBatchResult>(
      [&](auto done) { store.create_stream_batch(std::move(b), done); });
}

}  // namespace

TEST_CASE("store: destinations are endpoints of their own kind, listed apart", "[store][streams]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(create_endpoint(*store, make_endpoint("ep_1")).ok());
  auto created = create_endpoint(*store, make_destination("dst_1"));
  REQUIRE(created.ok());
  CHECK(created->kind == EndpointKind::kDestination);

  auto endpoints = await<Page<EndpointRecord>>(
      [&](auto done) { store->list_endpoints("default", std::nullopt, 10, done); });
  REQUIRE(endpoints.ok());
  REQUIRE(endpoints->items.size() == 1);
  CHECK(endpoints->items[0].id == "ep_1");
  auto destinations = await<Page<EndpointRecord>>(
      [&](auto done) { store->list_destinations("default", std::nullopt, 10, done); });
  REQUIRE(destinations.ok());
  REQUIRE(destinations->items.size() == 1);
  CHECK(destinations->items[0].id == "dst_1");
  CHECK(destinations->items[0].kind == EndpointKind::kDestination);
  CHECK(destinations->items[0].settings.event_types.empty());  // never routed directly
  CHECK(destination_timeout(destinations->items[0].settings) == Millis{5'000});
  CHECK(destinations->items[0].settings.retry.max_attempts == 4);

  SECTION("a destination fed by a rule cannot be deleted") {
    REQUIRE(create_rule(*store, make_rule("rule_1", "dst_1")).ok());
    auto refused =
        await<int>([&](auto done) { store->delete_endpoint("default", "dst_1", 6000, done); });
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "conflict");
    CHECK_THAT(refused.error().message, Catch::Contains("rule_1"));
    REQUIRE(await<Unit>([&](auto done) { store->delete_rule("default", "rule_1", done); }).ok());
    CHECK(await<int>([&](auto done) {
            store->delete_endpoint("default", "dst_1", 6000, done);
          }).ok());
  }
}

TEST_CASE("store: rules name an existing destination of their account", "[store][streams]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(create_account(*store, "acct_b").ok());
  REQUIRE(create_endpoint(*store, make_endpoint("ep_1")).ok());
  REQUIRE(create_endpoint(*store, make_destination("dst_1")).ok());
  REQUIRE(create_endpoint(*store, make_destination("dst_b", "acct_b")).ok());

  for (const char* bad : {"dst_missing", "ep_1", "dst_b"}) {
    auto r = create_rule(*store, make_rule("rule_x", bad));
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "not_found");
    CHECK_THAT(r.error().message, Catch::StartsWith("destination"));
  }
  auto rule = make_rule("rule_1", "dst_1", {"sim.*", "order.created"});
  rule.schema_version = "3";
  REQUIRE(create_rule(*store, rule).ok());
  CHECK(create_rule(*store, make_rule("rule_1", "dst_1")).error().code == "conflict");
  REQUIRE(create_endpoint(*store, make_destination("dst_2")).ok());
  REQUIRE(create_rule(*store, make_rule("rule_2", "dst_2")).ok());

  auto got = await<std::optional<RuleRecord>>(
      [&](auto done) { store->get_rule("default", "rule_1", done); });
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->event_types == std::vector<std::string>{"sim.*", "order.created"});
  CHECK((*got)->schema_version == std::optional<std::string>("3"));
  CHECK((*got)->enabled());
  CHECK_FALSE(await<std::optional<RuleRecord>>([&](auto done) {
                store->get_rule("acct_b", "rule_1", done);
              })->has_value());

  auto of_dst2 = await<Page<RuleRecord>>([&](auto done) {
    store->list_rules("default", std::string("dst_2"), std::nullopt, 10, done);
  });
  REQUIRE(of_dst2.ok());
  REQUIRE(of_dst2->items.size() == 1);
  CHECK(of_dst2->items[0].id == "rule_2");

  RuleRecord changed = **got;
  changed.status = RuleStatus::kDisabled;
  changed.destination_id = "dst_2";
  auto updated = await<RuleRecord>([&](auto done) { store->update_rule(changed, 7000, done); });
  REQUIRE(updated.ok());
  CHECK(updated->status == RuleStatus::kDisabled);
  CHECK(updated->updated_at == 7000);
  CHECK(updated->created_at == 1000);
  changed.destination_id = "ep_1";
  CHECK(
      await<RuleRecord>([&](auto done) { store->update_rule(changed, 7000, done); }).error().code ==
      "not_found");
}

TEST_CASE("store: YAML rules and destinations sync together, a dangling rule refuses the sync",
          "[store][streams]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  auto sync = [&](std::vector<EndpointRecord> declared, std::vector<RuleRecord> rules) {
    return await<ConfigSync>(
        [&](auto done) { store->sync_config(std::move(declared), std::move(rules), 2000, done); });
  };
  auto first = sync({make_destination("dst_cfg")}, {make_rule("rule_cfg", "dst_cfg")});
  REQUIRE(first.ok());
  REQUIRE(first->rules.size() == 1);
  CHECK(first->rules[0].source == EndpointSource::kConfig);
  CHECK(first->endpoints.at(0).kind == EndpointKind::kDestination);

  RuleRecord edit = first->rules[0];
  auto refused = await<RuleRecord>([&](auto done) { store->update_rule(edit, 3000, done); });
  CHECK(refused.error().code == "declared_in_config");
  CHECK(await<Unit>([&](auto done) { store->delete_rule("default", "rule_cfg", done); })
            .error()
            .code == "declared_in_config");

  // A rule naming a destination that is not declared (nor created through the API).
  auto dangling = sync({make_destination("dst_cfg")}, {make_rule("rule_cfg", "dst_gone")});
  REQUIRE_FALSE(dangling.ok());
  CHECK_THAT(dangling.error().message, Catch::Contains("dst_gone"));
  // Nothing changed.
  auto rules = await<std::vector<RuleRecord>>([&](auto done) { store->all_rules(done); });
  REQUIRE(rules.ok());
  REQUIRE(rules->size() == 1);
  CHECK(rules->at(0).destination_id == "dst_cfg");

  // Removing both the destination and its rule works.
  auto emptied = sync({}, {});
  REQUIRE(emptied.ok());
  CHECK(emptied->rules.empty());
  CHECK(emptied->endpoints.empty());
}

TEST_CASE("store: pending stream rows are written with the event and become one batch",
          "[store][streams]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  REQUIRE(create_endpoint(*store, make_destination("dst_1")).ok());
  REQUIRE(create_endpoint(*store, make_destination("dst_2")).ok());
  std::vector<NewEvent> events;
  events.push_back(streamed_event("evt_1", 1000, {"dst_1", "dst_2"}));
  events.push_back(streamed_event("evt_2", 1100, {"dst_1"}));
  REQUIRE(append(*store, std::move(events)).ok());

  auto rows = pending(*store);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK(rows->at(0).event_id == "evt_1");
  CHECK(rows->at(0).type == "sim.activated");
  CHECK(rows->at(2).event_id == "evt_2");

  auto made = make(*store, make_batch("bat_1", {"evt_1", "evt_2"}));
  REQUIRE(made.ok());
  CHECK(made->events == 2);
  CHECK_FALSE(made->parked);
  REQUIRE(made->work.has_value());
  const Work& w = *made->work;
  CHECK(w.delivery.endpoint_id == "dst_1");
  CHECK(w.delivery.token == "tok-bat_1");
  CHECK(w.payload->content_type == "application/json");

  const boost::json::value body = boost::json::parse(w.payload->body);
  REQUIRE(body.is_array());
  REQUIRE(body.as_array().size() == 2);
  const auto& first = body.as_array()[0].as_object();
  CHECK(first.at("id") == "evt_1");
  CHECK(first.at("specversion") == "1.0");
  CHECK(first.at("datacontenttype") == "application/json");
  CHECK(first.at("source") == "kore-events");
  CHECK(first.at("type") == "sim.activated");
  CHECK(first.at("time") == "1970-01-01T00:00:01.000Z");
  CHECK(first.at("dataschema") == "/schemas/sim.activated/2");
  CHECK(first.at("data").at("id") == "evt_1");
  CHECK(body.as_array()[1].at("id") == "evt_2");

  // The batch is stored: the same bytes are what every attempt sends.
  auto stored = get_event(*store, "bat_1");
  REQUIRE(stored.ok());
  REQUIRE(stored->has_value());
  CHECK((*stored)->event.body == w.payload->body);
  REQUIRE((*stored)->deliveries.size() == 1);
  CHECK((*stored)->deliveries[0].delivery.token == "tok-bat_1");

  // Only evt_1 for dst_2 is left pending; taken rows are not taken twice.
  rows = pending(*store);
  REQUIRE(rows->size() == 1);
  CHECK(rows->at(0).destination_id == "dst_2");
  auto again = make(*store, make_batch("bat_2", {"evt_1", "evt_2"}));
  REQUIRE(again.ok());
  CHECK(again->events == 0);
  CHECK_FALSE(again->work.has_value());
  CHECK_FALSE(get_event(*store, "bat_2")->has_value());

  SECTION("a batch for a disabled destination is stored parked") {
    REQUIRE(set_state(*store, "dst_2", DisabledReason::kManual).ok());
    auto parked = make(*store, make_batch("bat_3", {"evt_1"}, "dst_2"));
    REQUIRE(parked.ok());
    CHECK(parked->parked);
    CHECK(parked->events == 1);
    CHECK_FALSE(parked->work.has_value());
    REQUIRE(set_state(*store, "dst_2", DisabledReason::kNone).ok());
    auto claimed = claim(*store, 6000, 6000, 10, kLeaseHeld);
    REQUIRE(claimed.ok());
    CHECK(ids_of(*claimed) == std::vector<std::string>{"dlv_bat_3"});
  }
  SECTION("pending rows survive a restart") {
    store->close();
    store = open_store(dir.file("k.db"));
    rows = pending(*store);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    CHECK(rows->at(0).event_id == "evt_1");
  }
}

TEST_CASE("store: a version 2 database is migrated to version 3", "[store][streams]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  {
    sqlite::Database db(path);
    db.exec("PRAGMA journal_mode = WAL");
    REQUIRE(migrate(db, 500, 2) == 2);
    db.exec(R"sql(
INSERT INTO endpoints(id, account_id, source, settings, created_at, updated_at)
  VALUES ('ep_v2', 'default', 0, '{"url":"https://hooks.example.com/v2"}', 600, 600);
)sql");
  }
  auto store = open_store(path);
  auto all = await<std::vector<EndpointRecord>>([&](auto done) { store->all_endpoints(done); });
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->at(0).kind == EndpointKind::kEndpoint);
  CHECK(all->at(0).settings.url == "https://hooks.example.com/v2");
  auto rules = await<std::vector<RuleRecord>>([&](auto done) { store->all_rules(done); });
  REQUIRE(rules.ok());
  CHECK(rules->empty());
  CHECK(pending(*store)->empty());
}
