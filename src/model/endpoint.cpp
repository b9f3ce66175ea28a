#include "korehook/model/endpoint.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "korehook/sign/headers.hpp"
#include "korehook/util/encoding.hpp"
#include "util/char_table.hpp"
#include "util/words.hpp"

namespace korehook {

namespace {

// Every delivery attempt checks its headers with these: a table, not a search per character.
constexpr auto kTokenChars =
    char_table("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~");

}  // namespace

bool is_token_char(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

bool is_http_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

bool is_framing_safe(std::string_view value) {
  // Eight bytes at a time (a signature value is a hundred bytes or more); a word that may hold
  // one of the three, and the tail, are looked at byte by byte.
  const char* p = value.data();
  const std::size_t n = value.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t w = words::load8(p + i);
    if ((words::has_byte(w, '\r') | words::has_byte(w, '\n') | words::has_zero_byte(w)) != 0) break;
  }
  for (; i < n; ++i) {
    if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') return false;
  }
  return true;
}

std::string_view to_string(EndpointSource s) {
  return s == EndpointSource::kConfig ? "config" : "api";
}

std::string_view to_string(DisabledReason r) {
  switch (r) {
    case DisabledReason::kNone:
      return "";
    case DisabledReason::kManual:
      return "manual";
    case DisabledReason::kGone:
      return "gone";
    case DisabledReason::kFailing:
      return "failing";
    case DisabledReason::kConfig:
      return "config";
  }
  return "";
}

AttemptTimeouts attempt_timeouts(const EndpointSettings& settings, EndpointKind kind) {
  AttemptTimeouts t;
  t.connect = settings.connect_timeout;
  t.read = settings.read_timeout;
  t.total = settings.connect_timeout + settings.read_timeout;
  // One timeout for the whole attempt: an answer that still fits in it is not cut at 3/5.
  if (kind == EndpointKind::kDestination) t.read = t.total;
  return t;
}

bool is_valid_identifier(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
}

std::optional<std::string> validate_header_name(std::string_view name) {
  if (!is_http_token(name)) {
    return "invalid header name (expected an HTTP token: letters, digits and !#$%&'*+-.^_`|~)";
  }
  const std::string lowered = ascii_lowercase(name);
  if (sign::is_reserved_header(lowered)) {
    return "header '" + std::string(name) +
           "' is reserved: korehook sets it (expected a custom header name)";
  }
  return std::nullopt;
}

std::optional<std::string> validate_header_value(std::string_view value) {
  if (!is_framing_safe(value)) {
    return "header value must not contain CR, LF or NUL";
  }
  if (value.size() > 8192) return "header value longer than 8192 bytes";
  return std::nullopt;
}

}  // namespace korehook
