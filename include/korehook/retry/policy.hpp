#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "korehook/util/clock.hpp"
#include "korehook/util/time.hpp"

namespace korehook::retry {

struct RetryPolicy {
  int max_attempts = 8;                  // total attempts, the first included; >= 1
  Millis initial_delay{5'000};           // delay before attempt 2 (before jitter)
  Millis max_delay{10LL * 3600 * 1000};  // cap of the exponential delay
};

// How an attempt ended without a usable HTTP answer, or `kHttp` for a non-2xx status.
enum class ErrorClass { kNone, kDns, kConnect, kTls, kTimeout, kBlocked, kHttp, kProtocol };
std::string_view to_string(ErrorClass e);  // "dns", "connect", ... ; kNone -> ""

struct AttemptOutcome {
  std::optional<int> status;               // HTTP status when a response header was read
  ErrorClass error = ErrorClass::kNone;    // kNone for 2xx; kHttp for other statuses
  std::optional<std::string> retry_after;  // raw Retry-After header, if any
};

// Classifies an HTTP status: 2xx -> kNone, else kHttp.
AttemptOutcome outcome_from_status(int status, std::optional<std::string> retry_after);

enum class Verdict { kDelivered, kRetry, kGiveUp };

struct Decision {
  Verdict verdict;
  TimeMs next_attempt_at = 0;  // when verdict == kRetry
};

// Upper bound applied to Retry-After.
inline constexpr Millis kMaxRetryAfter{24LL * 3600 * 1000};

// Delay before attempt `next_attempt` (2 for the first retry):
// d = min(max_delay, initial_delay * 2^(next_attempt-2)), then "equal jitter": uniform in
// [d/2, d].
Millis backoff_delay(const RetryPolicy& policy, int next_attempt, Random& random);

// Retry-After as seconds or HTTP date, relative to `now`; nullopt when unparseable.
// The result is clamped to [0, kMaxRetryAfter].
std::optional<Millis> parse_retry_after(std::string_view value, TimeMs now);

// The decision after attempt number `attempt` (1-based) ended with `outcome` at `now`.
// 2xx delivers. Anything else retries while attempt < max_attempts, at
// now + max(backoff, Retry-After) (Retry-After honoured on 429 and 503), else gives up.
// 3xx is a failure like any other (never followed).
Decision decide(const RetryPolicy& policy, int attempt, const AttemptOutcome& outcome, TimeMs now,
                Random& random);

}  // namespace korehook::retry
