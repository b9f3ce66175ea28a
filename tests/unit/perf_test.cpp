// Workloads for measuring per-call costs under callgrind (hidden: `[.]`, never run by ctest).
// See docs/performance-history.md, "Send path": run core_tests with `[.perf]` under
// `valgrind --tool=callgrind --toggle-collect='*perf_<name>*'`, one function at a time, and
// divide by KOREHOOK_PERF_N.
#include <openssl/rand.h>

#include <catch2/catch.hpp>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "korehook/sign/headers.hpp"
#include "korehook/util/clock.hpp"
#include "korehook/util/ids.hpp"
#include "korehook/util/time.hpp"

namespace {

int perf_count() {
  const char* text = std::getenv("KOREHOOK_PERF_N");
  return text ? std::atoi(text) : 1000;
}

// SystemRandom as it was before the buffer: one RAND_bytes call per fill.
class UnbufferedRandom final : public korehook::Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
      throw std::runtime_error("RAND_bytes failed");
    }
  }
};

// What the API does per event: an event id, a delivery id, an idempotency token.
[[gnu::noinline]] std::size_t perf_ids(korehook::Random& random, int n) {
  std::size_t total = 0;
  for (int i = 0; i < n; ++i) {
    total += korehook::new_id(korehook::kEventIdPrefix, 1'764'377'226'000 + i, random).size();
    total += korehook::new_id(korehook::kDeliveryIdPrefix, 1'764'377'226'000 + i, random).size();
    total += korehook::new_uuid_v4(random).size();
  }
  return total;
}

[[gnu::noinline]] std::size_t perf_ids_unbuffered(int n) {
  UnbufferedRandom random;
  return perf_ids(random, n);
}

[[gnu::noinline]] std::size_t perf_ids_buffered(int n) {
  korehook::SystemRandom random;
  return perf_ids(random, n);
}

// The headers of one attempt, `step_ms` apart: 1000 formats a new second every time (what
// every call cost before the date cache), 1 what a busy sender sees.
[[gnu::noinline]] std::size_t perf_headers(int n, korehook::TimeMs step_ms) {
  korehook::sign::SigningKeys keys;
  keys.active = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string body(300, 'x');
  std::size_t total = 0;
  for (int i = 0; i < n; ++i) {
    korehook::sign::AttemptInput in;
    in.url = "https://receiver.test/hook";
    in.token = "a3b1c9e0-6f2d-4c8e-9a41-0d5e7b2f1c33";
    in.content_type = "application/json";
    in.body = body;
    in.now = 1'764'377'226'000 + i * step_ms;
    total += korehook::sign::attempt_headers(in, keys).size();
  }
  return total;
}

[[gnu::noinline]] std::size_t perf_headers_new_second(int n) { return perf_headers(n, 1000); }
[[gnu::noinline]] std::size_t perf_headers_same_second(int n) { return perf_headers(n, 0); }

[[gnu::noinline]] std::size_t perf_date_new_second(int n) {
  std::size_t total = 0;
  for (int i = 0; i < n; ++i) total += korehook::format_kore_date(i * 1000LL).size();
  return total;
}

[[gnu::noinline]] std::size_t perf_date_same_second(int n) {
  std::size_t total = 0;
  for (int i = 0; i < n; ++i) total += korehook::format_kore_date(5000).size();
  return total;
}

}  // namespace

TEST_CASE("perf: ids with and without the random buffer", "[.][perf]") {
  const int n = perf_count();
  // OpenSSL sets its DRBGs up on first use: not part of either figure.
  UnbufferedRandom warm_up;
  std::uint8_t byte[1];
  warm_up.fill(byte);
  CHECK(perf_ids_unbuffered(n) == perf_ids_buffered(n));
}

TEST_CASE("perf: attempt headers and the date", "[.][perf]") {
  const int n = perf_count();
  CHECK(perf_headers_new_second(n) == perf_headers_same_second(n));
  CHECK(perf_date_new_second(n) == perf_date_same_second(n));
}
