#include "store/sqlite.hpp"

#include <sqlite3.h>

#include <mutex>

#include "store/log.hpp"
#include "store/sqlite_vfs.hpp"

namespace korehook::store {

namespace sqlite {

namespace {

// SQLite's own diagnostics (e.g. "statement aborts at 5: [INSERT ...] ...", recovered WAL
// frames, a corrupt page). Statements only ever carry `?` parameters, so no body or secret
// value can appear in these messages.
void log_callback(void* /*unused*/, int code, const char* message) {
  auto& log = logger();
  switch (code & 0xff) {
    case SQLITE_NOTICE:
      log.info("sqlite code={} msg=\"{}\"", code, message);
      break;
    case SQLITE_WARNING:
      log.warn("sqlite code={} msg=\"{}\"", code, message);
      break;
    case SQLITE_CONSTRAINT:
    case SQLITE_SCHEMA:
      // Reported to the caller as a result; the log line is only for debugging.
      log.debug("sqlite code={} msg=\"{}\"", code, message);
      break;
    default:
      log.error("sqlite code={} msg=\"{}\"", code, message);
      break;
  }
}

std::string describe(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (sqlite code ";
  msg += std::to_string(rc);
  msg += ")";
  return msg;
}

}  // namespace

bool SqliteError::is_constraint() const { return primary_code() == SQLITE_CONSTRAINT; }

void configure_sqlite() {
  static std::once_flag once;
  std::call_once(once, [] {
    // SQLite was initialised before we got here if these fail (sqlite3_config only works
    // before); both are then left as they were.
    int rc = sqlite3_config(SQLITE_CONFIG_LOG, &log_callback, nullptr);
    if (rc != SQLITE_OK) {
      logger().warn("sqlite log not routed code={} msg=\"{}\"", rc, sqlite3_errstr(rc));
    }
    // Memory statistics take a global mutex on every allocation (about 4 % of the drain
    // benchmark's instructions); nothing reads them.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  });
}

// --- Statement ---------------------------------------------------------------------------

Statement::Statement(Database& db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    std::string what = "preparing [";
    what += sql.substr(0, 80);
    what += "]";
    throw SqliteError(sqlite3_extended_errcode(db.handle()), describe(db.handle(), rc, what));
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::fail(int rc, std::string_view what) const {
  std::string context(what);
  context += " [";
  context += std::string_view(sqlite3_sql(stmt_)).substr(0, 80);
  context += "]";
  int code = sqlite3_extended_errcode(db_.handle());
  throw SqliteError(code != SQLITE_OK ? code : rc, describe(db_.handle(), rc, context));
}

Statement::Use::~Use() {
  sqlite3_reset(s_.stmt_);
  sqlite3_clear_bindings(s_.stmt_);
}

Statement::Use& Statement::Use::bind(std::int64_t v) {
  int rc = sqlite3_bind_int64(s_.stmt_, next_param_++, v);
  if (rc != SQLITE_OK) s_.fail(rc, "binding");
  return *this;
}

// `lifetime`: SQLITE_TRANSIENT (SQLite copies the bytes now) or SQLITE_STATIC (it reads them in
// place until the bindings are cleared).
Statement::Use& Statement::Use::bind_text(std::string_view text, void (*lifetime)(void*)) {
  // A null data pointer would bind NULL: point empty strings at a literal.
  const char* data = text.empty() ? "" : text.data();
  int rc = sqlite3_bind_text64(s_.stmt_, next_param_++, data, text.size(), lifetime, SQLITE_UTF8);
  if (rc != SQLITE_OK) s_.fail(rc, "binding");
  return *this;
}

Statement::Use& Statement::Use::bind_bytes(std::string_view bytes, void (*lifetime)(void*)) {
  int rc = bytes.empty()
               ? sqlite3_bind_zeroblob(s_.stmt_, next_param_++, 0)
               : sqlite3_bind_blob64(s_.stmt_, next_param_++, bytes.data(), bytes.size(), lifetime);
  if (rc != SQLITE_OK) s_.fail(rc, "binding");
  return *this;
}

Statement::Use& Statement::Use::bind(std::string_view text) {
  return bind_text(text, SQLITE_TRANSIENT);
}

Statement::Use& Statement::Use::bind(const std::optional<std::string>& text) {
  return text ? bind(std::string_view(*text)) : bind_null();
}

Statement::Use& Statement::Use::bind_blob(std::string_view bytes) {
  return bind_bytes(bytes, SQLITE_TRANSIENT);
}

Statement::Use& Statement::Use::bind_unowned(std::string_view text) {
  return bind_text(text, SQLITE_STATIC);
}

Statement::Use& Statement::Use::bind_unowned(const std::optional<std::string>& text) {
  return text ? bind_unowned(std::string_view(*text)) : bind_null();
}

Statement::Use& Statement::Use::bind_blob_unowned(std::string_view bytes) {
  return bind_bytes(bytes, SQLITE_STATIC);
}

Statement::Use& Statement::Use::bind_null() {
  int rc = sqlite3_bind_null(s_.stmt_, next_param_++);
  if (rc != SQLITE_OK) s_.fail(rc, "binding");
  return *this;
}

bool Statement::Use::next() {
  int rc = sqlite3_step(s_.stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  s_.fail(rc, "executing");
}

void Statement::Use::exec() {
  while (next()) {
  }
}

bool Statement::Use::is_null(int col) const {
  return sqlite3_column_type(s_.stmt_, col) == SQLITE_NULL;
}

std::int64_t Statement::Use::get_int(int col) const { return sqlite3_column_int64(s_.stmt_, col); }

std::string Statement::Use::get_text(int col) const {
  const auto* p = sqlite3_column_text(s_.stmt_, col);
  int n = sqlite3_column_bytes(s_.stmt_, col);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
                      : std::string();
}

std::string Statement::Use::get_blob(int col) const {
  const void* p = sqlite3_column_blob(s_.stmt_, col);
  int n = sqlite3_column_bytes(s_.stmt_, col);
  return p != nullptr ? std::string(static_cast<const char*>(p), static_cast<size_t>(n))
                      : std::string();
}

std::optional<std::string> Statement::Use::get_optional_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return get_text(col);
}

// --- Database ----------------------------------------------------------------------------

Database::Database(const std::string& path) {
  configure_sqlite();
  int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, coalescing_vfs_name());
  if (rc != SQLITE_OK) {
    std::string msg = describe(db_, rc, "opening");
    sqlite3_close(db_);
    db_ = nullptr;
    throw SqliteError(rc, msg);
  }
}

Database::~Database() {
  // Statements first: sqlite3_close refuses to close a connection with live statements.
  begin_immediate_.reset();
  begin_deferred_.reset();
  commit_.reset();
  rollback_.reset();
  savepoint_.reset();
  release_.reset();
  rollback_to_.reset();
  if (int rc = sqlite3_close(db_); rc != SQLITE_OK) {
    logger().error("sqlite close failed code={} msg=\"{}\"", rc, sqlite3_errmsg(db_));
  }
}

void Database::exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    int code = sqlite3_extended_errcode(db_);
    throw SqliteError(code != SQLITE_OK ? code : rc,
                      msg + " (sqlite code " + std::to_string(rc) + ")");
  }
}

std::string Database::query_text(const std::string& sql) {
  Statement s(*this, sql);
  auto use = s.use();
  return use.next() ? use.get_text(0) : std::string();
}

void Database::set_busy_timeout(int ms) { sqlite3_busy_timeout(db_, ms); }

std::string Database::filename() const {
  const char* name = sqlite3_db_filename(db_, "main");
  return name != nullptr ? name : "";
}

std::int64_t Database::changes() const { return sqlite3_changes64(db_); }

bool Database::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

std::string Database::error_message() const { return sqlite3_errmsg(db_); }

// --- Transaction, Savepoint --------------------------------------------------------------

namespace {

void run(Database& db, std::unique_ptr<Statement>& cached, std::string_view sql) {
  if (!cached) cached = std::make_unique<Statement>(db, sql);
  cached->use().exec();
}

}  // namespace

Transaction::Transaction(Database& db, Mode mode) : db_(db) {
  if (mode == Mode::kImmediate) {
    run(db_, db_.begin_immediate_, "BEGIN IMMEDIATE");
  } else {
    run(db_, db_.begin_deferred_, "BEGIN");
  }
}

Transaction::~Transaction() {
  if (done_ || !db_.in_transaction()) return;
  try {
    run(db_, db_.rollback_, "ROLLBACK");
  } catch (const SqliteError& e) {
    logger().error("rollback failed msg=\"{}\"", e.what());
  }
}

void Transaction::commit() {
  run(db_, db_.commit_, "COMMIT");
  done_ = true;
}

Savepoint::Savepoint(Database& db) : db_(db) { run(db_, db_.savepoint_, "SAVEPOINT cmd"); }

Savepoint::~Savepoint() {
  if (done_) return;
  try {
    rollback();
  } catch (const SqliteError& e) {
    logger().error("rollback to savepoint failed msg=\"{}\"", e.what());
  }
}

void Savepoint::release() {
  run(db_, db_.release_, "RELEASE cmd");
  done_ = true;
}

void Savepoint::rollback() {
  done_ = true;
  // After an I/O error or a full disk SQLite may already have rolled the whole
  // transaction back; there is then nothing left to undo.
  if (!db_.in_transaction()) return;
  run(db_, db_.rollback_to_, "ROLLBACK TO cmd");
  run(db_, db_.release_, "RELEASE cmd");
}

}  // namespace sqlite
}  // namespace korehook::store
