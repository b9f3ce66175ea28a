#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "korehook/util/clock.hpp"

namespace korehook {

using Millis = std::chrono::milliseconds;

// KORE's `date` header: UTC, `%Y-%m-%dT%H:%M:%SZ` (seconds precision).
std::string format_kore_date(TimeMs t);

// RFC 3339 UTC with milliseconds, for API output: `2026-11-29T00:47:06.123Z`.
std::string format_rfc3339(TimeMs t);

// Parses RFC 3339 (`2026-11-29T00:47:06Z`, `...06.123Z`, `...06+01:00`).
std::optional<TimeMs> parse_rfc3339(std::string_view text);

// Parses an HTTP date (IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`).
std::optional<TimeMs> parse_http_date(std::string_view text);

// Parses `200ms`, `5s`, `10m`, `2h` (a non-negative integer followed by one unit).
std::optional<Millis> parse_duration(std::string_view text);

// Shortest exact form in the same units: 90000ms -> `90s`, 7200000ms -> `2h`.
std::string format_duration(Millis d);

}  // namespace korehook
