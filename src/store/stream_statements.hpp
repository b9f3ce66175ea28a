#pragma once

// Private to the store: the statements of Event Streams (rules, pending rows, batches),
// prepared once at open like the others (statements.hpp).

#include <memory>

#include "store/sqlite.hpp"
#include "store/sqlite_store.hpp"

namespace korehook::store {

struct SqliteStore::StreamStatements {
  explicit StreamStatements(sqlite::Database& db);

  using Statement = sqlite::Statement;

  Statement all_rules;
  Statement get_rule;
  Statement list_rules;
  Statement insert_rule;
  Statement update_rule;
  Statement delete_rule;
  Statement config_rule_ids;
  Statement rules_of_destination;
  Statement dangling_rule;
  Statement destination_of;
  Statement insert_pending;
  Statement all_pending;
  Statement take_pending;
  Statement delete_pending;
  Statement drop_pending;
};

}  // namespace korehook::store
