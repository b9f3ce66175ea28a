#include "korehook/util/ids.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace korehook {
namespace {

constexpr std::string_view kCrockford = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::int64_t kMaxUlidTime = (std::int64_t{1} << 48) - 1;

}  // namespace

std::string new_id(std::string_view prefix, TimeMs now, Random& random) {
  // 128 bits, big-endian: 48 bits of time, then 80 random bits.
  std::array<std::uint8_t, 16> bytes{};
  const auto t =
      static_cast<std::uint64_t>(now < 0 ? 0 : (now > kMaxUlidTime ? kMaxUlidTime : now));
  for (int i = 0; i < 6; ++i)
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(t >> (40 - 8 * i));
  random.fill(std::span(bytes).subspan(6));

  // Written in place: one allocation, no capacity check per character.
  std::string id(prefix.size() + 1 + 26, '_');
  char* out = id.data();
  std::memcpy(out, prefix.data(), prefix.size());
  out += prefix.size() + 1;
  // 26 characters carry 130 bits: the value is read as if two zero bits preceded it.
  // Character c is the 5 bits whose lowest is bit 125 - 5c of the value (bit 0 the least
  // significant), taken from its two 64-bit halves.
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    hi = hi << 8 | bytes[i];
    lo = lo << 8 | bytes[i + 8];
  }
  for (int c = 0; c < 26; ++c) {
    const int low = 125 - 5 * c;
    std::uint64_t v = 0;
    if (low >= 64) {
      v = hi >> (low - 64);
    } else if (low <= 59) {
      v = lo >> low;
    } else {  // bits on both sides of the halves' border
      v = lo >> low | hi << (64 - low);
    }
    out[c] = kCrockford[v & 31];
  }
  return id;
}

std::string new_uuid_v4(Random& random) {
  std::array<std::uint8_t, 16> b{};
  random.fill(b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  // 8-4-4-4-12 hex digits written in place.
  std::string out(36, '-');
  std::size_t at = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;  // past a hyphen
    out[at++] = kHexDigits[b[i] >> 4];
    out[at++] = kHexDigits[b[i] & 0x0f];
  }
  return out;
}

}  // namespace korehook
