#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "store/schema.hpp"
#include "store/sqlite.hpp"
#include "store/store_fixture.hpp"

using namespace korehook;
using namespace korehook::store;
using namespace korehook::store::testing;

namespace {

std::string open_error(const std::string& path, std::optional<crypto::Key> key) {
  try {
    auto store = open_store(path, true, inline_poster(), key);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("open did not throw for " << path);
  return {};
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The database file and its WAL, as a copy of them would hold.
std::string database_bytes(const std::string& path) {
  return file_bytes(path) + file_bytes(path + "-wal");
}

std::string query_text(const std::string& path, const std::string& sql) {
  sqlite::Database db(path);
  return db.query_text(sql);
}

Result<SecretRecord> create_secret(Store& store, std::string id, std::string value,
                                   std::string account = "default", TimeMs created_at = 1000) {
  SecretRecord s;
  s.id = std::move(id);
  s.account_id = std::move(account);
  s.name = "n";
  s.value = std::move(value);
  s.created_at = created_at;
  return await<SecretRecord>([&](auto done) { store.create_secret(s, done); });
}

Result<SecretRecord> activate(Store& store, const std::string& id, Millis overlap, TimeMs now) {
  return await<SecretRecord>([&](auto done) {
    store.update_secret("default", id, std::nullopt, SecretStatus::kActive, overlap, now, done);
  });
}

std::map<std::string, sign::SigningKeys> signing_keys(Store& store) {
  auto r =
      await<std::map<std::string, sign::SigningKeys>>([&](auto done) { store.signing_keys(done); });
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("store: secrets and endpoint headers are never in the database file in plain text",
          "[store][secrets]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  {
    auto store = open_store(path);
    REQUIRE(create_secret(*store, "whs_1", "whsec_PLAINTEXT_SECRET_ONE").ok());
    REQUIRE(create_secret(*store, "whs_2", "whsec_PLAINTEXT_SECRET_TWO").ok());
    EndpointRecord e = make_endpoint("ep_1");
    e.settings.headers = {{"X-Api-Key", "HEADER_VALUE_SECRET"}};
    REQUIRE(create_endpoint(*store, e).ok());
    // Before the checkpoint too: the WAL holds the same bytes.
    const std::string live = database_bytes(path);
    CHECK(live.find("whsec_PLAINTEXT_SECRET_ONE") == std::string::npos);
    CHECK(live.find("HEADER_VALUE_SECRET") == std::string::npos);
  }
  {
    sqlite::Database db(path);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const std::string bytes = database_bytes(path);
  // Control: the search over the raw bytes does find what is stored in plain text.
  CHECK(bytes.find("https://hooks.example.com/ep_1") != std::string::npos);
  CHECK(bytes.find("whsec_PLAINTEXT_SECRET_ONE") == std::string::npos);
  CHECK(bytes.find("whsec_PLAINTEXT_SECRET_TWO") == std::string::npos);
  CHECK(bytes.find("HEADER_VALUE_SECRET") == std::string::npos);
  CHECK(bytes.find("X-Api-Key") == std::string::npos);

  // The same key opens them again.
  auto store = open_store(path);
  CHECK(signing_keys(*store).at("default").active ==
        std::optional<std::string>("whsec_PLAINTEXT_SECRET_ONE"));
  auto got = await<std::optional<EndpointRecord>>(
      [&](auto done) { store->get_endpoint("default", "ep_1", done); });
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->settings.headers ==
        std::vector<std::pair<std::string, std::string>>{{"X-Api-Key", "HEADER_VALUE_SECRET"}});
}

TEST_CASE("store: a different secrets key refuses to open the database", "[store][secrets]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  {
    auto store = open_store(path);
    REQUIRE(create_secret(*store, "whs_1", "whsec_x").ok());
  }
  const std::string message = open_error(path, test_key(0x01));
  CHECK_THAT(message, Catch::Contains(path));
  CHECK_THAT(message,
             Catch::Contains("secrets key does not match the key this database was created with"));
  // The right key still opens it; no key opens it but cannot use the secrets.
  open_store(path)->close();
  auto keyless = open_store(path, true, inline_poster(), std::nullopt);
  auto keys = await<std::map<std::string, sign::SigningKeys>>(
      [&](auto done) { keyless->signing_keys(done); });
  REQUIRE_FALSE(keys.ok());
  CHECK(keys.error().code == "store_error");
  auto created = create_secret(*keyless, "whs_2", "whsec_y");
  REQUIRE_FALSE(created.ok());
  CHECK(created.error().code == "store_error");
  CHECK_THAT(created.error().message, Catch::Contains("secrets.key_file"));
}

TEST_CASE("store: without a key and without secrets, signing_keys is empty", "[store][secrets]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"), true, inline_poster(), std::nullopt);
  CHECK(signing_keys(*store).empty());
}

TEST_CASE("store: a version 1 database is migrated and its plain secrets are sealed",
          "[store][secrets]") {
  TempDir dir;
  const std::string path = dir.file("k.db");
  {
    sqlite::Database db(path);
    db.exec("PRAGMA journal_mode = WAL");
    REQUIRE(migrate(db, 500, 1) == 1);
    db.exec(R"sql(
INSERT INTO accounts(id, created_at) VALUES ('acct_old', 600);
INSERT INTO secrets(id, account_id, name, value, status, created_at, last_modified)
  VALUES ('whs_old', 'default', 'old', 'whsec_V1_PLAINTEXT_VALUE', 0, 700, 700);
INSERT INTO events(id, account_id, type, content_type, body, idempotency_key, created_at)
  VALUES ('evt_old', 'default', 'sim.activated', 'application/json', x'7b7d', NULL, 800);
INSERT INTO deliveries(id, event_id, endpoint_id, token, state, attempt_count, next_attempt_at,
                       lease_until, created_at, updated_at)
  VALUES ('dlv_old', 'evt_old', 'ep_yaml', 'tok_old', 3, 1, 800, 0, 800, 900);
INSERT INTO attempts(delivery_id, number, started_at, duration_ms, status_code, error,
                     error_detail, response_excerpt)
  VALUES ('dlv_old', 1, 850, 5, 500, 'http', '', x'');
)sql");
  }
  CHECK(database_bytes(path).find("whsec_V1_PLAINTEXT_VALUE") != std::string::npos);

  {
    auto store = open_store(path);
    CHECK(signing_keys(*store).at("default").active ==
          std::optional<std::string>("whsec_V1_PLAINTEXT_VALUE"));
    auto acct = await<std::optional<AccountRecord>>(
        [&](auto done) { store->get_account("acct_old", done); });
    REQUIRE(acct.ok());
    REQUIRE(acct->has_value());
    CHECK((*acct)->name.empty());
    auto event = get_event(*store, "evt_old");
    REQUIRE(event.ok());
    REQUIRE(event->has_value());
    CHECK_FALSE((*event)->event.callback_url.has_value());
    const DeliveryView& dv = (*event)->deliveries.at(0);
    CHECK(dv.delivery.cycle_start == 0);
    CHECK(dv.delivery.updated_at == 900);
    REQUIRE(dv.attempts.size() == 1);
    CHECK(dv.attempts[0].response_headers.empty());
    CHECK(dv.attempts[0].error == retry::ErrorClass::kHttp);
  }
  CHECK(query_text(path, "SELECT MAX(version) FROM schema_version") == "4");
  CHECK(query_text(path, "SELECT value FROM secrets").rfind("kh1:", 0) == 0);
  {
    sqlite::Database db(path);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  CHECK(database_bytes(path).find("whsec_V1_PLAINTEXT_VALUE") == std::string::npos);
}

TEST_CASE("store: an activation with overlap keeps the old secret as previous until it ends",
          "[store][secrets]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  const TimeMs now = system_clock().now_ms();
  REQUIRE(create_secret(*store, "whs_1", "whsec_one").ok());
  REQUIRE(create_secret(*store, "whs_2", "whsec_two").ok());
  REQUIRE(activate(*store, "whs_2", Millis{3'600'000}, now).ok());

  auto keys = signing_keys(*store);
  REQUIRE(keys.count("default") == 1);
  CHECK(keys["default"].active == std::optional<std::string>("whsec_two"));
  CHECK(keys["default"].previous == std::optional<std::string>("whsec_one"));
  CHECK(keys["default"].previous_until == now + 3'600'000);

  SECTION("the next rotation replaces previous by the latest overlap") {
    REQUIRE(create_secret(*store, "whs_3", "whsec_three").ok());
    REQUIRE(activate(*store, "whs_3", Millis{7'200'000}, now).ok());
    auto next = signing_keys(*store);
    CHECK(next["default"].active == std::optional<std::string>("whsec_three"));
    CHECK(next["default"].previous == std::optional<std::string>("whsec_two"));
    CHECK(next["default"].previous_until == now + 7'200'000);
  }

  SECTION("without overlap there is no previous") {
    REQUIRE(create_secret(*store, "whs_3", "whsec_three").ok());
    REQUIRE(activate(*store, "whs_3", Millis{0}, now).ok());
    auto next = signing_keys(*store);
    CHECK(next["default"].active == std::optional<std::string>("whsec_three"));
    CHECK(next["default"].previous == std::optional<std::string>("whsec_one"));  // still runs
  }

  SECTION("an overlap that has ended is not returned") {
    REQUIRE(create_secret(*store, "whs_3", "whsec_three").ok());
    REQUIRE(activate(*store, "whs_3", Millis{1000}, 1000).ok());  // ended long ago
    auto next = signing_keys(*store);
    CHECK(next["default"].active == std::optional<std::string>("whsec_three"));
    CHECK(next["default"].previous == std::optional<std::string>("whsec_one"));
    CHECK(next["default"].previous_until == now + 3'600'000);
  }
}
