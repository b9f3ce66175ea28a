#pragma once

#include <cstdint>
#include <span>

namespace korehook {

// Milliseconds since the Unix epoch (wall time, for records and schedules).
using TimeMs = std::int64_t;

// Wall-clock source, injected so the core can be tested with a fake clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimeMs now_ms() const override;
};

// Random source, injected so backoff jitter and ids are reproducible in tests.
class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
  std::uint64_t next_u64();
  // Uniform in [0, 1).
  double uniform01();
};

// Cryptographically secure (OpenSSL RAND_bytes). Thread-safe.
class SystemRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace korehook
