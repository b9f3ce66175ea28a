#pragma once

#include "korehook/util/clock.hpp"
#include "store/sqlite.hpp"

namespace korehook::store {

// The schema version this build writes.
int latest_schema_version();

// Applies the forward-only migrations the database has not seen yet, each in its own
// `BEGIN IMMEDIATE` transaction, and returns the resulting version. `now` stamps rows the
// migrations create (the `default` account). Throws SqliteError, or std::runtime_error when
// the database was written by a newer korehook.
int migrate(sqlite::Database& db, TimeMs now);

}  // namespace korehook::store
