#include "korehook/retry/policy.hpp"

#include <algorithm>
#include <limits>

namespace korehook::retry {
namespace {

bool is_2xx(const std::optional<int>& status) { return status && *status >= 200 && *status <= 299; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(ErrorClass e) {
  switch (e) {
    case ErrorClass::kNone:
      return "";
    case ErrorClass::kDns:
      return "dns";
    case ErrorClass::kConnect:
      return "connect";
    case ErrorClass::kTls:
      return "tls";
    case ErrorClass::kTimeout:
      return "timeout";
    case ErrorClass::kBlocked:
      return "blocked";
    case ErrorClass::kHttp:
      return "http";
    case ErrorClass::kProtocol:
      return "protocol";
  }
  return "";
}

AttemptOutcome outcome_from_status(int status, std::optional<std::string> retry_after) {
  AttemptOutcome o;
  o.status = status;
  o.error = is_2xx(status) ? ErrorClass::kNone : ErrorClass::kHttp;
  o.retry_after = std::move(retry_after);
  return o;
}

Millis backoff_delay(const RetryPolicy& policy, int next_attempt, Random& random) {
  const std::int64_t cap = std::max<std::int64_t>(0, policy.max_delay.count());
  std::int64_t d = std::clamp<std::int64_t>(policy.initial_delay.count(), 0, cap);
  // Doubling stops at the cap, so large attempt numbers cannot overflow.
  for (int n = 2; n < next_attempt && d < cap; ++n) d = (d > cap / 2) ? cap : d * 2;
  const std::int64_t low = d / 2;
  const std::int64_t span = d - low + 1;  // [low, d] inclusive
  auto offset = static_cast<std::int64_t>(random.uniform01() * static_cast<double>(span));
  offset = std::min(offset, span - 1);  // guards against rounding of huge spans up to `span`
  return Millis{low + offset};
}

std::optional<Millis> parse_retry_after(std::string_view value, TimeMs now) {
  value = trim_ows(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    constexpr std::int64_t kMaxSeconds = kMaxRetryAfter.count() / 1000;
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > kMaxSeconds) return kMaxRetryAfter;  // clamped before it can overflow
    }
    return Millis{seconds * 1000};
  }
  const std::optional<TimeMs> at = parse_http_date(value);
  if (!at) return std::nullopt;
  return Millis{std::clamp<std::int64_t>(*at - now, 0, kMaxRetryAfter.count())};
}

Decision decide(const RetryPolicy& policy, int attempt, const AttemptOutcome& outcome, TimeMs now,
                Random& random) {
  // A 2xx status is KORE's only proof of receipt; an error after it (e.g. a truncated body)
  // does not undo the delivery.
  if (is_2xx(outcome.status)) return Decision{Verdict::kDelivered, 0};
  if (attempt >= std::max(1, policy.max_attempts)) return Decision{Verdict::kGiveUp, 0};

  Millis delay = backoff_delay(policy, attempt + 1, random);
  const bool honours_retry_after =
      outcome.status && (*outcome.status == 429 || *outcome.status == 503);
  if (honours_retry_after && outcome.retry_after) {
    if (const std::optional<Millis> ra = parse_retry_after(*outcome.retry_after, now)) {
      delay = std::max(delay, *ra);
    }
  }
  return Decision{Verdict::kRetry, now + delay.count()};
}

}  // namespace korehook::retry
