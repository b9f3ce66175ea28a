#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>

#include "korehook/net/cidr.hpp"

using korehook::net::parse_cidr;
using Address = std::array<std::uint8_t, 16>;

namespace {

Address mapped(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return Address{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

}  // namespace

TEST_CASE("parse_cidr: IPv4 is stored mapped with prefix + 96", "[cidr]") {
  const auto c = parse_cidr("10.0.0.0/8");
  REQUIRE(c.ok());
  CHECK(c->v4);
  CHECK(c->prefix == 104);
  CHECK(c->address == mapped(10, 0, 0, 0));
  CHECK(c->text == "10.0.0.0/8");
  CHECK(c->contains(mapped(10, 0, 0, 1)));
  CHECK(c->contains(mapped(10, 255, 255, 255)));
  CHECK_FALSE(c->contains(mapped(11, 0, 0, 0)));
  CHECK_FALSE(c->contains(mapped(9, 255, 255, 255)));
}

TEST_CASE("parse_cidr: non-byte-aligned prefixes", "[cidr]") {
  const auto cgnat = parse_cidr("100.64.0.0/10");
  REQUIRE(cgnat.ok());
  CHECK(cgnat->contains(mapped(100, 64, 0, 1)));
  CHECK(cgnat->contains(mapped(100, 127, 255, 255)));
  CHECK_FALSE(cgnat->contains(mapped(100, 128, 0, 0)));
  CHECK_FALSE(cgnat->contains(mapped(100, 63, 255, 255)));
  const auto ula = parse_cidr("fc00::/7");
  REQUIRE(ula.ok());
  CHECK(ula->contains(Address{0xfd, 0x12}));
  CHECK_FALSE(ula->contains(Address{0xfe, 0x80}));
}

TEST_CASE("parse_cidr: bare addresses and IPv6", "[cidr]") {
  const auto one = parse_cidr("127.0.0.1");
  REQUIRE(one.ok());
  CHECK(one->prefix == 128);
  CHECK(one->contains(mapped(127, 0, 0, 1)));
  CHECK_FALSE(one->contains(mapped(127, 0, 0, 2)));

  const auto loop6 = parse_cidr("::1/128");
  REQUIRE(loop6.ok());
  CHECK_FALSE(loop6->v4);
  CHECK(loop6->prefix == 128);
  Address lo{};
  lo[15] = 1;
  CHECK(loop6->contains(lo));
  CHECK_FALSE(loop6->contains(mapped(0, 0, 0, 1)));

  const auto bare6 = parse_cidr("2001:db8::1");
  REQUIRE(bare6.ok());
  CHECK(bare6->prefix == 128);

  const auto all = parse_cidr("::/0");
  REQUIRE(all.ok());
  CHECK(all->contains(mapped(8, 8, 8, 8)));
  CHECK(all->contains(lo));

  // 0.0.0.0/0 covers the IPv4-mapped space only.
  const auto all4 = parse_cidr("0.0.0.0/0");
  REQUIRE(all4.ok());
  CHECK(all4->prefix == 96);
  CHECK(all4->contains(mapped(8, 8, 8, 8)));
  CHECK_FALSE(all4->contains(lo));

  const auto mapped_net = parse_cidr("::ffff:10.0.0.0/104");
  REQUIRE(mapped_net.ok());
  CHECK_FALSE(mapped_net->v4);
  CHECK(mapped_net->contains(mapped(10, 1, 2, 3)));
}

TEST_CASE("parse_cidr: rejects bad input", "[cidr]") {
  for (const char* bad :
       {"", "/8", "10.0.0.1/8", "10.0.0.0/33", "::1/129", "::1/64", "10.0.0.0/", "10.0.0.0/08",
        "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0 /8", "10.0.0/8", "010.0.0.0/8", "256.0.0.0/8",
        "example.com/8", "fe80::1%eth0", "10.0.0.0/1000", "[::1]/128"}) {
    INFO(bad);
    const auto r = parse_cidr(bad);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.error().code == "invalid_cidr");
  }
}

TEST_CASE("parse_cidr: host-bits error names the input", "[cidr]") {
  const auto r = parse_cidr("10.0.0.1/8");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("10.0.0.1/8") != std::string::npos);
}
