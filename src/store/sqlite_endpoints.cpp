// Accounts and endpoints of the SQLite store.

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/at_rest.hpp"
#include "store/command.hpp"
#include "store/rows.hpp"
#include "store/sqlite_store.hpp"
#include "store/statements.hpp"

namespace korehook::store {

using sqlite::Statement;

namespace {

Error account_not_found(const std::string& id) {
  return Error{"not_found", "account '" + id + "' does not exist"};
}

Error endpoint_not_found(const std::string& id) {
  return Error{"not_found", "endpoint '" + id + "' does not exist"};
}

Error declared_in_config(const std::string& id) {
  return Error{"declared_in_config", "endpoint '" + id +
                                         "' is declared in the configuration file; change it "
                                         "there and reload (SIGHUP)"};
}

AccountRecord read_account(Statement::Use& row) {
  return AccountRecord{row.get_text(0), row.get_text(1), row.get_int(2)};
}

}  // namespace

// Columns of kEndpointColumns (statements.cpp).
Result<EndpointRecord> SqliteStore::read_endpoint(Statement::Use& row) const {
  EndpointRecord e;
  e.id = row.get_text(0);
  e.account_id = row.get_text(1);
  e.source = static_cast<EndpointSource>(row.get_int(2));
  e.settings = settings_from_json(row.get_text(3));
  const std::string headers = row.get_text(4);
  if (!headers.empty()) {
    if (!sealer_) return key_required("endpoints with custom headers");
    auto opened = sealer_->open(headers, headers_context(e.id));
    if (!opened) {
      return store_error("headers of endpoint '" + e.id +
                         "' cannot be opened: " + opened.error().message);
    }
    e.settings.headers = headers_from_json(*opened);
  }
  e.disabled_reason = static_cast<DisabledReason>(row.get_int(5));
  e.disabled_detail = row.get_text(6);
  e.failing_since = row.get_int(7);
  e.created_at = row.get_int(8);
  e.updated_at = row.get_int(9);
  e.kind = static_cast<EndpointKind>(row.get_int(10));
  return e;
}

Result<std::optional<EndpointRecord>> SqliteStore::find_endpoint(const std::string& id) {
  auto row = st_->get_endpoint.use();
  row.bind(id);
  if (!row.next()) return std::optional<EndpointRecord>{};
  auto e = read_endpoint(row);
  if (!e) return e.error();
  return std::optional<EndpointRecord>{std::move(*e)};
}

Result<std::string> SqliteStore::seal_headers(const EndpointRecord& endpoint) const {
  if (endpoint.settings.headers.empty()) return std::string();
  if (!sealer_) return key_required("endpoints with custom headers");
  return sealer_->seal(headers_to_json(endpoint.settings.headers), headers_context(endpoint.id));
}

Result<std::vector<EndpointRecord>> SqliteStore::read_all_endpoints() {
  std::vector<EndpointRecord> out;
  auto row = st_->all_endpoints.use();
  while (row.next()) {
    auto e = read_endpoint(row);
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

void SqliteStore::park(const std::string& endpoint_id, bool parked, TimeMs now) {
  Statement& s = parked ? st_->park_endpoint : st_->unpark_endpoint;
  s.use().bind(now).bind(endpoint_id).bind(kLeaseParked).exec();
}

int SqliteStore::cancel_live(const std::string& endpoint_id, TimeMs now) {
  st_->cancel_endpoint.use().bind(now).bind(endpoint_id).exec();
  return static_cast<int>(db_->changes());
}

// --- Accounts ----------------------------------------------------------------------------

void SqliteStore::create_account(AccountRecord account, Callback<AccountRecord> done) {
  auto body = [this, a = std::move(account)]() -> Result<AccountRecord> {
    if (st_->account_known(a.id)) {
      return Error{"conflict", "account '" + a.id + "' already exists"};
    }
    st_->insert_account.use().bind(a.id).bind(a.name).bind(a.created_at).exec();
    return a;
  };
  enqueue(make_op<AccountRecord>("create_account", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::get_account(std::string id, Callback<std::optional<AccountRecord>> done) {
  auto body = [this, id = std::move(id)]() -> Result<std::optional<AccountRecord>> {
    auto row = st_->get_account.use();
    row.bind(id);
    if (!row.next()) return std::optional<AccountRecord>{};
    return std::optional<AccountRecord>{read_account(row)};
  };
  enqueue(make_op<std::optional<AccountRecord>>("get_account", kRead, std::move(body),
                                                std::move(done)));
}

void SqliteStore::list_accounts(std::optional<std::string> cursor, int limit,
                                Callback<Page<AccountRecord>> done) {
  auto body = [this, cursor = std::move(cursor), limit]() -> Result<Page<AccountRecord>> {
    const std::int64_t n = page_limit(limit);
    Page<AccountRecord> page;
    auto row = st_->list_accounts.use();
    row.bind(cursor.value_or("")).bind(n + 1);  // one more tells whether a next page exists
    while (row.next()) page.items.push_back(read_account(row));
    if (static_cast<std::int64_t>(page.items.size()) > n) {
      page.items.pop_back();
      page.next_cursor = page.items.back().id;
    }
    return page;
  };
  enqueue(make_op<Page<AccountRecord>>("list_accounts", kRead, std::move(body), std::move(done)));
}

// --- Endpoints ---------------------------------------------------------------------------

void SqliteStore::all_endpoints(Callback<std::vector<EndpointRecord>> done) {
  enqueue(make_op<std::vector<EndpointRecord>>(
      "all_endpoints", kRead, [this] { return read_all_endpoints(); }, std::move(done)));
}

void SqliteStore::sync_config_endpoints(std::vector<EndpointRecord> declared, TimeMs now,
                                        Callback<ConfigSync> done) {
  auto body = [this, declared = std::move(declared), now]() mutable -> Result<ConfigSync> {
    return sync_endpoints_now(declared, now);
  };
  enqueue(make_op<ConfigSync>("sync_config_endpoints", kWrite, std::move(body), std::move(done)));
}

Result<ConfigSync> SqliteStore::sync_endpoints_now(std::vector<EndpointRecord>& declared,
                                                   TimeMs now) {
  {
    // Check everything first: a refusal changes nothing.
    std::vector<std::optional<EndpointRecord>> existing;
    std::vector<std::string> sealed_headers;
    std::set<std::string> declared_ids;
    for (auto& d : declared) {
      d.source = EndpointSource::kConfig;
      if (!st_->account_known(d.account_id)) {
        return Error{"not_found", "account '" + d.account_id + "' of endpoint '" + d.id +
                                      "' does not exist; create the account first"};
      }
      auto found = find_endpoint(d.id);
      if (!found) return found.error();
      if (*found && (*found)->source != EndpointSource::kConfig) {
        return Error{"conflict", "endpoint '" + d.id +
                                     "' declared in the configuration file already exists as an "
                                     "API endpoint; rename one of them"};
      }
      auto sealed = seal_headers(d);
      if (!sealed) return sealed.error();
      existing.push_back(std::move(*found));
      sealed_headers.push_back(std::move(*sealed));
      declared_ids.insert(d.id);
    }

    ConfigSync sync;
    std::vector<std::string> removed;
    {
      auto row = st_->config_endpoint_ids.use();
      while (row.next()) {
        std::string id = row.get_text(0);
        if (declared_ids.count(id) == 0) removed.push_back(std::move(id));
      }
    }
    for (const auto& id : removed) {
      sync.cancelled += cancel_live(id, now);
      drop_stream_pending(id);
      st_->delete_endpoint.use().bind(id).exec();
      ++sync.removed;
    }

    for (std::size_t i = 0; i < declared.size(); ++i) {
      const EndpointRecord& d = declared[i];
      // YAML decides only its own disable: `enabled: false` (kConfig) wins over any runtime
      // one, `enabled: true` lifts only a kConfig one.
      const bool config_disabled = d.disabled_reason == DisabledReason::kConfig;
      const std::string settings = settings_to_json(d.settings);
      if (!existing[i]) {
        const DisabledReason reason =
            config_disabled ? DisabledReason::kConfig : DisabledReason::kNone;
        st_->insert_endpoint.use()
            .bind(d.id)
            .bind(d.account_id)
            .bind(to_int(EndpointSource::kConfig))
            .bind(settings)
            .bind(sealed_headers[i])
            .bind(to_int(reason))
            .bind(config_disabled ? d.disabled_detail : std::string())
            .bind(std::int64_t{0})
            .bind(d.created_at != 0 ? d.created_at : now)
            .bind(now)
            .bind(to_int(d.kind))
            .exec();
        // Deliveries may name it already (an id used before, or a database from schema 1,
        // whose endpoints lived in YAML only).
        if (config_disabled) park(d.id, true, now);
        continue;
      }
      const EndpointRecord& old = *existing[i];
      DisabledReason reason = old.disabled_reason;
      std::string detail = old.disabled_detail;
      if (config_disabled) {
        reason = DisabledReason::kConfig;
        detail = d.disabled_detail;
      } else if (reason == DisabledReason::kConfig) {
        reason = DisabledReason::kNone;
        detail.clear();
      }
      const bool unchanged = old.account_id == d.account_id && old.kind == d.kind &&
                             settings_to_json(old.settings) == settings &&
                             old.settings.headers == d.settings.headers &&
                             old.disabled_reason == reason && old.disabled_detail == detail;
      if (unchanged) continue;
      st_->update_config_endpoint.use()
          .bind(d.account_id)
          .bind(settings)
          .bind(sealed_headers[i])
          .bind(to_int(reason))
          .bind(detail)
          .bind(now)
          .bind(d.id)
          .bind(to_int(d.kind))
          .exec();
      if (old.enabled() && reason != DisabledReason::kNone) {
        park(d.id, true, now);
      } else if (!old.enabled() && reason == DisabledReason::kNone) {
        st_->set_endpoint_state.use()
            .bind(to_int(DisabledReason::kNone))
            .bind(std::string())
            .bind(now)
            .bind(d.id)
            .exec();  // clears failing_since
        park(d.id, false, now);
      }
    }

    auto all = read_all_endpoints();
    if (!all) return all.error();
    sync.endpoints = std::move(*all);
    return sync;
  }
}

void SqliteStore::create_endpoint(EndpointRecord endpoint, Callback<EndpointRecord> done) {
  auto body = [this, e = std::move(endpoint)]() mutable -> Result<EndpointRecord> {
    if (!st_->account_known(e.account_id)) return account_not_found(e.account_id);
    auto found = find_endpoint(e.id);
    if (!found) return found.error();
    if (*found) return Error{"conflict", "endpoint '" + e.id + "' already exists"};
    auto headers = seal_headers(e);
    if (!headers) return headers.error();
    e.source = EndpointSource::kApi;
    e.failing_since = 0;
    if (e.enabled()) e.disabled_detail.clear();
    e.updated_at = e.created_at;
    st_->insert_endpoint.use()
        .bind(e.id)
        .bind(e.account_id)
        .bind(to_int(e.source))
        .bind(settings_to_json(e.settings))
        .bind(*headers)
        .bind(to_int(e.disabled_reason))
        .bind(e.disabled_detail)
        .bind(e.failing_since)
        .bind(e.created_at)
        .bind(e.updated_at)
        .bind(to_int(e.kind))
        .exec();
    return e;
  };
  enqueue(make_op<EndpointRecord>("create_endpoint", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::get_endpoint(std::string account_id, std::string id,
                               Callback<std::optional<EndpointRecord>> done) {
  auto body = [this, account_id = std::move(account_id),
               id = std::move(id)]() -> Result<std::optional<EndpointRecord>> {
    auto found = find_endpoint(id);
    if (!found) return found.error();
    if (*found && (*found)->account_id != account_id) return std::optional<EndpointRecord>{};
    return found;
  };
  enqueue(make_op<std::optional<EndpointRecord>>("get_endpoint", kRead, std::move(body),
                                                 std::move(done)));
}

void SqliteStore::list_endpoints(std::string account_id, std::optional<std::string> cursor,
                                 int limit, Callback<Page<EndpointRecord>> done) {
  list_of_kind(EndpointKind::kEndpoint, std::move(account_id), std::move(cursor), limit,
               std::move(done));
}

void SqliteStore::list_of_kind(EndpointKind kind, std::string account_id,
                               std::optional<std::string> cursor, int limit,
                               Callback<Page<EndpointRecord>> done) {
  auto body = [this, kind, account_id = std::move(account_id), cursor = std::move(cursor),
               limit]() -> Result<Page<EndpointRecord>> {
    auto after = parse_rowid_cursor(cursor, 0);
    if (!after) return after.error();
    const std::int64_t n = page_limit(limit);
    Page<EndpointRecord> page;
    std::int64_t last_rowid = 0;
    auto row = st_->list_endpoints.use();
    // One more tells whether a next page exists.
    row.bind(account_id).bind(*after).bind(n + 1).bind(to_int(kind));
    while (row.next()) {
      if (static_cast<std::int64_t>(page.items.size()) == n) {
        page.next_cursor = std::to_string(last_rowid);
        break;
      }
      auto e = read_endpoint(row);
      if (!e) return e.error();
      page.items.push_back(std::move(*e));
      last_rowid = row.get_int(11);
    }
    return page;
  };
  enqueue(make_op<Page<EndpointRecord>>("list_endpoints", kRead, std::move(body), std::move(done)));
}

void SqliteStore::update_endpoint(std::string account_id, std::string id, EndpointSettings settings,
                                  TimeMs now, Callback<EndpointRecord> done) {
  auto body = [this, account_id = std::move(account_id), id = std::move(id),
               settings = std::move(settings), now]() mutable -> Result<EndpointRecord> {
    auto found = find_endpoint(id);
    if (!found) return found.error();
    if (!*found || (*found)->account_id != account_id) return endpoint_not_found(id);
    EndpointRecord e = std::move(**found);
    if (e.source == EndpointSource::kConfig) return declared_in_config(id);
    e.settings = std::move(settings);
    e.updated_at = now;
    auto headers = seal_headers(e);
    if (!headers) return headers.error();
    st_->update_endpoint_settings.use()
        .bind(settings_to_json(e.settings))
        .bind(*headers)
        .bind(now)
        .bind(id)
        .exec();
    return e;
  };
  enqueue(make_op<EndpointRecord>("update_endpoint", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::delete_endpoint(std::string account_id, std::string id, TimeMs now,
                                  Callback<int> done) {
  auto body = [this, account_id = std::move(account_id), id = std::move(id), now]() -> Result<int> {
    auto found = find_endpoint(id);
    if (!found) return found.error();
    if (!*found || (*found)->account_id != account_id) return endpoint_not_found(id);
    if ((*found)->source == EndpointSource::kConfig) return declared_in_config(id);
    if (auto in_use = destination_in_use(id)) return std::move(*in_use);
    const int cancelled = cancel_live(id, now);
    drop_stream_pending(id);
    st_->delete_endpoint.use().bind(id).exec();
    return cancelled;
  };
  enqueue(make_op<int>("delete_endpoint", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::set_endpoint_state(std::string account_id, std::string id, DisabledReason reason,
                                     std::string detail, TimeMs now,
                                     Callback<EndpointRecord> done) {
  auto body = [this, account_id = std::move(account_id), id = std::move(id), reason,
               detail = std::move(detail), now]() mutable -> Result<EndpointRecord> {
    auto found = find_endpoint(id);
    if (!found) return found.error();
    if (!*found || (!account_id.empty() && (*found)->account_id != account_id)) {
      return endpoint_not_found(id);
    }
    EndpointRecord e = std::move(**found);
    if (reason == DisabledReason::kNone) {
      detail.clear();
      e.failing_since = 0;
    }
    e.disabled_reason = reason;
    e.disabled_detail = detail;
    e.updated_at = now;
    st_->set_endpoint_state.use().bind(to_int(reason)).bind(detail).bind(now).bind(id).exec();
    park(id, reason != DisabledReason::kNone, now);
    return e;
  };
  enqueue(make_op<EndpointRecord>("set_endpoint_state", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::set_endpoint_failing_since(std::string id, TimeMs since) {
  auto body = [this, id = std::move(id), since]() -> Result<Unit> {
    st_->set_failing_since.use().bind(since).bind(id).exec();
    return Unit{};
  };
  enqueue(
      make_op<Unit>("set_endpoint_failing_since", kBookkeeping, std::move(body), Callback<Unit>{}));
}

}  // namespace korehook::store
