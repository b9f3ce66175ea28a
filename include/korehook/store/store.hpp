#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "korehook/model/types.hpp"
#include "korehook/sign/headers.hpp"
#include "korehook/util/result.hpp"

namespace korehook::store {

// What a delivery sends, shared by every delivery of one event.
struct Payload {
  std::string event_id;
  std::string account_id;
  std::string type;
  std::string content_type;
  std::string body;
};

// A delivery handed to the dispatcher, with its payload.
struct Work {
  DeliveryRecord delivery;
  std::shared_ptr<const Payload> payload;
};

struct NewEvent {
  EventRecord event;
  std::vector<DeliveryRecord> deliveries;  // state pending, attempt_count 0
  // Non-zero: the deliveries are created already leased to this process (the dispatcher
  // holds them in memory), so claim_due() will not hand them out again.
  TimeMs lease_until = 0;
};

struct AppendResult {
  std::string event_id;  // the new id, or the original event's id for a repeated idempotency key
  bool created = false;
};

struct AttemptDone {
  AttemptRecord attempt;       // attempt.number becomes the delivery's attempt_count
  DeliveryState new_state;     // pending (retry), delivered, failed
  TimeMs next_attempt_at = 0;  // when new_state == pending
  TimeMs lease_until = 0;      // keep the lease (the dispatcher keeps it in memory) or 0
};

struct DeliveryView {
  DeliveryRecord delivery;
  std::vector<AttemptRecord> attempts;  // by number
};

struct EventView {
  EventRecord event;
  std::vector<DeliveryView> deliveries;
};

struct SecretPage {
  std::vector<SecretRecord> items;  // newest first
  int total = 0;                    // matching the filter, all pages
};

template <class T>
using Callback = std::function<void(Result<T>)>;

// Runs a completion on the caller's side (the daemon posts to its io_context).
using Poster = std::function<void(std::function<void()>)>;

// The durable store. Thread-safe; every method returns at once. Writes queued together are
// committed in one transaction (group commit); a callback runs through the Poster only after
// its write is durable. Errors: code `store_error` (I/O, corruption), `not_found`,
// `invalid_transition`, `conflict`.
class Store {
 public:
  virtual ~Store() = default;

  // Startup, before any other call: deliveries left in_flight or leased by a previous run
  // become pending, due now (token and attempt count kept). Returns how many were recovered.
  virtual Result<int> recover(TimeMs now) = 0;

  // All or nothing: the events and their deliveries, or nothing. A repeated
  // (account_id, idempotency_key) creates nothing and answers the original id.
  virtual void append_events(std::vector<NewEvent> events,
                             Callback<std::vector<AppendResult>> done) = 0;

  // Fire-and-forget state change to in_flight at the start of an attempt.
  virtual void mark_in_flight(std::vector<std::string> delivery_ids) = 0;

  // Fire-and-forget: pending/in_flight deliveries become cancelled (their target is gone) and
  // their leases are released.
  virtual void cancel_deliveries(std::vector<std::string> delivery_ids) = 0;

  // Records attempts and the deliveries' new states.
  virtual void complete_attempts(std::vector<AttemptDone> results, Callback<Unit> done) = 0;

  // Leases up to `limit` deliveries that are pending or in_flight, not leased (lease_until
  // <= now), and due before `due_before`, in next_attempt_at order, with their payloads.
  virtual void claim_due(TimeMs now, TimeMs due_before, int limit, TimeMs lease_until,
                         Callback<std::vector<Work>> done) = 0;

  // Earliest next_attempt_at among unleased pending deliveries, if any.
  virtual void next_unleased_due(TimeMs now, Callback<std::optional<TimeMs>> done) = 0;

  virtual void get_event(std::string account_id, std::string event_id,
                         Callback<std::optional<EventView>> done) = 0;

  virtual void account_exists(std::string account_id, Callback<bool> done) = 0;

  // Secrets (KORE lifecycle, model/secret_lifecycle.hpp). `proto` carries id, account_id,
  // name, value and created_at; the store decides the status.
  virtual void create_secret(SecretRecord proto, Callback<SecretRecord> done) = 0;
  virtual void list_secrets(std::string account_id, std::optional<SecretStatus> status,
                            int page_number, int page_size, Callback<SecretPage> done) = 0;
  virtual void update_secret(std::string account_id, std::string secret_id,
                             std::optional<std::string> name, std::optional<SecretStatus> status,
                             TimeMs now, Callback<SecretRecord> done) = 0;
  // The active secret of every account that has one.
  virtual void signing_keys(Callback<std::map<std::string, sign::SigningKeys>> done) = 0;

  // Commits what is queued, stops the store thread, closes the database. Idempotent.
  virtual void close() = 0;
};

struct SqliteOptions {
  std::string path;
  bool fsync = true;  // synchronous=FULL; NORMAL otherwise
};

// Opens (creating and migrating as needed) a SQLite store. Throws std::runtime_error with a
// clear message when the database cannot be opened or migrated.
std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options, Poster post);

}  // namespace korehook::store
