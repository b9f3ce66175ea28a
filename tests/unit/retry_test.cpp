#include <catch2/catch.hpp>

#include "korehook/retry/policy.hpp"
#include "unit/fakes.hpp"

using namespace korehook::retry;  // NOLINT(google-build-using-namespace)
using korehook::Millis;
using korehook::testing::FakeClock;
using korehook::testing::FixedRandom;
using korehook::testing::SeededRandom;

namespace {

const RetryPolicy kPolicy{8, Millis{5'000}, Millis{10LL * 3600 * 1000}};

AttemptOutcome network_error(ErrorClass e) {
  AttemptOutcome o;
  o.error = e;
  return o;
}

}  // namespace

TEST_CASE("backoff_delay: equal jitter bounds", "[retry]") {
  FixedRandom low(0x00);
  FixedRandom high(0xff);
  CHECK(backoff_delay(kPolicy, 2, low) == Millis{2'500});
  CHECK(backoff_delay(kPolicy, 2, high) == Millis{5'000});
  CHECK(backoff_delay(kPolicy, 3, low) == Millis{5'000});
  CHECK(backoff_delay(kPolicy, 3, high) == Millis{10'000});
  CHECK(backoff_delay(kPolicy, 5, high) == Millis{40'000});
}

TEST_CASE("backoff_delay: every draw lies in [d/2, d] and varies", "[retry]") {
  SeededRandom random(1);
  for (int attempt = 2; attempt <= 14; ++attempt) {
    const long long d = std::min<long long>(5'000LL << (attempt - 2), 36'000'000LL);
    Millis lowest{d}, highest{0};
    for (int i = 0; i < 200; ++i) {
      const Millis got = backoff_delay(kPolicy, attempt, random);
      INFO("attempt " << attempt << " got " << got.count());
      REQUIRE(got >= Millis{d / 2});
      REQUIRE(got <= Millis{d});
      lowest = std::min(lowest, got);
      highest = std::max(highest, got);
    }
    CHECK(highest - lowest > Millis{d / 4});  // jitter actually spreads the retries
  }
}

TEST_CASE("backoff_delay: capped by max_delay and safe for huge attempt numbers", "[retry]") {
  FixedRandom high(0xff);
  CHECK(backoff_delay(kPolicy, 20, high) == Millis{36'000'000});
  CHECK(backoff_delay(kPolicy, 1'000'000, high) == Millis{36'000'000});
  const RetryPolicy small_cap{5, Millis{10'000}, Millis{3'000}};
  CHECK(backoff_delay(small_cap, 2, high) == Millis{3'000});
  const RetryPolicy zero{5, Millis{0}, Millis{0}};
  CHECK(backoff_delay(zero, 4, high) == Millis{0});
}

TEST_CASE("parse_retry_after: delta seconds", "[retry]") {
  CHECK(parse_retry_after("120", 0) == Millis{120'000});
  CHECK(parse_retry_after("0", 0) == Millis{0});
  CHECK(parse_retry_after(" 7 ", 0) == Millis{7'000});
  CHECK(parse_retry_after("86400", 0) == kMaxRetryAfter);
  CHECK(parse_retry_after("86401", 0) == kMaxRetryAfter);
  CHECK(parse_retry_after("999999999999999999999999", 0) == kMaxRetryAfter);
}

TEST_CASE("parse_retry_after: HTTP date relative to now, clamped", "[retry]") {
  const std::int64_t now = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now) == Millis{60'000});
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now + 500) == Millis{59'500});
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == Millis{0});
  CHECK(parse_retry_after("Fri, 06 Nov 1998 08:49:37 GMT", now) == kMaxRetryAfter);
}

TEST_CASE("parse_retry_after: garbage is ignored", "[retry]") {
  for (const char* bad : {"", " ", "-5", "1.5", "5s", "soon", "0x10", "Sun, 06 Nov 1994"}) {
    INFO(bad);
    CHECK_FALSE(parse_retry_after(bad, 0));
  }
}

TEST_CASE("outcome_from_status classifies statuses", "[retry]") {
  CHECK(outcome_from_status(200, std::nullopt).error == ErrorClass::kNone);
  CHECK(outcome_from_status(204, std::nullopt).error == ErrorClass::kNone);
  CHECK(outcome_from_status(299, std::nullopt).error == ErrorClass::kNone);
  CHECK(outcome_from_status(199, std::nullopt).error == ErrorClass::kHttp);
  CHECK(outcome_from_status(301, std::nullopt).error == ErrorClass::kHttp);
  const AttemptOutcome o = outcome_from_status(503, std::string("30"));
  CHECK(o.error == ErrorClass::kHttp);
  CHECK(o.status == 503);
  CHECK(o.retry_after == std::string("30"));
}

TEST_CASE("to_string(ErrorClass)", "[retry]") {
  CHECK(to_string(ErrorClass::kNone).empty());
  CHECK(to_string(ErrorClass::kDns) == "dns");
  CHECK(to_string(ErrorClass::kConnect) == "connect");
  CHECK(to_string(ErrorClass::kTls) == "tls");
  CHECK(to_string(ErrorClass::kTimeout) == "timeout");
  CHECK(to_string(ErrorClass::kBlocked) == "blocked");
  CHECK(to_string(ErrorClass::kHttp) == "http");
  CHECK(to_string(ErrorClass::kProtocol) == "protocol");
}

TEST_CASE("decide: 2xx delivers", "[retry]") {
  FakeClock clock(1'000'000);
  FixedRandom random(0x80);
  for (int status : {200, 201, 202, 204, 299}) {
    const Decision d =
        decide(kPolicy, 1, outcome_from_status(status, std::nullopt), clock.now_ms(), random);
    CHECK(d.verdict == Verdict::kDelivered);
  }
  // Even on the last allowed attempt.
  CHECK(
      decide(kPolicy, 8, outcome_from_status(200, std::nullopt), clock.now_ms(), random).verdict ==
      Verdict::kDelivered);
}

TEST_CASE("decide: 3xx is a failure, never a success", "[retry]") {
  FixedRandom high(0xff);
  for (int status : {300, 301, 302, 303, 304, 307, 308}) {
    INFO(status);
    const Decision d = decide(kPolicy, 1, outcome_from_status(status, std::nullopt), 10'000, high);
    CHECK(d.verdict == Verdict::kRetry);
    CHECK(d.next_attempt_at == 10'000 + 5'000);
  }
}

TEST_CASE("decide: errors, 4xx and 5xx retry with backoff from now", "[retry]") {
  FakeClock clock(50'000);
  FixedRandom high(0xff);
  FixedRandom low(0x00);
  for (const AttemptOutcome& o :
       {network_error(ErrorClass::kDns), network_error(ErrorClass::kConnect),
        network_error(ErrorClass::kTls), network_error(ErrorClass::kTimeout),
        network_error(ErrorClass::kProtocol), outcome_from_status(400, std::nullopt),
        outcome_from_status(408, std::nullopt), outcome_from_status(500, std::nullopt),
        outcome_from_status(502, std::nullopt)}) {
    const Decision hi = decide(kPolicy, 3, o, clock.now_ms(), high);
    CHECK(hi.verdict == Verdict::kRetry);
    CHECK(hi.next_attempt_at == 50'000 + 20'000);  // delay before attempt 4 is up to 20 s
    CHECK(decide(kPolicy, 3, o, clock.now_ms(), low).next_attempt_at == 50'000 + 10'000);
  }
}

TEST_CASE("decide: gives up after max_attempts", "[retry]") {
  FixedRandom random(0x80);
  const RetryPolicy three{3, Millis{1'000}, Millis{60'000}};
  const AttemptOutcome fail = outcome_from_status(500, std::nullopt);
  CHECK(decide(three, 1, fail, 0, random).verdict == Verdict::kRetry);
  CHECK(decide(three, 2, fail, 0, random).verdict == Verdict::kRetry);
  CHECK(decide(three, 3, fail, 0, random).verdict == Verdict::kGiveUp);
  CHECK(decide(three, 4, fail, 0, random).verdict == Verdict::kGiveUp);
  const RetryPolicy once{1, Millis{1'000}, Millis{60'000}};
  CHECK(decide(once, 1, network_error(ErrorClass::kTimeout), 0, random).verdict ==
        Verdict::kGiveUp);
}

TEST_CASE("decide: a full schedule with a fake clock", "[retry]") {
  FakeClock clock(1'700'000'000'000);
  FixedRandom high(0xff);
  const RetryPolicy policy{5, Millis{1'000}, Millis{3'000}};
  const AttemptOutcome fail = outcome_from_status(503, std::nullopt);
  std::vector<std::int64_t> waits;
  for (int attempt = 1;; ++attempt) {
    const Decision d = decide(policy, attempt, fail, clock.now_ms(), high);
    if (d.verdict != Verdict::kRetry) {
      CHECK(d.verdict == Verdict::kGiveUp);
      CHECK(attempt == 5);
      break;
    }
    waits.push_back(d.next_attempt_at - clock.now_ms());
    clock.set(d.next_attempt_at);
  }
  CHECK(waits == std::vector<std::int64_t>{1'000, 2'000, 3'000, 3'000});
}

TEST_CASE("decide: Retry-After on 429/503 pushes the next attempt out", "[retry]") {
  FixedRandom high(0xff);
  const std::int64_t now = 784111777000;
  CHECK(
      decide(kPolicy, 1, outcome_from_status(429, std::string("120")), now, high).next_attempt_at ==
      now + 120'000);
  CHECK(decide(kPolicy, 1, outcome_from_status(503, std::string("Sun, 06 Nov 1994 08:59:37 GMT")),
               now, high)
            .next_attempt_at == now + 600'000);
  // Clamped to 24 h.
  CHECK(decide(kPolicy, 1, outcome_from_status(503, std::string("999999")), now, high)
            .next_attempt_at == now + kMaxRetryAfter.count());
  // A shorter Retry-After never retries sooner than the backoff.
  CHECK(decide(kPolicy, 1, outcome_from_status(429, std::string("1")), now, high).next_attempt_at ==
        now + 5'000);
  // Unparseable: backoff only.
  CHECK(decide(kPolicy, 1, outcome_from_status(429, std::string("later")), now, high)
            .next_attempt_at == now + 5'000);
}

TEST_CASE("decide: Retry-After is ignored on other statuses", "[retry]") {
  FixedRandom high(0xff);
  for (int status : {500, 502, 301, 400}) {
    INFO(status);
    CHECK(decide(kPolicy, 1, outcome_from_status(status, std::string("3600")), 0, high)
              .next_attempt_at == 5'000);
  }
}

TEST_CASE("decide: Retry-After does not extend past max_attempts", "[retry]") {
  FixedRandom high(0xff);
  CHECK(decide(kPolicy, 8, outcome_from_status(429, std::string("10")), 0, high).verdict ==
        Verdict::kGiveUp);
}
