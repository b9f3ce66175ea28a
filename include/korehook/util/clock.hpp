#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
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

// Cryptographically secure: OpenSSL RAND_bytes output, drawn 4 KiB at a time so an id or a
// token does not pay for a RAND_bytes call (DRBG locking and checks, ~11k instructions) each.
// Every byte is handed out once and wiped from the buffer as it is handed out; requests larger
// than kDirectBytes go to RAND_bytes directly. A forked child never serves the parent's
// buffered bytes. Thread-safe (one mutex around the buffer). Throws std::runtime_error when
// OpenSSL has no secure random source.
class SystemRandom final : public Random {
 public:
  SystemRandom();
  ~SystemRandom() override;
  SystemRandom(const SystemRandom&) = delete;
  SystemRandom& operator=(const SystemRandom&) = delete;

  void fill(std::span<std::uint8_t> out) override;

  static constexpr std::size_t kBufferBytes = 4096;
  static constexpr std::size_t kDirectBytes = 256;

 private:
  std::mutex mutex_;
  std::uint64_t generation_ = 0;  // fork generation the buffered bytes belong to
  std::size_t available_ = 0;     // unread bytes, at the end of buffer_
  std::array<std::uint8_t, kBufferBytes> buffer_{};
};

}  // namespace korehook
