#include <catch2/catch.hpp>

#include "korehook/model/types.hpp"

using korehook::DeliveryState;
using korehook::parse_delivery_state;
using korehook::parse_secret_status;
using korehook::SecretStatus;

TEST_CASE("DeliveryState names round-trip", "[model]") {
  CHECK(to_string(DeliveryState::kPending) == "pending");
  CHECK(to_string(DeliveryState::kInFlight) == "in_flight");
  CHECK(to_string(DeliveryState::kDelivered) == "delivered");
  CHECK(to_string(DeliveryState::kFailed) == "failed");
  CHECK(to_string(DeliveryState::kCancelled) == "cancelled");
  for (auto s : {DeliveryState::kPending, DeliveryState::kInFlight, DeliveryState::kDelivered,
                 DeliveryState::kFailed, DeliveryState::kCancelled}) {
    CHECK(parse_delivery_state(to_string(s)) == s);
  }
  CHECK_FALSE(parse_delivery_state(""));
  CHECK_FALSE(parse_delivery_state("inflight"));
  CHECK_FALSE(parse_delivery_state("canceled"));
  CHECK_FALSE(parse_delivery_state("pending "));
}

TEST_CASE("SecretStatus names round-trip, KORE capitalisation accepted", "[model]") {
  CHECK(to_string(SecretStatus::kActive) == "active");
  CHECK(to_string(SecretStatus::kPending) == "pending");
  CHECK(to_string(SecretStatus::kDisabled) == "disabled");
  for (auto s : {SecretStatus::kActive, SecretStatus::kPending, SecretStatus::kDisabled}) {
    CHECK(parse_secret_status(to_string(s)) == s);
  }
  CHECK(parse_secret_status("Active") == SecretStatus::kActive);
  CHECK(parse_secret_status("PENDING") == SecretStatus::kPending);
  CHECK_FALSE(parse_secret_status("enabled"));
  CHECK_FALSE(parse_secret_status(""));
}
