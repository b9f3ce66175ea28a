#pragma once

// Private to the store: what is sealed at rest (SPEC §5) and how the key is checked.

#include <string>
#include <string_view>

#include "korehook/crypto/sealer.hpp"
#include "korehook/util/result.hpp"
#include "store/sqlite.hpp"

namespace korehook::store {

// Contexts bind a sealed value to its row: copied elsewhere, it does not open.
inline std::string secret_context(std::string_view secret_id) {
  return "secret:" + std::string(secret_id);
}
inline std::string headers_context(std::string_view endpoint_id) {
  return "endpoint-headers:" + std::string(endpoint_id);
}

// The answer of an operation that needs the secrets key when the store has none.
Error key_required(std::string_view what);

// At open, in its own transaction. Records the key (a sealed check value in `meta`) the first
// time; afterwards, throws std::runtime_error when `sealer` holds another key. Then seals the
// secret values schema version 1 left in plain text; returns how many.
int prepare_secrets_at_rest(sqlite::Database& db, const crypto::Sealer& sealer);

// How many secret values are still in plain text (opened without a key).
int count_plaintext_secrets(sqlite::Database& db);

}  // namespace korehook::store
