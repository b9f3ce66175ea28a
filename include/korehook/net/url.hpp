#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "korehook/util/result.hpp"

namespace korehook::net {

// RFC 3986 pchar without pct-encoded: unreserved / sub-delims / ":" / "@".
bool is_pchar(char c);

// A validated delivery URL.
struct HttpsUrl {
  std::string url;     // as given
  std::string host;    // lowercase; IPv6 literals without brackets; numeric IPv4 dotted
  std::uint16_t port;  // 443 when absent
  std::string target;  // request target: path (at least "/") + "?query"; no fragment
  // `host` or `host:port` as sent in the Host header (brackets for IPv6 literals; port only
  // when not 443).
  std::string host_header;
  // Pool key: host + ":" + port.
  std::string origin() const;
};

// Accepts only absolute `https://` URLs with a host; rejects userinfo, CR/LF/TAB/NUL/space,
// backslashes, percent-encoded hosts, other schemes, empty or invalid ports, and URLs longer
// than 2048 characters, each with a message naming the reason.
// Numeric hosts that resolvers read as IPv4 (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`)
// are normalised: `host` (and `host_header`) hold the dotted address they mean, so the
// address policy judges that address; `url` keeps the text as given.
// Error codes: `invalid_url`.
Result<HttpsUrl> parse_https_url(std::string_view text);

}  // namespace korehook::net
