#include <catch2/catch.hpp>

#include "korehook/model/secret_lifecycle.hpp"

using korehook::plan_secret_create;
using korehook::plan_secret_status_change;
using korehook::SecretStatus;

TEST_CASE("plan_secret_create: the first secret is active", "[secrets]") {
  const auto plan = plan_secret_create(false, false);
  CHECK(plan.new_status == SecretStatus::kActive);
  CHECK_FALSE(plan.disable_existing_pending);
}

TEST_CASE("plan_secret_create: later secrets are pending and replace a pending one", "[secrets]") {
  const auto second = plan_secret_create(true, false);
  CHECK(second.new_status == SecretStatus::kPending);
  CHECK_FALSE(second.disable_existing_pending);
  const auto third = plan_secret_create(true, true);
  CHECK(third.new_status == SecretStatus::kPending);
  CHECK(third.disable_existing_pending);
}

TEST_CASE("plan_secret_status_change: pending -> active disables the current active", "[secrets]") {
  const auto r = plan_secret_status_change(SecretStatus::kPending, SecretStatus::kActive, true);
  REQUIRE(r.ok());
  CHECK(r->change);
  CHECK(r->disable_current_active);
  const auto alone =
      plan_secret_status_change(SecretStatus::kPending, SecretStatus::kActive, false);
  REQUIRE(alone.ok());
  CHECK(alone->change);
  CHECK_FALSE(alone->disable_current_active);
}

TEST_CASE("plan_secret_status_change: active -> active is a no-op", "[secrets]") {
  const auto r = plan_secret_status_change(SecretStatus::kActive, SecretStatus::kActive, false);
  REQUIRE(r.ok());
  CHECK_FALSE(r->change);
  CHECK_FALSE(r->disable_current_active);
}

TEST_CASE("plan_secret_status_change: every other transition is invalid", "[secrets]") {
  const SecretStatus all[] = {SecretStatus::kActive, SecretStatus::kPending,
                              SecretStatus::kDisabled};
  for (SecretStatus from : all) {
    for (SecretStatus to : all) {
      const bool allowed = to == SecretStatus::kActive &&
                           (from == SecretStatus::kActive || from == SecretStatus::kPending);
      if (allowed) continue;
      INFO(to_string(from) << " -> " << to_string(to));
      const auto r = plan_secret_status_change(from, to, true);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == "invalid_transition");
      CHECK(r.error().message.find(std::string(to_string(from))) != std::string::npos);
    }
  }
}
