#include <sqlite3.h>
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "store/store_fixture.hpp"

using namespace korehook;
using namespace korehook::store;
using namespace korehook::store::testing;

namespace {

std::string open_error(const std::string& path) {
  try {
    auto store = korehook::store::open_sqlite_store(SqliteOptions{path, true, std::nullopt},
                                                    inline_poster());
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("open_sqlite_store did not throw for " << path);
  return {};
}

// Runs one statement on the file with plain SQLite, returning the first column as text.
std::string sql_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  std::string out;
  int rc = sqlite3_step(stmt);
  REQUIRE((rc == SQLITE_ROW || rc == SQLITE_DONE));
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("store: a file that is not a database makes open throw a clear error", "[store]") {
  TempDir dir;
  const std::string path = dir.file("garbage.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 512; ++i) out << "this is not an SQLite database\n";
  }
  const std::string message = open_error(path);
  CHECK_THAT(message, Catch::Contains(path));
  CHECK_THAT(message, Catch::Contains("file is not a database"));
}

TEST_CASE("store: open creates missing parent directories with mode 0750", "[store]") {
  TempDir dir;
  const std::string path = dir.file("a/b/korehook.db");
  auto store = open_store(path);
  CHECK(mode_of(dir.file("a")) == 0750);
  CHECK(mode_of(dir.file("a/b")) == 0750);
  CHECK((mode_of(path) & 0007) == 0);  // the file holds secrets: not world-readable
  store.reset();                       // the store holds the file's lock while it is open
  CHECK(sql_text(path, "PRAGMA journal_mode") == "wal");
}

TEST_CASE("store: a directory that cannot be created makes open throw, naming it", "[store]") {
  TempDir dir;
  const std::string blocker = dir.file("plain-file");
  std::ofstream(blocker) << "x";
  const std::string path = blocker + "/sub/korehook.db";
  const std::string message = open_error(path);
  CHECK_THAT(message, Catch::Contains(path));
  CHECK_THAT(message, Catch::Contains("cannot create directory"));
  CHECK_THAT(message, Catch::Contains("Not a directory"));
}

TEST_CASE("store: reopening keeps the schema and the default account, with no migration twice",
          "[store]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  open_store(path)->close();
  CHECK(sql_text(path, "SELECT MAX(version) FROM schema_version") == "4");
  CHECK(sql_text(path, "SELECT COUNT(*) FROM schema_version") == "4");
  CHECK(sql_text(path, "SELECT COUNT(*) FROM accounts WHERE id = 'default'") == "1");
  open_store(path, /*fsync=*/false)->close();
  CHECK(sql_text(path, "SELECT COUNT(*) FROM schema_version") == "4");
  CHECK(sql_text(path, "SELECT COUNT(*) FROM accounts") == "1");
}

TEST_CASE("store: a database from a newer korehook is refused", "[store]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  open_store(path)->close();
  sql_text(path, "INSERT INTO schema_version(version, applied_at) VALUES (99, 0)");
  const std::string message = open_error(path);
  CHECK_THAT(message, Catch::Contains(path));
  CHECK_THAT(message, Catch::Contains("schema version 99"));
}

TEST_CASE("store: signing_keys maps every account with an active secret", "[store][secrets]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  open_store(path)->close();
  // There is no account API yet: add a second tenant directly.
  sql_text(path, "INSERT INTO accounts(id, created_at) VALUES ('acct_b', 0)");
  auto store = open_store(path);
  for (const char* account : {"default", "acct_b"}) {
    SecretRecord s;
    s.id = std::string("whs_") + account;
    s.account_id = account;
    s.name = "k";
    s.value = std::string("whsec_") + account;
    s.created_at = 1000;
    auto r = await<SecretRecord>([&](auto done) { store->create_secret(s, done); });
    REQUIRE(r.ok());
    CHECK(r->status == SecretStatus::kActive);  // first in its account
  }
  auto keys = await<std::map<std::string, sign::SigningKeys>>(
      [&](auto done) { store->signing_keys(done); });
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 2);
  CHECK(keys->at("default").active == std::optional<std::string>("whsec_default"));
  CHECK(keys->at("acct_b").active == std::optional<std::string>("whsec_acct_b"));

  // Idempotency keys are scoped to the account.
  auto a = append(*store, {make_new_event(make_event("evt_a", 1000, "same"), {})});
  auto b = append(*store, {make_new_event(make_event("evt_b", 1000, "same", "acct_b"), {})});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)[0].created);
  CHECK((*b)[0].created);
  CHECK((*b)[0].event_id == "evt_b");
}

namespace {

// How many of this process's threads are named `name` (/proc/self/task/*/comm).
int threads_named(const std::string& name) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("store: its threads carry names that top -H and ps -L show", "[store]") {
  TempDir dir;
  const int stores = threads_named("kh-store");
  const int syncers = threads_named("kh-sync");
  {
    auto store = open_store(dir.file("k.db"));
    // Named by the time the store is open.
    CHECK(threads_named("kh-store") == stores + 1);
    CHECK(threads_named("kh-sync") == syncers + 2);
  }
  // Closing the store joins them. A joined thread's /proc entry can outlive the join for a
  // moment (the kernel wakes the joiner before it releases the task): wait for it (bounded).
  for (int i = 0;
       i < 200 && threads_named("kh-store") + threads_named("kh-sync") > stores + syncers; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(threads_named("kh-store") == stores);
  CHECK(threads_named("kh-sync") == syncers);
}
