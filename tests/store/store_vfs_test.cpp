// The store's VFS (src/store/sqlite_vfs.cpp): a transaction's WAL frames reach the file in a
// couple of write calls, and nothing another connection or a crash could see differs from the
// plain unix VFS.

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "store/sqlite.hpp"
#include "store/sqlite_vfs.hpp"
#include "store/store_fixture.hpp"

using korehook::store::sqlite::Database;
using korehook::store::sqlite::Statement;
using korehook::store::sqlite::Transaction;
using korehook::store::sqlite::vfs_counters;
using korehook::store::testing::TempDir;

namespace {

// A row's payload: 1 KiB that tells which row it is.
std::string payload(std::int64_t row) {
  std::string text = "row " + std::to_string(row) + " ";
  while (text.size() < 1024) text += static_cast<char>('a' + (text.size() + row) % 26);
  return text;
}

void open_wal(Database& db, const char* synchronous) {
  REQUIRE(db.query_text("PRAGMA journal_mode = WAL") == "wal");
  db.exec(std::string("PRAGMA synchronous = ") + synchronous);
  db.exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
}

void insert_rows(Database& db, std::int64_t first, std::int64_t count) {
  Statement insert(db, "INSERT INTO t(id, body) VALUES (?, ?)");
  for (std::int64_t id = first; id < first + count; ++id) {
    insert.use().bind(id).bind_blob(payload(id)).exec();
  }
}

// A connection of plain SQLite (the default VFS, its own file handles).
class PlainReader {
 public:
  explicit PlainReader(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  ~PlainReader() { sqlite3_close(db_); }
  PlainReader(const PlainReader&) = delete;
  PlainReader& operator=(const PlainReader&) = delete;

  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::string out;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
      out.assign(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    REQUIRE((rc == SQLITE_ROW || rc == SQLITE_DONE));
    return out;
  }

  // Every row present, each with its own payload, and nothing else.
  void check_rows(std::int64_t count) {
    REQUIRE(text("PRAGMA integrity_check") == "ok");
    REQUIRE(text("SELECT count(*) FROM t") == std::to_string(count));
    const std::string mismatched = text(
        "SELECT count(*) FROM t WHERE substr(body, 1, length('row ' || id || ' ')) != "
        "CAST('row ' || id || ' ' AS BLOB) OR length(body) != 1024");
    CHECK(mismatched == "0");
    if (count > 0) {
      CHECK(text("SELECT body FROM t WHERE id = " + std::to_string(count - 1)) ==
            payload(count - 1));
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

TEST_CASE("store vfs: a transaction's WAL frames go out in a few write calls") {
  TempDir dir;
  const std::string path = dir.file("frames.db");
  Database db(path);
  open_wal(db, "FULL");
  const auto before = vfs_counters();
  {
    Transaction tx(db, Transaction::Mode::kImmediate);
    insert_rows(db, 0, 200);  // about 60 pages of rows, plus the interior pages
    tx.commit();
  }
  const auto after = vfs_counters();
  const auto writes = after.wal_writes - before.wal_writes;
  const auto os_writes = after.wal_os_writes - before.wal_os_writes;
  INFO("SQLite wrote " << writes << " times, the unix VFS " << os_writes << " times");
  CHECK(writes >= 2 * 50);  // header and page per frame
  const auto held = after.wal_bytes_held - before.wal_bytes_held;
  CHECK(held >= 50 * 4096);
  // The frames in calls of up to 128 KiB, the commit frame's page in one more, and on a fresh
  // WAL its header once more.
  CHECK(os_writes <= held / (128 * 1024) + 4);
  CHECK(os_writes * 10 <= writes);
  PlainReader(path).check_rows(200);
}

TEST_CASE("store vfs: another connection sees every commit at once, without fsync") {
  TempDir dir;
  const std::string path = dir.file("visible.db");
  Database db(path);
  open_wal(db, "NORMAL");  // no sync at commit: only write(2) makes the frames readable
  PlainReader reader(path);
  std::int64_t rows = 0;
  for (int round = 0; round < 40; ++round) {
    const std::int64_t n = 1 + round % 7 * 5;  // 1 to 31 rows per transaction
    {
      Transaction tx(db, Transaction::Mode::kImmediate);
      insert_rows(db, rows, n);
      tx.commit();
    }
    rows += n;
    REQUIRE(reader.text("SELECT count(*) FROM t") == std::to_string(rows));
    REQUIRE(reader.text("SELECT body FROM t WHERE id = " + std::to_string(rows - 1)) ==
            payload(rows - 1));
  }
  reader.check_rows(rows);
}

TEST_CASE("store vfs: transactions larger than the buffer and spilled, rolled back ones") {
  TempDir dir;
  const std::string path = dir.file("large.db");
  Database db(path);
  open_wal(db, "FULL");
  db.exec("PRAGMA cache_size = 20");  // pages: a large transaction spills frames to the WAL
  {
    Transaction tx(db, Transaction::Mode::kImmediate);
    insert_rows(db, 0, 3000);  // about 3 MiB, six times the buffer
    tx.commit();
  }
  {
    // Spilled frames of a transaction that rolls back must not surface.
    Transaction tx(db, Transaction::Mode::kImmediate);
    insert_rows(db, 3000, 1500);
    db.exec("UPDATE t SET body = zeroblob(1024) WHERE id < 100");
  }  // rolled back
  {
    Transaction tx(db, Transaction::Mode::kImmediate);
    insert_rows(db, 3000, 10);
    tx.commit();
  }
  PlainReader(path).check_rows(3010);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  PlainReader(path).check_rows(3010);
}

TEST_CASE("store vfs: a killed process keeps every transaction it committed") {
  constexpr std::int64_t kCommitted = 25 * 20;
  // Killed right after its last commit, and killed with a large transaction open whose frames
  // spilled to the WAL.
  for (const bool leave_open : {false, true}) {
    INFO("a transaction left open: " << leave_open);
    TempDir dir;
    const std::string path = dir.file("killed.db");
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // The child commits without fsync: what the OS holds is all that survives.
      try {
        Database db(path);
        open_wal(db, "NORMAL");
        db.exec("PRAGMA cache_size = 20");
        for (int round = 0; round < 25; ++round) {
          Transaction tx(db, Transaction::Mode::kImmediate);
          insert_rows(db, round * 20, 20);
          tx.commit();
        }
        if (leave_open) {
          db.exec("BEGIN IMMEDIATE");
          insert_rows(db, kCommitted, 800);
        }
        ::kill(::getpid(), SIGKILL);
      } catch (...) {
      }
      ::_exit(3);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    PlainReader(path).check_rows(kCommitted);
  }
}
