#include "korehook/net/url.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>

#include <algorithm>
#include <optional>

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

// RFC 3986 pchar without pct-encoded: unreserved / sub-delims / ":" / "@".
bool is_pchar(char c) {
  return is_alpha(c) || is_digit(c) ||
         std::string_view("-._~!$&'()*+,;=:@").find(c) != std::string_view::npos;
}

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

// A DNS name of letters, digits, `-` and `_` labels. Anything else a resolver might still
// accept (percent-escapes, `127.1`, `0x7f.1`, a bare integer) is refused: those spellings
// exist mostly to slip past address checks.
std::optional<std::string> check_host_name(std::string_view host) {
  if (host.size() > kMaxHostLength) return "host name is longer than 253 characters";
  std::string_view last_label;
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
    last_label = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  const bool all_digits = std::all_of(last_label.begin(), last_label.end(), is_digit);
  const bool hex_number =
      last_label.starts_with("0x") && std::all_of(last_label.begin() + 2, last_label.end(), is_hex);
  if (all_digits || hex_number) {
    return "host is neither a host name nor a dotted-decimal IPv4 address";
  }
  return std::nullopt;
}

}  // namespace

std::string HttpsUrl::origin() const { return host + ":" + std::to_string(port); }

Result<HttpsUrl> parse_https_url(std::string_view text) {
  if (text.empty()) return invalid("URL is empty");
  if (text.size() > kMaxUrlLength) return invalid("URL is longer than 2048 characters");
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n' || c == '\t' || c == '\0' || c == ' ') {
      return invalid("URL contains whitespace or a control character");
    }
    if (c == '\\') return invalid("URL contains a backslash");
    if (u < 0x20 || u >= 0x7f) return invalid("URL contains a control or non-ASCII character");
  }

  constexpr std::string_view kScheme = "https://";
  if (text.size() < kScheme.size() || lower(text.substr(0, kScheme.size())) != kScheme) {
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
    out.host = lower(host);
    if (!boost::urls::parse_ipv4_address(to_boost(out.host))) {
      if (auto err = check_host_name(out.host)) return invalid(*err);
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
