#pragma once

// Eight bytes at a time, for the scanners (json/minify, util/encoding, model's header value
// check): a word is tested for the bytes that end a fast run, and the run goes on while a word
// has none. A test that says yes may be wrong (the borrow of a lower byte); the byte-wise code
// after it decides, so only speed depends on it.

#include <cstdint>
#include <cstring>

namespace korehook::words {

inline constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr std::uint64_t kHighs = 0x8080808080808080ULL;  // a byte from 0x80: not ASCII

constexpr std::uint64_t has_zero_byte(std::uint64_t v) { return (v - kOnes) & ~v & kHighs; }
constexpr std::uint64_t has_byte(std::uint64_t w, unsigned char b) {
  return has_zero_byte(w ^ (kOnes * b));
}
// A byte below `n` (n at most 0x80).
constexpr std::uint64_t has_byte_below(std::uint64_t w, unsigned char n) {
  return (w - kOnes * n) & ~w & kHighs;
}

inline std::uint64_t load8(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

}  // namespace korehook::words
