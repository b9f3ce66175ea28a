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
