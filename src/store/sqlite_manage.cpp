// Accounts, endpoints and delivery management of the SQLite store.
// PLACEHOLDER while the implementation is written: every operation answers `store_error`.
#include "store/sqlite_store.hpp"

namespace korehook::store {

namespace {
Error pending() { return Error{"store_error", "not implemented yet"}; }
}  // namespace

void SqliteStore::create_account(AccountRecord, Callback<AccountRecord> done) { done(pending()); }
void SqliteStore::get_account(std::string, Callback<std::optional<AccountRecord>> done) {
  done(pending());
}
void SqliteStore::list_accounts(std::optional<std::string>, int,
                                Callback<Page<AccountRecord>> done) {
  done(pending());
}
void SqliteStore::all_endpoints(Callback<std::vector<EndpointRecord>> done) { done(pending()); }
void SqliteStore::sync_config_endpoints(std::vector<EndpointRecord>, TimeMs,
                                        Callback<ConfigSync> done) {
  done(pending());
}
void SqliteStore::create_endpoint(EndpointRecord, Callback<EndpointRecord> done) {
  done(pending());
}
void SqliteStore::get_endpoint(std::string, std::string,
                               Callback<std::optional<EndpointRecord>> done) {
  done(pending());
}
void SqliteStore::list_endpoints(std::string, std::optional<std::string>, int,
                                 Callback<Page<EndpointRecord>> done) {
  done(pending());
}
void SqliteStore::update_endpoint(std::string, std::string, EndpointSettings, TimeMs,
                                  Callback<EndpointRecord> done) {
  done(pending());
}
void SqliteStore::delete_endpoint(std::string, std::string, TimeMs, Callback<int> done) {
  done(pending());
}
void SqliteStore::set_endpoint_state(std::string, std::string, DisabledReason, std::string, TimeMs,
                                     Callback<EndpointRecord> done) {
  done(pending());
}
void SqliteStore::set_endpoint_failing_since(std::string, TimeMs) {}
void SqliteStore::list_deliveries(DeliveryFilter, std::optional<std::string>, int,
                                  Callback<Page<DeliveryInfo>> done) {
  done(pending());
}
void SqliteStore::get_delivery(std::string, std::string,
                               Callback<std::optional<DeliveryDetail>> done) {
  done(pending());
}
void SqliteStore::redeliver(std::string, std::string, TimeMs, Callback<DeliveryInfo> done) {
  done(pending());
}
void SqliteStore::replay(DeliveryFilter, TimeMs, Callback<int> done) { done(pending()); }

}  // namespace korehook::store
