// Event Streams in the SQLite store: destinations (endpoints of kind kDestination), rules,
// the pending rows of accepted events, and the transaction that turns them into a batch.

#include <boost/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/command.hpp"
#include "store/rows.hpp"
#include "store/sqlite_store.hpp"
#include "store/statements.hpp"
#include "store/stream_statements.hpp"

namespace korehook::store {

using sqlite::Statement;

namespace {

const std::string kRuleColumns =
    "id, account_id, name, status, destination_id, event_types, schema_version, source, "
    "created_at, updated_at";

std::string types_to_json(const std::vector<std::string>& types) {
  boost::json::array a;
  for (const auto& t : types) a.emplace_back(t);
  return boost::json::serialize(a);
}

std::vector<std::string> types_from_json(const std::string& text) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) throw std::runtime_error("malformed event_types of a rule");
  std::vector<std::string> out;
  for (const auto& item : v.as_array()) {
    if (!item.is_string()) throw std::runtime_error("malformed event_types of a rule");
    out.emplace_back(item.as_string());
  }
  return out;
}

// Columns: kRuleColumns.
RuleRecord read_rule(Statement::Use& row) {
  RuleRecord r;
  r.id = row.get_text(0);
  r.account_id = row.get_text(1);
  r.name = row.get_text(2);
  r.status = static_cast<RuleStatus>(row.get_int(3));
  r.destination_id = row.get_text(4);
  r.event_types = types_from_json(row.get_text(5));
  r.schema_version = row.get_optional_text(6);
  r.source = static_cast<EndpointSource>(row.get_int(7));
  r.created_at = row.get_int(8);
  r.updated_at = row.get_int(9);
  return r;
}

Error rule_not_found(const std::string& id) {
  return Error{"not_found", "rule '" + id + "' does not exist"};
}

Error rule_declared_in_config(const std::string& id) {
  return Error{"declared_in_config", "rule '" + id +
                                         "' is declared in the configuration file; change it "
                                         "there and reload (SIGHUP)"};
}

}  // namespace

SqliteStore::StreamStatements::StreamStatements(sqlite::Database& db)
    : all_rules(db, "SELECT " + kRuleColumns + " FROM rules ORDER BY rowid"),
      get_rule(db, "SELECT " + kRuleColumns + " FROM rules WHERE id = ?"),
      list_rules(db, "SELECT " + kRuleColumns +
                         ", rowid FROM rules WHERE account_id = ?1 AND rowid > ?2 "
                         "AND (?3 IS NULL OR destination_id = ?3) ORDER BY rowid LIMIT ?4"),
      insert_rule(db,
                  "INSERT INTO rules(" + kRuleColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      // ?1 account, ?2 name, ?3 status, ?4 destination, ?5 types, ?6 version, ?7 source,
      // ?8 updated_at, ?9 id.
      update_rule(db,
                  "UPDATE rules SET account_id = ?1, name = ?2, status = ?3, destination_id = ?4, "
                  "event_types = ?5, schema_version = ?6, source = ?7, updated_at = ?8 "
                  "WHERE id = ?9"),
      delete_rule(db, "DELETE FROM rules WHERE id = ?"),
      config_rule_ids(db, "SELECT id FROM rules WHERE source = 1"),
      rules_of_destination(db, "SELECT id FROM rules WHERE destination_id = ? ORDER BY rowid"),
      // A rule whose destination is missing, of another account, or not a destination.
      dangling_rule(db,
                    "SELECT r.id, r.destination_id FROM rules r WHERE NOT EXISTS (SELECT 1 FROM "
                    "endpoints e WHERE e.id = r.destination_id AND e.account_id = r.account_id "
                    "AND e.kind = 1) LIMIT 1"),
      destination_of(db, "SELECT account_id, kind, disabled_reason FROM endpoints WHERE id = ?"),
      insert_pending(db,
                     "INSERT OR IGNORE INTO stream_pending(event_id, destination_id, "
                     "schema_version, created_at) VALUES (?, ?, ?, ?)"),
      all_pending(db,
                  "SELECT p.event_id, p.destination_id, e.account_id, e.type, e.created_at "
                  "FROM stream_pending p JOIN events e ON e.id = p.event_id "
                  "ORDER BY p.rowid"),
      take_pending(db,
                   "SELECT p.schema_version, e.created_at, e.type, e.content_type, e.body "
                   "FROM stream_pending p JOIN events e ON e.id = p.event_id "
                   "WHERE p.event_id = ?1 AND p.destination_id = ?2"),
      delete_pending(db, "DELETE FROM stream_pending WHERE event_id = ?1 AND destination_id = ?2"),
      drop_pending(db, "DELETE FROM stream_pending WHERE destination_id = ?") {}

// --- Helpers (store thread) --------------------------------------------------------------

std::optional<Error> SqliteStore::destination_in_use(const std::string& id) {
  std::string names;
  auto row = sst_->rules_of_destination.use();
  row.bind(id);
  while (row.next()) names += (names.empty() ? "" : ", ") + row.get_text(0);
  if (names.empty()) return std::nullopt;
  return Error{"conflict", "destination '" + id + "' is fed by rules (" + names +
                               "); delete them or point them elsewhere first"};
}

void SqliteStore::drop_stream_pending(const std::string& destination_id) {
  sst_->drop_pending.use().bind(destination_id).exec();
}

void SqliteStore::insert_stream_pending(const EventRecord& e,
                                        const std::vector<StreamTarget>& streams) {
  for (const auto& s : streams) {
    sst_->insert_pending.use()
        .bind(e.id)
        .bind(s.destination_id)
        .bind(s.schema_version)
        .bind(e.created_at)
        .exec();
  }
}

Result<std::vector<RuleRecord>> SqliteStore::read_all_rules() {
  std::vector<RuleRecord> out;
  auto row = sst_->all_rules.use();
  while (row.next()) out.push_back(read_rule(row));
  return out;
}

std::optional<RuleRecord> SqliteStore::find_rule(const std::string& id) {
  auto row = sst_->get_rule.use();
  row.bind(id);
  if (!row.next()) return std::nullopt;
  return read_rule(row);
}

std::optional<Error> SqliteStore::check_rule_destination(const RuleRecord& rule) {
  auto row = sst_->destination_of.use();
  row.bind(rule.destination_id);
  if (!row.next() || row.get_text(0) != rule.account_id ||
      row.get_int(1) != to_int(EndpointKind::kDestination)) {
    return Error{"not_found", "destination '" + rule.destination_id + "' of rule '" + rule.id +
                                  "' does not exist in account '" + rule.account_id + "'"};
  }
  return std::nullopt;
}

// --- Destinations and config -------------------------------------------------------------

void SqliteStore::list_destinations(std::string account_id, std::optional<std::string> cursor,
                                    int limit, Callback<Page<EndpointRecord>> done) {
  list_of_kind(EndpointKind::kDestination, std::move(account_id), std::move(cursor), limit,
               std::move(done));
}

void SqliteStore::sync_config(std::vector<EndpointRecord> declared, std::vector<RuleRecord> rules,
                              TimeMs now, Callback<ConfigSync> done) {
  auto body = [this, declared = std::move(declared), rules = std::move(rules),
               now]() mutable -> Result<ConfigSync> {
    // Config rules go first, so that a destination removed with the rules that fed it is free.
    std::set<std::string> declared_ids;
    for (auto& r : rules) {
      r.source = EndpointSource::kConfig;
      if (!st_->account_known(r.account_id)) {
        return Error{"not_found", "account '" + r.account_id + "' of rule '" + r.id +
                                      "' does not exist; create the account first"};
      }
      auto found = find_rule(r.id);
      if (found && found->source != EndpointSource::kConfig) {
        return Error{"conflict", "rule '" + r.id +
                                     "' declared in the configuration file already exists as an "
                                     "API rule; rename one of them"};
      }
      declared_ids.insert(r.id);
    }
    std::vector<std::string> removed;
    {
      auto row = sst_->config_rule_ids.use();
      while (row.next()) {
        std::string id = row.get_text(0);
        if (declared_ids.count(id) == 0) removed.push_back(std::move(id));
      }
    }
    for (const auto& id : removed) sst_->delete_rule.use().bind(id).exec();

    auto sync = sync_endpoints_now(declared, now);
    if (!sync) return sync.error();

    for (const auto& r : rules) {
      auto found = find_rule(r.id);
      if (!found) {
        sst_->insert_rule.use()
            .bind(r.id)
            .bind(r.account_id)
            .bind(r.name)
            .bind(to_int(r.status))
            .bind(r.destination_id)
            .bind(types_to_json(r.event_types))
            .bind(r.schema_version)
            .bind(to_int(EndpointSource::kConfig))
            .bind(r.created_at != 0 ? r.created_at : now)
            .bind(now)
            .exec();
        continue;
      }
      sst_->update_rule.use()
          .bind(r.account_id)
          .bind(r.name)
          .bind(to_int(r.status))
          .bind(r.destination_id)
          .bind(types_to_json(r.event_types))
          .bind(r.schema_version)
          .bind(to_int(EndpointSource::kConfig))
          .bind(found->updated_at)  // unchanged rows keep their time; close enough otherwise
          .bind(r.id)
          .exec();
    }
    {
      auto row = sst_->dangling_rule.use();
      if (row.next()) {
        return Error{"conflict", "rule '" + row.get_text(0) + "' names destination '" +
                                     row.get_text(1) +
                                     "', which does not exist in its account (or is an endpoint, "
                                     "not a destination)"};
      }
    }
    auto all = read_all_rules();
    if (!all) return all.error();
    sync->rules = std::move(*all);
    return sync;
  };
  enqueue(make_op<ConfigSync>("sync_config", kWrite, std::move(body), std::move(done)));
}

// --- Rules -------------------------------------------------------------------------------

void SqliteStore::all_rules(Callback<std::vector<RuleRecord>> done) {
  enqueue(make_op<std::vector<RuleRecord>>(
      "all_rules", kRead, [this] { return read_all_rules(); }, std::move(done)));
}

void SqliteStore::create_rule(RuleRecord rule, Callback<RuleRecord> done) {
  auto body = [this, r = std::move(rule)]() mutable -> Result<RuleRecord> {
    if (!st_->account_known(r.account_id)) {
      return Error{"not_found", "account '" + r.account_id + "' does not exist"};
    }
    if (find_rule(r.id)) return Error{"conflict", "rule '" + r.id + "' already exists"};
    if (auto e = check_rule_destination(r)) return std::move(*e);
    r.source = EndpointSource::kApi;
    r.updated_at = r.created_at;
    sst_->insert_rule.use()
        .bind(r.id)
        .bind(r.account_id)
        .bind(r.name)
        .bind(to_int(r.status))
        .bind(r.destination_id)
        .bind(types_to_json(r.event_types))
        .bind(r.schema_version)
        .bind(to_int(r.source))
        .bind(r.created_at)
        .bind(r.updated_at)
        .exec();
    return r;
  };
  enqueue(make_op<RuleRecord>("create_rule", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::get_rule(std::string account_id, std::string id,
                           Callback<std::optional<RuleRecord>> done) {
  auto body = [this, account_id = std::move(account_id),
               id = std::move(id)]() -> Result<std::optional<RuleRecord>> {
    auto found = find_rule(id);
    if (found && found->account_id != account_id) return std::optional<RuleRecord>{};
    return found;
  };
  enqueue(make_op<std::optional<RuleRecord>>("get_rule", kRead, std::move(body), std::move(done)));
}

void SqliteStore::list_rules(std::string account_id, std::optional<std::string> destination_id,
                             std::optional<std::string> cursor, int limit,
                             Callback<Page<RuleRecord>> done) {
  auto body = [this, account_id = std::move(account_id), destination_id = std::move(destination_id),
               cursor = std::move(cursor), limit]() -> Result<Page<RuleRecord>> {
    auto after = parse_rowid_cursor(cursor, 0);
    if (!after) return after.error();
    const std::int64_t n = page_limit(limit);
    Page<RuleRecord> page;
    std::int64_t last_rowid = 0;
    auto row = sst_->list_rules.use();
    row.bind(account_id).bind(*after).bind(destination_id).bind(n + 1);
    while (row.next()) {
      if (static_cast<std::int64_t>(page.items.size()) == n) {
        page.next_cursor = std::to_string(last_rowid);
        break;
      }
      page.items.push_back(read_rule(row));
      last_rowid = row.get_int(10);
    }
    return page;
  };
  enqueue(make_op<Page<RuleRecord>>("list_rules", kRead, std::move(body), std::move(done)));
}

void SqliteStore::update_rule(RuleRecord rule, TimeMs now, Callback<RuleRecord> done) {
  auto body = [this, r = std::move(rule), now]() mutable -> Result<RuleRecord> {
    auto found = find_rule(r.id);
    if (!found || found->account_id != r.account_id) return rule_not_found(r.id);
    if (found->source == EndpointSource::kConfig) return rule_declared_in_config(r.id);
    if (auto e = check_rule_destination(r)) return std::move(*e);
    r.source = EndpointSource::kApi;
    r.created_at = found->created_at;
    r.updated_at = now;
    sst_->update_rule.use()
        .bind(r.account_id)
        .bind(r.name)
        .bind(to_int(r.status))
        .bind(r.destination_id)
        .bind(types_to_json(r.event_types))
        .bind(r.schema_version)
        .bind(to_int(r.source))
        .bind(now)
        .bind(r.id)
        .exec();
    return r;
  };
  enqueue(make_op<RuleRecord>("update_rule", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::delete_rule(std::string account_id, std::string id, Callback<Unit> done) {
  auto body = [this, account_id = std::move(account_id), id = std::move(id)]() -> Result<Unit> {
    auto found = find_rule(id);
    if (!found || found->account_id != account_id) return rule_not_found(id);
    if (found->source == EndpointSource::kConfig) return rule_declared_in_config(id);
    sst_->delete_rule.use().bind(id).exec();
    return Unit{};
  };
  enqueue(make_op<Unit>("delete_rule", kWrite, std::move(body), std::move(done)));
}

// --- Pending events and batches ----------------------------------------------------------

void SqliteStore::stream_pending(Callback<std::vector<StreamPending>> done) {
  auto body = [this]() -> Result<std::vector<StreamPending>> {
    std::vector<StreamPending> out;
    auto row = sst_->all_pending.use();
    while (row.next()) {
      out.push_back(StreamPending{row.get_text(0), row.get_text(1), row.get_text(2),
                                  row.get_text(3), row.get_int(4)});
    }
    return out;
  };
  enqueue(make_op<std::vector<StreamPending>>("stream_pending", kRead, std::move(body),
                                              std::move(done)));
}

void SqliteStore::create_stream_batch(NewStreamBatch batch, Callback<StreamBatchResult> done) {
  auto body = [this, b = std::move(batch)]() -> Result<StreamBatchResult> {
    StreamBatchResult result;
    std::vector<CloudEvent> events;
    for (const auto& event_id : b.event_ids) {
      {
        auto row = sst_->take_pending.use();
        row.bind(event_id).bind(b.destination_id);
        if (!row.next()) continue;  // taken already, or its destination went away
        CloudEvent ce;
        ce.id = event_id;
        ce.time = row.get_int(1);
        ce.type = row.get_text(2);
        ce.source = b.source;
        ce.dataschema = dataschema_for(ce.type, row.get_optional_text(0));
        ce.content_type = row.get_text(3);
        ce.body = row.get_blob(4);
        events.push_back(std::move(ce));
      }
      sst_->delete_pending.use().bind(event_id).bind(b.destination_id).exec();
    }
    if (events.empty()) return result;
    result.events = static_cast<int>(events.size());

    TimeMs lease = b.lease_until;
    {
      auto row = sst_->destination_of.use();
      row.bind(b.destination_id);
      if (!row.next()) {
        result.events = 0;  // deleted: its pending rows go with it
        return result;
      }
      if (row.get_int(2) != 0) {
        lease = kLeaseParked;
        result.parked = true;
      }
    }
    auto payload = std::make_shared<Payload>();
    payload->event_id = b.batch_id;
    payload->account_id = b.account_id;
    payload->type = b.type;
    payload->content_type = "application/json";
    payload->body = cloud_events_array(events);
    st_->insert_event.use()
        .bind(b.batch_id)
        .bind(b.account_id)
        .bind(b.type)
        .bind(payload->content_type)
        .bind_blob(payload->body)
        .bind(std::optional<std::string>{})
        .bind(std::optional<std::string>{})
        .bind(b.now)
        .exec();
    DeliveryRecord d;
    d.id = b.delivery_id;
    d.event_id = b.batch_id;
    d.endpoint_id = b.destination_id;
    d.token = b.token;
    d.next_attempt_at = b.now;
    d.created_at = b.now;
    d.updated_at = b.now;
    st_->insert_delivery.use()
        .bind(d.id)
        .bind(d.event_id)
        .bind(d.endpoint_id)
        .bind(d.token)
        .bind(to_int(d.state))
        .bind(std::int64_t{0})
        .bind(std::int64_t{0})
        .bind(d.next_attempt_at)
        .bind(lease)
        .bind(d.created_at)
        .bind(d.updated_at)
        .exec();
    if (!result.parked) result.work = Work{std::move(d), std::move(payload)};
    return result;
  };
  enqueue(
      make_op<StreamBatchResult>("create_stream_batch", kWrite, std::move(body), std::move(done)));
}

}  // namespace korehook::store
