#pragma once

#include "korehook/util/clock.hpp"
#include "store/sqlite.hpp"

namespace korehook::store {

// The schema version this build writes.
int latest_schema_version();

// Applies the forward-only migrations the database has not seen yet, each in its own
// `BEGIN IMMEDIATE` transaction, and returns the resulting version. `now` stamps rows the
// migrations create (the `default` account). Throws SqliteError, or std::runtime_error when
// the database was written by a newer korehook. `up_to` stops at an older version (tests that
// need a database as an earlier release left it).
int migrate(sqlite::Database& db, TimeMs now, int up_to = latest_schema_version());

}  // namespace korehook::store
