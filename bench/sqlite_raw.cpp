// The ingest reference of the bench: raw SQLite, no daemon. Inserts `rows` rows of about
// `row_bytes` bytes (an id, a type, a time and a JSON body), `per_txn` rows per
// BEGIN IMMEDIATE ... COMMIT, in WAL mode with synchronous=FULL — the durability korehookd
// promises with store.fsync true. Prints one line:
// `rows=N seconds=S rows_per_s=R commit_p50_ms=A commit_p99_ms=B` (the COMMIT statement alone,
// i.e. mostly the fsync of the WAL).
//
//   korehook-bench-sqlite DB_PATH [rows=20000] [per_txn=100] [row_bytes=1024]

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

[[noreturn]] void die(sqlite3* db, const char* what) {
  std::fprintf(stderr, "korehook-bench-sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
  std::exit(1);
}

void exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) die(db, sql);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: korehook-bench-sqlite DB_PATH [rows] [per_txn] [row_bytes]\n");
    return 2;
  }
  const std::string path = argv[1];
  const long rows = argc > 2 ? std::atol(argv[2]) : 20'000;
  const long per_txn = argc > 3 ? std::atol(argv[3]) : 100;
  const long row_bytes = argc > 4 ? std::atol(argv[4]) : 1024;

  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) die(raw, "open");
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  exec(raw, "PRAGMA journal_mode=WAL");
  exec(raw, "PRAGMA synchronous=FULL");
  exec(raw,
       "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT NOT NULL, "
       "created_at INTEGER NOT NULL, body BLOB NOT NULL)");

  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(raw, "INSERT INTO events (id, type, created_at, body) VALUES (?,?,?,?)",
                         -1, &raw_stmt, nullptr) != SQLITE_OK) {
    die(raw, "prepare");
  }
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> insert(raw_stmt);

  // The body the bench's producers send: {"seq":N,"pad":"xxx..."} of about row_bytes.
  const std::string pad(static_cast<std::size_t>(row_bytes > 32 ? row_bytes - 32 : 1), 'x');

  std::vector<double> commit_ms;
  const auto start = std::chrono::steady_clock::now();
  for (long done = 0; done < rows;) {
    exec(raw, "BEGIN IMMEDIATE");
    for (long i = 0; i < per_txn && done < rows; ++i, ++done) {
      char id[40];
      std::snprintf(id, sizeof id, "evt_bench_%012ld", done);
      const std::string body = "{\"seq\":" + std::to_string(done) + ",\"pad\":\"" + pad + "\"}";
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      sqlite3_bind_text(raw_stmt, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(raw_stmt, 2, "bench.drain", -1, SQLITE_STATIC);
      sqlite3_bind_int64(raw_stmt, 3, now);
      sqlite3_bind_blob(raw_stmt, 4, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
      if (sqlite3_step(raw_stmt) != SQLITE_DONE) die(raw, "insert");
      sqlite3_reset(raw_stmt);
    }
    const auto commit_start = std::chrono::steady_clock::now();
    exec(raw, "COMMIT");
    commit_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - commit_start)
            .count());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(commit_ms.begin(), commit_ms.end());
  auto pct = [&](double p) {
    if (commit_ms.empty()) return 0.0;
    const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(commit_ms.size()));
    return commit_ms[std::min(commit_ms.size() - 1, rank)];
  };
  std::printf("rows=%ld seconds=%.3f rows_per_s=%.1f commit_p50_ms=%.3f commit_p99_ms=%.3f\n", rows,
              seconds, static_cast<double>(rows) / seconds, pct(50), pct(99));
  return 0;
}
