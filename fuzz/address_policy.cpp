// The SSRF classifier on arbitrary 16-byte addresses and allow lists: no crash, and the
// IPv4-mapped form of an address always gets the same verdict as the IPv4 address.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "korehook/net/address_policy.hpp"

using korehook::net::AddressPolicy;
using korehook::net::IpAddress;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 17) return 0;
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < 16; ++i) bytes[i] = data[i];
  AddressPolicy policy;
  // The rest: allow-list entries as text ("10.0.0.0/8,::1/128").
  std::string rest(reinterpret_cast<const char*>(data + 16), size - 16);
  std::size_t start = 0;
  while (start <= rest.size() && policy.allow_private.size() < 8) {
    const std::size_t comma = rest.find(',', start);
    auto cidr = korehook::net::parse_cidr(rest.substr(start, comma - start));
    if (cidr.ok()) policy.allow_private.push_back(cidr.value());
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const IpAddress v6 = IpAddress::from_v6(bytes);
  const auto check = korehook::net::check_address(v6, policy);
  if (check.allowed != check.detail(v6).empty()) std::abort();
  const IpAddress v4 = IpAddress::from_v4({bytes[12], bytes[13], bytes[14], bytes[15]});
  IpAddress mapped = v4;
  mapped.v4 = false;
  if (korehook::net::is_address_allowed(v4, policy) !=
      korehook::net::is_address_allowed(mapped, policy)) {
    std::abort();
  }
  // Text round trip.
  const auto parsed = korehook::net::parse_ip_address(v6.to_string());
  if (!parsed || parsed->bytes != bytes) std::abort();
  return 0;
}
