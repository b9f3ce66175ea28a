#include "korehook/util/clock.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <stdexcept>

namespace korehook {
namespace {

void rand_bytes(std::span<std::uint8_t> out) {
  while (!out.empty()) {
    const std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
    // Continuing without randomness would produce guessable secrets and tokens.
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
      throw std::runtime_error("RAND_bytes failed: no secure random source");
    }
    out = out.subspan(n);
  }
}

// Bumped in a forked child, so bytes buffered before the fork are never served twice
// (OpenSSL reseeds its own DRBG after a fork; our buffer would not).
std::atomic<std::uint64_t> fork_generation{0};

void on_fork_child() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

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

SystemRandom::SystemRandom() {
  static const bool registered = [] {
    if (pthread_atfork(nullptr, nullptr, &on_fork_child) != 0) {
      throw std::runtime_error("pthread_atfork failed");
    }
    return true;
  }();
  (void)registered;
  generation_ = fork_generation.load(std::memory_order_relaxed);
}

SystemRandom::~SystemRandom() { OPENSSL_cleanse(buffer_.data(), buffer_.size()); }

void SystemRandom::fill(std::span<std::uint8_t> out) {
  if (out.size() > kDirectBytes) return rand_bytes(out);
  std::lock_guard lock(mutex_);
  if (const std::uint64_t now = fork_generation.load(std::memory_order_relaxed);
      now != generation_) {
    generation_ = now;
    available_ = 0;
  }
  while (!out.empty()) {
    if (available_ == 0) {
      rand_bytes(buffer_);
      available_ = buffer_.size();
    }
    const std::size_t n = std::min(out.size(), available_);
    std::uint8_t* from = buffer_.data() + (buffer_.size() - available_);
    std::memcpy(out.data(), from, n);
    // Served bytes must not stay readable in memory (they become tokens and secrets).
    OPENSSL_cleanse(from, n);
    available_ -= n;
    out = out.subspan(n);
  }
}

}  // namespace korehook
