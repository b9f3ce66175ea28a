#include "store/sqlite_store.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "korehook/model/secret_lifecycle.hpp"
#include "store/at_rest.hpp"
#include "store/command.hpp"
#include "store/log.hpp"
#include "store/rows.hpp"
#include "store/schema.hpp"
#include "store/sqlite.hpp"
#include "store/statements.hpp"
#include "store/stream_statements.hpp"

namespace korehook::store {

using sqlite::Database;
using sqlite::Savepoint;
using sqlite::SqliteError;
using sqlite::Statement;
using sqlite::Transaction;

namespace {

// How long opening waits for another process to let go of the database (a korehookd that is
// exiting); once open, the store's connection is the only one.
constexpr int kBusyTimeoutMs = 2000;

// Creates the missing directories of `dir`, each with mode 0750.
void make_directories(const std::filesystem::path& dir) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0750) != 0 && errno != EEXIST) {
      throw std::runtime_error("cannot create directory '" + partial.string() +
                               "': " + std::strerror(errno));
    }
  }
}

// Creates the database file with mode 0640 if it does not exist yet (SQLite would use
// 0644, and the file holds secrets). SQLite gives its -wal and -shm files the same mode.
void create_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno != EEXIST) {
    throw std::runtime_error("cannot create '" + path + "': " + std::strerror(errno));
  }
}

}  // namespace

// --- Open, thread, close -----------------------------------------------------------------

SqliteStore::SqliteStore(const SqliteOptions& options, Poster post, const Clock& clock)
    : post_(std::move(post)), clock_(clock) {
  const std::string& path = options.path;
  try {
    sqlite::configure_sqlite();
    if (path != ":memory:") {
      auto parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) make_directories(parent);
      create_file(path);
    }
    db_ = std::make_unique<Database>(path);
    db_->set_busy_timeout(kBusyTimeoutMs);
    // One process has the database: its lock is taken below and held until the store closes.
    // A second korehookd on the same file would otherwise run beside the first, take over the
    // first one's attempts in flight (recover) and send them again. Set before the first
    // access, this also keeps the WAL index in memory (no -shm file) and spares SQLite's file
    // locks around every transaction; other processes cannot read the file meanwhile.
    db_->exec("PRAGMA locking_mode = EXCLUSIVE");
    try {
      // The first statement reads the header: a file that is not a database fails here.
      std::string mode = db_->query_text("PRAGMA journal_mode = WAL");
      if (mode != "wal" && path != ":memory:") {
        throw std::runtime_error("cannot switch to WAL mode (journal_mode is '" + mode + "')");
      }
      db_->exec("BEGIN EXCLUSIVE");
      db_->exec("COMMIT");
    } catch (const SqliteError& e) {
      if (e.primary_code() != SQLITE_BUSY) throw;
      throw std::runtime_error(
          "it is in use by another process (another korehookd with this store.path?): " +
          std::string(e.what()));
    }
    // COMMIT writes the WAL without waiting for the disk; with fsync on, a syncer thread's
    // fdatasync makes a transaction durable before its completions run (after_commit).
    // Checkpoints still sync the WAL and the database themselves.
    db_->exec("PRAGMA synchronous = NORMAL");
    wal_path_ = db_->filename();  // absolute, whatever the working directory becomes
    fsync_ = options.fsync && !wal_path_.empty();
    wal_path_ += "-wal";
    db_->exec("PRAGMA foreign_keys = ON");
    // Statement journals (which SQLite keeps for a statement that may fail halfway inside a
    // transaction) and temporary tables stay in memory. On a file they spilled past 64 KiB and
    // cost about two write calls per event in the drain benchmark.
    db_->exec("PRAGMA temp_store = MEMORY");
    int version = migrate(*db_, clock_.now_ms());
    if (options.secrets_key) {
      sealer_.emplace(*options.secrets_key);
      const int sealed = prepare_secrets_at_rest(*db_, *sealer_);
      if (sealed > 0) logger().info("secrets sealed at rest count={}", sealed);
    } else if (const int plain = count_plaintext_secrets(*db_); plain > 0) {
      logger().warn(
          "secrets stored in plain text count={}: configure secrets.key_file to seal them", plain);
    }
    st_ = std::make_unique<Statements>(*db_);
    sst_ = std::make_unique<StreamStatements>(*db_);
    logger().info("store opened path={} schema={} fsync={}", path, version, options.fsync);
  } catch (const std::exception& e) {
    sst_.reset();
    st_.reset();
    db_.reset();
    throw std::runtime_error("cannot open store '" + path + "': " + e.what());
  }
  for (int i = 0; i < kSyncers; ++i) syncers_.emplace_back([this] { run_syncer(); });
  thread_ = std::thread([this] { run_thread(); });
  // Named so that `top -H`, `ps -L` and /proc/PID/task/*/comm tell the store's threads apart;
  // named here rather than by each thread, so the names are set when the store is open.
  pthread_setname_np(thread_.native_handle(), "kh-store");
  for (auto& syncer : syncers_) pthread_setname_np(syncer.native_handle(), "kh-sync");
}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  std::lock_guard close_lock(close_mu_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      logger().error("close() called on the store thread; the store is closed by its owner");
      return;
    }
    thread_.join();
  }
  if (!syncers_.empty()) {
    {
      std::lock_guard lock(sync_mu_);
      sync_stopping_ = true;
    }
    sync_cv_.notify_all();
    // After the store thread: they sync and finish what that one committed.
    for (auto& syncer : syncers_) syncer.join();
    syncers_.clear();
  }
  if (wal_fd_ >= 0) {
    ::close(wal_fd_);
    wal_fd_ = -1;
  }
  // The last connection to close checkpoints the WAL.
  sst_.reset();
  st_.reset();
  db_.reset();
}

StoreStats SqliteStore::stats() const {
  return StoreStats{write_transactions_.load(), write_commands_.load(),
                    largest_batch_.load(),      relaxed_transactions_.load(),
                    wal_syncs_.load(),          store_thread_syncs_.load(),
                    savepoints_.load(),         group_replays_.load()};
}

namespace {

// Bookkeeping alone (attempt results, claims) waits this long for more commands before it
// runs, up to kLingerCommands of them: every commit writes each page it changed to the WAL
// again (two pwrite calls a page), so one transaction for many results writes the shared
// deliveries and attempts pages once. Any other command ends the wait at once, so neither an
// acknowledgement nor an API read waits for it.
constexpr auto kBookkeepingLinger = std::chrono::milliseconds(1);
constexpr std::size_t kLingerCommands = 64;

}  // namespace

void SqliteStore::enqueue(std::unique_ptr<Command> command) {
  bool wake = true;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      const bool urgent = !command->bookkeeping();
      if (urgent) ++urgent_;
      queue_.push_back(std::move(command));
      command = nullptr;
      wake = !lingering_ || urgent || queue_.size() >= kLingerCommands;
    }
  }
  if (command) {
    command->fail(store_error("the store is closed"));
    command->finish(post_);
    return;
  }
  if (wake) cv_.notify_one();
}

void SqliteStore::run_thread() {
  std::vector<std::unique_ptr<Command>> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      if (urgent_ == 0 && !stopping_ && queue_.size() < kLingerCommands) {
        lingering_ = true;
        cv_.wait_for(lock, kBookkeepingLinger, [this] {
          return stopping_ || urgent_ > 0 || queue_.size() >= kLingerCommands;
        });
        lingering_ = false;
      }
      batch.swap(queue_);
      urgent_ = 0;
    }
    if (batch.size() > largest_batch_.load()) largest_batch_ = batch.size();
    execute(batch);
    batch.clear();
    help_syncers();
  }
}

// Runs one command; false when SQLite rolled back the whole transaction (I/O error, full
// disk), so that the commands before it in the transaction are lost too.
bool SqliteStore::run_one(Command& command) {
  try {
    if (!command.writes()) {
      command.run();
    } else {
      Savepoint savepoint(*db_);
      ++savepoints_;
      if (command.run()) {
        savepoint.release();
      } else {
        savepoint.rollback();
      }
    }
  } catch (const SqliteError& e) {
    // The savepoint's destructor has undone what the command changed.
    command.fail(to_error(e));
  } catch (const std::exception& e) {
    command.fail(store_error(e.what()));
  }
  return db_->in_transaction();
}

// Runs the replayable write commands from batch[i] on under one savepoint. A savepoint costs
// more than its two statements: SQLite copies each page a command changes inside one to the
// statement journal first, so per-command savepoints copied the same hot pages (the tables'
// and indexes' last leaves) again for every append; a group copies them once. When a command
// of the group fails, the group is rolled back and its commands run again, each under its
// own savepoint, so that only that one fails. Advances i past the commands run; the result is
// run_one's.
bool SqliteStore::run_group(std::vector<std::unique_ptr<Command>>& batch, std::size_t& i) {
  auto in_group = [](const Command& c) { return c.writes() && c.replayable(); };
  std::size_t end = i;
  while (end < batch.size() && in_group(*batch[end])) ++end;
  if (end - i < 2) return run_one(*batch[i++]);
  std::size_t k = i;
  std::optional<Error> thrown;
  try {
    Savepoint savepoint(*db_);
    ++savepoints_;
    while (k < end && batch[k]->run()) ++k;
    if (k == end) {
      savepoint.release();
      i = end;
      return true;
    }
    savepoint.rollback();
  } catch (const SqliteError& e) {
    thrown = to_error(e);  // the savepoint's destructor has undone the group
  } catch (const std::exception& e) {
    thrown = store_error(e.what());
  }
  if (!db_->in_transaction()) {
    // SQLite rolled the whole transaction back (an I/O error, a full disk): what ran before
    // in it is lost, as with run_one. The command that failed is k, or the last one when
    // the RELEASE failed.
    const std::size_t failed = std::min(k, end - 1);
    if (thrown) batch[failed]->fail(std::move(*thrown));
    i = failed + 1;
    return false;
  }
  ++group_replays_;
  while (i < end) {
    if (!run_one(*batch[i++])) return false;
  }
  return true;
}

void SqliteStore::execute(std::vector<std::unique_ptr<Command>>& batch) {
  const bool writes =
      std::any_of(batch.begin(), batch.end(), [](const auto& c) { return c->writes(); });
  // Bookkeeping alone does not wait for an fsync (Access::kBookkeeping).
  const bool durable =
      std::any_of(batch.begin(), batch.end(), [](const auto& c) { return c->durable(); });
  if (std::any_of(batch.begin(), batch.end(), [](const auto& c) { return c->bookkeeping(); })) {
    last_bookkeeping_ = std::chrono::steady_clock::now();
  }
  // Every command in [from, to) that has not failed on its own (and keeps its own error)
  // is failed with `error`: its transaction did not commit, or it never ran.
  auto fail_range = [&](size_t from, size_t to, const Error& error) {
    for (size_t k = from; k < to; ++k) {
      if (!batch[k]->failed()) batch[k]->fail(error);
    }
  };

  size_t i = 0;
  while (i < batch.size()) {
    const size_t start = i;
    try {
      Transaction tx(*db_, writes ? Transaction::Mode::kImmediate : Transaction::Mode::kDeferred);
      bool aborted = false;
      while (i < batch.size() && !aborted) {
        aborted = batch[i]->replayable() ? !run_group(batch, i) : !run_one(*batch[i++]);
      }
      if (aborted) {
        fail_range(start, i - 1, store_error("transaction rolled back: " + db_->error_message()));
        continue;  // the rest gets a new transaction
      }
      tx.commit();
      if (writes) {
        ++write_transactions_;
        if (fsync_ && !durable) ++relaxed_transactions_;
        write_commands_ += static_cast<std::uint64_t>(
            std::count_if(batch.begin() + static_cast<std::ptrdiff_t>(start), batch.end(),
                          [](const auto& c) { return c->writes(); }));
      }
    } catch (const SqliteError& e) {
      // BEGIN or COMMIT failed: nothing since `start` is durable. When BEGIN failed, no
      // command ran; they all fail rather than retrying forever.
      if (i == start) i = batch.size();
      fail_range(start, i, to_error(e));
    }
  }

  for (auto& command : batch) command->release();
  after_commit(batch, writes && durable && fsync_);
}

void SqliteStore::finish(std::vector<std::unique_ptr<Command>>& batch) {
  for (auto& command : batch) {
    try {
      command->finish(post_);
    } catch (const std::exception& e) {
      logger().error("completion threw op={} msg=\"{}\"", command->name(), e.what());
    }
  }
}

void SqliteStore::after_commit(std::vector<std::unique_ptr<Command>>& batch, bool durable) {
  bool queued = false;
  {
    std::lock_guard lock(sync_mu_);
    // Behind a batch that waits for its sync, any batch waits too: completions keep the
    // commit order (a claim must not hand out deliveries of an append not yet durable).
    if (durable || finishing_ || !sync_queue_.empty()) {
      sync_queue_.push_back(Committed{std::move(batch), durable, ++committed_seq_});
      if (durable) durable_seq_ = committed_seq_;
      queued = true;
    }
  }
  // The store thread syncs and finishes this itself, or wakes a syncer (help_syncers).
  if (queued) {
    batch.clear();
  } else {
    finish(batch);
  }
}

SqliteStore::SyncStep SqliteStore::sync_step(std::unique_lock<std::mutex>& lock, bool may_sync) {
  // The completions of what is on disk (or needs no sync), in commit order, by one thread
  // at a time.
  if (!finishing_) {
    std::vector<Committed> done;
    while (!sync_queue_.empty() &&
           (!sync_queue_.front().durable || sync_queue_.front().seq <= synced_seq_)) {
      done.push_back(std::move(sync_queue_.front()));
      sync_queue_.pop_front();
    }
    if (!done.empty()) {
      finishing_ = true;
      lock.unlock();
      for (auto& committed : done) finish(committed.batch);
      done.clear();
      lock.lock();
      finishing_ = false;
      // The caller comes back for what became ready meanwhile; a closing store's syncers wait
      // for the queue to empty.
      if (sync_stopping_) sync_cv_.notify_all();
      return SyncStep::kFinished;
    }
  }
  // One fdatasync for every transaction committed since the last one started.
  if (may_sync && durable_seq_ > sync_started_seq_ && syncs_running_ < kSyncers) {
    const std::uint64_t covers = committed_seq_;
    sync_started_seq_ = covers;
    ++syncs_running_;
    if (wal_fd_ < 0) open_wal();
    lock.unlock();
    sync_wal();
    lock.lock();
    --syncs_running_;
    synced_seq_ = std::max(synced_seq_, covers);
    return SyncStep::kSynced;
  }
  return SyncStep::kNone;
}

void SqliteStore::run_syncer() {
  std::unique_lock lock(sync_mu_);
  for (;;) {
    if (sync_step(lock, true) != SyncStep::kNone) continue;
    // Everything committed is finished. (Only finishing empties the queue; while the store
    // closes, the thread that finishes wakes the waiting syncers, as close() does when it
    // sets sync_stopping_.)
    if (sync_stopping_ && sync_queue_.empty()) return;
    sync_cv_.wait(lock);
  }
}

bool SqliteStore::no_bookkeeping_queued() {
  std::lock_guard lock(mu_);
  return queue_.size() == urgent_;
}

void SqliteStore::help_syncers() {
  std::unique_lock lock(sync_mu_);
  for (;;) {
    // Lock order: sync_mu_, then mu_.
    const bool may_sync = no_bookkeeping_queued() &&
                          std::chrono::steady_clock::now() - last_bookkeeping_ >= kDispatcherQuiet;
    const SyncStep step = sync_step(lock, may_sync);
    if (step == SyncStep::kSynced) ++store_thread_syncs_;
    if (step != SyncStep::kNone) continue;
    // The dispatcher is at work: its commands go on, and a syncer makes the fdatasync (an
    // inline one held claims and results behind it: measured, the drain beside a dead
    // endpoint slowed by about a tenth).
    if (durable_seq_ > sync_started_seq_ && syncs_running_ < kSyncers) sync_cv_.notify_one();
    return;
  }
}

namespace {

[[noreturn]] void fatal_sync(const char* what, const std::string& path) {
  const int err = errno;
  logger().critical(
      "{} {} failed: {}: writes about to be acknowledged may not be on disk; stopping", what, path,
      std::strerror(err));
  std::abort();
}

}  // namespace

void SqliteStore::open_wal() {
  // The WAL exists: a transaction was committed in WAL mode. Its directory entry is synced
  // once, as SQLite does for a journal it created.
  wal_fd_ = ::open(wal_path_.c_str(), O_RDWR | O_CLOEXEC);
  if (wal_fd_ < 0) fatal_sync("opening", wal_path_);
  const auto dir = std::filesystem::path(wal_path_).parent_path();
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) fatal_sync("syncing the directory of", wal_path_);
  ::close(dir_fd);
}

void SqliteStore::sync_wal() {
  if (::fdatasync(wal_fd_) != 0) fatal_sync("fdatasync of", wal_path_);
  ++wal_syncs_;
}

// --- Commands ----------------------------------------------------------------------------

Result<int> SqliteStore::recover(TimeMs now) {
  std::promise<Result<int>> promise;
  auto future = promise.get_future();
  enqueue(make_op<int>(
      "recover", kWrite,
      [this, now]() -> Result<int> {
        std::int64_t parked = 0;
        {
          auto row = st_->count_parked.use();
          row.bind(kLeaseParked);
          if (row.next()) parked = row.get_int(0);
        }
        st_->recover.use().bind(now).exec();
        // Parked deliveries were reset too, but they were waiting, not interrupted.
        const auto recovered = static_cast<int>(db_->changes() - parked);
        st_->park_disabled.use().bind(now).bind(kLeaseParked).exec();
        return recovered;
      },
      [&promise](Result<int> r) { promise.set_value(std::move(r)); }, Completion::kDirect));
  return future.get();
}

void SqliteStore::append_events(std::vector<NewEvent> events,
                                Callback<std::vector<AppendResult>> done) {
  // One command, so one savepoint: the whole vector is committed or nothing.
  auto body = [this, events = std::move(events)]() -> Result<std::vector<AppendResult>> {
    std::vector<AppendResult> out;
    out.reserve(events.size());
    for (const auto& ne : events) {
      const EventRecord& e = ne.event;
      if (e.idempotency_key) {
        auto row = st_->find_idempotent.use();
        row.bind(e.account_id).bind(*e.idempotency_key);
        if (row.next()) {
          out.push_back(AppendResult{row.get_text(0), false});
          continue;
        }
      }
      // The strings are the command's own (`events`), so SQLite reads them in place. The
      // account's foreign key is the check that it exists: no lookup of its own per event.
      try {
        st_->insert_event.use()
            .bind_unowned(e.id)
            .bind_unowned(e.account_id)
            .bind_unowned(e.type)
            .bind_unowned(e.content_type)
            .bind_blob_unowned(e.body)
            .bind_unowned(e.idempotency_key)
            .bind_unowned(e.callback_url)
            .bind(e.created_at)
            .exec();
      } catch (const sqlite::SqliteError& error) {
        if (error.extended_code() != SQLITE_CONSTRAINT_FOREIGNKEY) throw;
        return Error{"not_found", "account '" + e.account_id + "' does not exist"};
      }
      for (const auto& d : ne.deliveries) {
        st_->insert_delivery.use()
            .bind_unowned(d.id)
            .bind_unowned(e.id)
            .bind_unowned(d.endpoint_id)
            .bind_unowned(d.token)
            .bind(to_int(d.state))
            .bind(std::int64_t{d.attempt_count})
            .bind(std::int64_t{d.cycle_start})
            .bind(d.next_attempt_at)
            .bind(ne.lease_until)
            .bind(e.created_at)
            .bind(e.created_at)
            .exec();
      }
      insert_stream_pending(e, ne.streams);
      out.push_back(AppendResult{e.id, true});
    }
    return out;
  };
  auto op =
      make_op<std::vector<AppendResult>>("append_events", kWrite, std::move(body), std::move(done));
  op->set_replayable();
  enqueue(std::move(op));
}

// Runs `statement` (bound to `now, id`) for each delivery id, with no callback: finish()
// logs a failure. For the fire-and-forget state changes of the dispatcher.
void SqliteStore::update_each(const char* op, sqlite::Statement Statements::*statement,
                              std::vector<std::string> delivery_ids) {
  if (delivery_ids.empty()) return;
  auto body = [this, statement, ids = std::move(delivery_ids)]() -> Result<Unit> {
    const TimeMs now = clock_.now_ms();
    for (const auto& id : ids) ((*st_).*statement).use().bind(now).bind(id).exec();
    return Unit{};
  };
  auto command = make_op<Unit>(op, kBookkeeping, std::move(body), Callback<Unit>{});
  command->set_replayable();
  enqueue(std::move(command));
}

void SqliteStore::cancel_deliveries(std::vector<std::string> delivery_ids) {
  update_each("cancel_deliveries", &Statements::cancel_delivery, std::move(delivery_ids));
}

void SqliteStore::complete_attempts(std::vector<AttemptDone> results, Callback<Unit> done) {
  auto body = [this, results = std::move(results)]() -> Result<Unit> {
    const TimeMs now = clock_.now_ms();
    for (const auto& r : results) {
      const AttemptRecord& a = r.attempt;
      st_->complete_delivery.use()
          .bind(to_int(r.new_state))
          .bind(std::int64_t{a.number})
          .bind(r.next_attempt_at)
          .bind(r.lease_until)
          .bind(now)
          .bind_unowned(a.delivery_id)
          .exec();
      if (db_->changes() == 0) {
        // One bad result must not undo the others of the batch.
        logger().warn("attempt result for unknown delivery={} dropped", a.delivery_id);
        continue;
      }
      auto insert = st_->insert_attempt.use();
      insert.bind_unowned(a.delivery_id)
          .bind(std::int64_t{a.number})
          .bind(a.started_at)
          .bind(a.duration_ms);
      if (a.status_code) {
        insert.bind(std::int64_t{*a.status_code});
      } else {
        insert.bind_null();
      }
      if (a.error == retry::ErrorClass::kNone) {
        insert.bind_null();
      } else {
        insert.bind(retry::to_string(a.error));
      }
      // The headers' JSON is a temporary, bound as a copy.
      insert.bind_unowned(a.error_detail)
          .bind(response_headers_to_json(a.response_headers))
          .bind_blob_unowned(a.response_excerpt)
          .exec();
      if (db_->changes() == 0) {
        logger().warn("delivery={} attempt={} was recorded already; the first record is kept",
                      a.delivery_id, a.number);
      }
    }
    return Unit{};
  };
  auto op = make_op<Unit>("complete_attempts", kBookkeeping, std::move(body), std::move(done));
  op->set_replayable();
  enqueue(std::move(op));
}

void SqliteStore::claim_due(TimeMs now, TimeMs due_before, int limit, TimeMs lease_until,
                            std::vector<std::string> exclude, Callback<std::vector<Work>> done) {
  auto body = [this, now, due_before, limit, lease_until,
               exclude = id_list_json(exclude)]() -> Result<std::vector<Work>> {
    std::vector<Work> out;
    std::string rowids = "[";
    std::unordered_map<std::string, std::shared_ptr<const Payload>> payloads;
    {
      auto row = st_->due_work.use();
      row.bind(now).bind(due_before).bind(std::int64_t{std::max(limit, 0)}).bind(exclude);
      while (row.next()) {
        if (rowids.size() > 1) rowids += ',';
        rowids += std::to_string(row.get_int(0));
        Work w{read_delivery(row, 1), nullptr};
        w.delivery.updated_at = now;  // as kLeaseRows writes it
        auto& payload = payloads[w.delivery.event_id];
        if (!payload) {
          payload = std::make_shared<const Payload>(
              Payload{w.delivery.event_id, row.get_text(11), row.get_text(12), row.get_text(13),
                      row.get_blob(14), row.get_optional_text(15)});
        }
        w.payload = payload;
        out.push_back(std::move(w));
      }
    }
    rowids += ']';
    if (!out.empty()) st_->lease_rows.use().bind(lease_until).bind(now).bind(rowids).exec();
    return out;
  };
  enqueue(make_op<std::vector<Work>>("claim_due", kBookkeeping, std::move(body), std::move(done)));
}

void SqliteStore::next_unleased_due(TimeMs now, std::vector<std::string> exclude,
                                    Callback<std::optional<TimeMs>> done) {
  auto body = [this, now, exclude = id_list_json(exclude)]() -> Result<std::optional<TimeMs>> {
    auto row = st_->next_unleased_due.use();
    row.bind(now).bind(exclude);
    if (!row.next()) return std::optional<TimeMs>{};
    return std::optional<TimeMs>{row.get_int(0)};
  };
  enqueue(
      make_op<std::optional<TimeMs>>("next_unleased_due", kRead, std::move(body), std::move(done)));
}

void SqliteStore::get_event(std::string account_id, std::string event_id,
                            Callback<std::optional<EventView>> done) {
  auto body = [this, account_id = std::move(account_id),
               event_id = std::move(event_id)]() -> Result<std::optional<EventView>> {
    EventView view;
    {
      auto row = st_->get_event.use();
      row.bind(event_id).bind(account_id);
      if (!row.next()) return std::optional<EventView>{};
      EventRecord& e = view.event;
      e.id = row.get_text(0);
      e.account_id = row.get_text(1);
      e.type = row.get_text(2);
      e.content_type = row.get_text(3);
      e.body = row.get_blob(4);
      e.idempotency_key = row.get_optional_text(5);
      e.callback_url = row.get_optional_text(6);
      e.created_at = row.get_int(7);
    }
    {
      auto row = st_->event_deliveries.use();
      row.bind(event_id);
      while (row.next()) view.deliveries.push_back(DeliveryView{read_delivery(row), {}});
    }
    for (auto& dv : view.deliveries) dv.attempts = st_->attempts_of(dv.delivery.id);
    return std::optional<EventView>{std::move(view)};
  };
  enqueue(make_op<std::optional<EventView>>("get_event", kRead, std::move(body), std::move(done)));
}

void SqliteStore::account_exists(std::string account_id, Callback<bool> done) {
  auto body = [this, account_id = std::move(account_id)]() -> Result<bool> {
    return st_->account_known(account_id);
  };
  enqueue(make_op<bool>("account_exists", kRead, std::move(body), std::move(done)));
}

void SqliteStore::create_secret(SecretRecord proto, Callback<SecretRecord> done) {
  auto body = [this, s = std::move(proto)]() mutable -> Result<SecretRecord> {
    if (!sealer_) return key_required("secrets");
    if (!st_->account_known(s.account_id)) {
      return Error{"not_found", "account '" + s.account_id + "' does not exist"};
    }
    const bool has_active =
        st_->secret_id_with_status(s.account_id, SecretStatus::kActive).has_value();
    const bool has_pending =
        st_->secret_id_with_status(s.account_id, SecretStatus::kPending).has_value();
    const CreatePlan plan = plan_secret_create(has_active, has_pending);
    if (plan.disable_existing_pending) {
      st_->disable_by_status.use()
          .bind(s.created_at)
          .bind(s.account_id)
          .bind(to_int(SecretStatus::kPending))
          .bind(std::int64_t{0})
          .exec();
    }
    s.status = plan.new_status;
    s.last_modified = s.created_at;
    st_->insert_secret.use()
        .bind(s.id)
        .bind(s.account_id)
        .bind(s.name)
        .bind(sealer_->seal(s.value, secret_context(s.id)))
        .bind(to_int(s.status))
        .bind(s.created_at)
        .bind(s.last_modified)
        .exec();
    return s;  // the only answer that carries the value
  };
  enqueue(make_op<SecretRecord>("create_secret", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::list_secrets(std::string account_id, std::optional<SecretStatus> status,
                               int page_number, int page_size, Callback<SecretPage> done) {
  auto body = [this, account_id = std::move(account_id), status, page_number,
               page_size]() -> Result<SecretPage> {
    if (!sealer_) return key_required("secrets");
    const std::int64_t size = std::max(page_size, 1);
    const std::int64_t offset = (std::int64_t{std::max(page_number, 1)} - 1) * size;
    auto bind_filter = [&](Statement::Use& use) {
      use.bind(account_id);
      if (status) {
        use.bind(to_int(*status));
      } else {
        use.bind_null();
      }
    };
    SecretPage page;
    {
      auto row = st_->count_secrets.use();
      bind_filter(row);
      if (row.next()) page.total = static_cast<int>(row.get_int(0));
    }
    auto row = st_->list_secrets.use();
    bind_filter(row);
    row.bind(size).bind(offset);
    while (row.next()) {
      page.items.push_back(read_secret(row));
      page.items.back().value.clear();  // shown only in the create response
    }
    return page;
  };
  enqueue(make_op<SecretPage>("list_secrets", kRead, std::move(body), std::move(done)));
}

void SqliteStore::update_secret(std::string account_id, std::string secret_id,
                                std::optional<std::string> name, std::optional<SecretStatus> status,
                                Millis overlap, TimeMs now, Callback<SecretRecord> done) {
  auto body = [this, account_id = std::move(account_id), secret_id = std::move(secret_id),
               name = std::move(name), status, overlap, now]() -> Result<SecretRecord> {
    if (!sealer_) return key_required("secrets");
    auto current = st_->find_secret(account_id, secret_id);
    if (!current) return Error{"not_found", "secret '" + secret_id + "' does not exist"};
    if (status) {
      auto active_id = st_->secret_id_with_status(account_id, SecretStatus::kActive);
      const bool other_active = active_id && *active_id != secret_id;
      auto plan = plan_secret_status_change(current->status, *status, other_active);
      if (!plan) return plan.error();
      if (plan->change) {
        // Disable first: the unique index allows one active secret per account.
        if (plan->disable_current_active) {
          st_->disable_by_status.use()
              .bind(now)
              .bind(account_id)
              .bind(to_int(SecretStatus::kActive))
              .bind(overlap.count() > 0 ? now + overlap.count() : std::int64_t{0})
              .exec();
        }
        st_->set_secret_status.use().bind(to_int(*status)).bind(now).bind(secret_id).exec();
      }
    }
    if (name) st_->set_secret_name.use().bind(*name).bind(now).bind(secret_id).exec();
    auto updated = st_->find_secret(account_id, secret_id);
    if (!updated) return store_error("secret vanished during update");
    updated->value.clear();  // shown only in the create response
    return std::move(*updated);
  };
  enqueue(make_op<SecretRecord>("update_secret", kWrite, std::move(body), std::move(done)));
}

void SqliteStore::signing_keys(Callback<std::map<std::string, sign::SigningKeys>> done) {
  auto body = [this]() -> Result<std::map<std::string, sign::SigningKeys>> {
    std::map<std::string, sign::SigningKeys> keys;
    auto row = st_->signing_secrets.use();
    row.bind(clock_.now_ms());
    while (row.next()) {
      if (!sealer_) return key_required("secrets");
      const std::string id = row.get_text(1);
      auto value = sealer_->open(row.get_text(2), secret_context(id));
      if (!value) {
        return store_error("secret '" + id + "' cannot be opened: " + value.error().message);
      }
      sign::SigningKeys& k = keys[row.get_text(0)];
      if (row.get_int(3) == to_int(SecretStatus::kActive)) {
        k.active = std::move(*value);
      } else {  // in overlap; ordered so that the latest overlap_until comes last
        k.previous = std::move(*value);
        k.previous_until = row.get_int(4);
      }
    }
    std::erase_if(keys, [](const auto& entry) { return !entry.second.active; });
    return keys;
  };
  enqueue(make_op<std::map<std::string, sign::SigningKeys>>("signing_keys", kRead, std::move(body),
                                                            std::move(done)));
}

// --- Factories ---------------------------------------------------------------------------

std::unique_ptr<SqliteStore> open_sqlite_store(const SqliteOptions& options, Poster post,
                                               const Clock& clock) {
  return std::make_unique<SqliteStore>(options, std::move(post), clock);
}

std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options, Poster post) {
  static const SystemClock clock;
  return open_sqlite_store(options, std::move(post), clock);
}

}  // namespace korehook::store
