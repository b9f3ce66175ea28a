#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "korehook/util/result.hpp"

namespace korehook::net {

// An IPv4 or IPv6 network. IPv4 is stored as an IPv4-mapped IPv6 address with
// prefix + 96, so one comparison serves both families.
struct Cidr {
  std::array<std::uint8_t, 16> address{};
  int prefix = 0;  // 0..128 in the mapped space
  bool v4 = false;
  std::string text;  // canonical text as given, for messages
  bool contains(const std::array<std::uint8_t, 16>& mapped_address) const;
};

// `127.0.0.0/8`, `::1/128`, or a bare address (full-length prefix).
// Host bits set below the prefix are an error (`10.0.0.1/8`).
Result<Cidr> parse_cidr(std::string_view text);

}  // namespace korehook::net
