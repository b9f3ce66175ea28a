// Self-tests of the test support library (tests/support) that need no korehookd.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

namespace korehook::testing {

using namespace std::chrono_literals;

TEST_CASE("TempDir is short, usable and removed", "[support]") {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    CHECK(path.size() < 20);
    CHECK(std::filesystem::is_directory(path));
    write_file(dir.file("a.txt"), "hello");
    CHECK(read_file(dir.file("a.txt")) == "hello");
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("TestCa writes a root, leaves and keys", "[support]") {
  TempDir dir;
  TestCa ca(dir.path());
  LeafOptions leaf;
  leaf.dns_names = {"a.test"};
  leaf.via_intermediate = true;
  auto cert = ca.issue("leaf", leaf);

  CHECK(read_file(ca.ca_file()).find("BEGIN CERTIFICATE") != std::string::npos);
  const std::string chain = read_file(cert.chain_file);
  const auto first = chain.find("BEGIN CERTIFICATE");
  CHECK(chain.find("BEGIN CERTIFICATE", first + 1) != std::string::npos);  // leaf + intermediate
  CHECK(read_file(cert.key_file).find("BEGIN PRIVATE KEY") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat(cert.key_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("run_command captures output, exit code and input, and bounds the wait", "[support]") {
  auto result = run_command("/bin/sh", {"-c", "cat; echo err >&2; exit 3"}, {.input = "in put"});
  CHECK(result.exit_code == 3);
  CHECK(result.out == "in put");
  CHECK(result.err == "err\n");

  auto env = run_command("/bin/sh", {"-c", "printf %s \"$KH_TEST\""}, {.env = {{"KH_TEST", "x"}}});
  CHECK(env.out == "x");

  auto slow = run_command("/bin/sh", {"-c", "exec sleep 30"}, {.timeout = 200ms});
  CHECK(slow.timed_out);
  CHECK(slow.exit_code == -1);
}

}  // namespace korehook::testing
