#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "korehook/delivery/sender.hpp"
#include "korehook/net/cidr.hpp"
#include "korehook/net/url.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"
#include "support/tls_receiver.hpp"

namespace korehook::delivery::test {

using namespace std::chrono_literals;
using testing::IssuedCert;
using testing::ReceivedRequest;
using testing::ReceiverOptions;
using testing::Reply;
using testing::TempDir;
using testing::TestCa;
using testing::TlsReceiver;

inline constexpr TimeMs kNow = 1'764'377'226'000;  // 2025-11-29T00:47:06Z

class FixedClock final : public Clock {
 public:
  TimeMs now_ms() const override { return kNow; }
};

// A test CA, a certificate for receiver.test / 127.0.0.1, and the sender's io_context.
// Short timeouts everywhere: no test waits for a default.
struct SenderEnv {
  SenderEnv() {
    // KOREHOOK_TEST_LOG=debug shows the sender's log lines while debugging a test.
    if (const char* level = std::getenv("KOREHOOK_TEST_LOG")) {
      spdlog::set_level(spdlog::level::from_str(level));
    }
  }

  TempDir dir;
  TestCa ca{dir.path()};
  IssuedCert cert = ca.issue_server("receiver", {"receiver.test", "multi.test"}, {"127.0.0.1"});
  boost::asio::io_context io;
  FixedClock clock;

  ReceiverOptions receiver_options(const IssuedCert& c) const {
    ReceiverOptions o;
    o.cert_chain_file = c.chain_file;
    o.key_file = c.key_file;
    return o;
  }
  ReceiverOptions receiver_options() const { return receiver_options(cert); }

  SenderOptions sender_options() const {
    SenderOptions o;
    o.ca_file = ca.ca_file();
    o.resolve["receiver.test"] = {"127.0.0.1"};
    o.resolve["other.test"] = {"127.0.0.1"};
    // The receivers listen on loopback, which the address policy blocks by default.
    o.allow_private = {net::parse_cidr("127.0.0.0/8").value()};
    return o;
  }

  static SendRequest request(const std::string& url, std::string body = R"({"n":1})") {
    auto parsed = net::parse_https_url(url);
    REQUIRE(parsed.ok());
    SendRequest r;
    r.url = std::move(parsed.value());
    r.headers = {{"user-agent", "KoreProxy/1.1"}, {"content-type", "application/json"}};
    r.body = std::make_shared<const std::string>(std::move(body));
    r.connect_timeout = 2s;
    r.read_timeout = 2s;
    r.timeout = 4s;
    return r;
  }

  // Runs the event loop until the result arrives (bounded).
  SendResult send(Sender& sender, SendRequest request) {
    std::optional<SendResult> out;
    sender.send(std::move(request), [&](SendResult r) { out = std::move(r); });
    run_until([&] { return out.has_value(); });
    REQUIRE(out.has_value());
    return std::move(*out);
  }

  // Runs the loop until `done()` holds or 10 s passed.
  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds limit = 10s) {
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) io.run_one_for(20ms);
    return done();
  }
};

inline std::string url_for(const TlsReceiver& receiver, const std::string& host,
                           const std::string& path = "/hook") {
  return "https://" + host + ":" + std::to_string(receiver.port()) + path;
}

}  // namespace korehook::delivery::test
