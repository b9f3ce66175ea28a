#include "korehook/net/address_policy.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>

#include <algorithm>

namespace korehook::net {
namespace {

struct Range {
  Cidr cidr;
  std::string reason;
};

std::vector<Range> make_ranges(
    std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  std::vector<Range> out;
  for (const auto& [text, reason] : list) {
    // The table below is constant and valid: a parse failure is a programming error.
    out.push_back(Range{std::move(parse_cidr(text).value()), std::string(reason)});
  }
  return out;
}

// IANA special-purpose registries (RFC 6890 and successors), plus multicast and the
// reserved class E. Checked in order: the first match names the range in messages.
const std::vector<Range>& blocked_v4() {
  static const std::vector<Range> ranges = make_ranges({
      {"0.0.0.0/8", "this network"},
      {"10.0.0.0/8", "private-use"},
      {"100.64.0.0/10", "shared address space (CGNAT)"},
      {"127.0.0.0/8", "loopback"},
      {"169.254.0.0/16", "link-local (cloud metadata)"},
      {"172.16.0.0/12", "private-use"},
      {"192.0.0.0/24", "IETF protocol assignments"},
      {"192.0.2.0/24", "documentation"},
      {"192.88.99.0/24", "6to4 relay anycast"},
      {"192.168.0.0/16", "private-use"},
      {"198.18.0.0/15", "benchmarking"},
      {"198.51.100.0/24", "documentation"},
      {"203.0.113.0/24", "documentation"},
      {"224.0.0.0/4", "multicast"},
      {"240.0.0.0/4", "reserved"},
  });
  return ranges;
}

// Only 2000::/3 is global unicast; the named ranges outside it come first so messages say
// what the address is, then the catch-all.
const std::vector<Range>& blocked_v6() {
  static const std::vector<Range> ranges = make_ranges({
      {"::/128", "unspecified"},
      {"::1/128", "loopback"},
      {"64:ff9b::/96", "NAT64"},
      {"64:ff9b:1::/48", "local-use NAT64"},
      {"fc00::/7", "unique local"},
      {"fe80::/10", "link-local"},
      {"ff00::/8", "multicast"},
      {"2001::/23", "IETF protocol assignments"},
      {"2001:db8::/32", "documentation"},
      {"2002::/16", "6to4"},
      {"3fff::/20", "documentation"},
  });
  return ranges;
}

constexpr std::string_view kOutsideGlobalUnicast = "!2000::/3";

const Cidr& global_unicast() {
  static const Cidr cidr = parse_cidr("2000::/3").value();
  return cidr;
}

bool has_prefix_zero(const std::array<std::uint8_t, 16>& bytes, std::size_t count) {
  return std::all_of(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(count),
                     [](std::uint8_t b) { return b == 0; });
}

bool is_v4_mapped(const std::array<std::uint8_t, 16>& bytes) {
  return has_prefix_zero(bytes, 10) && bytes[10] == 0xff && bytes[11] == 0xff;
}

// ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated but still routed by some stacks), except :: and
// ::1 which are IPv6's own unspecified and loopback addresses.
bool is_v4_compatible(const std::array<std::uint8_t, 16>& bytes) {
  if (!has_prefix_zero(bytes, 12)) return false;
  return !(has_prefix_zero(bytes, 15) && bytes[15] <= 1);
}

// The IPv4 address an IPv6 form stands for, as an IPv4-mapped address; nullopt otherwise.
std::optional<std::array<std::uint8_t, 16>> embedded_v4(const std::array<std::uint8_t, 16>& b) {
  if (is_v4_mapped(b)) return b;
  if (!is_v4_compatible(b)) return std::nullopt;
  std::array<std::uint8_t, 16> mapped{};
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  std::copy(b.begin() + 12, b.end(), mapped.begin() + 12);
  return mapped;
}

}  // namespace

IpAddress IpAddress::from_v4(const std::array<std::uint8_t, 4>& octets) {
  IpAddress out;
  out.bytes[10] = 0xff;
  out.bytes[11] = 0xff;
  std::copy(octets.begin(), octets.end(), out.bytes.begin() + 12);
  out.v4 = true;
  return out;
}

IpAddress IpAddress::from_v6(const std::array<std::uint8_t, 16>& b) {
  IpAddress out;
  out.bytes = b;
  return out;
}

std::string IpAddress::to_string() const {
  if (v4) {
    return std::to_string(bytes[12]) + "." + std::to_string(bytes[13]) + "." +
           std::to_string(bytes[14]) + "." + std::to_string(bytes[15]);
  }
  return boost::urls::ipv6_address(bytes).to_string();
}

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  const boost::core::string_view sv(text.data(), text.size());
  if (auto v4 = boost::urls::parse_ipv4_address(sv)) return IpAddress::from_v4(v4->to_bytes());
  if (auto v6 = boost::urls::parse_ipv6_address(sv)) return IpAddress::from_v6(v6->to_bytes());
  return std::nullopt;
}

std::string AddressCheck::detail(const IpAddress& address) const {
  if (allowed) return {};
  if (range == kOutsideGlobalUnicast) return address.to_string() + " is " + reason;
  return address.to_string() + " is in blocked range " + range + " (" + reason + ")";
}

AddressCheck check_address(const IpAddress& address, const AddressPolicy& policy) {
  const std::optional<std::array<std::uint8_t, 16>> v4 = embedded_v4(address.bytes);
  for (const Cidr& allow : policy.allow_private) {
    if (allow.contains(address.bytes) || (v4 && allow.contains(*v4))) {
      return AddressCheck{true, allow.text, "allow_private"};
    }
  }
  if (v4) {
    for (const Range& range : blocked_v4()) {
      if (range.cidr.contains(*v4)) return AddressCheck{false, range.cidr.text, range.reason};
    }
    return AddressCheck{true, {}, {}};
  }
  for (const Range& range : blocked_v6()) {
    if (range.cidr.contains(address.bytes)) {
      return AddressCheck{false, range.cidr.text, range.reason};
    }
  }
  if (!global_unicast().contains(address.bytes)) {
    return AddressCheck{false, std::string(kOutsideGlobalUnicast),
                        "outside global unicast 2000::/3"};
  }
  return AddressCheck{true, {}, {}};
}

}  // namespace korehook::net
