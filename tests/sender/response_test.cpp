// Requests on the wire and responses: statuses, headers, bounded bodies, timeouts, garbage.
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <thread>

#include "helpers.hpp"

namespace korehook::delivery::test {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using retry::ErrorClass;

TEST_CASE("sender sends headers and body byte-exact", "[sender][wire]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  std::string body;
  for (int i = 0; i < 3; ++i) {
    for (int c = 0; c < 256; ++c) body.push_back(static_cast<char>(c));
  }
  body += "\r\n\r\nPOST / HTTP/1.1\r\n";
  auto request = env.request(url_for(receiver, "receiver.test", "/in?a=1&b=%20"), body);
  request.headers = {
      {"user-agent", "KoreProxy/1.1"},
      {"date", "2025-11-29T00:47:06Z"},
      {"kore-idempotency-token", "3f0e2c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6"},
      {"kore-signature", ""},
      {"content-type", "application/json"},
      {"webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,abc="},
      {"x-api-key", "k e y\t=\"quoted\";,\xc3\xa9"},
  };
  auto result = env.send(sender, request);

  CHECK(result.error == ErrorClass::kNone);
  REQUIRE(receiver.request_count() == 1);
  const ReceivedRequest got = receiver.requests().front();
  CHECK(got.target == "/in?a=1&b=%20");
  CHECK(got.body == body);
  testing::HeaderList expected{{"host", "receiver.test:" + std::to_string(receiver.port())}};
  expected.insert(expected.end(), request.headers.begin(), request.headers.end());
  expected.emplace_back("content-length", std::to_string(body.size()));
  CHECK(got.headers == expected);
}

TEST_CASE("sender sends an empty body with content-length 0", "[sender][wire]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  auto request = env.request(url_for(receiver, "receiver.test"));
  request.body = nullptr;
  CHECK(env.send(sender, request).error == ErrorClass::kNone);
  REQUIRE(receiver.request_count() == 1);
  CHECK(receiver.requests().front().header("content-length") == "0");
  CHECK(receiver.requests().front().body.empty());
}

TEST_CASE("sender refuses a header that would break the framing", "[sender][wire]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  auto request = env.request(url_for(receiver, "receiver.test"));
  std::string expected;
  SECTION("value") {
    request.headers.emplace_back("x-api-key", "secret\r\nx-injected: 1");
    expected = "invalid request header value: x-api-key";
  }
  SECTION("name") {
    request.headers.emplace_back("x-injected: 1\r\nx-api-key", "secret");
    expected = "invalid request header name";
  }
  auto result = env.send(sender, request);

  CHECK(result.error == ErrorClass::kProtocol);
  CHECK(result.error_detail == expected);
  CHECK(receiver.connections_accepted() == 0);
}

TEST_CASE("sender takes RFC 9110 token names only", "[sender][wire]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  for (const std::string& name :
       {std::string("x token"), std::string("x@token"), std::string("x\x7ftoken"),
        std::string("x\xC3\xA9"), std::string("x{token}"), std::string("")}) {
    INFO(name);
    auto request = env.request(url_for(receiver, "receiver.test"));
    request.headers.emplace_back(name, "value");
    auto result = env.send(sender, request);
    CHECK(result.error == ErrorClass::kProtocol);
    CHECK(result.error_detail == "invalid request header name");
  }
  CHECK(receiver.connections_accepted() == 0);
  // Every other visible ASCII character is a token character.
  auto request = env.request(url_for(receiver, "receiver.test"));
  request.headers.emplace_back("X-!#$%&'*+-.^_`|~09az", "value");
  CHECK(env.send(sender, request).error == ErrorClass::kNone);
  REQUIRE(receiver.request_count() == 1);
  CHECK(receiver.requests().front().header("x-!#$%&'*+-.^_`|~09az") == "value");
}

TEST_CASE("sender refuses a header value with a bare CR, a bare LF or a NUL", "[sender][wire]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  // Short values, and long ones whose bad byte sits in a later word or in the tail after the
  // last whole word (the check reads eight bytes at a time).
  const std::string word_run(21, 'w');
  for (const std::string& value :
       {std::string("a\nb"), std::string("a\rb"), std::string("end\n"), std::string("\rstart"),
        std::string("a\0b", 3), word_run + "\n" + word_run, word_run + "\r",
        word_run + std::string("\0", 1) + "x", std::string(64, 'v') + "\n"}) {
    auto request = env.request(url_for(receiver, "receiver.test"));
    request.headers.emplace_back("X-Token", value);
    auto result = env.send(sender, request);
    CHECK(result.error == ErrorClass::kProtocol);
    CHECK(result.error_detail == "invalid request header value: x-token");
  }
  auto request = env.request(url_for(receiver, "receiver.test"));
  request.headers.emplace_back("X-Token", "tabs\tand spaces are fine");
  request.headers.emplace_back("X-Long", std::string(100, 'v') + "\xC3\xA9\x80 obs-text too");
  CHECK(env.send(sender, request).error == ErrorClass::kNone);
  CHECK(receiver.connections_accepted() == 1);
}

TEST_CASE("sender records status, headers, Retry-After and the body of a 503",
          "[sender][response]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  receiver.set_handler([](const ReceivedRequest&) {
    Reply reply;
    reply.status = 503;
    reply.headers = {{"Retry-After", "120"}, {"X-Reason", "maintenance"}};
    reply.body = "come back later";
    return reply;
  });
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.status == 503);
  CHECK(result.error == ErrorClass::kHttp);
  CHECK(result.retry_after == "120");
  CHECK(result.response_excerpt == "come back later");
  const std::pair<std::string, std::string> reason{"X-Reason", "maintenance"};
  CHECK(std::find(result.response_headers.begin(), result.response_headers.end(), reason) !=
        result.response_headers.end());
  CHECK(sender.idle_connections() == 1);  // a complete error response keeps the connection
}

TEST_CASE("sender reports a redirect as a failure and does not follow it", "[sender][response]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  receiver.set_handler([](const ReceivedRequest& r) {
    Reply reply;
    if (r.target == "/hook") {
      reply.status = 302;
      reply.headers = {{"location", "/elsewhere"}};
    }
    return reply;
  });
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.status == 302);
  CHECK(result.error == ErrorClass::kHttp);
  CHECK_FALSE(result.retry_after.has_value());
  env.io.restart();
  env.io.poll();
  CHECK(receiver.request_count() == 1);
}

TEST_CASE("sender keeps 4 KiB of a large body and drops the connection", "[sender][response]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  std::string big(1024 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  receiver.set_handler([&](const ReceivedRequest&) {
    Reply reply;
    reply.body = big;
    return reply;
  });
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.status == 200);
  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.response_excerpt == big.substr(0, 4096));
  CHECK(sender.idle_connections() == 0);
  CHECK_FALSE(env.send(sender, env.request(url_for(receiver, "receiver.test"))).reused_connection);
  CHECK(receiver.connections_accepted() == 2);
}

TEST_CASE("sender reads a moderate body to the end and keeps the connection",
          "[sender][response]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  const std::string body(20 * 1024, 'm');
  SECTION("content-length") {
    receiver.set_handler([&](const ReceivedRequest&) { return Reply{.body = body}; });
  }
  SECTION("chunked") {
    receiver.set_handler([&](const ReceivedRequest&) {
      Reply reply;
      reply.headers = {{"transfer-encoding", "chunked"}};  // Beast encodes the body
      reply.body = body;
      return reply;
    });
  }
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.status == 200);
  CHECK(result.response_excerpt == body.substr(0, 4096));
  CHECK(sender.idle_connections() == 1);
  CHECK(env.send(sender, env.request(url_for(receiver, "receiver.test"))).reused_connection);
}

namespace {

// A TLS server for one connection that completes the handshake and then reads nothing, so a
// large request fills the socket buffers and its write cannot finish. Asynchronous on its own
// io_context and thread, so that stopping it never waits for a peer.
class DeafReceiver {
 public:
  explicit DeafReceiver(const IssuedCert& cert) : ssl_(boost::asio::ssl::context::tls_server) {
    ssl_.use_certificate_chain_file(cert.chain_file);
    ssl_.use_private_key_file(cert.key_file, boost::asio::ssl::context::pem);
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();  // read here: the thread owns the acceptor
    stream_.emplace(io_, ssl_);                 // after the certificate: the SSL object copies it
    acceptor_.async_accept(stream_->next_layer(), [this](boost::system::error_code ec) {
      if (ec) return;
      stream_->async_handshake(boost::asio::ssl::stream_base::server,
                               [this](boost::system::error_code ec) { handshaken_ = !ec; });
    });
    thread_ = std::thread([this] { io_.run(); });  // ends after the handshake, or when stopped
  }
  ~DeafReceiver() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  bool handshaken() const { return handshaken_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ssl::context ssl_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> stream_;
  std::uint16_t port_ = 0;
  std::atomic<bool> handshaken_{false};
  std::thread thread_;
};

// Sends `request` with a read_timeout of 300 ms to a receiver that will not let it finish:
// the attempt ends as a timeout with `detail`, after the 300 ms and not much later, and the
// connection is not kept.
void send_past_read_timeout(SenderEnv& env, Sender& sender, SendRequest request,
                            const std::string& detail) {
  request.read_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const auto result = env.send(sender, std::move(request));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(result.error == ErrorClass::kTimeout);
  CHECK(result.error_detail == detail);
  CHECK_FALSE(result.status.has_value());
  CHECK(elapsed >= 290ms);
  CHECK(elapsed < 2s);
  CHECK(sender.idle_connections() == 0);
}

}  // namespace

TEST_CASE("sender times out a receiver that answers too late", "[sender][response]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());
  SECTION("delayed past read_timeout") {
    receiver.set_handler([](const ReceivedRequest&) { return Reply{.delay = 5s}; });
  }
  SECTION("never answers") {
    receiver.set_handler([](const ReceivedRequest&) { return Reply::hang(); });
  }

  send_past_read_timeout(env, sender, env.request(url_for(receiver, "receiver.test")),
                         "no response timed out after 300 ms");
  CHECK(receiver.request_count() == 1);
}

TEST_CASE("sender times out a request the receiver does not read", "[sender][timeout]") {
  SenderEnv env;
  DeafReceiver receiver(env.cert);
  Sender sender(env.io, env.clock, env.sender_options());

  // Far more than the kernel buffers on both sides of a loopback connection hold.
  send_past_read_timeout(
      env, sender,
      env.request("https://receiver.test:" + std::to_string(receiver.port()) + "/hook",
                  std::string(32 * 1024 * 1024, 'x')),
      "sending the request timed out after 300 ms");
  CHECK(receiver.handshaken());
}

TEST_CASE("sender classifies a broken response as a protocol error", "[sender][response]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());
  std::string expected;
  SECTION("garbage") {
    receiver.set_handler([](const ReceivedRequest&) { return Reply{.raw = "SMTP ready\r\n\r\n"}; });
    expected = "malformed response: ";
  }
  SECTION("closed without an answer") {
    receiver.set_handler([](const ReceivedRequest&) { return Reply::close(); });
    expected = "connection closed before a response: ";
  }
  SECTION("header too large") {
    receiver.set_handler([](const ReceivedRequest&) {
      Reply reply;
      reply.headers = {{"x-padding", std::string(20 * 1024, 'p')}};
      return reply;
    });
    expected = "response header larger than 16384 bytes";
  }

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == ErrorClass::kProtocol);
  CHECK_THAT(result.error_detail, StartsWith(expected));
  CHECK_FALSE(result.status.has_value());
  CHECK(sender.idle_connections() == 0);
}

TEST_CASE("sender reads a body delimited by the connection's end", "[sender][response]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  receiver.set_handler([](const ReceivedRequest&) {
    return Reply{.raw = "HTTP/1.1 201 Created\r\nconnection: close\r\n\r\nuntil the end"};
  });
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.status == 201);
  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.response_excerpt == "until the end");
  CHECK(sender.idle_connections() == 0);
}

}  // namespace korehook::delivery::test
