#include "store/statements.hpp"

#include <string>

#include "store/queries.hpp"
#include "store/rows.hpp"

namespace korehook::store {

namespace {

// What endpoint queries read (rows.hpp order for read_endpoint in sqlite_endpoints.cpp).
const std::string kEndpointColumns =
    "id, account_id, source, settings, headers, disabled_reason, disabled_detail, "
    "failing_since, created_at, updated_at, kind";

const std::string kDeliveryColumns =
    "d.id, d.event_id, d.endpoint_id, d.token, d.state, d.attempt_count, d.cycle_start, "
    "d.next_attempt_at, d.created_at, d.updated_at";

// The DeliveryFilter of list_deliveries() and replay(), on `deliveries d JOIN events e`:
// ?1 account, ?2 endpoint id, ?3 state, ?4 event type, ?5 since, ?6 until (NULL: any), ?7
// only these ids (JSON array; NULL: any), ?8 none of these ids (JSON array).
const std::string kDeliveryFilter =
    "e.account_id = ?1 AND (?2 IS NULL OR d.endpoint_id = ?2) AND (?3 IS NULL OR d.state = ?3) "
    "AND (?4 IS NULL OR e.type = ?4) AND (?5 IS NULL OR d.created_at >= ?5) "
    "AND (?6 IS NULL OR d.created_at < ?6) "
    "AND (?7 IS NULL OR d.id IN (SELECT value FROM json_each(?7))) "
    "AND d.id NOT IN (SELECT value FROM json_each(?8))";

}  // namespace

SqliteStore::Statements::Statements(sqlite::Database& db)
    : account_exists(db, "SELECT 1 FROM accounts WHERE id = ?"),
      find_idempotent(db, "SELECT id FROM events WHERE account_id = ? AND idempotency_key = ?"),
      insert_event(db,
                   "INSERT INTO events(id, account_id, type, content_type, body, "
                   "idempotency_key, callback_url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
      insert_delivery(db,
                      "INSERT INTO deliveries(id, event_id, endpoint_id, token, state, "
                      "attempt_count, cycle_start, next_attempt_at, lease_until, created_at, "
                      "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      cancel_delivery(db,
                      "UPDATE deliveries SET state = 4, lease_until = 0, updated_at = ? "
                      "WHERE id = ? AND state IN (0, 1)"),
      insert_attempt(db,
                     "INSERT INTO attempts(delivery_id, number, started_at, duration_ms, "
                     "status_code, error, error_detail, response_headers, response_excerpt) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT(delivery_id, number) DO NOTHING"),
      // A delivery cancelled while its attempt ran (its endpoint was deleted) stays cancelled:
      // the attempt is counted and recorded, the state and lease are kept. (Right-hand sides
      // read the row as it was before this update.)
      complete_delivery(db,
                        "UPDATE deliveries SET "
                        "state = CASE WHEN state IN (0, 1) THEN ?1 ELSE state END, "
                        "attempt_count = ?2, "
                        "next_attempt_at = CASE WHEN state IN (0, 1) AND ?1 IN (0, 1) THEN ?3 "
                        "ELSE next_attempt_at END, "
                        "lease_until = CASE WHEN state IN (0, 1) THEN ?4 ELSE lease_until END, "
                        "updated_at = ?5 WHERE id = ?6"),
      due_work(db, queries::kDueWork),
      lease_rows(db, queries::kLeaseRows),
      next_unleased_due(db, queries::kNextUnleasedDue),
      count_parked(db, queries::kCountParked),
      recover(db, queries::kRecover),
      park_disabled(db, queries::kParkDisabled),
      get_event(db,
                "SELECT id, account_id, type, content_type, body, idempotency_key, callback_url, "
                "created_at FROM events WHERE id = ? AND account_id = ?"),
      event_deliveries(db, "SELECT " + kDeliveryColumns +
                               " FROM deliveries d WHERE d.event_id = ? ORDER BY d.rowid"),
      delivery_attempts(db,
                        "SELECT number, started_at, duration_ms, status_code, error, "
                        "error_detail, response_headers, response_excerpt FROM attempts "
                        "WHERE delivery_id = ? ORDER BY number"),
      secret_with_status(db, "SELECT id FROM secrets WHERE account_id = ? AND status = ?"),
      insert_secret(db,
                    "INSERT INTO secrets(id, account_id, name, value, status, created_at, "
                    "last_modified) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      disable_by_status(db,
                        "UPDATE secrets SET status = 2, last_modified = ?1, overlap_until = ?4 "
                        "WHERE account_id = ?2 AND status = ?3"),
      get_secret(db,
                 "SELECT id, account_id, name, value, status, created_at, last_modified "
                 "FROM secrets WHERE id = ? AND account_id = ?"),
      set_secret_status(db, "UPDATE secrets SET status = ?, last_modified = ? WHERE id = ?"),
      set_secret_name(db, "UPDATE secrets SET name = ?, last_modified = ? WHERE id = ?"),
      list_secrets(db,
                   "SELECT id, account_id, name, value, status, created_at, last_modified "
                   "FROM secrets WHERE account_id = ?1 AND (?2 IS NULL OR status = ?2) "
                   "ORDER BY created_at DESC, rowid DESC LIMIT ?3 OFFSET ?4"),
      count_secrets(db,
                    "SELECT COUNT(*) FROM secrets "
                    "WHERE account_id = ?1 AND (?2 IS NULL OR status = ?2)"),
      // Active ones, and disabled ones whose overlap runs at ?1; per account the latest
      // overlap comes last.
      signing_secrets(db,
                      "SELECT account_id, id, value, status, overlap_until FROM secrets "
                      "WHERE status = 0 OR (status = 2 AND overlap_until > ?1) "
                      "ORDER BY account_id, overlap_until, rowid"),
      insert_account(db, "INSERT INTO accounts(id, name, created_at) VALUES (?, ?, ?)"),
      get_account(db, "SELECT id, name, created_at FROM accounts WHERE id = ?"),
      list_accounts(db,
                    "SELECT id, name, created_at FROM accounts WHERE id > ?1 ORDER BY id "
                    "LIMIT ?2"),
      all_endpoints(db, "SELECT " + kEndpointColumns + " FROM endpoints ORDER BY rowid"),
      get_endpoint(db, "SELECT " + kEndpointColumns + " FROM endpoints WHERE id = ?"),
      list_endpoints(db, "SELECT " + kEndpointColumns +
                             ", rowid FROM endpoints WHERE account_id = ?1 AND rowid > ?2 "
                             "AND kind = ?4 ORDER BY rowid LIMIT ?3"),
      config_endpoint_ids(db, "SELECT id FROM endpoints WHERE source = 1"),
      insert_endpoint(db, "INSERT INTO endpoints(" + kEndpointColumns +
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      update_config_endpoint(db,
                             "UPDATE endpoints SET account_id = ?1, settings = ?2, headers = ?3, "
                             "disabled_reason = ?4, disabled_detail = ?5, updated_at = ?6, "
                             "kind = ?8 WHERE id = ?7"),
      update_endpoint_settings(db,
                               "UPDATE endpoints SET settings = ?1, headers = ?2, updated_at = ?3 "
                               "WHERE id = ?4"),
      set_endpoint_state(db,
                         "UPDATE endpoints SET disabled_reason = ?1, disabled_detail = ?2, "
                         "failing_since = CASE WHEN ?1 = 0 THEN 0 ELSE failing_since END, "
                         "updated_at = ?3 WHERE id = ?4"),
      set_failing_since(db, "UPDATE endpoints SET failing_since = ?1 WHERE id = ?2"),
      delete_endpoint(db, "DELETE FROM endpoints WHERE id = ?"),
      cancel_endpoint(db, queries::kCancelEndpoint),
      park_endpoint(db, queries::kParkEndpoint),
      unpark_endpoint(db, queries::kUnparkEndpoint),
      endpoint_disabled(db, "SELECT disabled_reason <> 0 FROM endpoints WHERE id = ?"),
      list_deliveries(db, "SELECT " + kDeliveryColumns +
                              ", e.account_id, e.type, e.callback_url, d.rowid "
                              "FROM deliveries d JOIN events e ON e.id = d.event_id WHERE " +
                              kDeliveryFilter +
                              " AND d.rowid < ?9 ORDER BY d.rowid DESC LIMIT ?10"),
      get_delivery(db, "SELECT " + kDeliveryColumns +
                           ", e.account_id, e.type, e.callback_url "
                           "FROM deliveries d JOIN events e ON e.id = d.event_id "
                           "WHERE d.id = ?1 AND e.account_id = ?2"),
      // ?1 now, ?2 lease, ?3 id.
      requeue(db,
              "UPDATE deliveries SET state = 0, next_attempt_at = ?1, "
              "cycle_start = attempt_count, lease_until = ?2, updated_at = ?1 WHERE id = ?3"),
      // Filter ?1-?8, ?9 now, ?10 kLeaseParked. Deliveries whose endpoint was deleted are
      // skipped; those of a disabled endpoint are parked at once.
      replay(db,
             "UPDATE deliveries SET state = 0, next_attempt_at = ?9, cycle_start = attempt_count, "
             "lease_until = CASE WHEN EXISTS (SELECT 1 FROM endpoints p "
             "WHERE p.id = deliveries.endpoint_id AND p.disabled_reason <> 0) THEN ?10 ELSE 0 END, "
             "updated_at = ?9 WHERE rowid IN (SELECT d.rowid FROM deliveries d "
             "JOIN events e ON e.id = d.event_id WHERE " +
                 kDeliveryFilter +
                 " AND (d.endpoint_id = '' OR "
                 "EXISTS (SELECT 1 FROM endpoints p WHERE p.id = d.endpoint_id)))") {}

bool SqliteStore::Statements::account_known(const std::string& id) {
  auto row = account_exists.use();
  row.bind(id);
  return row.next();
}

std::vector<AttemptRecord> SqliteStore::Statements::attempts_of(const std::string& delivery_id) {
  std::vector<AttemptRecord> out;
  auto row = delivery_attempts.use();
  row.bind(delivery_id);
  while (row.next()) out.push_back(read_attempt(row, delivery_id));
  return out;
}

std::optional<std::string> SqliteStore::Statements::secret_id_with_status(
    const std::string& account, SecretStatus s) {
  auto row = secret_with_status.use();
  row.bind(account).bind(to_int(s));
  if (!row.next()) return std::nullopt;
  return row.get_text(0);
}

std::optional<SecretRecord> SqliteStore::Statements::find_secret(const std::string& account,
                                                                 const std::string& id) {
  auto row = get_secret.use();
  row.bind(id).bind(account);
  if (!row.next()) return std::nullopt;
  return read_secret(row);
}

}  // namespace korehook::store
