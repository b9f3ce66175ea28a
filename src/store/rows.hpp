#pragma once

// Private to the store: how records map to columns. Readers take a statement positioned on a
// row whose columns are in the documented order.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "korehook/model/endpoint.hpp"
#include "korehook/model/types.hpp"
#include "korehook/util/result.hpp"
#include "store/sqlite.hpp"

namespace korehook::store {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Bounds of the response headers kept per attempt; beyond them the list is cut.
inline constexpr std::size_t kMaxResponseHeaders = 64;
inline constexpr std::size_t kMaxResponseHeaderBytes = 16 * 1024;

// Cursors of the paginated lists are rowids as text. `absent` when there is none; a cursor
// this store did not make is `invalid_argument`.
Result<std::int64_t> parse_rowid_cursor(const std::optional<std::string>& cursor,
                                        std::int64_t absent);

// Ids as the JSON array the queries read with json_each (claims leaving out endpoints, the
// delivery filter's id lists).
std::string id_list_json(const std::vector<std::string>& ids);

// Page sizes are clamped to [1, 1000].
std::int64_t page_limit(int limit);

// Columns, from `first`: id, event_id, endpoint_id, token, state, attempt_count, cycle_start,
// next_attempt_at, created_at, updated_at.
DeliveryRecord read_delivery(sqlite::Statement::Use& row, int first = 0);

// Columns: id, account_id, name, value, status, created_at, last_modified.
SecretRecord read_secret(sqlite::Statement::Use& row);

// Columns: number, started_at, duration_ms, status_code, error, error_detail,
// response_headers, response_excerpt.
AttemptRecord read_attempt(sqlite::Statement::Use& row, std::string delivery_id);

// attempts.error holds to_string(ErrorClass) (NULL for kNone) so the column reads well in
// the sqlite3 shell.
retry::ErrorClass error_class_from_text(const std::optional<std::string>& text);

// [[name, value], ...] as JSON text, and back (a malformed text throws std::runtime_error).
std::string headers_to_json(const HeaderList& headers);
HeaderList headers_from_json(std::string_view json);

// headers_to_json of the first headers of `headers` within kMaxResponseHeaders and
// kMaxResponseHeaderBytes (names plus values): what an attempt keeps of its response.
std::string response_headers_to_json(const HeaderList& headers);

// endpoints.settings: every setting but the headers (sealed in their own column), as JSON.
// Reading fills what is missing with the defaults, so later settings need no migration;
// malformed text throws std::runtime_error.
std::string settings_to_json(const EndpointSettings& settings);
EndpointSettings settings_from_json(std::string_view json);

}  // namespace korehook::store
