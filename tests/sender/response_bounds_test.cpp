// Responses that never end: the sender keeps what it records (4 KiB of body, 16 KiB of
// header), stops reading, closes the connection, and its memory stays flat.
#include <catch2/catch.hpp>
#include <fstream>

#include "helpers.hpp"

namespace korehook::delivery::test {

using Catch::Matchers::StartsWith;
using retry::ErrorClass;

namespace {

// Resident set size of this process in KiB (Linux), 0 when unknown.
long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

constexpr long kMaxGrowthKib = 64 * 1024;  // generous: a read-it-all would take ~1 GiB

}  // namespace

TEST_CASE("sender stops reading a response body that never ends", "[sender][response]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  std::string chunk(4096, 'c');
  Reply reply;
  SECTION("endless chunked body") {
    reply.raw = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
    reply.endless = "1000\r\n" + chunk + "\r\n";
  }
  SECTION("declared 10 GiB body") {
    reply.raw = "HTTP/1.1 200 OK\r\ncontent-length: 10737418240\r\n\r\n";
    reply.endless = std::string(64 * 1024, 'c');
  }
  receiver.set_handler([&](const ReceivedRequest&) { return reply; });
  Sender sender(env.io, env.clock, env.sender_options());

  const long before = resident_kib();
  auto request = env.request(url_for(receiver, "receiver.test"));
  request.read_timeout = 8s;
  auto result = env.send(sender, request);
  const long after = resident_kib();

  CHECK(result.status == 200);
  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.response_excerpt == std::string(4096, 'c'));
  CHECK(sender.idle_connections() == 0);
  // The sender closed the connection: the receiver's endless write ended.
  CHECK(receiver.wait_for_connections_closed(1, 5s));
  REQUIRE(before > 0);
  CHECK(after - before < kMaxGrowthKib);
}

TEST_CASE("sender stops reading a response header that never ends", "[sender][response]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  receiver.set_handler([](const ReceivedRequest&) {
    Reply reply;
    reply.raw = "HTTP/1.1 200 OK\r\n";
    reply.endless = "x-padding: " + std::string(1000, 'p') + "\r\n";
    return reply;
  });
  Sender sender(env.io, env.clock, env.sender_options());

  const long before = resident_kib();
  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));
  const long after = resident_kib();

  CHECK(result.error == ErrorClass::kProtocol);
  CHECK_THAT(result.error_detail, StartsWith("response header larger than 16384 bytes"));
  CHECK_FALSE(result.status.has_value());
  CHECK(receiver.wait_for_connections_closed(1, 5s));
  REQUIRE(before > 0);
  CHECK(after - before < kMaxGrowthKib);
}

}  // namespace korehook::delivery::test
