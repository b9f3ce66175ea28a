#pragma once

// The SQLite implementation of Store (private: the daemon uses open_sqlite_store()).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "korehook/store/store.hpp"
#include "korehook/util/clock.hpp"
#include "store/sqlite.hpp"

namespace korehook::store {

// Counters of the store thread's work, for tests and metrics.
struct StoreStats {
  std::uint64_t write_transactions = 0;  // committed `BEGIN IMMEDIATE ... COMMIT`
  std::uint64_t write_commands = 0;      // write commands that ran inside them
  std::uint64_t largest_batch = 0;       // most commands taken from the queue at once
  // Write transactions of bookkeeping alone, committed without an fsync (with fsync on).
  std::uint64_t relaxed_transactions = 0;
  std::uint64_t wal_syncs = 0;           // fdatasync calls of the WAL
  std::uint64_t store_thread_syncs = 0;  // those the store thread made (help_syncers)
  std::uint64_t savepoints = 0;          // SAVEPOINTs opened around write commands
  std::uint64_t group_replays = 0;       // groups rolled back and run again one by one
};

// One store thread owns the one connection. Public methods queue a command and return;
// the thread takes everything queued and runs it in one transaction (group commit), each
// write command inside a SAVEPOINT so that one failing command does not undo the others
// (consecutive appends and attempt results share one; see run_group). Completions go through the
// Poster after COMMIT returned and, with fsync on, after an fdatasync of the WAL for a transaction
// that must be durable: COMMIT itself does not wait for the disk (synchronous = NORMAL). While the
// dispatcher is quiet the store thread makes that fdatasync itself after the commit, which spares a
// thread handoff on the way to the acknowledgement; while it is at work (its bookkeeping, claims
// and attempt results, is queued or ran within kDispatcherQuiet) a syncer thread makes it and the
// store thread goes on with that work (a second syncer can start the next sync while the first is
// in one). Completions keep the commit order.
//
// Thread-safe. REQUIRES: recover() and close() are not called from a completion that runs
// on the store or a syncer thread (an inline Poster); both wait for those threads.
class SqliteStore final : public Store {
 public:
  // Opens, configures and migrates the database, then starts the store thread. Throws
  // std::runtime_error naming the path. `clock` stamps updated_at/last_modified columns the
  // API does not give a time for; it must outlive the store.
  SqliteStore(const SqliteOptions& options, Poster post, const Clock& clock);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<int> recover(TimeMs now) override;
  void append_events(std::vector<NewEvent> events,
                     Callback<std::vector<AppendResult>> done) override;
  void cancel_deliveries(std::vector<std::string> delivery_ids) override;
  void complete_attempts(std::vector<AttemptDone> results, Callback<Unit> done) override;
  void claim_due(TimeMs now, TimeMs due_before, int limit, TimeMs lease_until,
                 std::vector<std::string> exclude, Callback<std::vector<Work>> done) override;
  void next_unleased_due(TimeMs now, std::vector<std::string> exclude,
                         Callback<std::optional<TimeMs>> done) override;
  void get_event(std::string account_id, std::string event_id,
                 Callback<std::optional<EventView>> done) override;
  void account_exists(std::string account_id, Callback<bool> done) override;
  void create_secret(SecretRecord proto, Callback<SecretRecord> done) override;
  void list_secrets(std::string account_id, std::optional<SecretStatus> status, int page_number,
                    int page_size, Callback<SecretPage> done) override;
  void update_secret(std::string account_id, std::string secret_id, std::optional<std::string> name,
                     std::optional<SecretStatus> status, Millis overlap, TimeMs now,
                     Callback<SecretRecord> done) override;
  void signing_keys(Callback<std::map<std::string, sign::SigningKeys>> done) override;

  void create_account(AccountRecord account, Callback<AccountRecord> done) override;
  void get_account(std::string id, Callback<std::optional<AccountRecord>> done) override;
  void list_accounts(std::optional<std::string> cursor, int limit,
                     Callback<Page<AccountRecord>> done) override;

  void all_endpoints(Callback<std::vector<EndpointRecord>> done) override;
  void sync_config_endpoints(std::vector<EndpointRecord> declared, TimeMs now,
                             Callback<ConfigSync> done) override;
  void create_endpoint(EndpointRecord endpoint, Callback<EndpointRecord> done) override;
  void get_endpoint(std::string account_id, std::string id,
                    Callback<std::optional<EndpointRecord>> done) override;
  void list_endpoints(std::string account_id, std::optional<std::string> cursor, int limit,
                      Callback<Page<EndpointRecord>> done) override;
  void update_endpoint(std::string account_id, std::string id, EndpointSettings settings,
                       TimeMs now, Callback<EndpointRecord> done) override;
  void delete_endpoint(std::string account_id, std::string id, TimeMs now,
                       Callback<int> done) override;
  void set_endpoint_state(std::string account_id, std::string id, DisabledReason reason,
                          std::string detail, TimeMs now, Callback<EndpointRecord> done) override;
  void set_endpoint_failing_since(std::string id, TimeMs since) override;

  void list_destinations(std::string account_id, std::optional<std::string> cursor, int limit,
                         Callback<Page<EndpointRecord>> done) override;
  void sync_config(std::vector<EndpointRecord> declared, std::vector<RuleRecord> rules, TimeMs now,
                   Callback<ConfigSync> done) override;
  void all_rules(Callback<std::vector<RuleRecord>> done) override;
  void create_rule(RuleRecord rule, Callback<RuleRecord> done) override;
  void get_rule(std::string account_id, std::string id,
                Callback<std::optional<RuleRecord>> done) override;
  void list_rules(std::string account_id, std::optional<std::string> destination_id,
                  std::optional<std::string> cursor, int limit,
                  Callback<Page<RuleRecord>> done) override;
  void update_rule(RuleRecord rule, TimeMs now, Callback<RuleRecord> done) override;
  void delete_rule(std::string account_id, std::string id, Callback<Unit> done) override;
  void stream_pending(Callback<std::vector<StreamPending>> done) override;
  void create_stream_batch(NewStreamBatch batch, Callback<StreamBatchResult> done) override;

  void list_deliveries(DeliveryFilter filter, std::optional<std::string> cursor, int limit,
                       Callback<Page<DeliveryInfo>> done) override;
  void get_delivery(std::string account_id, std::string id,
                    Callback<std::optional<DeliveryDetail>> done) override;
  void redeliver(std::string account_id, std::string id, TimeMs now,
                 Callback<DeliveryInfo> done) override;
  void replay(DeliveryFilter filter, TimeMs now, Callback<int> done) override;
  void close() override;

  StoreStats stats() const;

  class Command;  // a queued unit of work (defined in sqlite_store.cpp)

 private:
  struct Statements;
  struct StreamStatements;  // sqlite_streams.cpp
  void update_each(const char* op, sqlite::Statement Statements::*statement,
                   std::vector<std::string> delivery_ids);

  // Endpoint helpers, on the store thread (sqlite_endpoints.cpp). Rows: kEndpointColumns.
  Result<EndpointRecord> read_endpoint(sqlite::Statement::Use& row) const;
  Result<std::optional<EndpointRecord>> find_endpoint(const std::string& id);
  Result<std::vector<EndpointRecord>> read_all_endpoints();
  // The sealed header list of an endpoint ('' when it has none).
  Result<std::string> seal_headers(const EndpointRecord& endpoint) const;
  // Parks (or unparks) the live deliveries of an endpoint.
  void park(const std::string& endpoint_id, bool parked, TimeMs now);
  // Cancels the live deliveries of an endpoint; answers how many.
  int cancel_live(const std::string& endpoint_id, TimeMs now);
  // The body of sync_config_endpoints (sync_config runs it too); normalises `declared`.
  Result<ConfigSync> sync_endpoints_now(std::vector<EndpointRecord>& declared, TimeMs now);
  void list_of_kind(EndpointKind kind, std::string account_id, std::optional<std::string> cursor,
                    int limit, Callback<Page<EndpointRecord>> done);

  // Event Streams helpers, on the store thread (sqlite_streams.cpp).
  // `conflict` naming the rules that still feed destination `id`, if any.
  std::optional<Error> destination_in_use(const std::string& id);
  // append_events: the event's stream_pending rows.
  void insert_stream_pending(const EventRecord& event, const std::vector<StreamTarget>& streams);
  // Deletes the pending stream rows of a destination that goes away.
  void drop_stream_pending(const std::string& destination_id);
  Result<std::vector<RuleRecord>> read_all_rules();
  std::optional<RuleRecord> find_rule(const std::string& id);
  // `not_found`/`conflict` unless `rule` names an existing destination of its account.
  std::optional<Error> check_rule_destination(const RuleRecord& rule);

  // A delivery with its event's account, type and callback URL (sqlite_deliveries.cpp).
  Result<std::optional<DeliveryInfo>> find_delivery(const std::string& account_id,
                                                    const std::string& id);

  void enqueue(std::unique_ptr<Command> command);
  void run_thread();
  void execute(std::vector<std::unique_ptr<Command>>& batch);
  bool run_one(Command& command);
  bool run_group(std::vector<std::unique_ptr<Command>>& batch, std::size_t& i);
  // Runs the completions of a batch (through the Poster).
  void finish(std::vector<std::unique_ptr<Command>>& batch);
  // Queues a committed batch for a sync (durable: its WAL frames must reach the disk before its
  // completions run; help_syncers or a syncer makes it), or runs its completions now when
  // nothing waits for a sync.
  void after_commit(std::vector<std::unique_ptr<Command>>& batch, bool durable);
  void run_syncer();
  // One step of a syncer under sync_mu_ (held on entry and return): runs the completions of
  // what is synced or needs no sync, or (with may_sync) one fdatasync; kNone when neither is
  // to be done.
  enum class SyncStep { kNone, kFinished, kSynced };
  SyncStep sync_step(std::unique_lock<std::mutex>& lock, bool may_sync);
  // No claim, attempt result or other bookkeeping is queued for the store thread (urgent
  // commands may be).
  bool no_bookkeeping_queued();
  // The store thread, after each batch: runs the completions that are ready and makes the
  // fdatasync a durable commit waits for, unless the dispatcher is at work (see the class
  // comment); a syncer, woken here, makes it then.
  void help_syncers();
  // Opens the WAL for the syncers and syncs its directory (under sync_mu_, before the first
  // sync). A failure here or in sync_wal() (fdatasync of the WAL) ends the process: whether
  // acknowledged-to-be writes reached the disk cannot be known.
  void open_wal();
  void sync_wal();

  Poster post_;
  const Clock& clock_;
  std::optional<crypto::Sealer> sealer_;  // with SqliteOptions::secrets_key
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<Statements> st_;
  std::unique_ptr<StreamStatements> sst_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Command>> queue_;  // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_
  // Queued commands that are not bookkeeping (they end a linger), and whether the store thread
  // lingers for more bookkeeping (enqueue() then wakes it only when that ends the linger).
  std::size_t urgent_ = 0;  // guarded by mu_
  bool lingering_ = false;  // guarded by mu_

  std::mutex close_mu_;  // serialises close()
  std::thread thread_;

  std::atomic<std::uint64_t> write_transactions_{0};
  std::atomic<std::uint64_t> write_commands_{0};
  std::atomic<std::uint64_t> largest_batch_{0};
  std::atomic<std::uint64_t> relaxed_transactions_{0};
  std::atomic<std::uint64_t> wal_syncs_{0};
  std::atomic<std::uint64_t> store_thread_syncs_{0};
  std::atomic<std::uint64_t> savepoints_{0};
  std::atomic<std::uint64_t> group_replays_{0};
  // Store thread only: when a batch last held bookkeeping. The store thread leaves syncs to
  // the syncers while the dispatcher has been at work within kDispatcherQuiet.
  std::chrono::steady_clock::time_point last_bookkeeping_{};
  static constexpr std::chrono::milliseconds kDispatcherQuiet{100};
  bool fsync_ = true;  // SqliteOptions::fsync (off for ":memory:")

  // Syncing, by the store thread (help_syncers) or the syncer threads: committed batches in
  // commit order, each with whether it needs the WAL synced. A batch stays queued until its
  // completions run. Up to kSyncers fdatasync calls run at once: a transaction committed while one
  // runs starts the next at once instead of waiting for it to end. An fdatasync covers every batch
  // committed before it started.
  static constexpr int kSyncers = 2;
  struct Committed {
    std::vector<std::unique_ptr<Command>> batch;
    bool durable = false;
    std::uint64_t seq = 0;  // commit order
  };
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<Committed> sync_queue_;    // guarded by sync_mu_
  std::uint64_t committed_seq_ = 0;     // guarded by sync_mu_: the last batch queued
  std::uint64_t durable_seq_ = 0;       // guarded by sync_mu_: the last durable batch queued
  std::uint64_t sync_started_seq_ = 0;  // guarded by sync_mu_: covered by a started sync
  std::uint64_t synced_seq_ = 0;        // guarded by sync_mu_: covered by a finished sync
  int syncs_running_ = 0;               // guarded by sync_mu_
  bool finishing_ = false;              // guarded by sync_mu_: a thread runs completions
  bool sync_stopping_ = false;          // guarded by sync_mu_
  std::vector<std::thread> syncers_;
  std::string wal_path_;
  int wal_fd_ = -1;  // opened under sync_mu_ by the first sync
};

// open_sqlite_store() with an injected clock (tests).
std::unique_ptr<SqliteStore> open_sqlite_store(const SqliteOptions& options, Poster post,
                                               const Clock& clock);

}  // namespace korehook::store
