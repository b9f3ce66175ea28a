#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "korehook/crypto/sealer.hpp"

using korehook::crypto::Key;
using korehook::crypto::Sealer;

namespace {

Key key_of(std::uint8_t fill) {
  Key k{};
  k.fill(fill);
  return k;
}

std::string temp_file(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("korehook-crypto-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << content;
  return path.string();
}

}  // namespace

TEST_CASE("crypto: a sealed value opens with the same key and context only", "[crypto]") {
  const Sealer sealer(key_of(1));
  const std::string sealed = sealer.seal("whsec_secret-value", "secret:sec_1");
  CHECK(Sealer::looks_sealed(sealed));
  CHECK(sealed.find("whsec") == std::string::npos);
  auto opened = sealer.open(sealed, "secret:sec_1");
  REQUIRE(opened.ok());
  CHECK(*opened == "whsec_secret-value");

  // A fresh nonce each time: two seals of one value differ.
  CHECK(sealer.seal("same", "c") != sealer.seal("same", "c"));

  CHECK(sealer.open(sealed, "secret:sec_2").error().code == "decrypt_failed");
  CHECK(Sealer(key_of(2)).open(sealed, "secret:sec_1").error().code == "decrypt_failed");
  std::string altered = sealed;
  altered[10] = altered[10] == 'A' ? 'B' : 'A';  // inside the nonce
  CHECK_FALSE(sealer.open(altered, "secret:sec_1").ok());
  CHECK(sealer.open("plain text", "x").error().code == "invalid_sealed");
  CHECK(sealer.open("kh1:AAAA", "x").error().code == "invalid_sealed");

  auto empty = sealer.open(sealer.seal("", "c"), "c");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("crypto: key files", "[crypto]") {
  const std::string hex(64, 'a');
  auto good = korehook::crypto::load_key_file(temp_file("good", "  " + hex + "\n"));
  REQUIRE(good.ok());
  CHECK((*good)[0] == 0xaa);
  CHECK((*good)[31] == 0xaa);

  auto short_key = korehook::crypto::load_key_file(temp_file("short", "abcd\n"));
  REQUIRE_FALSE(short_key.ok());
  CHECK(short_key.error().code == "invalid_key");
  CHECK_THAT(short_key.error().message, Catch::Contains("expected 64 hexadecimal characters"));

  auto not_hex = korehook::crypto::load_key_file(temp_file("nothex", std::string(64, 'z')));
  REQUIRE_FALSE(not_hex.ok());
  CHECK_THAT(not_hex.error().message, Catch::Contains("not hexadecimal"));

  auto missing = korehook::crypto::load_key_file("/nonexistent/korehook.key");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("/nonexistent/korehook.key"));
  CHECK_THAT(missing.error().message, Catch::Contains("openssl rand -hex 32"));
}

TEST_CASE("crypto: the key file comes from the config or the systemd credential", "[crypto]") {
  CHECK(korehook::crypto::key_file_path(std::string("/etc/k")) == "/etc/k");
  ::setenv("CREDENTIALS_DIRECTORY", "/run/credentials/korehookd.service", 1);
  CHECK(korehook::crypto::key_file_path(std::nullopt) ==
        "/run/credentials/korehookd.service/korehook.key");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  CHECK_FALSE(korehook::crypto::key_file_path(std::nullopt).has_value());
}
