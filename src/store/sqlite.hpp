#pragma once

// Private RAII wrappers around the SQLite C API (in the manner of Nix's libstore wrapper).
// `sqlite3` and `sqlite3_stmt` are forward-declared so <sqlite3.h> stays in sqlite.cpp.
//
// Errors are thrown as SqliteError, which carries SQLite's extended result code. The
// exceptions never leave the store: the store thread catches them at the boundary of each
// command and turns them into Result errors; open_sqlite_store turns them into
// std::runtime_error at startup.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace korehook::store::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(int extended_code, const std::string& message)
      : std::runtime_error(message), extended_code_(extended_code) {}

  int extended_code() const { return extended_code_; }
  int primary_code() const { return extended_code_ & 0xff; }
  bool is_constraint() const;

 private:
  int extended_code_;
};

// Process-wide SQLite settings, once (later calls are no-ops): SQLite's error log goes to the
// "store" spdlog logger, and memory statistics are off. Database's constructor calls it; it
// takes effect only if nothing in the process used SQLite before.
void configure_sqlite();

class Database;

// A prepared statement, prepared once and reused. Not thread-safe (like its connection).
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // One execution of the statement: bind parameters (1-based, in order), step, read columns.
  // The statement is reset and its bindings cleared when the Use goes out of scope.
  class Use {
   public:
    explicit Use(Statement& s) : s_(s) {}
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

    Use& bind(std::int64_t v);
    Use& bind(std::string_view text);  // TEXT; an empty string stays '' (never NULL)
    Use& bind(const std::string& text) { return bind(std::string_view(text)); }
    Use& bind(const char* text) { return bind(std::string_view(text)); }
    Use& bind(const std::optional<std::string>& text);  // TEXT or NULL
    Use& bind_blob(std::string_view bytes);             // BLOB; empty stays x''
    // As bind and bind_blob, but SQLite reads the bytes where they are instead of copying
    // them (SQLITE_STATIC): they must stay valid and unchanged until this Use is destroyed (its
    // destructor clears the bindings). For the hot statements, whose strings are members of a
    // command that outlives them; never for a temporary bound before a later step.
    Use& bind_unowned(std::string_view text);
    Use& bind_unowned(const std::string& text) { return bind_unowned(std::string_view(text)); }
    Use& bind_unowned(const std::optional<std::string>& text);
    Use& bind_blob_unowned(std::string_view bytes);
    Use& bind_null();

    // Steps once: true when a row is available, false when done.
    bool next();
    // Steps to the end (for statements that return no rows).
    void exec();

    bool is_null(int col) const;
    std::int64_t get_int(int col) const;
    std::string get_text(int col) const;
    std::string get_blob(int col) const;
    std::optional<std::string> get_optional_text(int col) const;

   private:
    Use& bind_text(std::string_view text, void (*lifetime)(void*));
    Use& bind_bytes(std::string_view bytes, void (*lifetime)(void*));

    Statement& s_;
    int next_param_ = 1;
  };

  Use use() { return Use(*this); }

 private:
  friend class Use;
  [[noreturn]] void fail(int rc, std::string_view what) const;

  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// One connection. Not thread-safe: owned by one thread at a time.
class Database {
 public:
  // Opens (creating if missing) the database at `path`. Throws SqliteError.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }

  // Runs one or more statements without results (pragmas, DDL). Throws SqliteError.
  void exec(const std::string& sql);
  // The first column of the first row as text (for pragmas that answer a value).
  std::string query_text(const std::string& sql);

  void set_busy_timeout(int ms);
  // The absolute path of the main database file ("" for an in-memory database).
  std::string filename() const;
  std::int64_t changes() const;
  bool in_transaction() const;  // false once SQLite rolled a transaction back on its own

  // SQLite's message for the last error on this connection.
  std::string error_message() const;

 private:
  friend class Transaction;
  friend class Savepoint;

  sqlite3* db_ = nullptr;
  // Transaction control statements, prepared on first use and cached.
  std::unique_ptr<Statement> begin_immediate_, begin_deferred_, commit_, rollback_;
  std::unique_ptr<Statement> savepoint_, release_, rollback_to_;
};

// BEGIN ... COMMIT; rolls back on destruction unless committed.
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };
  Transaction(Database& db, Mode mode);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();  // throws SqliteError (the transaction is then rolled back)

 private:
  Database& db_;
  bool done_ = false;
};

// SAVEPOINT inside a transaction; rolled back to (and released) on destruction unless
// released. Not nested within itself (one fixed name).
class Savepoint {
 public:
  explicit Savepoint(Database& db);
  ~Savepoint();
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;

  void release();
  void rollback();  // undo everything since the savepoint and end it

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace korehook::store::sqlite
