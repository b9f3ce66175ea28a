// api.allow_uids / api.allow_gids: who may use the API socket.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "korehook/config/config.hpp"

using Catch::Matchers::Contains;
using korehook::config::Config;
using korehook::config::ConfigError;
using korehook::config::parse_config;

namespace {

std::string error_of(std::string_view yaml) {
  try {
    (void)parse_config(yaml, "korehook.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("expected a ConfigError for:\n" << yaml);
  return {};
}

}  // namespace

TEST_CASE("config: api.allow_uids and api.allow_gids are lists of ids", "[config]") {
  const Config none = parse_config("api:\n  socket: /tmp/k.sock\n", "korehook.yaml");
  CHECK(none.api.allow_uids.empty());
  CHECK(none.api.allow_gids.empty());

  const Config c =
      parse_config("api:\n  allow_uids: [0, 1000]\n  allow_gids: [4294967294]\n", "korehook.yaml");
  CHECK(c.api.allow_uids == std::vector<std::uint32_t>{0, 1000});
  CHECK(c.api.allow_gids == std::vector<std::uint32_t>{4294967294u});
}

TEST_CASE("config: bad api.allow_uids entries name the key and position", "[config]") {
  CHECK_THAT(error_of("api:\n  allow_uids: []\n"),
             Contains("korehook.yaml:2:15: api.allow_uids: empty list"));
  CHECK_THAT(error_of("api:\n  allow_uids: [-1]\n"), Contains("api.allow_uids[0]"));
  CHECK_THAT(error_of("api:\n  allow_gids: [4294967295]\n"), Contains("api.allow_gids[0]"));
  CHECK_THAT(error_of("api:\n  allow_gids: [root]\n"), Contains("api.allow_gids[0]"));
  CHECK_THAT(error_of("api:\n  allow_uid: [1]\n"), Contains("did you mean 'allow_uids'?"));
}
