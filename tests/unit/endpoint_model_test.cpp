#include <catch2/catch.hpp>

#include "korehook/model/endpoint.hpp"

using korehook::is_valid_identifier;
using korehook::validate_header_name;
using korehook::validate_header_value;

TEST_CASE("endpoint model: custom header names and values", "[model]") {
  CHECK_FALSE(validate_header_name("X-Api-Key").has_value());
  CHECK_FALSE(validate_header_name("Authorization").has_value());
  for (const char* reserved :
       {"user-agent", "Date", "KORE-IDEMPOTENCY-TOKEN", "kore-signature", "content-type",
        "webhook-id", "webhook-timestamp", "webhook-signature", "host", "content-length",
        "transfer-encoding", "connection"}) {
    INFO(reserved);
    auto problem = validate_header_name(reserved);
    REQUIRE(problem.has_value());
    CHECK_THAT(*problem, Catch::Contains("is reserved"));
  }
  for (const char* bad : {"", "X Bad", "X:Y", "X\r\nY", "Ünicode"}) {
    INFO(bad);
    CHECK(validate_header_name(bad).has_value());
  }
  CHECK_FALSE(validate_header_value("Bearer abc.def").has_value());
  CHECK_FALSE(validate_header_value("").has_value());
  CHECK(validate_header_value("a\r\nX-Injected: 1").has_value());
  CHECK(validate_header_value("a\nb").has_value());
  CHECK(validate_header_value(std::string("a\0b", 3)).has_value());
  CHECK(validate_header_value(std::string(8193, 'x')).has_value());
}

TEST_CASE("endpoint model: identifiers", "[model]") {
  CHECK(is_valid_identifier("ep_01JD-x"));
  CHECK(is_valid_identifier(std::string(64, 'a')));
  CHECK_FALSE(is_valid_identifier(std::string(65, 'a')));
  CHECK_FALSE(is_valid_identifier(""));
  CHECK_FALSE(is_valid_identifier("a b"));
  CHECK_FALSE(is_valid_identifier("a/b"));
}

TEST_CASE("endpoint model: token characters and framing-safe values, byte by byte", "[model]") {
  // RFC 9110 tchar, written out here from the RFC rather than from the table under test.
  const std::string_view symbols = "!#$%&'*+-.^_`|~";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool tchar = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                       symbols.find(c) != std::string_view::npos;
    INFO(b);
    CHECK(korehook::is_token_char(c) == tchar);
    CHECK(korehook::is_http_token(std::string(1, c)) == tchar);
  }
  CHECK_FALSE(korehook::is_http_token(""));
  CHECK(korehook::is_http_token("X-!#$%&'*+-.^_`|~09az"));

  // A bad byte at every position of values that span several eight-byte words and a tail.
  for (const char bad : {'\r', '\n', '\0'}) {
    for (std::size_t length : {1U, 7U, 8U, 9U, 16U, 23U}) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string value(length, 'v');
        value[at] = bad;
        INFO(int{bad} << " at " << at << " of " << length);
        CHECK_FALSE(korehook::is_framing_safe(value));
      }
    }
  }
  // Bytes from 0x80 (obs-text), tabs and the bytes just beside the three are allowed.
  CHECK(korehook::is_framing_safe(std::string(40, '\x80') + "\t\x0b\x0c\x0e\x01 z\xff"));
  CHECK(korehook::is_framing_safe(""));
}
