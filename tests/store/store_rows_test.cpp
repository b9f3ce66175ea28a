// The row helpers of store/rows.hpp that write JSON text without Boost.JSON's DOM.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "store/rows.hpp"

using namespace korehook;
using namespace korehook::store;

TEST_CASE("store: header lists are written as Boost.JSON writes them, every byte",
          "[store][rows]") {
  namespace json = boost::json;
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    // The byte alone, between plain text, and twice in a row, in names and values.
    const HeaderList headers = {{byte, "a" + byte + "z"}, {"n" + byte + byte, byte + "v"}};
    json::array expected;
    for (const auto& [name, value] : headers) expected.push_back(json::array{name, value});
    INFO("byte " << b);
    REQUIRE(headers_to_json(headers) == json::serialize(expected));
    // Text that parses back (valid UTF-8) comes back as it was; a byte that is not UTF-8
    // (as earlier builds stored a receiver's headers) comes back as U+FFFD.
    if (b < 0x80) {
      CHECK(headers_from_json(headers_to_json(headers)) == headers);
    } else {
      const std::string r = "\xEF\xBF\xBD";
      const HeaderList read = {{r, "a" + r + "z"}, {"n" + r + r, r + "v"}};
      CHECK(headers_from_json(headers_to_json(headers)) == read);
    }
  }
  CHECK(headers_to_json({}) == "[]");
  CHECK(headers_to_json({{"", ""}}) == R"([["",""]])");
}

TEST_CASE("store: an attempt keeps the response headers within the count and byte bounds",
          "[store][rows]") {
  HeaderList many;
  for (std::size_t i = 0; i < kMaxResponseHeaders + 5; ++i) {
    many.emplace_back("h" + std::to_string(i), "v");
  }
  const HeaderList kept = headers_from_json(response_headers_to_json(many));
  REQUIRE(kept.size() == kMaxResponseHeaders);
  CHECK(kept.back().first == "h" + std::to_string(kMaxResponseHeaders - 1));

  // Names plus values: the header that would pass the byte bound ends the list, even when a
  // later one would fit.
  const std::string half(kMaxResponseHeaderBytes / 2, 'x');
  const HeaderList big = {{"a", half}, {"b", half}, {"c", "c"}};
  const HeaderList cut = headers_from_json(response_headers_to_json(big));
  REQUIRE(cut.size() == 1);
  CHECK(cut[0] == big[0]);
  const HeaderList exact = {{"", std::string(kMaxResponseHeaderBytes, 'y')}};
  CHECK(headers_from_json(response_headers_to_json(exact)) == exact);
}
