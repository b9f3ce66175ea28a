// Delivery management of the SQLite store: lists, details, redelivery and replay.

#include <limits>
#include <string>
#include <utility>

#include "store/command.hpp"
#include "store/rows.hpp"
#include "store/sqlite_store.hpp"
#include "store/statements.hpp"

namespace korehook::store {

using sqlite::Statement;

namespace {

// Columns: the delivery (read_delivery), then account_id, type, callback_url of its event.
DeliveryInfo read_info(Statement::Use& row) {
  DeliveryInfo info;
  info.delivery = read_delivery(row);
  info.account_id = row.get_text(10);
  info.event_type = row.get_text(11);
  info.callback_url = row.get_optional_text(12);
  return info;
}

// Binds ?1-?8 of the delivery filter (statements.cpp).
void bind_filter(Statement::Use& use, const DeliveryFilter& f) {
  use.bind(f.account_id).bind(f.endpoint_id);
  if (f.state) {
    use.bind(to_int(*f.state));
  } else {
    use.bind_null();
  }
  use.bind(f.event_type);
  for (const auto& t : {f.since, f.until}) {
    if (t) {
      use.bind(*t);
    } else {
      use.bind_null();
    }
  }
  if (f.only_ids) {
    use.bind(id_list_json(*f.only_ids));
  } else {
    use.bind_null();
  }
  use.bind(id_list_json(f.except_ids));
}

bool finished(DeliveryState s) {
  return s == DeliveryState::kDelivered || s == DeliveryState::kFailed ||
         s == DeliveryState::kCancelled;
}

}  // namespace

Result<std::optional<DeliveryInfo>> SqliteStore::find_delivery(const std::string& account_id,
                                                               const std::string& id) {
  auto row = st_->get_delivery.use();
  row.bind(id).bind(account_id);
  if (!row.next()) return std::optional<DeliveryInfo>{};
  return std::optional<DeliveryInfo>{read_info(row)};
}

void SqliteStore::list_deliveries(DeliveryFilter filter, std::optional<std::string> cursor,
                                  int limit, Callback<Page<DeliveryInfo>> done) {
  auto body = [this, filter = std::move(filter), cursor = std::move(cursor),
               limit]() -> Result<Page<DeliveryInfo>> {
    auto before = parse_rowid_cursor(cursor, std::numeric_limits<std::int64_t>::max());
    if (!before) return before.error();
    const std::int64_t n = page_limit(limit);
    Page<DeliveryInfo> page;
    std::int64_t last_rowid = 0;
    auto row = st_->list_deliveries.use();
    bind_filter(row, filter);
    row.bind(*before).bind(n + 1);  // one more tells whether a next page exists
    while (row.next()) {
      if (static_cast<std::int64_t>(page.items.size()) == n) {
        page.next_cursor = std::to_string(last_rowid);
        break;
      }
      page.items.push_back(read_info(row));
      last_rowid = row.get_int(13);
    }
    return page;
  };
  enqueue(make_op<Page<DeliveryInfo>>("list_deliveries", kRead, std::move(body), std::move(done)));
}

void SqliteStore::get_delivery(std::string account_id, std::string id,
                               Callback<std::optional<DeliveryDetail>> done) {
  auto body = [this, account_id = std::move(account_id),
               id = std::move(id)]() -> Result<std::optional<DeliveryDetail>> {
    auto info = find_delivery(account_id, id);
    if (!info) return info.error();
    if (!*info) return std::optional<DeliveryDetail>{};
    DeliveryDetail detail{std::move(**info), st_->attempts_of(id)};
    return std::optional<DeliveryDetail>{std::move(detail)};
  };
  enqueue(make_op<std::optional<DeliveryDetail>>("get_delivery", kRead, std::move(body),
                                                 std::move(done)));
}

void SqliteStore::redeliver(std::string account_id, std::string id, TimeMs now,
                            Callback<DeliveryInfo> done) {
  auto body = [this, account_id = std::move(account_id), id = std::move(id),
               now]() -> Result<DeliveryInfo> {
    auto info = find_delivery(account_id, id);
    if (!info) return info.error();
    if (!*info) return Error{"not_found", "delivery '" + id + "' does not exist"};
    const DeliveryRecord& d = (*info)->delivery;
    if (!finished(d.state)) {
      return Error{"conflict", "delivery '" + id + "' is " + std::string(to_string(d.state)) +
                                   ": it is queued already"};
    }
    TimeMs lease = 0;
    if (!d.endpoint_id.empty()) {  // else the event's callback URL, which cannot go away
      auto row = st_->endpoint_disabled.use();
      row.bind(d.endpoint_id);
      if (!row.next()) {
        return Error{"conflict", "delivery '" + id + "' cannot be redelivered: its endpoint '" +
                                     d.endpoint_id + "' was deleted"};
      }
      if (row.get_int(0) != 0) lease = kLeaseParked;
    }
    st_->requeue.use().bind(now).bind(lease).bind(id).exec();
    auto updated = find_delivery(account_id, id);
    if (!updated) return updated.error();
    if (!*updated) return store_error("delivery vanished during redelivery");
    return std::move(**updated);
  };
  enqueue(make_op<DeliveryInfo>("redeliver", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::replay(DeliveryFilter filter, TimeMs now, Callback<int> done) {
  auto body = [this, filter = std::move(filter), now]() -> Result<int> {
    if (!filter.state || !finished(*filter.state)) {
      return Error{"invalid_argument",
                   "replay needs a state of delivered, failed or cancelled (pending and "
                   "in-flight deliveries are queued already)"};
    }
    auto use = st_->replay.use();
    bind_filter(use, filter);
    use.bind(now).bind(kLeaseParked).exec();
    return static_cast<int>(db_->changes());
  };
  enqueue(make_op<int>("replay", kWrite, std::move(body), std::move(done)));
}

}  // namespace korehook::store
