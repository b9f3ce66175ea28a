#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace korehook::route {

// Patterns: `*` matches every type; `a.b.*` matches every type starting with `a.b.`;
// anything else matches exactly.
bool type_matches(std::string_view pattern, std::string_view type);
bool matches_any(const std::vector<std::string>& patterns, std::string_view type);

// Error message or nullopt. A type is 1..200 characters of [A-Za-z0-9._:/-].
std::optional<std::string> validate_event_type(std::string_view type);
// A pattern is `*`, a valid type, or a valid type followed by `.*`.
std::optional<std::string> validate_pattern(std::string_view pattern);

}  // namespace korehook::route
