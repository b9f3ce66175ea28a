#include "korehook/util/time.hpp"

#include <array>
#include <cstdio>
#include <limits>

namespace korehook {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::sys_days;
using std::chrono::year_month_day;

struct Civil {
  int year;
  unsigned month;
  unsigned day;
  int hour;
  int minute;
  int second;
  int millis;
};

Civil to_civil(TimeMs t) {
  const Millis ms{t};
  const auto day = floor<days>(ms);
  const year_month_day ymd{sys_days{day}};
  const std::int64_t in_day = (ms - day).count();  // 0 .. 86'399'999
  return Civil{static_cast<int>(ymd.year()),           static_cast<unsigned>(ymd.month()),
               static_cast<unsigned>(ymd.day()),       static_cast<int>(in_day / 3'600'000),
               static_cast<int>(in_day / 60'000 % 60), static_cast<int>(in_day / 1000 % 60),
               static_cast<int>(in_day % 1000)};
}

bool parse_fixed_digits(std::string_view s, int& out) {
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

// Milliseconds since the epoch of a UTC civil time; nullopt when it does not exist.
// Second 60 (a leap second) is accepted.
std::optional<TimeMs> civil_to_ms(int year, int month, int day, int hour, int minute, int second) {
  const year_month_day ymd{std::chrono::year{year},
                           std::chrono::month{static_cast<unsigned>(month)},
                           std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const auto d = sys_days{ymd}.time_since_epoch();
  const std::int64_t secs = std::chrono::duration_cast<std::chrono::seconds>(d).count() +
                            hour * 3600 + minute * 60 + second;
  return secs * 1000;
}

template <std::size_t N>
int index_of(std::string_view needle, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == needle) return static_cast<int>(i);
  }
  return -1;
}

constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Unit {
  std::string_view suffix;
  std::int64_t ms;
};
// Longest suffix first so `ms` is not read as `m` + garbage.
constexpr std::array<Unit, 4> kUnits = {{{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};

}  // namespace

std::string format_kore_date(TimeMs t) {
  // Every attempt sends a `date` header and most attempts fall in the same second as the
  // previous one: format each second once per thread.
  struct Cached {
    std::int64_t second = std::numeric_limits<std::int64_t>::min();
    std::string text;
  };
  thread_local Cached cached;
  const std::int64_t second = floor<std::chrono::seconds>(Millis{t}).count();
  if (second != cached.second) {
    const Civil c = to_civil(t);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
                  c.minute, c.second);
    cached.text = buf;
    cached.second = second;
  }
  return cached.text;
}

std::string format_rfc3339(TimeMs t) {
  const Civil c = to_civil(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", c.year, c.month, c.day,
                c.hour, c.minute, c.second, c.millis);
  return buf;
}

std::optional<TimeMs> parse_http_date(std::string_view text) {
  // IMF-fixdate is fixed width: `Sun, 06 Nov 1994 08:49:37 GMT`.
  if (text.size() != 29) return std::nullopt;
  if (text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' ||
      text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  if (index_of(text.substr(0, 3), kDayNames) < 0) return std::nullopt;
  const int month = index_of(text.substr(8, 3), kMonthNames) + 1;
  if (month == 0) return std::nullopt;
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!parse_fixed_digits(text.substr(5, 2), day) ||
      !parse_fixed_digits(text.substr(12, 4), year) ||
      !parse_fixed_digits(text.substr(17, 2), hour) ||
      !parse_fixed_digits(text.substr(20, 2), minute) ||
      !parse_fixed_digits(text.substr(23, 2), second)) {
    return std::nullopt;
  }
  return civil_to_ms(year, month, day, hour, minute, second);
}

std::optional<TimeMs> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!parse_fixed_digits(text.substr(0, 4), year) ||
      !parse_fixed_digits(text.substr(5, 2), month) ||
      !parse_fixed_digits(text.substr(8, 2), day) ||
      !parse_fixed_digits(text.substr(11, 2), hour) ||
      !parse_fixed_digits(text.substr(14, 2), minute) ||
      !parse_fixed_digits(text.substr(17, 2), second)) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(19);
  std::int64_t millis = 0;
  if (!rest.empty() && rest[0] == '.') {
    std::size_t n = 1;
    std::int64_t scale = 100;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') {
      millis += (rest[n] - '0') * scale;
      scale /= 10;
      ++n;
    }
    if (n == 1 || n > 10) return std::nullopt;
    rest = rest.substr(n);
  }
  std::int64_t offset_minutes = 0;
  if (rest == "Z" || rest == "z") {
    offset_minutes = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (!parse_fixed_digits(rest.substr(1, 2), oh) || !parse_fixed_digits(rest.substr(4, 2), om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (rest[0] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  const std::optional<TimeMs> t = civil_to_ms(year, month, day, hour, minute, second);
  if (!t) return std::nullopt;
  return *t + millis - offset_minutes * 60'000;
}

std::optional<Millis> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  const std::string_view suffix = text.substr(digits);
  for (const Unit& unit : kUnits) {
    if (suffix != unit.suffix) continue;
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    std::int64_t value = 0;
    for (char c : text.substr(0, digits)) {
      const int digit = c - '0';
      if (value > (kMax - digit) / 10) return std::nullopt;
      value = value * 10 + digit;
    }
    if (value > kMax / unit.ms) return std::nullopt;
    return Millis{value * unit.ms};
  }
  return std::nullopt;
}

std::string format_duration(Millis d) {
  const std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    if (ms % it->ms == 0) return std::to_string(ms / it->ms) + std::string(it->suffix);
  }
  return std::to_string(ms) + "ms";  // not reached: every count is a multiple of 1 ms
}

}  // namespace korehook
