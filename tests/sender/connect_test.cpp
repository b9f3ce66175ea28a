// Resolving and connecting: overrides, address lists, refused ports, black holes, DNS.
#include <catch2/catch.hpp>

#include "helpers.hpp"

namespace korehook::delivery::test {

using Catch::Matchers::Contains;
using retry::ErrorClass;

TEST_CASE("sender reports a refused connection as a connect error", "[sender][connect]") {
  SenderEnv env;
  testing::ClosedPort closed;
  Sender sender(env.io, env.clock, env.sender_options());

  auto result =
      env.send(sender, env.request("https://receiver.test:" + std::to_string(closed.port()) + "/"));

  CHECK(result.error == ErrorClass::kConnect);
  CHECK_THAT(result.error_detail, Contains("127.0.0.1:" + std::to_string(closed.port())));
  CHECK_FALSE(result.status.has_value());
}

TEST_CASE("sender tries each resolved address in turn", "[sender][connect]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());  // 127.0.0.1 only: 127.0.0.2:port is refused
  auto options = env.sender_options();
  options.resolve["multi.test"] = {"127.0.0.2", "127.0.0.1"};
  Sender sender(env.io, env.clock, options);

  auto result = env.send(sender, env.request(url_for(receiver, "multi.test")));

  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.status == 200);
  REQUIRE(receiver.request_count() == 1);
  CHECK(receiver.requests().front().sni == "multi.test");
  CHECK(receiver.connections_accepted() == 1);
}

TEST_CASE("sender fails with a connect error when every address is refused", "[sender][connect]") {
  SenderEnv env;
  testing::ClosedPort closed;
  auto options = env.sender_options();
  options.resolve["multi.test"] = {"127.0.0.2", "127.0.0.1"};
  Sender sender(env.io, env.clock, options);

  auto result =
      env.send(sender, env.request("https://multi.test:" + std::to_string(closed.port()) + "/"));

  CHECK(result.error == ErrorClass::kConnect);
  CHECK_THAT(result.error_detail, Contains("(2 addresses)"));
}

TEST_CASE("sender times out a TLS handshake with a silent peer within connect_timeout",
          "[sender][connect]") {
  SenderEnv env;
  testing::BlackHole hole;
  Sender sender(env.io, env.clock, env.sender_options());

  auto request = env.request("https://receiver.test:" + std::to_string(hole.port()) + "/");
  request.connect_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto result = env.send(sender, std::move(request));
  const auto elapsed = std::chrono::steady_clock::now() - start;

  CHECK(result.error == ErrorClass::kTimeout);
  CHECK_THAT(result.error_detail, Contains("tls handshake"));
  CHECK(elapsed >= 290ms);
  CHECK(elapsed < 2s);
  CHECK(hole.connections_accepted() == 1);
}

TEST_CASE("sender reports an unknown host as a DNS error", "[sender][connect]") {
  SenderEnv env;
  Sender sender(env.io, env.clock, env.sender_options());

  // The leading hyphen makes glibc's getaddrinfo refuse the name before sending a query, so
  // the test needs no DNS server and sends nothing off the machine.
  auto result = env.send(sender, env.request("https://-does-not-exist.invalid/"));

  CHECK(result.error == ErrorClass::kDns);
  CHECK_THAT(result.error_detail, Contains("-does-not-exist.invalid"));
}

TEST_CASE("sender rejects a bad address in the resolve overrides", "[sender][connect]") {
  SenderEnv env;
  auto options = env.sender_options();
  options.resolve["bad.test"] = {"not-an-address"};
  Sender sender(env.io, env.clock, options);

  auto result = env.send(sender, env.request("https://bad.test/"));

  CHECK(result.error == ErrorClass::kDns);
  CHECK_THAT(result.error_detail, Contains("not-an-address"));
}

}  // namespace korehook::delivery::test
