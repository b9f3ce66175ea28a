#include "korehook/net/cidr.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>

#include <algorithm>

namespace korehook::net {
namespace {

Error invalid(std::string_view text, std::string_view why) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on a literal + a
  // temporary string in a Release build.
  std::string message = "`";
  message.append(text).append("`: ").append(why);
  return Error{"invalid_cidr", std::move(message)};
}

}  // namespace

bool Cidr::contains(const std::array<std::uint8_t, 16>& mapped_address) const {
  const int full_bytes = prefix / 8;
  for (int i = 0; i < full_bytes; ++i) {
    if (address[static_cast<std::size_t>(i)] != mapped_address[static_cast<std::size_t>(i)]) {
      return false;
    }
  }
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  const auto i = static_cast<std::size_t>(full_bytes);
  return (address[i] & mask) == (mapped_address[i] & mask);
}

Result<Cidr> parse_cidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  if (addr_text.empty()) return invalid(text, "missing address");

  Cidr cidr;
  cidr.text = std::string(text);
  int max_prefix = 128;
  const boost::core::string_view addr_sv(addr_text.data(), addr_text.size());
  if (auto v4 = boost::urls::parse_ipv4_address(addr_sv)) {
    const auto bytes = v4->to_bytes();
    cidr.address[10] = 0xff;
    cidr.address[11] = 0xff;
    std::copy(bytes.begin(), bytes.end(), cidr.address.begin() + 12);
    cidr.v4 = true;
    max_prefix = 32;
  } else if (auto v6 = boost::urls::parse_ipv6_address(addr_sv)) {
    cidr.address = v6->to_bytes();
  } else {
    return invalid(text, "not an IPv4 or IPv6 address");
  }

  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    const bool digits = !p.empty() && p.size() <= 3 && std::all_of(p.begin(), p.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (!digits || (p.size() > 1 && p[0] == '0')) {
      return invalid(text, "prefix length must be a number without leading zeros");
    }
    prefix = 0;
    for (char c : p) prefix = prefix * 10 + (c - '0');
    if (prefix > max_prefix) {
      return invalid(text, "prefix length is larger than " + std::to_string(max_prefix));
    }
  }
  cidr.prefix = cidr.v4 ? prefix + 96 : prefix;

  // Host bits below the prefix usually mean a typo in the intended network.
  for (int bit = cidr.prefix; bit < 128; ++bit) {
    if ((cidr.address[static_cast<std::size_t>(bit / 8)] >> (7 - bit % 8)) & 1) {
      return invalid(text, "address has bits set below the prefix length (not a network address)");
    }
  }
  return cidr;
}

}  // namespace korehook::net
