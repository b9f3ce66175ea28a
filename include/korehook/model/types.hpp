#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "korehook/retry/policy.hpp"
#include "korehook/util/clock.hpp"

namespace korehook {

inline constexpr std::string_view kDefaultAccount = "default";

enum class DeliveryState {
  kPending = 0,
  kInFlight = 1,
  kDelivered = 2,
  kFailed = 3,
  kCancelled = 4
};
std::string_view to_string(DeliveryState s);
std::optional<DeliveryState> parse_delivery_state(std::string_view s);

enum class SecretStatus { kActive = 0, kPending = 1, kDisabled = 2 };
std::string_view to_string(SecretStatus s);
std::optional<SecretStatus> parse_secret_status(std::string_view s);

struct EventRecord {
  std::string id;
  std::string account_id;
  std::string type;
  std::string content_type;
  std::string body;  // exactly the bytes sent (minified JSON or raw)
  std::optional<std::string> idempotency_key;
  std::optional<std::string> callback_url;  // deliver to this URL only (SPEC §2.1)
  TimeMs created_at = 0;
};

struct DeliveryRecord {
  std::string id;
  std::string event_id;
  std::string endpoint_id;  // empty for the delivery to an event's callback_url
  std::string token;        // kore-idempotency-token, fixed for the delivery's life
  DeliveryState state = DeliveryState::kPending;
  int attempt_count = 0;
  // attempt_count when the current retry cycle began: 0, or where a redelivery/replay
  // started a new one. The retry policy counts attempts from here.
  int cycle_start = 0;
  TimeMs next_attempt_at = 0;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
};

struct AttemptRecord {
  std::string delivery_id;
  int number = 0;  // 1-based
  TimeMs started_at = 0;
  std::int64_t duration_ms = 0;
  std::optional<int> status_code;
  retry::ErrorClass error = retry::ErrorClass::kNone;
  std::string error_detail;  // e.g. the certificate verification error; never a secret
  std::vector<std::pair<std::string, std::string>> response_headers;  // as received, bounded
  std::string response_excerpt;                                       // at most 4 KiB
};

struct SecretRecord {
  std::string id;
  std::string account_id;
  std::string name;
  std::string value;  // the secret text; only ever shown in the create response
  SecretStatus status = SecretStatus::kPending;
  TimeMs created_at = 0;
  TimeMs last_modified = 0;
};

}  // namespace korehook
