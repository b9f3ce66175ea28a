#pragma once

// Private to the store: every statement the store runs, prepared once at open.

#include <optional>
#include <string>
#include <vector>

#include "korehook/model/types.hpp"
#include "store/sqlite.hpp"
#include "store/sqlite_store.hpp"

namespace korehook::store {

inline std::int64_t to_int(DeliveryState s) { return static_cast<std::int64_t>(s); }
inline std::int64_t to_int(SecretStatus s) { return static_cast<std::int64_t>(s); }
inline std::int64_t to_int(DisabledReason r) { return static_cast<std::int64_t>(r); }
inline std::int64_t to_int(EndpointSource s) { return static_cast<std::int64_t>(s); }
inline std::int64_t to_int(EndpointKind k) { return static_cast<std::int64_t>(k); }
inline std::int64_t to_int(RuleStatus s) { return static_cast<std::int64_t>(s); }

struct SqliteStore::Statements {
  explicit Statements(sqlite::Database& db);

  using Statement = sqlite::Statement;

  // Events and deliveries.
  Statement account_exists;
  Statement find_idempotent;
  Statement insert_event;
  Statement insert_delivery;
  Statement cancel_delivery;
  Statement insert_attempt;
  Statement complete_delivery;
  Statement due_work;
  Statement lease_rows;
  Statement next_unleased_due;
  Statement count_parked;
  Statement recover;
  Statement park_disabled;
  Statement get_event;
  Statement event_deliveries;
  Statement delivery_attempts;

  // Secrets.
  Statement secret_with_status;
  Statement insert_secret;
  Statement disable_by_status;
  Statement get_secret;
  Statement set_secret_status;
  Statement set_secret_name;
  Statement list_secrets;
  Statement count_secrets;
  Statement signing_secrets;

  // Accounts.
  Statement insert_account;
  Statement get_account;
  Statement list_accounts;

  // Endpoints.
  Statement all_endpoints;
  Statement get_endpoint;
  Statement list_endpoints;
  Statement config_endpoint_ids;
  Statement insert_endpoint;
  Statement update_config_endpoint;
  Statement update_endpoint_settings;
  Statement set_endpoint_state;
  Statement set_failing_since;
  Statement delete_endpoint;
  Statement cancel_endpoint;
  Statement park_endpoint;
  Statement unpark_endpoint;
  Statement endpoint_disabled;

  // Delivery management.
  Statement list_deliveries;
  Statement get_delivery;
  Statement requeue;
  Statement replay;

  bool account_known(const std::string& id);
  std::vector<AttemptRecord> attempts_of(const std::string& delivery_id);
  std::optional<std::string> secret_id_with_status(const std::string& account, SecretStatus s);
  std::optional<SecretRecord> find_secret(const std::string& account, const std::string& id);
};

}  // namespace korehook::store
