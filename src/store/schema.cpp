#include "store/schema.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "korehook/model/types.hpp"
#include "store/log.hpp"

namespace korehook::store {

namespace {

using sqlite::Database;
using sqlite::Statement;
using sqlite::Transaction;

// Version 1: the delivery pipeline and secrets.
//
// Integers: times are milliseconds since the Unix epoch; `deliveries.state` holds
// DeliveryState values, `secrets.status` SecretStatus values.
void migrate_v1(Database& db, TimeMs now) {
  db.exec(R"sql(
CREATE TABLE accounts(
  id         TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);

CREATE TABLE events(
  id              TEXT PRIMARY KEY,
  account_id      TEXT NOT NULL REFERENCES accounts(id),
  type            TEXT NOT NULL,
  content_type    TEXT NOT NULL,
  body            BLOB NOT NULL,
  idempotency_key TEXT,
  created_at      INTEGER NOT NULL
);
-- UNIQUE(account_id, idempotency_key), kept only for events that have a key: most events
-- have none, and they need not pay for an index entry.
CREATE UNIQUE INDEX events_idempotency ON events(account_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- The hot row: rewritten several times in a delivery's life, so it stays narrow (the payload
-- lives in events). A rowid table, so that the rowid gives the creation order.
CREATE TABLE deliveries(
  id              TEXT NOT NULL PRIMARY KEY,
  event_id        TEXT NOT NULL REFERENCES events(id),
  endpoint_id     TEXT NOT NULL,
  token           TEXT NOT NULL,
  state           INTEGER NOT NULL,
  attempt_count   INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until     INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
-- Due work: only pending (0) and in_flight (1) rows are indexed, so finding due work reads
-- the live set and never the backlog of delivered or failed deliveries. Queries must
-- repeat `state IN (0, 1)` literally for SQLite to use this index.
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state IN (0, 1);
CREATE INDEX deliveries_event ON deliveries(event_id);

CREATE TABLE attempts(
  delivery_id      TEXT NOT NULL REFERENCES deliveries(id),
  number           INTEGER NOT NULL,
  started_at       INTEGER NOT NULL,
  duration_ms      INTEGER NOT NULL,
  status_code      INTEGER,
  error            TEXT,
  error_detail     TEXT NOT NULL,
  response_excerpt BLOB NOT NULL,
  PRIMARY KEY(delivery_id, number)
) WITHOUT ROWID;

-- `value` is written here as schema 1 had it, in plain text; with a key configured it is
-- sealed in place at startup (store/at_rest.cpp) and stored sealed from then on.
CREATE TABLE secrets(
  id            TEXT PRIMARY KEY,
  account_id    TEXT NOT NULL REFERENCES accounts(id),
  name          TEXT NOT NULL,
  value         TEXT NOT NULL,
  status        INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  last_modified INTEGER NOT NULL
);
CREATE INDEX secrets_account ON secrets(account_id, created_at);
-- KORE: at most one active (0) and one pending (1) secret per account.
CREATE UNIQUE INDEX secrets_one_per_status ON secrets(account_id, status) WHERE status IN (0, 1);
)sql");

  Statement insert_account(db, "INSERT INTO accounts(id, created_at) VALUES (?, ?)");
  insert_account.use().bind(kDefaultAccount).bind(now).exec();
}

// Version 2: accounts with names, endpoints in the store (YAML and API), secrets sealed at
// rest with a rotation overlap, callback URLs, redelivery cycles and response headers.
//
// Every new column of an existing table is added with a constant default, so ALTER TABLE
// rewrites no row; `deliveries` gains one small integer and no index (ingest speed).
// Management queries over deliveries (replay, filtered lists) scan; those about one
// endpoint's live deliveries go through the partial index deliveries_due.
void migrate_v2(Database& db, TimeMs /*now*/) {
  db.exec(R"sql(
ALTER TABLE accounts ADD COLUMN name TEXT NOT NULL DEFAULT '';

-- `source` holds EndpointSource values, `disabled_reason` DisabledReason values. `settings`
-- is JSON (every setting but the headers); `headers` is the header list as JSON, sealed
-- with the context "endpoint-headers:" + id, or '' when there is none. A rowid table: the
-- rowid gives the creation order (list cursor); an upsert keeps it.
CREATE TABLE endpoints(
  id              TEXT PRIMARY KEY,
  account_id      TEXT NOT NULL REFERENCES accounts(id),
  source          INTEGER NOT NULL,
  settings        TEXT NOT NULL,
  headers         TEXT NOT NULL DEFAULT '',
  disabled_reason INTEGER NOT NULL DEFAULT 0,
  disabled_detail TEXT NOT NULL DEFAULT '',
  failing_since   INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX endpoints_account ON endpoints(account_id);

ALTER TABLE events ADD COLUMN callback_url TEXT;

-- attempt_count when the current retry cycle began (a redelivery or replay starts one).
ALTER TABLE deliveries ADD COLUMN cycle_start INTEGER NOT NULL DEFAULT 0;

-- JSON [[name, value], ...], bounded by the store.
ALTER TABLE attempts ADD COLUMN response_headers TEXT NOT NULL DEFAULT '[]';

-- `value` is sealed from now on (context "secret:" + id; open_sqlite_store seals what v1
-- left in plain text). A disabled secret still signs as `previous` until overlap_until.
ALTER TABLE secrets ADD COLUMN overlap_until INTEGER NOT NULL DEFAULT 0;

-- key_check: a fixed text sealed with the secrets key (context "key-check"), so that a
-- different key is refused at open instead of failing on every secret later.
CREATE TABLE meta(
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql");
}

// Version 3: Event Streams. Destinations are endpoints of another kind (so retries, parking,
// rate limits and attempt records serve them unchanged); rules route events to them; an
// accepted event waits in stream_pending (written in the event's own transaction) until its
// batch is made. A batch is an events row whose body is the CloudEvents array, with one
// delivery: fixed at its first attempt, so every retry sends the same bytes and token.
void migrate_v3(Database& db, TimeMs /*now*/) {
  db.exec(R"sql(
-- EndpointKind: 0 endpoint, 1 destination.
ALTER TABLE endpoints ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;

-- `status` holds RuleStatus values, `source` EndpointSource values; `event_types` is a JSON
-- array of patterns. A rowid table: the rowid gives the creation order (list cursor).
CREATE TABLE rules(
  id             TEXT PRIMARY KEY,
  account_id     TEXT NOT NULL REFERENCES accounts(id),
  name           TEXT NOT NULL,
  status         INTEGER NOT NULL,
  destination_id TEXT NOT NULL,
  event_types    TEXT NOT NULL,
  schema_version TEXT,
  source         INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE INDEX rules_destination ON rules(destination_id);

-- Small and short-lived: a row lives about one linger (batch.linger) after its event. A
-- rowid table: the rowid keeps the acceptance order, which batches made after a restart keep.
CREATE TABLE stream_pending(
  event_id       TEXT NOT NULL REFERENCES events(id),
  destination_id TEXT NOT NULL,
  schema_version TEXT,
  created_at     INTEGER NOT NULL,
  UNIQUE(event_id, destination_id)
);
)sql");
}

// Version 4: the due index carries the endpoint id, so a claim that leaves out endpoints
// (those holding their share of memory, dispatch/dispatcher.cpp) rejects their rows from the
// index alone instead of reading each row: a dead endpoint's backlog no longer costs every
// claim a row lookup per delivery. Neither column changes when a delivery is leased.
void migrate_v4(Database& db, TimeMs /*now*/) {
  db.exec(R"sql(
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries(next_attempt_at, endpoint_id) WHERE state IN (0, 1);
)sql");
}

struct Migration {
  int version;
  void (*apply)(Database& db, TimeMs now);
};

// Forward only: never edit a released migration, append a new one.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1, &migrate_v1},
      {2, &migrate_v2},
      {3, &migrate_v3},
      {4, &migrate_v4},
  };
  return all;
}

int current_version(Database& db) {
  Statement s(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
  auto use = s.use();
  return use.next() ? static_cast<int>(use.get_int(0)) : 0;
}

}  // namespace

int latest_schema_version() { return migrations().back().version; }

int migrate(Database& db, TimeMs now, int up_to) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_version("
      "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  int version = current_version(db);
  if (version > latest_schema_version()) {
    throw std::runtime_error("database schema version " + std::to_string(version) +
                             " is newer than this korehook supports (" +
                             std::to_string(latest_schema_version()) + ")");
  }
  for (const auto& m : migrations()) {
    if (m.version > up_to) break;
    Transaction tx(db, Transaction::Mode::kImmediate);
    // Read again under the write lock: another process may have migrated meanwhile.
    if (m.version <= current_version(db)) continue;
    m.apply(db, now);
    Statement record(db, "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)");
    record.use().bind(std::int64_t{m.version}).bind(now).exec();
    tx.commit();
    logger().info("schema migrated version={}", m.version);
    version = m.version;
  }
  return version;
}

}  // namespace korehook::store
