#include "korehook/model/endpoint.hpp"

#include <algorithm>
#include <cctype>

#include "korehook/sign/headers.hpp"

namespace korehook {

namespace {

// RFC 9110 tchar.
bool is_token_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)) != 0) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

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
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
    return "invalid header name (expected an HTTP token: letters, digits and !#$%&'*+-.^_`|~)";
  }
  std::string lowered(name);
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (sign::is_reserved_header(lowered)) {
    return "header '" + std::string(name) +
           "' is reserved: korehook sets it (expected a custom header name)";
  }
  return std::nullopt;
}

std::optional<std::string> validate_header_value(std::string_view value) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return "header value must not contain CR, LF or NUL";
  }
  if (value.size() > 8192) return "header value longer than 8192 bytes";
  return std::nullopt;
}

}  // namespace korehook
