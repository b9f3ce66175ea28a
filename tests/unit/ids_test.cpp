#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "korehook/util/ids.hpp"
#include "unit/fakes.hpp"

using korehook::new_id;
using korehook::new_uuid_v4;
using korehook::testing::FakeClock;
using korehook::testing::FixedRandom;
using korehook::testing::ScriptedRandom;
using korehook::testing::SeededRandom;

namespace {

bool is_crockford_lower(char c) {
  return std::string_view("0123456789abcdefghjkmnpqrstvwxyz").find(c) != std::string_view::npos;
}

}  // namespace

TEST_CASE("new_id reproduces KORE's example id from its time and random bits", "[ids]") {
  // whs_01jf8c4889ehtbzt0n9mzk1prc decodes to 1734374203657 ms and these 80 bits.
  ScriptedRandom random({116, 116, 191, 232, 21, 77, 63, 48, 219, 12});
  CHECK(new_id(korehook::kSecretIdPrefix, 1734374203657, random) ==
        "whs_01jf8c4889ehtbzt0n9mzk1prc");
  CHECK(random.consumed() == 10);
}

TEST_CASE("new_id's characters decode back to the time and every random bit", "[ids]") {
  // Each random byte in turn has one bit set (and all its bits set), so every bit position
  // of the 80 random bits, and every border between characters, is checked on its own.
  const std::string_view alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  for (int byte = 0; byte < 10; ++byte) {
    for (int pattern : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
      std::vector<std::uint8_t> random_bytes(10, 0);
      random_bytes[static_cast<std::size_t>(byte)] = static_cast<std::uint8_t>(pattern);
      ScriptedRandom random(random_bytes);
      const std::int64_t time = 0x0123456789ab;
      const std::string id = new_id("evt", time, random);
      INFO(id << " byte " << byte << " pattern " << pattern);
      // 26 characters of 5 bits, most significant first; the first 2 bits are padding.
      std::vector<int> bits;
      for (char c : id.substr(4)) {
        const auto v = alphabet.find(c);
        REQUIRE(v != std::string_view::npos);
        for (int b = 4; b >= 0; --b) bits.push_back(static_cast<int>(v >> b) & 1);
      }
      CHECK(bits[0] == 0);
      CHECK(bits[1] == 0);
      std::vector<std::uint8_t> decoded(16, 0);
      for (std::size_t i = 0; i < 128; ++i) {
        decoded[i / 8] = static_cast<std::uint8_t>(decoded[i / 8] << 1 | bits[i + 2]);
      }
      std::int64_t decoded_time = 0;
      for (int i = 0; i < 6; ++i) decoded_time = decoded_time << 8 | decoded[i];
      CHECK(decoded_time == time);
      CHECK(std::vector<std::uint8_t>(decoded.begin() + 6, decoded.end()) == random_bytes);
    }
  }
}

TEST_CASE("new_id has the prefix, 26 lowercase Crockford characters, 30 in all", "[ids]") {
  SeededRandom random(7);
  for (auto prefix :
       {korehook::kSecretIdPrefix, korehook::kEventIdPrefix, korehook::kDeliveryIdPrefix}) {
    const std::string id = new_id(prefix, 1795913226000, random);
    INFO(id);
    CHECK(id.size() == 30);
    CHECK(id.substr(0, 4) == std::string(prefix) + "_");
    const std::string body = id.substr(4);
    CHECK(std::all_of(body.begin(), body.end(), is_crockford_lower));
    CHECK(body[0] <= '7');  // 128 bits in 130: the first character carries 3 bits
  }
}

TEST_CASE("new_id encodes the time in the first 10 characters", "[ids]") {
  FixedRandom zeros(0x00);
  CHECK(new_id("evt", 0, zeros) == "evt_00000000000000000000000000");
  FixedRandom ones(0xff);
  CHECK(new_id("evt", 0, ones) == "evt_0000000000zzzzzzzzzzzzzzzz");
  CHECK(new_id("evt", (std::int64_t{1} << 48) - 1, zeros) == "evt_7zzzzzzzzz0000000000000000");
  // Out-of-range times are clamped rather than wrapped into a misleading order.
  CHECK(new_id("evt", -5, zeros) == "evt_00000000000000000000000000");
  CHECK(new_id("evt", std::int64_t{1} << 50, zeros) == "evt_7zzzzzzzzz0000000000000000");
}

TEST_CASE("ids sort by creation time", "[ids]") {
  FakeClock clock(1'700'000'000'000);
  SeededRandom random(99);
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    ids.push_back(new_id("dlv", clock.now_ms(), random));
    clock.advance(1 + i % 3);
  }
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
}

TEST_CASE("new_uuid_v4 has the RFC 4122 version-4 layout", "[ids]") {
  SeededRandom random(3);
  for (int i = 0; i < 50; ++i) {
    const std::string u = new_uuid_v4(random);
    INFO(u);
    REQUIRE(u.size() == 36);
    CHECK(u[8] == '-');
    CHECK(u[13] == '-');
    CHECK(u[18] == '-');
    CHECK(u[23] == '-');
    CHECK(u[14] == '4');
    CHECK(std::string_view("89ab").find(u[19]) != std::string_view::npos);
    for (std::size_t k = 0; k < u.size(); ++k) {
      if (k == 8 || k == 13 || k == 18 || k == 23) continue;
      CHECK(std::string_view("0123456789abcdef").find(u[k]) != std::string_view::npos);
    }
  }
}

TEST_CASE("new_uuid_v4 keeps the random bits and sets only version and variant", "[ids]") {
  FixedRandom ones(0xff);
  CHECK(new_uuid_v4(ones) == "ffffffff-ffff-4fff-bfff-ffffffffffff");
  FixedRandom zeros(0x00);
  CHECK(new_uuid_v4(zeros) == "00000000-0000-4000-8000-000000000000");
  ScriptedRandom counting({0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
                           0xcc, 0xdd, 0xee, 0xff});
  CHECK(new_uuid_v4(counting) == "00112233-4455-4677-8899-aabbccddeeff");
}
