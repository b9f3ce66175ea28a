// korehookd's configuration at startup: a bad file stops it with exit code 2 and a message
// `file:line:column: key.path: ...` before it creates anything; a good one passes
// --check-config.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "integration/fixture.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace korehook::testing {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A config directory: korehook.yaml whose api.socket and store.path point inside it.
struct ConfigDir {
  TempDir dir;
  std::string config = dir.file("korehook.yaml");
  std::string socket = dir.file("run/api.sock");
  std::string store = dir.file("var/korehook.db");

  // Lines 1-4 are api/store; `rest` starts at line 5.
  std::string yaml(const std::string& rest) const {
    return "api:\n  socket: " + socket + "\nstore:\n  path: " + store + "\n" + rest;
  }
};

struct BadCase {
  std::string name;
  std::string bad;     // YAML after the api/store lines (starting at line 5)
  std::string good;    // the same with the mistake fixed
  std::string prefix;  // expected in stderr after the file name: "line:column: key.path: "
  std::string detail;  // expected somewhere in stderr too
};

const std::string kEndpointHead =
    "endpoints:\n"                              // line 5
    "  - id: ep_a\n"                            // line 6
    "    url: https://localhost:9443/hooks\n";  // line 7

}  // namespace

TEST_CASE("config: a bad config stops korehookd with file:line:column and the key path",
          "[config]") {
  const std::vector<BadCase> cases = {
      {"unknown key", "defaults:\n  read_timout: 5s\n", "defaults:\n  read_timeout: 5s\n",
       "6:3: defaults.read_timout: ", "did you mean 'read_timeout'?"},
      {"wrong type", kEndpointHead + "    retry:\n      max_attempts: five\n",
       kEndpointHead + "    retry:\n      max_attempts: 5\n",
       "9:21: endpoints[0].retry.max_attempts: ", "expected an integer"},
      {"bad duration", kEndpointHead + "    read_timeout: 5x\n",
       kEndpointHead + "    read_timeout: 5s\n",
       "8:19: endpoints[0].read_timeout: ", "invalid duration \"5x\""},
      {"http:// endpoint URL", "endpoints:\n  - id: ep_a\n    url: http://localhost:9443/hooks\n",
       kEndpointHead, "7:10: endpoints[0].url: ", "https://"},
  };

  for (const BadCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      ConfigDir d;

      // The same file without the mistake is accepted: the mistake is what stops startup.
      write_file(d.config, d.yaml(c.good));
      const CommandResult ok =
          run_command(KOREHOOKD_PATH, {"--config", d.config, "--check-config"});
      INFO("good config stdout: " << ok.out << "\nstderr: " << ok.err);
      REQUIRE(ok.exit_code == 0);

      write_file(d.config, d.yaml(c.bad));
      const CommandResult r = run_command(KOREHOOKD_PATH, {"--config", d.config});
      INFO("stdout: " << r.out << "\nstderr: " << r.err);
      CHECK(r.exit_code == 2);
      CHECK_THAT(r.err, Catch::Contains(d.config + ":" + c.prefix));
      CHECK_THAT(r.err, Catch::Contains(c.detail));
      // Nothing was created: neither the socket (nor its directory) nor the database.
      CHECK_FALSE(exists(d.socket));
      CHECK_FALSE(exists(d.dir.file("run")));
      CHECK_FALSE(exists(d.store));
      CHECK_FALSE(exists(d.dir.file("var")));

      // --check-config reports the same problem with the same exit code.
      const CommandResult check =
          run_command(KOREHOOKD_PATH, {"--check-config", "--config", d.config});
      INFO("check stdout: " << check.out << "\ncheck stderr: " << check.err);
      CHECK(check.exit_code == 2);
      CHECK_THAT(check.err, Catch::Contains(d.config + ":" + c.prefix));
    }
  }
}

TEST_CASE("config: a file that cannot be read stops korehookd with exit code 2", "[config]") {
  ConfigDir d;
  const CommandResult r = run_command(KOREHOOKD_PATH, {"--config", d.dir.file("missing.yaml")});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(d.dir.file("missing.yaml")));
}

TEST_CASE("config: --check-config accepts config/korehook.example.yaml", "[config]") {
  const std::string example = std::string(KOREHOOK_SOURCE_DIR) + "/config/korehook.example.yaml";
  const CommandResult r = run_command(KOREHOOKD_PATH, {"--check-config", "--config", example});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("ok"));
  CHECK(r.err.empty());
}

TEST_CASE("korehookd: --version names the allocator in use", "[config]") {
  const CommandResult r = run_command(KOREHOOKD_PATH, {"--version"});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("korehookd "));
  // Built with KOREHOOK_MIMALLOC, malloc itself must land in mimalloc's heap (the link order
  // decides), not only the library be loaded.
  if (KOREHOOKD_MIMALLOC) {
    CHECK_THAT(r.out, Catch::Contains("\nallocator: mimalloc 2."));
  } else {
    CHECK_THAT(r.out, Catch::Contains("\nallocator: libc\n"));
  }
}

}  // namespace korehook::testing
