#include "korehook/net/url.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>

#include <algorithm>
#include <optional>
#include <vector>

#include "util/char_table.hpp"

namespace korehook::net {
namespace {

// Parsed by hand: Boost.URL 1.81's parse_uri accepts `https://h:44a/` as port 44 + path
// `a/`, and a request target must never come out of such a misreading.

constexpr std::size_t kMaxUrlLength = 2048;
constexpr std::size_t kMaxHostLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

Error invalid(std::string message) { return Error{"invalid_url", std::move(message)}; }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

boost::core::string_view to_boost(std::string_view s) { return {s.data(), s.size()}; }

constexpr auto kPchars =
    char_table("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@");

// Path (`/` allowed) or query/fragment (`/` and `?` allowed), with valid %HH escapes.
bool valid_component(std::string_view s, std::string_view extra) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      if (!is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 2;
    } else if (!is_pchar(c) && extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// One part of a numeric IPv4 host as inet_aton reads it: 0x-prefixed hex, 0-prefixed
// octal, or decimal. nullopt when it is not a number (or absurdly long).
std::optional<std::uint64_t> parse_ipv4_part(std::string_view part) {
  int base = 10;
  if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
    base = 16;
    part.remove_prefix(2);
  } else if (part.size() >= 2 && part[0] == '0') {
    base = 8;
    part.remove_prefix(1);
  }
  if (part.empty() || part.size() > 12) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : part) {
    int digit = 0;
    if (is_digit(c)) {
      digit = c - '0';
    } else if (base == 16 && is_hex(c)) {
      digit = ascii_lower(c) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (digit >= base) return std::nullopt;
    value = value * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(digit);
  }
  return value;
}

// True when the last label is a number (decimal or 0x-hex): resolvers then read the whole
// host as an IPv4 address, never as a name.
bool ends_in_number(std::string_view host) {
  const std::size_t dot = host.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (std::all_of(last.begin(), last.end(), is_digit)) return true;
  // `0x` alone counts: some resolvers read it as 0.
  return last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') &&
         std::all_of(last.begin() + 2, last.end(), is_hex);
}

// The forms inet_aton (and so getaddrinfo) accepts besides dotted decimal: `2130706433`,
// `0177.0.0.1`, `0x7f.1`, `127.1` (1 to 4 parts; the last one fills the remaining bytes).
// Returned as the dotted-decimal address they mean, so the address policy judges that.
std::optional<std::string> normalize_numeric_ipv4(std::string_view host) {
  std::vector<std::uint64_t> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = host.find('.', start);
    const std::string_view part =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    auto value = parse_ipv4_part(part);
    if (!value || parts.size() == 4) return std::nullopt;
    parts.push_back(*value);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  std::uint64_t address = 0;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] > 255) return std::nullopt;
    address |= parts[i] << (8 * (3 - i));
  }
  const std::uint64_t last_limit = std::uint64_t{1} << (8 * (5 - parts.size()));
  if (parts.back() >= last_limit) return std::nullopt;
  address |= parts.back();
  return std::to_string((address >> 24) & 0xff) + "." + std::to_string((address >> 16) & 0xff) +
         "." + std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

// A DNS name of letters, digits, `-` and `_` labels, whose last label is not a number
// (numeric hosts are IPv4 addresses, handled before).
std::optional<std::string> check_host_name(std::string_view host) {
  if (host.size() > kMaxHostLength) return "host name is longer than 253 characters";
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = host.find('.', start);
    const std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return "host name has an empty label";
    if (label.size() > kMaxLabelLength) return "host name label is longer than 63 characters";
    for (char c : label) {
      if (!is_digit(c) && !(c >= 'a' && c <= 'z') && c != '-' && c != '_') {
        return "host must be a host name (letters, digits, '-', '_', '.') or an IP address";
      }
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::nullopt;
}

}  // namespace

bool is_pchar(char c) { return kPchars[static_cast<unsigned char>(c)]; }

std::string HttpsUrl::origin() const { return host + ":" + std::to_string(port); }

Result<HttpsUrl> parse_https_url(std::string_view text) {
  if (text.empty()) return invalid("URL is empty");
  if (text.size() > kMaxUrlLength) return invalid("URL is longer than 2048 characters");
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') return invalid("URL contains a line break (CR or LF)");
    if (c == '\t') return invalid("URL contains a tab");
    if (c == '\0') return invalid("URL contains a NUL byte");
    if (c == ' ') return invalid("URL contains a space");
    if (c == '\\') return invalid("URL contains a backslash");
    if (u < 0x20 || u >= 0x7f) return invalid("URL contains a control or non-ASCII character");
  }

  constexpr std::string_view kScheme = "https://";
  if (text.size() < kScheme.size() || lower(text.substr(0, kScheme.size())) != kScheme) {
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos && colon > 0 && colon < 16 &&
        std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(colon), is_alpha) &&
        lower(text.substr(0, colon)) != "https") {
      return invalid("URL scheme must be https, not " + lower(text.substr(0, colon)));
    }
    return invalid("URL must start with https://");
  }
  std::string_view rest = text.substr(kScheme.size());
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);

  if (authority.find('@') != std::string_view::npos) {
    return invalid("URL must not contain user information (user@host)");
  }
  if (authority.empty()) return invalid("URL has no host");

  HttpsUrl out;
  out.url = std::string(text);
  std::optional<std::string_view> port_text;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid("URL has an unterminated IPv6 literal");
    const std::string_view literal = authority.substr(1, close - 1);
    if (!boost::urls::parse_ipv6_address(to_boost(literal))) {
      return invalid("URL host is not a valid IPv6 address (zone ids are not supported)");
    }
    out.host = lower(literal);
    out.host_header = "[" + out.host + "]";
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("URL has characters after the IPv6 literal");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    const std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (host.empty()) return invalid("URL has an empty host");
    if (host.find('%') != std::string_view::npos) {
      return invalid("URL host must not be percent-encoded");
    }
    out.host = lower(host);
    if (!boost::urls::parse_ipv4_address(to_boost(out.host))) {
      if (ends_in_number(out.host)) {
        auto address = normalize_numeric_ipv4(out.host);
        if (!address) return invalid("URL host is a number but not a valid IPv4 address");
        out.host = std::move(*address);
      } else if (auto err = check_host_name(out.host)) {
        return invalid(*err);
      }
    }
    out.host_header = out.host;
  }

  out.port = 443;
  if (port_text) {
    if (port_text->empty()) return invalid("URL has an empty port");
    if (port_text->size() > 5 || !std::all_of(port_text->begin(), port_text->end(), is_digit)) {
      return invalid("URL port must be a number from 1 to 65535");
    }
    int value = 0;
    for (char c : *port_text) value = value * 10 + (c - '0');
    if (value < 1 || value > 65535) return invalid("URL port must be a number from 1 to 65535");
    out.port = static_cast<std::uint16_t>(value);
  }
  if (out.port != 443) out.host_header += ":" + std::to_string(out.port);

  const std::size_t fragment_at = rest.find('#');
  const std::string_view fragment =
      fragment_at == std::string_view::npos ? std::string_view() : rest.substr(fragment_at + 1);
  rest = rest.substr(0, fragment_at);
  const std::size_t query_at = rest.find('?');
  const std::string_view path = rest.substr(0, query_at);
  if (!valid_component(path, "/")) return invalid("URL path has an invalid character or escape");
  if (query_at != std::string_view::npos && !valid_component(rest.substr(query_at + 1), "/?")) {
    return invalid("URL query has an invalid character or escape");
  }
  if (!valid_component(fragment, "/?")) {
    return invalid("URL fragment has an invalid character or escape");
  }

  out.target = path.empty() ? "/" : std::string(path);
  if (query_at != std::string_view::npos) out.target += rest.substr(query_at);
  return out;
}

}  // namespace korehook::net
