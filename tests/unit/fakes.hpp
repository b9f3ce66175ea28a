#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "korehook/util/clock.hpp"

namespace korehook::testing {

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimeMs start = 0) : now_(start) {}
  TimeMs now_ms() const override { return now_; }
  void set(TimeMs t) { now_ = t; }
  void advance(TimeMs ms) { now_ += ms; }

 private:
  TimeMs now_;
};

// Replays `bytes` in order (cycling), so every draw is known in advance.
class ScriptedRandom final : public Random {
 public:
  explicit ScriptedRandom(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = bytes_[consumed_++ % bytes_.size()];
  }
  std::size_t consumed() const { return consumed_; }

 private:
  std::vector<std::uint8_t> bytes_;
  std::size_t consumed_ = 0;
};

// Every byte is `value`: 0x00 makes uniform01() return 0, 0xff its largest value.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(std::uint8_t value) : value_(value) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = value_;
  }

 private:
  std::uint8_t value_;
};

// A deterministic pseudo-random stream (splitmix64) for property-style loops.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      if (left_ == 0) {
        state_ += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = state_;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        word_ = z ^ (z >> 31);
        left_ = 8;
      }
      b = static_cast<std::uint8_t>(word_ >> (8 * --left_));
    }
  }

 private:
  std::uint64_t state_;
  std::uint64_t word_ = 0;
  int left_ = 0;
};

}  // namespace korehook::testing
