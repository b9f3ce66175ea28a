#pragma once

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "korehook/crypto/sealer.hpp"
#include "korehook/model/endpoint.hpp"
#include "korehook/model/stream.hpp"
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
  std::optional<std::string> callback_url;  // the event's one target when set (SPEC §2.1)
};

// A delivery handed to the dispatcher, with its payload.
struct Work {
  DeliveryRecord delivery;
  std::shared_ptr<const Payload> payload;
};

// An event's share of Event Streams: one per destination that enabled rules route it to.
struct StreamTarget {
  std::string destination_id;
  std::optional<std::string> schema_version;  // of the rule that routed it (dataschema)
};

struct NewEvent {
  EventRecord event;
  std::vector<DeliveryRecord> deliveries;  // state pending, attempt_count 0
  // Stored as `stream_pending` rows in the same transaction: the event waits there for its
  // batch (create_stream_batch), so an accepted event reaches its destinations after a crash.
  std::vector<StreamTarget> streams;
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

// A lease that lasts as long as the process: the dispatcher holds the delivery in memory, or
// its endpoint is disabled (parked). recover() clears such leases at startup, then parks the
// deliveries of disabled endpoints again.
inline constexpr TimeMs kLeaseHeld = std::numeric_limits<TimeMs>::max() / 2;
// The lease of a delivery whose endpoint is disabled: never claimed; enabling the endpoint
// sets it back to 0 (only this value, so deliveries held in memory are not released).
inline constexpr TimeMs kLeaseParked = kLeaseHeld + 1;

// One page of a cursor-paginated list. The cursor is opaque to callers.
template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;  // nullopt on the last page
};

struct AccountRecord {
  std::string id;
  std::string name;
  TimeMs created_at = 0;
};

// A delivery with what the API shows next to it.
struct DeliveryInfo {
  DeliveryRecord delivery;
  std::string account_id;
  std::string event_type;
  std::optional<std::string> callback_url;
};

struct DeliveryDetail {
  DeliveryInfo info;
  std::vector<AttemptRecord> attempts;  // by number
};

// Filter of list_deliveries() and replay(). Times apply to the delivery's created_at:
// since inclusive, until exclusive.
struct DeliveryFilter {
  std::string account_id;
  std::optional<std::string> endpoint_id;
  std::optional<DeliveryState> state;
  std::optional<std::string> event_type;
  std::optional<TimeMs> since;
  std::optional<TimeMs> until;
  // Only these deliveries (when set), and none of these: the API's in_flight and pending
  // filters (attempts underway are known to the dispatcher, not written to the store).
  std::optional<std::vector<std::string>> only_ids;
  std::vector<std::string> except_ids;
};

// An event waiting for its batch to one destination (a `stream_pending` row).
struct StreamPending {
  std::string event_id;
  std::string destination_id;
  std::string account_id;
  std::string type;
  TimeMs created_at = 0;  // the event's
};

// One batch to make from pending rows (create_stream_batch).
struct NewStreamBatch {
  std::string batch_id;  // the events row that holds the batch body
  std::string delivery_id;
  std::string token;  // the batch's kore-idempotency-token (and webhook-id)
  std::string destination_id;
  std::string account_id;
  std::string type;
  std::string source;                  // CloudEvents `source`
  std::vector<std::string> event_ids;  // pending rows (event_id, destination_id), in order
  TimeMs now = 0;
  TimeMs lease_until = 0;  // as NewEvent::lease_until
};

struct StreamBatchResult {
  std::optional<Work> work;  // the new delivery; nullopt when nothing was made or it is parked
  int events = 0;            // pending rows turned into the batch
  bool parked = false;       // the destination is disabled: stored parked
};

// What sync_config_endpoints() did.
struct ConfigSync {
  std::vector<EndpointRecord> endpoints;  // every endpoint of every account, after the sync
  std::vector<RuleRecord> rules;          // every rule (sync_config only)
  int removed = 0;                        // config endpoints no longer declared
  int cancelled = 0;                      // their live deliveries, now cancelled
};

template <class T>
using Callback = std::function<void(Result<T>)>;

// Runs a completion on the caller's side (the daemon posts to its io_context).
using Poster = std::function<void(std::function<void()>)>;

// The durable store. Thread-safe; every method returns at once. Writes queued together are
// committed in one transaction (group commit); a callback runs through the Poster only after
// its write is durable. Errors: code `store_error` (I/O, corruption, no secrets key),
// `not_found`, `invalid_transition`, `conflict`, `declared_in_config`, `invalid_argument` (a
// cursor the store did not make; replay() without a finished state).
class Store {
 public:
  virtual ~Store() = default;

  // Startup, before any other call: deliveries left in_flight or leased by a previous run
  // become pending, due now (token and attempt count kept); then those of disabled endpoints
  // are parked again (kLeaseParked). Returns how many were recovered. (Attempts underway are
  // tracked in the dispatcher's memory; state in_flight in the file comes from earlier
  // builds, which wrote it when an attempt started.)
  virtual Result<int> recover(TimeMs now) = 0;

  // All or nothing: the events and their deliveries, or nothing. A repeated
  // (account_id, idempotency_key) creates nothing and answers the original id.
  virtual void append_events(std::vector<NewEvent> events,
                             Callback<std::vector<AppendResult>> done) = 0;

  // Fire-and-forget: pending/in_flight deliveries become cancelled (their target is gone) and
  // their leases are released.
  virtual void cancel_deliveries(std::vector<std::string> delivery_ids) = 0;

  // Records attempts and the deliveries' new states, each result on its own: a result for an
  // unknown delivery is dropped (and logged), a repeated attempt number keeps the attempt
  // recorded first; the others are recorded all the same.
  virtual void complete_attempts(std::vector<AttemptDone> results, Callback<Unit> done) = 0;

  // Leases up to `limit` deliveries that are pending or in_flight, not leased (lease_until
  // <= now), due before `due_before` and not for one of the endpoints `exclude` ("" stands
  // for callbacks), in next_attempt_at order, with their payloads.
  virtual void claim_due(TimeMs now, TimeMs due_before, int limit, TimeMs lease_until,
                         std::vector<std::string> exclude, Callback<std::vector<Work>> done) = 0;

  // Earliest next_attempt_at among unleased pending deliveries not for one of the endpoints
  // `exclude`, if any.
  virtual void next_unleased_due(TimeMs now, std::vector<std::string> exclude,
                                 Callback<std::optional<TimeMs>> done) = 0;

  virtual void get_event(std::string account_id, std::string event_id,
                         Callback<std::optional<EventView>> done) = 0;

  virtual void account_exists(std::string account_id, Callback<bool> done) = 0;

  // Secrets (KORE lifecycle, model/secret_lifecycle.hpp). `proto` carries id, account_id,
  // name, value and created_at; the store decides the status.
  virtual void create_secret(SecretRecord proto, Callback<SecretRecord> done) = 0;
  virtual void list_secrets(std::string account_id, std::optional<SecretStatus> status,
                            int page_number, int page_size, Callback<SecretPage> done) = 0;
  // `overlap` > 0 with status active: the secret this activation disables keeps signing the
  // Standard Webhooks header (as `previous`) until now + overlap.
  virtual void update_secret(std::string account_id, std::string secret_id,
                             std::optional<std::string> name, std::optional<SecretStatus> status,
                             Millis overlap, TimeMs now, Callback<SecretRecord> done) = 0;
  // The active secret of every account that has one, with the previous one while its overlap
  // runs (SigningKeys::previous_until).
  virtual void signing_keys(Callback<std::map<std::string, sign::SigningKeys>> done) = 0;

  // --- Accounts. Errors: `conflict` (create: the id exists).
  virtual void create_account(AccountRecord account, Callback<AccountRecord> done) = 0;
  virtual void get_account(std::string id, Callback<std::optional<AccountRecord>> done) = 0;
  // By id; `cursor` from the previous page.
  virtual void list_accounts(std::optional<std::string> cursor, int limit,
                             Callback<Page<AccountRecord>> done) = 0;

  // --- Endpoints. Header values are sealed at rest. Errors: `not_found` (account or
  // endpoint), `conflict` (create: the id exists), `declared_in_config` (update or delete
  // of an endpoint declared in YAML: message says to change the file).

  // Every endpoint of every account (for the dispatcher's targets).
  virtual void all_endpoints(Callback<std::vector<EndpointRecord>> done) = 0;
  // Upserts the YAML endpoints (source kConfig) and deletes config endpoints no longer
  // declared (their pending/in-flight deliveries become cancelled). An id used by an API
  // endpoint is a `conflict`, an unknown account `not_found` (naming the account and the
  // endpoint); either way nothing changes. A declared endpoint keeps a runtime
  // disable (manual, gone, failing) across syncs; `enabled: false` in YAML (kConfig) wins.
  virtual void sync_config_endpoints(std::vector<EndpointRecord> declared, TimeMs now,
                                     Callback<ConfigSync> done) = 0;
  // `endpoint` carries id, account_id, settings, created_at; source becomes kApi.
  virtual void create_endpoint(EndpointRecord endpoint, Callback<EndpointRecord> done) = 0;
  virtual void get_endpoint(std::string account_id, std::string id,
                            Callback<std::optional<EndpointRecord>> done) = 0;
  // In creation order; `cursor` from the previous page.
  virtual void list_endpoints(std::string account_id, std::optional<std::string> cursor, int limit,
                              Callback<Page<EndpointRecord>> done) = 0;
  // Replaces the settings of an API endpoint (matched by account_id and id).
  virtual void update_endpoint(std::string account_id, std::string id, EndpointSettings settings,
                               TimeMs now, Callback<EndpointRecord> done) = 0;
  // Deletes an API endpoint; its pending/in-flight deliveries become cancelled. Answers how
  // many were cancelled.
  virtual void delete_endpoint(std::string account_id, std::string id, TimeMs now,
                               Callback<int> done) = 0;
  // Enables (reason kNone) or disables any endpoint, config ones included. Disabling parks its
  // pending and in-flight deliveries (lease kLeaseParked, whatever their lease was); enabling
  // unparks them (lease 0 where it was kLeaseParked; due as before) and clears failing_since.
  // `account_id` empty: any account (the dispatcher's own 410/failing decisions).
  virtual void set_endpoint_state(std::string account_id, std::string id, DisabledReason reason,
                                  std::string detail, TimeMs now,
                                  Callback<EndpointRecord> done) = 0;
  // Fire-and-forget: the start of the endpoint's failing streak (0: it succeeded again).
  virtual void set_endpoint_failing_since(std::string id, TimeMs since) = 0;

  // --- Event Streams (sqlite_streams.cpp). Destinations are endpoints of kind kDestination:
  // create/get/update/set_endpoint_state serve both kinds; list_endpoints lists endpoints
  // only, list_destinations destinations only. delete_endpoint refuses (`conflict`) a
  // destination that rules still feed.

  virtual void list_destinations(std::string account_id, std::optional<std::string> cursor,
                                 int limit, Callback<Page<EndpointRecord>> done) = 0;
  // sync_config_endpoints() (destinations included, by kind) plus the YAML rules, in one
  // transaction: config rules no longer declared are deleted; every rule must then name an
  // existing destination of its account (else `conflict` or `not_found`, nothing changes).
  virtual void sync_config(std::vector<EndpointRecord> declared, std::vector<RuleRecord> rules,
                           TimeMs now, Callback<ConfigSync> done) = 0;
  virtual void all_rules(Callback<std::vector<RuleRecord>> done) = 0;
  // `rule` carries everything; source becomes kApi. Errors: `conflict` (the id exists),
  // `not_found` (account or destination; message names it).
  virtual void create_rule(RuleRecord rule, Callback<RuleRecord> done) = 0;
  virtual void get_rule(std::string account_id, std::string id,
                        Callback<std::optional<RuleRecord>> done) = 0;
  // In creation order; only those feeding `destination_id` when given.
  virtual void list_rules(std::string account_id, std::optional<std::string> destination_id,
                          std::optional<std::string> cursor, int limit,
                          Callback<Page<RuleRecord>> done) = 0;
  // Replaces an API rule (matched by account and id) with `rule`. `declared_in_config` for a
  // YAML rule.
  virtual void update_rule(RuleRecord rule, TimeMs now, Callback<RuleRecord> done) = 0;
  virtual void delete_rule(std::string account_id, std::string id, Callback<Unit> done) = 0;
  // Every pending row, oldest first (startup: the batcher takes them up again).
  virtual void stream_pending(Callback<std::vector<StreamPending>> done) = 0;
  // One transaction: reads the pending rows of `batch` that still exist, builds the CloudEvents
  // array, stores it as an events row (id batch_id, type, application/json) with one delivery
  // to the destination (parked when it is disabled), and deletes those rows. A destination
  // that no longer exists: its rows are deleted and nothing is made.
  virtual void create_stream_batch(NewStreamBatch batch, Callback<StreamBatchResult> done) = 0;

  // --- Deliveries (scoped by the event's account).
  // Newest first; `cursor` from the previous page.
  virtual void list_deliveries(DeliveryFilter filter, std::optional<std::string> cursor, int limit,
                               Callback<Page<DeliveryInfo>> done) = 0;
  virtual void get_delivery(std::string account_id, std::string id,
                            Callback<std::optional<DeliveryDetail>> done) = 0;
  // A delivered, failed or cancelled delivery becomes pending, due now, same token; a new
  // retry cycle starts (cycle_start = attempt_count). `conflict` when it is pending or in
  // flight. Parked at once when its endpoint is disabled.
  virtual void redeliver(std::string account_id, std::string id, TimeMs now,
                         Callback<DeliveryInfo> done) = 0;
  // redeliver() for every delivery matching `filter` (state must be delivered, failed or
  // cancelled). Answers how many were requeued.
  virtual void replay(DeliveryFilter filter, TimeMs now, Callback<int> done) = 0;

  // Commits what is queued, stops the store thread, closes the database. Idempotent.
  virtual void close() = 0;
};

struct SqliteOptions {
  std::string path;
  bool fsync = true;  // synchronous=FULL; NORMAL otherwise
  // Seals secrets and endpoint headers at rest. Required for secrets and endpoints with
  // headers (`store_error` without it). The first key used is recorded (as a sealed check
  // value); opening with another key throws.
  std::optional<crypto::Key> secrets_key;
};

// Opens (creating and migrating as needed) a SQLite store. Throws std::runtime_error with a
// clear message when the database cannot be opened or migrated.
std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options, Poster post);

}  // namespace korehook::store
