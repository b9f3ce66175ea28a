#include <catch2/catch.hpp>

#include <string>

#include "korehook/util/encoding.hpp"

using korehook::base64_decode;
using korehook::base64_encode;
using korehook::hex_lower;

TEST_CASE("hex_lower", "[encoding]") {
  CHECK(hex_lower("") == "");
  CHECK(hex_lower(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
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
