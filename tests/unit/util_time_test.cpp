#include <catch2/catch.hpp>

#include "korehook/util/time.hpp"

using korehook::format_duration;
using korehook::format_kore_date;
using korehook::format_rfc3339;
using korehook::Millis;
using korehook::parse_duration;
using korehook::parse_http_date;

TEST_CASE("format_kore_date is UTC %Y-%m-%dT%H:%M:%SZ truncated to seconds", "[time]") {
  CHECK(format_kore_date(0) == "1970-01-01T00:00:00Z");
  CHECK(format_kore_date(1795913226000) == "2026-11-29T00:47:06Z");  // SPEC's example
  CHECK(format_kore_date(1795913226999) == "2026-11-29T00:47:06Z");
  CHECK(format_kore_date(1709208000000) == "2024-02-29T12:00:00Z");
  CHECK(format_kore_date(253402300799000) == "9999-12-31T23:59:59Z");
  // Before the epoch the second is floored, not rounded toward zero.
  CHECK(format_kore_date(-1) == "1969-12-31T23:59:59Z");
}

TEST_CASE("format_kore_date's per-second cache never serves another second", "[time]") {
  // Same second, the next one, back to an earlier one, and either side of the epoch.
  CHECK(format_kore_date(1795913226000) == "2026-11-29T00:47:06Z");
  CHECK(format_kore_date(1795913226500) == "2026-11-29T00:47:06Z");
  CHECK(format_kore_date(1795913227000) == "2026-11-29T00:47:07Z");
  CHECK(format_kore_date(1795913226999) == "2026-11-29T00:47:06Z");
  CHECK(format_kore_date(999) == "1970-01-01T00:00:00Z");
  CHECK(format_kore_date(-1) == "1969-12-31T23:59:59Z");
  CHECK(format_kore_date(-1000) == "1969-12-31T23:59:59Z");
  CHECK(format_kore_date(-1001) == "1969-12-31T23:59:58Z");
  CHECK(format_kore_date(0) == "1970-01-01T00:00:00Z");
}

TEST_CASE("format_rfc3339 keeps milliseconds", "[time]") {
  CHECK(format_rfc3339(1614265330123) == "2021-02-25T15:02:10.123Z");
  CHECK(format_rfc3339(946684800000) == "2000-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("parse_http_date reads IMF-fixdate", "[time]") {
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777000);
  CHECK(parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT") == 1709208000000);
  CHECK(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
}

TEST_CASE("parse_http_date rejects other forms and impossible dates", "[time]") {
  CHECK_FALSE(parse_http_date(""));
  CHECK_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));  // RFC 850
  CHECK_FALSE(parse_http_date("Sun Nov  6 08:49:37 1994"));        // asctime
  CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
  CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT "));
  CHECK_FALSE(parse_http_date("Xyz, 06 Nov 1994 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 31 Nov 1994 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Thu, 29 Feb 2023 12:00:00 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 24:00:00 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:60:00 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 0x Nov 1994 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 00 Nov 1994 08:49:37 GMT"));
}

TEST_CASE("parse_duration accepts an integer and one unit", "[time]") {
  CHECK(parse_duration("0s") == Millis{0});
  CHECK(parse_duration("0ms") == Millis{0});
  CHECK(parse_duration("200ms") == Millis{200});
  CHECK(parse_duration("5s") == Millis{5000});
  CHECK(parse_duration("10m") == Millis{600'000});
  CHECK(parse_duration("10h") == Millis{36'000'000});
  CHECK(parse_duration("2562047788015h") == Millis{2562047788015LL * 3600000});
  CHECK(parse_duration("9223372036854775807ms") == Millis{9223372036854775807LL});
}

TEST_CASE("parse_duration rejects everything else", "[time]") {
  for (const char* bad : {"", "5", "s", "ms", "-1s", "+1s", "1.5s", "5d", "5 s", " 5s", "5s ", "5S",
                          "5sec", "5msx", "1h30m", "0x10s", "5mss"}) {
    INFO("input: '" << bad << "'");
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("parse_duration rejects overflow instead of wrapping", "[time]") {
  CHECK_FALSE(parse_duration("9223372036854775808ms"));
  CHECK_FALSE(parse_duration("2562047788016h"));
  CHECK_FALSE(parse_duration("9223372036854776s"));
  CHECK_FALSE(parse_duration("99999999999999999999999999s"));
}

TEST_CASE("format_duration picks the largest exact unit", "[time]") {
  CHECK(format_duration(Millis{0}) == "0s");
  CHECK(format_duration(Millis{200}) == "200ms");
  CHECK(format_duration(Millis{1500}) == "1500ms");
  CHECK(format_duration(Millis{5000}) == "5s");
  CHECK(format_duration(Millis{90'000}) == "90s");
  CHECK(format_duration(Millis{600'000}) == "10m");
  CHECK(format_duration(Millis{7'200'000}) == "2h");
  CHECK(format_duration(Millis{5'400'000}) == "90m");
}

TEST_CASE("format_duration output parses back to the same value", "[time]") {
  for (long long ms :
       {0LL, 1LL, 999LL, 1000LL, 61'000LL, 3'600'000LL, 86'400'000LL, 123'456'789LL}) {
    const auto text = format_duration(Millis{ms});
    INFO(text);
    CHECK(parse_duration(text) == Millis{ms});
  }
}

TEST_CASE("parse_rfc3339 reads UTC, fractions and offsets", "[time]") {
  using korehook::parse_rfc3339;
  const korehook::TimeMs t = 1'795'913'226'000;  // 2026-11-29T00:47:06Z
  CHECK(korehook::format_rfc3339(t) == "2026-11-29T00:47:06.000Z");
  CHECK(parse_rfc3339("2026-11-29T00:47:06Z") == t);
  CHECK(parse_rfc3339("2026-11-29t00:47:06z") == t);
  CHECK(parse_rfc3339("2026-11-29T00:47:06.5Z") == t + 500);
  CHECK(parse_rfc3339("2026-11-29T00:47:06.123456Z") == t + 123);
  CHECK(parse_rfc3339("2026-11-29T01:47:06+01:00") == t);
  CHECK(parse_rfc3339("2026-11-28T23:47:06-01:00") == t);
  CHECK(parse_rfc3339(korehook::format_rfc3339(t + 7)) == t + 7);
  for (const char* bad :
       {"", "2026-11-28", "2026-11-28T23:53:46", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-28T24:00:00Z", "2026-11-28T23:53:46.Z", "2026-11-28T23:53:46+0100", "yesterday"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad).has_value());
  }
}
