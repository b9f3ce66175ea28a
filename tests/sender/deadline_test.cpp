// The attempt's deadline (SendRequest::timeout): steps that each stay within their own bound
// still end the attempt when together they run past it.
#include <catch2/catch.hpp>

#include "helpers.hpp"

namespace korehook::delivery::test {

using Catch::Matchers::Contains;
using retry::ErrorClass;

namespace {

// A receiver slow to handshake and slow to answer, `step` each.
std::unique_ptr<TlsReceiver> slow_receiver(const SenderEnv& env, std::chrono::milliseconds step) {
  auto options = env.receiver_options();
  options.handshake_delay = step;
  options.handler = [step](const ReceivedRequest&) { return Reply{.delay = step}; };
  return std::make_unique<TlsReceiver>(options);
}

// Each step may take the whole second on its own; the attempt as a whole may too.
SendRequest one_second_request(const std::string& url) {
  auto request = SenderEnv::request(url);
  request.connect_timeout = 1s;
  request.read_timeout = 1s;
  request.timeout = 1s;
  return request;
}

}  // namespace

TEST_CASE("sender ends an attempt whose slow handshake and slow answer add up past its timeout",
          "[sender][timeout]") {
  SenderEnv env;
  auto receiver = slow_receiver(env, 600ms);
  Sender sender(env.io, env.clock, env.sender_options());

  const auto start = std::chrono::steady_clock::now();
  auto result = env.send(sender, one_second_request(url_for(*receiver, "receiver.test")));
  const auto elapsed = std::chrono::steady_clock::now() - start;

  CHECK(result.error == ErrorClass::kTimeout);
  CHECK(result.error_detail == "no response timed out at the attempt's 1000 ms deadline");
  CHECK_FALSE(result.status.has_value());
  REQUIRE(result.tls_ms.has_value());
  CHECK(*result.tls_ms >= 590);  // the handshake alone fitted in its own bound
  CHECK(elapsed >= 990ms);
  CHECK(elapsed < 2500ms);  // the deadline, not the 1.2 s both steps would have taken
  CHECK(receiver->request_count() == 1);
  // The connection is closed, not kept.
  CHECK(receiver->wait_for_connections_closed(1, 5s));
  CHECK(sender.idle_connections() == 0);
}

TEST_CASE("sender lets slow steps through when together they fit in the timeout",
          "[sender][timeout]") {
  SenderEnv env;
  SECTION("350 ms each, 1 s in all") {
    auto receiver = slow_receiver(env, 350ms);
    Sender sender(env.io, env.clock, env.sender_options());
    auto result = env.send(sender, one_second_request(url_for(*receiver, "receiver.test")));
    INFO(result.error_detail);
    CHECK(result.error == ErrorClass::kNone);
    CHECK(result.status == 200);
    CHECK(result.duration_ms >= 690);
  }
  SECTION("600 ms each, 2 s in all") {
    auto receiver = slow_receiver(env, 600ms);
    Sender sender(env.io, env.clock, env.sender_options());
    auto request = one_second_request(url_for(*receiver, "receiver.test"));
    request.timeout = 2s;
    auto result = env.send(sender, std::move(request));
    INFO(result.error_detail);
    CHECK(result.error == ErrorClass::kNone);
    CHECK(result.status == 200);
  }
}

TEST_CASE("sender counts every address's connect against the attempt's timeout",
          "[sender][timeout][connect]") {
  SenderEnv env;
  auto receiver = slow_receiver(env, 300ms);  // on 127.0.0.1
  // The first address never answers the TCP connect: 600 ms of the second are gone before
  // 127.0.0.1 gets its turn, and its 300 + 300 ms do not fit in what is left.
  testing::UnansweredPort unanswered("127.0.0.2", receiver->port());
  auto options = env.sender_options();
  options.resolve["multi.test"] = {"127.0.0.2", "127.0.0.1"};
  Sender sender(env.io, env.clock, options);

  auto request = one_second_request(url_for(*receiver, "multi.test"));
  request.connect_timeout = 600ms;
  const auto start = std::chrono::steady_clock::now();
  auto result = env.send(sender, std::move(request));
  const auto elapsed = std::chrono::steady_clock::now() - start;

  CHECK(result.error == ErrorClass::kTimeout);
  CHECK(result.error_detail == "no response timed out at the attempt's 1000 ms deadline");
  REQUIRE(result.connect_ms.has_value());
  CHECK(*result.connect_ms >= 590);  // 127.0.0.2 used up its 600 ms first
  CHECK(elapsed >= 990ms);
  CHECK(elapsed < 2500ms);
  CHECK(receiver->request_count() == 1);
}

TEST_CASE("sender names the step that ran into the attempt's deadline", "[sender][timeout]") {
  SenderEnv env;
  Sender sender(env.io, env.clock, env.sender_options());
  std::string expected;
  std::string url;
  std::unique_ptr<TlsReceiver> receiver;
  std::unique_ptr<testing::BlackHole> hole;
  std::unique_ptr<testing::UnansweredPort> unanswered;
  SECTION("tls handshake") {
    hole = std::make_unique<testing::BlackHole>();
    url = "https://receiver.test:" + std::to_string(hole->port()) + "/";
    expected = "tls handshake with 127.0.0.1:" + std::to_string(hole->port()) +
               " timed out at the attempt's 400 ms deadline";
  }
  SECTION("tcp connect") {
    unanswered = std::make_unique<testing::UnansweredPort>("127.0.0.1");
    url = "https://receiver.test:" + std::to_string(unanswered->port()) + "/";
    expected = "connecting to 127.0.0.1:" + std::to_string(unanswered->port()) +
               " timed out at the attempt's 400 ms deadline";
  }
  SECTION("response body") {
    // The status arrived in time: it counts, the body is cut at the deadline.
    receiver = std::make_unique<TlsReceiver>(env.receiver_options());
    receiver->set_handler([](const ReceivedRequest&) {
      Reply reply = Reply::hang();
      reply.raw = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npart of the body";
      return reply;
    });
    url = url_for(*receiver, "receiver.test");
    expected = "response body timed out at the attempt's 400 ms deadline";
  }

  auto request = SenderEnv::request(url);  // 2 s per step
  request.timeout = 400ms;
  const auto start = std::chrono::steady_clock::now();
  auto result = env.send(sender, std::move(request));
  const auto elapsed = std::chrono::steady_clock::now() - start;

  CHECK(result.error_detail == expected);
  if (receiver) {
    CHECK(result.status == 200);
    CHECK(result.response_excerpt == "part of the body");
  } else {
    CHECK(result.error == ErrorClass::kTimeout);
  }
  CHECK(elapsed >= 390ms);
  CHECK(elapsed < 1900ms);
}

}  // namespace korehook::delivery::test
