#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "korehook/net/cidr.hpp"

namespace korehook::net {

// One IP address, family-neutral: IPv4 is held as its IPv4-mapped IPv6 form
// (::ffff:a.b.c.d), the representation Cidr::contains expects.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool v4 = false;  // given as IPv4 (printed dotted); an IPv6 ::ffff:a.b.c.d keeps v4 false

  static IpAddress from_v4(const std::array<std::uint8_t, 4>& octets);
  static IpAddress from_v6(const std::array<std::uint8_t, 16>& bytes);
  // "10.0.0.1", "2001:db8::1" (no brackets, no zone id): the form used in messages.
  std::string to_string() const;
};

// Dotted-decimal IPv4 or IPv6 text (brackets allowed around IPv6); nullopt otherwise.
std::optional<IpAddress> parse_ip_address(std::string_view text);

// Which destinations deliveries may connect to. Everything that is not public unicast is
// blocked (see docs/security.md for the list and the reasons); `allow_private` re-opens
// ranges, for labs and tests (config `network.allow_private`).
struct AddressPolicy {
  std::vector<Cidr> allow_private;
};

// The verdict on one address. When blocked, `range` is the blocked range ("10.0.0.0/8") and
// `reason` what it is ("private-use"); when allowed through `allow_private`, `range` is the
// allow-list entry that opened it.
struct AddressCheck {
  bool allowed = false;
  std::string range;
  std::string reason;
  // "10.0.0.1 is in blocked range 10.0.0.0/8 (private-use)"; empty when allowed.
  std::string detail(const IpAddress& address) const;
};

// Judges one resolved address. IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96 except
// :: and ::1) addresses are judged by their IPv4 part, so neither spelling slips past the
// IPv4 ranges. An allow_private entry matches the address as given or its IPv4 part.
// Pure and thread-safe.
[[nodiscard]] AddressCheck check_address(const IpAddress& address, const AddressPolicy& policy);

[[nodiscard]] inline bool is_address_allowed(const IpAddress& address,
                                             const AddressPolicy& policy) {
  return check_address(address, policy).allowed;
}

}  // namespace korehook::net
