#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "korehook/util/encoding.hpp"

using korehook::ascii_lowercase;
using korehook::base64_decode;
using korehook::base64_encode;
using korehook::hex_lower;

TEST_CASE("hex_lower", "[encoding]") {
  CHECK(hex_lower("") == "");
  CHECK(hex_lower(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
}

TEST_CASE("ascii_lowercase lowers A-Z and keeps every other byte", "[encoding]") {
  CHECK(ascii_lowercase("X-Api-KEY: Value@Z[`") == "x-api-key: value@z[`");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string lowered = ascii_lowercase(all);
  REQUIRE(lowered.size() == 256);
  for (int b = 0; b < 256; ++b) {
    INFO(b);
    const int expected = (b >= 'A' && b <= 'Z') ? b - 'A' + 'a' : b;
    CHECK(static_cast<unsigned char>(lowered[static_cast<std::size_t>(b)]) == expected);
  }
}

TEST_CASE("base64_encode matches RFC 4648 test vectors", "[encoding]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode(std::string("\xfb\xff\xbf", 3)) == "+/+/");
}

TEST_CASE("base64_decode accepts padded and unpadded input", "[encoding]") {
  CHECK(base64_decode("") == std::string());
  CHECK(base64_decode("Zg==") == std::string("f"));
  CHECK(base64_decode("Zg") == std::string("f"));
  CHECK(base64_decode("Zm8=") == std::string("fo"));
  CHECK(base64_decode("Zm8") == std::string("fo"));
  CHECK(base64_decode("Zm9vYmFy") == std::string("foobar"));
  CHECK(base64_decode("+/+/") == std::string("\xfb\xff\xbf", 3));
}

TEST_CASE("base64_decode rejects invalid input", "[encoding]") {
  for (const char* bad : {"Z", "Zm9vY", "Zg=", "Z===", "Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm-_",
                          "=Zm9", "Zm9v=", "Zm9v===="}) {
    INFO("input: " << bad);
    CHECK_FALSE(base64_decode(bad));
  }
}

TEST_CASE("base64 round-trips every byte value", "[encoding]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    const std::string part = all.substr(0, len);
    CHECK(base64_decode(base64_encode(part)) == part);
  }
}

TEST_CASE("make_utf8 keeps UTF-8 and replaces each ill-formed part with U+FFFD", "[util]") {
  auto fixed = [](std::string s) {
    korehook::make_utf8(s);
    return s;
  };
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  // Well-formed text is kept byte for byte.
  CHECK(fixed("") == "");
  CHECK(fixed("plain ascii \x7f") == "plain ascii \x7f");
  CHECK(fixed("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF") ==
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF");
  // A stray byte, a Latin-1 letter, bytes never in UTF-8.
  CHECK(fixed("a\x80z") == "a" + r + "z");
  CHECK(fixed("caf\xE9") == "caf" + r);
  CHECK(fixed("\xC0\xAF") == r + r);  // an overlong '/': C0 is never a lead byte
  CHECK(fixed("\xFF\xFE") == r + r);
  // A sequence cut short is one U+FFFD, at the end or before another character.
  CHECK(fixed("\xF0\x9F\x98") == r);
  CHECK(fixed("\xE2\x82") == r);
  CHECK(fixed("\xE2\x82z") == r + "z");
  CHECK(fixed("\xF0\x9F\xF0\x9F\x98\x80") == r + "\xF0\x9F\x98\x80");
  // Second bytes out of range: overlong, a surrogate, beyond U+10FFFF.
  CHECK(fixed("\xE0\x80\x80") == r + r + r);
  CHECK(fixed("\xED\xA0\x80") == r + r + r);
  CHECK(fixed("\xF4\x90\x80\x80") == r + r + r + r);
  // ASCII is skipped a word at a time: a bad byte or a character is found at every offset
  // and length around the words.
  for (std::size_t size = 1; size <= 26; ++size) {
    const std::string ascii(size, 'x');
    CHECK(fixed(ascii) == ascii);
    for (std::size_t at = 0; at < size; ++at) {
      std::string bad = ascii;
      bad[at] = '\xE9';
      CHECK(fixed(bad) == ascii.substr(0, at) + r + ascii.substr(at + 1));
      const std::string euro = ascii.substr(0, at) + "\xE2\x82\xAC" + ascii.substr(at);
      CHECK(fixed(euro) == euro);
    }
  }
}

TEST_CASE("append_json_string escapes every byte as Boost.JSON's serializer does", "[encoding]") {
  namespace json = boost::json;
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    INFO("byte " << b);
    // The byte alone, at the start, in the middle, twice, and at the end of plain runs, and at
    // each offset of a text long enough to be read eight bytes at a time.
    std::vector<std::string> texts = {byte,        byte + "ab",  "ab" + byte + "cd",
                                      byte + byte, "abc" + byte, std::string(40, 'x') + byte + "y"};
    for (std::size_t at = 0; at < 17; ++at) {
      texts.push_back(std::string(at, 'x') + byte + std::string(17 - at, 'y') + byte + "z");
    }
    for (const std::string& text : texts) {
      std::string out = "[";
      korehook::append_json_string(out, text);
      CHECK(out == "[" + json::serialize(json::string_view(text)));
    }
  }
  std::string out;
  korehook::append_json_string(out, "");
  CHECK(out == R"("")");
  korehook::append_json_string(out, "\xC3\xA9t\xC3\xA9");
  CHECK(out == "\"\"\"\xC3\xA9t\xC3\xA9\"");
}
