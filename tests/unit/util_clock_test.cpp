#include <catch2/catch.hpp>

#include <array>
#include <chrono>

#include "korehook/util/clock.hpp"
#include "unit/fakes.hpp"

using korehook::testing::FixedRandom;
using korehook::testing::ScriptedRandom;
using korehook::testing::SeededRandom;

TEST_CASE("Random::next_u64 reads eight bytes big-endian", "[clock]") {
  ScriptedRandom r({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08});
  CHECK(r.next_u64() == 0x0102030405060708ULL);
  CHECK(r.consumed() == 8);
}

TEST_CASE("Random::uniform01 stays at or above 0 and below 1", "[clock]") {
  FixedRandom zero(0x00);
  CHECK(zero.uniform01() == 0.0);
  FixedRandom ones(0xff);
  const double top = ones.uniform01();
  CHECK(top < 1.0);
  CHECK(top > 0.999999);
  SeededRandom seeded(42);
  double sum = 0;
  for (int i = 0; i < 1000; ++i) {
    const double u = seeded.uniform01();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
  }
  CHECK(sum / 1000 == Approx(0.5).margin(0.05));
}

TEST_CASE("SystemRandom fills the whole buffer", "[clock]") {
  korehook::SystemRandom r;
  std::array<std::uint8_t, 64> a{};
  std::array<std::uint8_t, 64> b{};
  r.fill(a);
  r.fill(b);
  CHECK(a != b);  // equal only with probability 2^-512
  CHECK(a != std::array<std::uint8_t, 64>{});
}

TEST_CASE("SystemClock reports Unix milliseconds", "[clock]") {
  korehook::SystemClock clock;
  const auto sys = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto diff = clock.now_ms() - sys;
  CHECK(diff > -60'000);
  CHECK(diff < 60'000);
}
