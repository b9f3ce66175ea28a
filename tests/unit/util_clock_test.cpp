#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

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

namespace {
using Chunk = std::array<std::uint8_t, 16>;
}

TEST_CASE("SystemRandom never hands out the same bytes twice across refills", "[clock]") {
  korehook::SystemRandom r;
  std::set<Chunk> seen;
  // Odd sizes so reads straddle the buffer's refills.
  const std::size_t rounds = 3 * korehook::SystemRandom::kBufferBytes / 16;
  for (std::size_t i = 0; i < rounds; ++i) {
    Chunk c{};
    r.fill(std::span(c).first(i % 3 == 0 ? 7 : 16));
    REQUIRE(seen.insert(c).second);
  }
  std::vector<std::uint8_t> big(korehook::SystemRandom::kDirectBytes + 1);
  r.fill(big);
  CHECK(big != std::vector<std::uint8_t>(big.size()));
}

TEST_CASE("SystemRandom shared by threads serves each byte once", "[clock]") {
  korehook::SystemRandom r;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<Chunk>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&r, &out = drawn[t]] {
      out.resize(kPerThread);
      for (Chunk& c : out) r.fill(c);
    });
  }
  for (auto& t : threads) t.join();
  std::set<Chunk> seen;
  for (const auto& list : drawn) {
    for (const Chunk& c : list) REQUIRE(seen.insert(c).second);
  }
}

TEST_CASE("SystemRandom in a forked child does not repeat the parent's buffered bytes", "[clock]") {
  korehook::SystemRandom r;
  Chunk first{};
  r.fill(first);  // the buffer now holds bytes the child could copy
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    Chunk c{};
    r.fill(c);
    const bool ok = write(fds[1], c.data(), c.size()) == static_cast<ssize_t>(c.size());
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  Chunk child{};
  const ssize_t got = read(fds[0], child.data(), child.size());
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(got == static_cast<ssize_t>(child.size()));
  Chunk parent{};
  r.fill(parent);
  CHECK(child != parent);
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
