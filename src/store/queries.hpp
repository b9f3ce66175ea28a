#pragma once

// SQL of the store's hot queries, shared with the tests that check their query plans.

namespace korehook::store::queries {

// ?1 now, ?2 due_before, ?3 limit, ?4 JSON array of endpoint ids left out. The deliveries a
// claim takes, with their events' payloads, in due order. It walks the partial index
// deliveries_due (pending and in-flight rows only), so the backlog of finished deliveries is
// never read; it skips the rows of endpoints left out (the dispatcher leaves out those holding
// their share of memory) from the index alone, and reads each event through its primary key.
// CROSS JOIN keeps deliveries the outer loop. Column 0 is the rowid (kLeaseRows).
inline constexpr const char* kDueWork =
    "SELECT d.rowid, d.id, d.event_id, d.endpoint_id, d.token, d.state, d.attempt_count, "
    "d.cycle_start, d.next_attempt_at, d.created_at, d.updated_at, "
    "e.account_id, e.type, e.content_type, e.body, e.callback_url "
    "FROM deliveries d CROSS JOIN events e ON e.id = d.event_id "
    "WHERE d.state IN (0, 1) AND d.next_attempt_at <= ?2 AND d.lease_until <= ?1 "
    "AND d.endpoint_id NOT IN (SELECT value FROM json_each(?4)) "
    "ORDER BY d.next_attempt_at LIMIT ?3";

// ?1 lease_until, ?2 now, ?3 JSON array of the rowids kDueWork found: the claim's leases.
inline constexpr const char* kLeaseRows =
    "UPDATE deliveries SET lease_until = ?1, updated_at = ?2 "
    "WHERE rowid IN (SELECT value FROM json_each(?3))";

// ?1 now, ?2 JSON array of endpoint ids left out.
inline constexpr const char* kNextUnleasedDue =
    "SELECT next_attempt_at FROM deliveries "
    "WHERE state IN (0, 1) AND lease_until <= ?1 "
    "AND endpoint_id NOT IN (SELECT value FROM json_each(?2)) "
    "ORDER BY next_attempt_at LIMIT 1";

// ?1 now. In-flight deliveries become pending and due now; every lease is dropped.
inline constexpr const char* kRecover =
    "UPDATE deliveries SET state = 0, lease_until = 0, updated_at = ?1, "
    "next_attempt_at = CASE WHEN state = 1 THEN MIN(next_attempt_at, ?1) "
    "ELSE next_attempt_at END "
    "WHERE state IN (0, 1) AND (state = 1 OR lease_until <> 0)";

// ?1 kLeaseParked. Parked deliveries kRecover will reset (they are not "interrupted").
inline constexpr const char* kCountParked =
    "SELECT COUNT(*) FROM deliveries INDEXED BY deliveries_due "
    "WHERE state IN (0, 1) AND lease_until = ?1";

// ?1 now, ?2 kLeaseParked. After kRecover: the live deliveries of disabled endpoints are
// parked again. Reads only the live set (INDEXED BY makes preparing fail otherwise).
inline constexpr const char* kParkDisabled =
    "UPDATE deliveries INDEXED BY deliveries_due SET lease_until = ?2, updated_at = ?1 "
    "WHERE state IN (0, 1) AND endpoint_id IN (SELECT id FROM endpoints WHERE disabled_reason <> "
    "0)";

// ?1 now, ?2 endpoint id. The live deliveries of one endpoint (deleted or removed from the
// configuration) become cancelled.
inline constexpr const char* kCancelEndpoint =
    "UPDATE deliveries INDEXED BY deliveries_due SET state = 4, lease_until = 0, updated_at = ?1 "
    "WHERE state IN (0, 1) AND endpoint_id = ?2";

// ?1 now, ?2 endpoint id, ?3 kLeaseParked. Parks every live delivery of an endpoint, whatever
// its lease.
inline constexpr const char* kParkEndpoint =
    "UPDATE deliveries INDEXED BY deliveries_due SET lease_until = ?3, updated_at = ?1 "
    "WHERE state IN (0, 1) AND endpoint_id = ?2";

// ?1 now, ?2 endpoint id, ?3 kLeaseParked. Only parked leases are released: a delivery held in
// memory keeps its lease.
inline constexpr const char* kUnparkEndpoint =
    "UPDATE deliveries INDEXED BY deliveries_due SET lease_until = 0, updated_at = ?1 "
    "WHERE state IN (0, 1) AND endpoint_id = ?2 AND lease_until = ?3";

}  // namespace korehook::store::queries
