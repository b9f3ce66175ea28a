#pragma once

// SQL of the store's hot queries, shared with the tests that check their query plans.

namespace korehook::store::queries {

// ?1 lease_until, ?2 now, ?3 due_before, ?4 limit. The subquery walks the partial index
// deliveries_due (pending and in-flight rows only) in due order, so the backlog of finished
// deliveries is never read. RETURNING gives no order: the caller sorts.
inline constexpr const char* kClaimDue =
    "UPDATE deliveries SET lease_until = ?1, updated_at = ?2 "
    "WHERE rowid IN (SELECT rowid FROM deliveries "
    "WHERE state IN (0, 1) AND next_attempt_at <= ?3 AND lease_until <= ?2 "
    "ORDER BY next_attempt_at LIMIT ?4) "
    "RETURNING id, event_id, endpoint_id, token, state, attempt_count, next_attempt_at";

// ?1 now.
inline constexpr const char* kNextUnleasedDue =
    "SELECT next_attempt_at FROM deliveries "
    "WHERE state IN (0, 1) AND lease_until <= ?1 "
    "ORDER BY next_attempt_at LIMIT 1";

// ?1 now. In-flight deliveries become pending and due now; every lease is dropped.
inline constexpr const char* kRecover =
    "UPDATE deliveries SET state = 0, lease_until = 0, updated_at = ?1, "
    "next_attempt_at = CASE WHEN state = 1 THEN MIN(next_attempt_at, ?1) "
    "ELSE next_attempt_at END "
    "WHERE state IN (0, 1) AND (state = 1 OR lease_until <> 0)";

}  // namespace korehook::store::queries
