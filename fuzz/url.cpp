// parse_https_url on any bytes: no crash, and what it accepts is self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "korehook/net/address_policy.hpp"
#include "korehook/net/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto url = korehook::net::parse_https_url(text);
  if (!url.ok()) return 0;
  // An accepted URL never carries bytes that could break a request line or header.
  for (std::string_view part : {std::string_view(url->host), std::string_view(url->target),
                                std::string_view(url->host_header)}) {
    for (char c : part) {
      if (c == '\r' || c == '\n' || c == '\0' || c == ' ' || c == '\\') std::abort();
    }
  }
  if (url->host.find_first_of("@%/?#") != std::string::npos) std::abort();
  if (url->target.empty() || url->target.front() != '/' || url->port == 0) std::abort();
  // A host that is an address is re-readable as one (what the SSRF guard judges).
  if (auto address = korehook::net::parse_ip_address(url->host)) {
    (void)korehook::net::check_address(*address, {});
  }
  // Parsing is stable: the normalised host parses to itself. The normal form can be longer
  // than the input (`https://1?...` becomes `https://0.0.0.1/?...`), so one past the
  // 2,048-character input limit is only checked for that refusal.
  const std::string normal = "https://" + url->host_header + url->target;
  const auto again = korehook::net::parse_https_url(normal);
  if (normal.size() > 2048) {
    if (again.ok()) std::abort();
    return 0;
  }
  if (!again.ok() || again->host != url->host || again->port != url->port) std::abort();
  return 0;
}
