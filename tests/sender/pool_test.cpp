// The keep-alive pool: reuse, stale connections, expiry, limits.
#include <catch2/catch.hpp>

#include "helpers.hpp"

namespace korehook::delivery::test {

using retry::ErrorClass;

TEST_CASE("sender reuses one connection for sequential requests to an origin", "[sender][pool]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  std::vector<SendResult> results;
  for (int i = 0; i < 3; ++i) {
    results.push_back(env.send(sender, env.request(url_for(receiver, "receiver.test"))));
  }

  for (const auto& result : results) CHECK(result.error == ErrorClass::kNone);
  CHECK_FALSE(results[0].reused_connection);
  CHECK(results[1].reused_connection);
  CHECK(results[2].reused_connection);
  CHECK_FALSE(results[1].connect_ms.has_value());
  REQUIRE(receiver.request_count() == 3);
  for (const auto& request : receiver.requests()) CHECK(request.connection == 1);
  CHECK(receiver.connections_accepted() == 1);
  CHECK(sender.idle_connections() == 1);

  sender.close_idle();
  CHECK(sender.idle_connections() == 0);
  CHECK(receiver.wait_for_connections_closed(1, 5s));
}

TEST_CASE("sender pools a connection as the response's version and Connection header say",
          "[sender][pool]") {
  SenderEnv env;
  struct Case {
    const char* head;
    bool pooled;
  };
  for (const Case c : {Case{"HTTP/1.1 200 OK\r\n", true},
                       Case{"HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\n", true},
                       Case{"HTTP/1.1 200 OK\r\nconnection: close\r\n", false},
                       Case{"HTTP/1.1 200 OK\r\nconnection: keep-alive, close\r\n", false},
                       Case{"HTTP/1.1 200 OK\r\nconnection: Close\r\nconnection: x\r\n", false},
                       Case{"HTTP/1.0 200 OK\r\n", false},
                       Case{"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\n", true}}) {
    INFO(c.head);
    TlsReceiver receiver(env.receiver_options());
    const std::string raw = std::string(c.head) + "content-length: 2\r\n\r\nok";
    receiver.set_handler([raw](const ReceivedRequest&) {
      Reply reply;
      reply.raw = raw;
      return reply;
    });
    Sender sender(env.io, env.clock, env.sender_options());
    const SendResult result = env.send(sender, env.request(url_for(receiver, "receiver.test")));
    CHECK(result.error == ErrorClass::kNone);
    CHECK(result.status == 200);
    CHECK(sender.idle_connections() == (c.pooled ? 1U : 0U));
  }
}

TEST_CASE("sender keeps separate pools per origin and per CA file", "[sender][pool]") {
  SenderEnv env;
  TlsReceiver first(env.receiver_options());
  TlsReceiver second(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  CHECK_FALSE(env.send(sender, env.request(url_for(first, "receiver.test"))).reused_connection);
  CHECK_FALSE(env.send(sender, env.request(url_for(second, "receiver.test"))).reused_connection);
  auto request = env.request(url_for(first, "receiver.test"));
  // The same bundle under another file name: another trust configuration, another pool.
  request.ca_file = env.dir.file("copy.pem");
  testing::write_file(*request.ca_file, testing::read_file(env.ca.ca_file()));
  CHECK_FALSE(env.send(sender, request).reused_connection);
  CHECK(env.send(sender, request).reused_connection);
  CHECK(sender.idle_connections() == 3);
}

TEST_CASE("sender replaces a keep-alive connection the receiver closed", "[sender][pool]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  SECTION("closed while idle") {
    CHECK(env.send(sender, env.request(url_for(receiver, "receiver.test"))).error ==
          ErrorClass::kNone);
    receiver.close_connections();
  }
  SECTION("closed right after a response that promised keep-alive") {
    receiver.set_handler([](const ReceivedRequest& r) {
      Reply reply;
      reply.close_after = r.connection == 1;
      return reply;
    });
    CHECK(env.send(sender, env.request(url_for(receiver, "receiver.test"))).error ==
          ErrorClass::kNone);
  }
  REQUIRE(receiver.wait_for_connections_closed(1, 5s));

  // Either the pool noticed the close, or the send fails on the stale connection before any
  // response byte and is retried once on a new one: both end on a fresh connection.
  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.status == 200);
  CHECK_FALSE(result.reused_connection);
  REQUIRE(receiver.request_count() == 2);
  CHECK(receiver.requests()[1].connection == 2);
}

TEST_CASE("sender retries once on a new connection when a reused one dies before answering",
          "[sender][pool]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());
  CHECK(env.send(sender, env.request(url_for(receiver, "receiver.test"))).error ==
        ErrorClass::kNone);
  REQUIRE(sender.idle_connections() == 1);

  SECTION("the new connection answers") {
    // The second request arrives on the kept-alive connection, which then dies silently.
    receiver.set_handler(
        [](const ReceivedRequest& r) { return r.index == 1 ? Reply::close() : Reply{}; });
    auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

    CHECK(result.error == ErrorClass::kNone);
    CHECK_FALSE(result.reused_connection);
    REQUIRE(receiver.request_count() == 3);
    CHECK(receiver.requests()[1].connection == 1);
    CHECK(receiver.requests()[2].connection == 2);
  }
  SECTION("only once") {
    receiver.set_handler([](const ReceivedRequest&) { return Reply::close(); });
    auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

    CHECK(result.error == ErrorClass::kProtocol);
    CHECK(receiver.request_count() == 3);
    CHECK(receiver.connections_accepted() == 2);
  }
}

TEST_CASE("sender does not resend on a reused connection that timed out", "[sender][pool]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());
  CHECK(env.send(sender, env.request(url_for(receiver, "receiver.test"))).error ==
        ErrorClass::kNone);
  receiver.set_handler([](const ReceivedRequest&) { return Reply::hang(); });

  auto request = env.request(url_for(receiver, "receiver.test"));
  request.read_timeout = 300ms;
  auto result = env.send(sender, request);

  CHECK(result.error == ErrorClass::kTimeout);
  CHECK(result.reused_connection);
  CHECK(receiver.request_count() == 2);
}

TEST_CASE("sender notices an idle connection the receiver closed", "[sender][pool]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  CHECK(env.send(sender, env.request(url_for(receiver, "receiver.test"))).error ==
        ErrorClass::kNone);
  REQUIRE(sender.idle_connections() == 1);
  receiver.close_connections();

  CHECK(env.run_until([&] { return sender.idle_connections() == 0; }, 5s));
}

TEST_CASE("sender closes idle connections after idle_timeout", "[sender][pool]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  auto options = env.sender_options();
  options.idle_timeout = 100ms;
  Sender sender(env.io, env.clock, options);

  CHECK(env.send(sender, env.request(url_for(receiver, "receiver.test"))).error ==
        ErrorClass::kNone);
  REQUIRE(sender.idle_connections() == 1);
  const auto start = std::chrono::steady_clock::now();

  CHECK(env.run_until([&] { return sender.idle_connections() == 0; }, 5s));
  CHECK(std::chrono::steady_clock::now() - start >= 90ms);
  CHECK(receiver.wait_for_connections_closed(1, 5s));
}

TEST_CASE("sender keeps at most max_idle_per_origin idle connections", "[sender][pool]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  auto options = env.sender_options();
  options.max_idle_per_origin = 2;
  Sender sender(env.io, env.clock, options);

  // Four concurrent sends need four connections.
  int done = 0;
  for (int i = 0; i < 4; ++i) {
    sender.send(env.request(url_for(receiver, "receiver.test")), [&](SendResult r) {
      CHECK(r.error == ErrorClass::kNone);
      ++done;
    });
  }
  REQUIRE(env.run_until([&] { return done == 4; }));

  CHECK(receiver.connections_accepted() == 4);
  CHECK(sender.idle_connections() == 2);
}

TEST_CASE("sender does not reuse a connection the receiver asked to close", "[sender][pool]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  receiver.set_handler([](const ReceivedRequest&) {
    Reply reply;
    reply.headers = {{"connection", "close"}};
    return reply;
  });
  Sender sender(env.io, env.clock, env.sender_options());

  CHECK(env.send(sender, env.request(url_for(receiver, "receiver.test"))).error ==
        ErrorClass::kNone);
  CHECK(sender.idle_connections() == 0);
  CHECK_FALSE(env.send(sender, env.request(url_for(receiver, "receiver.test"))).reused_connection);
  CHECK(receiver.connections_accepted() == 2);
}

TEST_CASE("destroying the sender with a request in flight drops its callback", "[sender][pool]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  receiver.set_handler([](const ReceivedRequest&) { return Reply::hang(); });
  bool called = false;
  {
    Sender sender(env.io, env.clock, env.sender_options());
    sender.send(env.request(url_for(receiver, "receiver.test")),
                [&](SendResult) { called = true; });
    REQUIRE(env.run_until([&] { return receiver.request_count() == 1; }));
  }
  env.io.restart();
  env.io.run_for(100ms);  // the aborted exchange's handlers run without the Sender
  CHECK_FALSE(called);
  CHECK(receiver.wait_for_connections_closed(1, 5s));
}

}  // namespace korehook::delivery::test
