#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "store/store_fixture.hpp"

using namespace korehook;
using namespace korehook::store;
using namespace korehook::store::testing;

namespace {

SecretRecord proto(std::string id, TimeMs created_at, std::string account = "default") {
  SecretRecord s;
  s.id = id;
  s.account_id = std::move(account);
  s.name = "name of " + id;
  s.value = "whsec_value_of_" + id;
  s.created_at = created_at;
  s.status = SecretStatus::kDisabled;  // ignored: the store decides
  return s;
}

Result<SecretRecord> create(Store& store, SecretRecord p) {
  return await<SecretRecord>([&](auto done) { store.create_secret(std::move(p), done); });
}

Result<SecretRecord> update(Store& store, const std::string& id, std::optional<std::string> name,
                            std::optional<SecretStatus> status, TimeMs now,
                            std::string account = "default") {
  return await<SecretRecord>(
      [&](auto done) { store.update_secret(account, id, name, status, Millis{0}, now, done); });
}

SecretPage list(Store& store, std::optional<SecretStatus> status, int page, int size) {
  auto r = await<SecretPage>(
      [&](auto done) { store.list_secrets("default", status, page, size, done); });
  REQUIRE(r.ok());
  return *r;
}

std::vector<std::string> ids(const SecretPage& page) {
  std::vector<std::string> out;
  for (const auto& s : page.items) out.push_back(s.id);
  return out;
}

std::map<std::string, std::optional<std::string>> active_keys(Store& store) {
  auto r =
      await<std::map<std::string, sign::SigningKeys>>([&](auto done) { store.signing_keys(done); });
  REQUIRE(r.ok());
  std::map<std::string, std::optional<std::string>> out;
  for (const auto& [account, keys] : *r) {
    out[account] = keys.active;
    CHECK_FALSE(keys.previous.has_value());
  }
  return out;
}

SecretStatus status_of(Store& store, const std::string& id) {
  for (const auto& s : list(store, std::nullopt, 1, 100).items) {
    if (s.id == id) return s.status;
  }
  FAIL("no secret " << id);
  return SecretStatus::kDisabled;
}

}  // namespace

TEST_CASE("store: secrets follow KORE's lifecycle", "[store][secrets]") {
  TempDir dir;
  auto store = open_store(dir.file("k.db"));
  CHECK(active_keys(*store).empty());

  // First: active, value returned once.
  auto s1 = create(*store, proto("whs_1", 1000));
  REQUIRE(s1.ok());
  CHECK(s1->status == SecretStatus::kActive);
  CHECK(s1->value == "whsec_value_of_whs_1");
  CHECK(s1->name == "name of whs_1");
  CHECK(s1->last_modified == 1000);
  CHECK(active_keys(*store) ==
        std::map<std::string, std::optional<std::string>>{{"default", "whsec_value_of_whs_1"}});

  // Second: pending.
  auto s2 = create(*store, proto("whs_2", 2000));
  REQUIRE(s2.ok());
  CHECK(s2->status == SecretStatus::kPending);

  // Third: pending, replacing the second, which is disabled.
  auto s3 = create(*store, proto("whs_3", 3000));
  REQUIRE(s3.ok());
  CHECK(s3->status == SecretStatus::kPending);
  CHECK(status_of(*store, "whs_2") == SecretStatus::kDisabled);
  CHECK(status_of(*store, "whs_1") == SecretStatus::kActive);

  // A disabled secret cannot be activated.
  auto revive = update(*store, "whs_2", std::nullopt, SecretStatus::kActive, 3500);
  REQUIRE_FALSE(revive.ok());
  CHECK(revive.error().code == "invalid_transition");

  // Activating the pending one disables the old active one.
  auto activated = update(*store, "whs_3", std::nullopt, SecretStatus::kActive, 4000);
  REQUIRE(activated.ok());
  CHECK(activated->status == SecretStatus::kActive);
  CHECK(activated->last_modified == 4000);
  CHECK(activated->created_at == 3000);
  CHECK(activated->value.empty());  // the value is shown only when created
  CHECK(status_of(*store, "whs_1") == SecretStatus::kDisabled);
  CHECK(active_keys(*store) ==
        std::map<std::string, std::optional<std::string>>{{"default", "whsec_value_of_whs_3"}});

  // ... for good.
  auto back = update(*store, "whs_1", std::nullopt, SecretStatus::kActive, 4500);
  REQUIRE_FALSE(back.ok());
  CHECK(back.error().code == "invalid_transition");
  CHECK(status_of(*store, "whs_1") == SecretStatus::kDisabled);

  // active -> active is a no-op; a rename is allowed and touches last_modified.
  auto same = update(*store, "whs_3", std::nullopt, SecretStatus::kActive, 4600);
  REQUIRE(same.ok());
  CHECK(same->status == SecretStatus::kActive);
  auto renamed = update(*store, "whs_1", std::string("old key"), std::nullopt, 5000);
  REQUIRE(renamed.ok());
  CHECK(renamed->name == "old key");
  CHECK(renamed->status == SecretStatus::kDisabled);
  CHECK(renamed->last_modified == 5000);

  // A new pending secret after the rotation.
  auto s4 = create(*store, proto("whs_4", 6000));
  REQUIRE(s4.ok());
  CHECK(s4->status == SecretStatus::kPending);

  SECTION("not found") {
    auto missing = update(*store, "whs_nope", std::string("x"), std::nullopt, 7000);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == "not_found");
    auto elsewhere = update(*store, "whs_4", std::string("x"), std::nullopt, 7000, "acct_other");
    REQUIRE_FALSE(elsewhere.ok());
    CHECK(elsewhere.error().code == "not_found");
    auto no_account = create(*store, proto("whs_x", 7000, "acct_other"));
    REQUIRE_FALSE(no_account.ok());
    CHECK(no_account.error().code == "not_found");
  }

  SECTION("list: newest first, filter, pages, no values") {
    auto all = list(*store, std::nullopt, 1, 10);
    CHECK(all.total == 4);
    CHECK(ids(all) == std::vector<std::string>{"whs_4", "whs_3", "whs_2", "whs_1"});
    for (const auto& s : all.items) CHECK(s.value.empty());
    CHECK(all.items[0].name == "name of whs_4");
    CHECK(all.items[3].name == "old key");

    auto disabled = list(*store, SecretStatus::kDisabled, 1, 10);
    CHECK(disabled.total == 2);
    CHECK(ids(disabled) == std::vector<std::string>{"whs_2", "whs_1"});
    auto active = list(*store, SecretStatus::kActive, 1, 10);
    CHECK(ids(active) == std::vector<std::string>{"whs_3"});

    auto p1 = list(*store, std::nullopt, 1, 3);
    CHECK(p1.total == 4);
    CHECK(ids(p1) == std::vector<std::string>{"whs_4", "whs_3", "whs_2"});
    auto p2 = list(*store, std::nullopt, 2, 3);
    CHECK(p2.total == 4);
    CHECK(ids(p2) == std::vector<std::string>{"whs_1"});
    auto p3 = list(*store, std::nullopt, 3, 3);
    CHECK(p3.total == 4);
    CHECK(p3.items.empty());
  }
}
