#include "korehook/route/filter.hpp"

#include <algorithm>

namespace korehook::route {
namespace {

constexpr std::size_t kMaxTypeLength = 200;

bool is_type_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '/' || c == '-';
}

}  // namespace

bool type_matches(std::string_view pattern, std::string_view type) {
  if (pattern == "*") return true;
  if (pattern.ends_with(".*")) {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // keeps the dot
    return type.size() > prefix.size() && type.starts_with(prefix);
  }
  return pattern == type;
}

bool matches_any(const std::vector<std::string>& patterns, std::string_view type) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [type](const std::string& p) { return type_matches(p, type); });
}

std::optional<std::string> validate_event_type(std::string_view type) {
  if (type.empty()) return "event type is empty";
  if (type.size() > kMaxTypeLength) {
    return "event type is longer than " + std::to_string(kMaxTypeLength) + " characters";
  }
  if (!std::all_of(type.begin(), type.end(), is_type_char)) {
    return "event type may contain only letters, digits and . _ : / -";
  }
  return std::nullopt;
}

std::optional<std::string> validate_pattern(std::string_view pattern) {
  if (pattern == "*") return std::nullopt;
  if (pattern.ends_with(".*")) {
    if (auto err = validate_event_type(pattern.substr(0, pattern.size() - 2))) {
      return "pattern `" + std::string(pattern) + "`: " + *err;
    }
    return std::nullopt;
  }
  if (auto err = validate_event_type(pattern)) {
    return "pattern `" + std::string(pattern) + "`: " + *err +
           " (use `*`, an exact type, or a prefix followed by `.*`)";
  }
  return std::nullopt;
}

}  // namespace korehook::route
