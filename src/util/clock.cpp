#include "korehook/util/clock.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>

namespace korehook {

TimeMs SystemClock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t Random::next_u64() {
  std::uint8_t bytes[8];
  fill(bytes);
  std::uint64_t v = 0;
  for (std::uint8_t b : bytes) v = (v << 8) | b;
  return v;
}

double Random::uniform01() {
  // The top 53 bits fill a double's mantissa exactly, so the result is < 1.
  return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0);
}

void SystemRandom::fill(std::span<std::uint8_t> out) {
  while (!out.empty()) {
    const std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
    // Continuing without randomness would produce guessable secrets and tokens.
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
      throw std::runtime_error("RAND_bytes failed: no secure random source");
    }
    out = out.subspan(n);
  }
}

}  // namespace korehook
