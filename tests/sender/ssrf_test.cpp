// The address policy at attempt time: every resolved address is checked, blocked ones are
// never connected to, and the connection goes to the address that was checked.
#include <catch2/catch.hpp>

#include "helpers.hpp"

namespace korehook::delivery::test {

using Catch::Matchers::Contains;
using retry::ErrorClass;

namespace {

std::vector<net::Cidr> cidrs(std::initializer_list<const char*> texts) {
  std::vector<net::Cidr> out;
  for (const char* t : texts) out.push_back(net::parse_cidr(t).value());
  return out;
}

// Runs check_destination to its answer (bounded).
std::optional<std::optional<SendResult>> check(SenderEnv& env, Sender& sender,
                                               const std::string& url) {
  auto parsed = net::parse_https_url(url);
  REQUIRE(parsed.ok());
  std::optional<std::optional<SendResult>> out;
  sender.check_destination(
      parsed.value(), [&](std::optional<SendResult> r) { out = std::move(r); }, 2s);
  env.run_until([&] { return out.has_value(); });
  return out;
}

}  // namespace

TEST_CASE("sender blocks loopback by default and never connects", "[sender][ssrf]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  auto options = env.sender_options();
  options.allow_private.clear();
  Sender sender(env.io, env.clock, options);

  std::string host;
  SECTION("name from network.resolve") { host = "receiver.test"; }
  SECTION("IP literal") { host = "127.0.0.1"; }
  SECTION("IPv4-mapped IPv6 literal") { host = "[::ffff:127.0.0.1]"; }
  auto result = env.send(sender, env.request(url_for(receiver, host)));

  CHECK(result.error == ErrorClass::kBlocked);
  CHECK_THAT(result.error_detail, Contains("127.0.0.1 is in blocked range 127.0.0.0/8 (loopback)"));
  CHECK_FALSE(result.status.has_value());
  CHECK_FALSE(result.connect_ms.has_value());
  CHECK(receiver.connections_accepted() == 0);
}

TEST_CASE("sender checks what the system resolver returns", "[sender][ssrf]") {
  SenderEnv env;
  auto options = env.sender_options();
  options.allow_private.clear();
  Sender sender(env.io, env.clock, options);
  testing::ClosedPort closed;

  auto result =
      env.send(sender, env.request("https://localhost:" + std::to_string(closed.port()) + "/"));

  // Blocked (not refused): no connection was attempted to any address of localhost.
  CHECK(result.error == ErrorClass::kBlocked);
  CHECK_THAT(result.error_detail, Contains("destination localhost blocked: "));
  CHECK_THAT(result.error_detail, Contains("(loopback)"));
}

TEST_CASE("sender tries only the allowed addresses of a name", "[sender][ssrf]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  // Same port on 127.0.0.2: a connection to the blocked address would be counted here.
  auto decoy_options = env.receiver_options();
  decoy_options.address = "127.0.0.2";
  decoy_options.port = receiver.port();
  TlsReceiver decoy(decoy_options);
  auto options = env.sender_options();
  options.allow_private = cidrs({"127.0.0.1/32"});
  options.resolve["multi.test"] = {"127.0.0.2", "169.254.169.254", "127.0.0.1"};
  Sender sender(env.io, env.clock, options);

  auto result = env.send(sender, env.request(url_for(receiver, "multi.test")));

  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.status == 200);
  CHECK(receiver.connections_accepted() == 1);
  CHECK(decoy.connections_accepted() == 0);
  REQUIRE(receiver.request_count() == 1);
  // The checked address is connected to; the name stays the TLS and HTTP identity.
  CHECK(receiver.requests().front().sni == "multi.test");
  CHECK(receiver.requests().front().header("host") ==
        "multi.test:" + std::to_string(receiver.port()));
}

TEST_CASE("sender names every blocked address when none is allowed", "[sender][ssrf]") {
  SenderEnv env;
  auto options = env.sender_options();
  options.allow_private = cidrs({"127.0.0.1/32"});
  options.resolve["inside.test"] = {"10.0.0.7", "169.254.169.254", "[fd00::1]", "127.0.0.2"};
  Sender sender(env.io, env.clock, options);

  auto result = env.send(sender, env.request("https://inside.test/"));

  CHECK(result.error == ErrorClass::kBlocked);
  CHECK(result.error_detail ==
        "destination inside.test blocked: 10.0.0.7 is in blocked range 10.0.0.0/8 (private-use); "
        "169.254.169.254 is in blocked range 169.254.0.0/16 (link-local (cloud metadata)); "
        "fd00::1 is in blocked range fc00::/7 (unique local); "
        "127.0.0.2 is in blocked range 127.0.0.0/8 (loopback)");
}

TEST_CASE("sender reaches ::1 only when allow_private lists it", "[sender][ssrf]") {
  SenderEnv env;
  auto cert = env.ca.issue_server("v6", {"receiver.test"}, {"::1"});
  auto receiver_options = env.receiver_options(cert);
  receiver_options.address = "::1";
  TlsReceiver receiver(receiver_options);
  auto options = env.sender_options();
  const std::string url = "https://[::1]:" + std::to_string(receiver.port()) + "/hook";

  SECTION("127.0.0.0/8 alone does not open ::1") {
    Sender sender(env.io, env.clock, options);
    auto result = env.send(sender, env.request(url));
    CHECK(result.error == ErrorClass::kBlocked);
    CHECK_THAT(result.error_detail, Contains("::1 is in blocked range ::1/128 (loopback)"));
    CHECK(receiver.connections_accepted() == 0);
  }
  SECTION("::1/128 listed") {
    options.allow_private.push_back(net::parse_cidr("::1/128").value());
    Sender sender(env.io, env.clock, options);
    auto result = env.send(sender, env.request(url));
    CHECK(result.error == ErrorClass::kNone);
    CHECK(result.status == 200);
    CHECK(receiver.request_count() == 1);
  }
}

TEST_CASE("check_destination answers blocked, allowed or unknown without connecting",
          "[sender][ssrf]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  auto options = env.sender_options();
  options.allow_private = cidrs({"127.0.0.1/32"});
  options.resolve["inside.test"] = {"127.0.0.2", "10.1.1.1"};
  options.resolve["mixed.test"] = {"10.1.1.1", "127.0.0.1"};
  Sender sender(env.io, env.clock, options);

  SECTION("every address blocked") {
    auto answer = check(env, sender, "https://inside.test/hook");
    REQUIRE(answer.has_value());
    REQUIRE(answer->has_value());
    CHECK((*answer)->error == ErrorClass::kBlocked);
    CHECK_THAT((*answer)->error_detail,
               Contains("127.0.0.2 is in blocked range 127.0.0.0/8 (loopback)"));
    CHECK_THAT((*answer)->error_detail, Contains("10.1.1.1 is in blocked range 10.0.0.0/8"));
  }
  SECTION("one address allowed") {
    auto answer = check(env, sender, url_for(receiver, "mixed.test"));
    REQUIRE(answer.has_value());
    CHECK_FALSE(answer->has_value());
  }
  SECTION("blocked literal") {
    auto answer = check(env, sender, "https://169.254.169.254/latest/meta-data");
    REQUIRE(answer.has_value());
    REQUIRE(answer->has_value());
    CHECK((*answer)->error == ErrorClass::kBlocked);
  }
  SECTION("name that does not resolve") {
    // Leading hyphen: glibc refuses the name without a DNS query (nothing leaves the machine).
    auto answer = check(env, sender, "https://-does-not-exist.invalid/");
    REQUIRE(answer.has_value());
    CHECK_FALSE(answer->has_value());
  }
  CHECK(receiver.connections_accepted() == 0);
}

}  // namespace korehook::delivery::test
