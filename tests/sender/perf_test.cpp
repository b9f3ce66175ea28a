// Workloads for measuring the sender's CPU cost per request under callgrind (hidden: `[.]`,
// never run by ctest; they assert only that every request was delivered). See
// docs/performance-history.md, "Send path": run the binary with `[.perf]` under
// `valgrind --tool=callgrind --separate-threads=yes --toggle-collect='*perf_loop*'`; the
// main thread's instructions divided by KOREHOOK_PERF_N are the sender's cost per request.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "helpers.hpp"

namespace korehook::delivery::test {

namespace {

int perf_count() {
  const char* text = std::getenv("KOREHOOK_PERF_N");
  return text ? std::atoi(text) : 200;
}

// A request like the daemon's: the attempt headers of a signed delivery, a 300-byte body.
SendRequest daemon_like_request(const std::string& url) {
  SendRequest r = SenderEnv::request(
      url, "{\"type\":\"invoice.paid\",\"data\":{\"id\":\"" + std::string(260, 'x') + "\"}}");
  r.headers = {
      {"user-agent", "KoreProxy/1.1"},
      {"date", "2025-11-29T00:47:06Z"},
      {"kore-idempotency-token", "a3b1c9e0-6f2d-4c8e-9a41-0d5e7b2f1c33"},
      {"kore-signature",
       "t=1764377226,v1=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
      {"content-type", "application/json"},
      {"webhook-id", "a3b1c9e0-6f2d-4c8e-9a41-0d5e7b2f1c33"},
      {"webhook-timestamp", "1764377226"},
      {"webhook-signature", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="},
  };
  return r;
}

// Kept out of line so callgrind can collect exactly this (--toggle-collect).
[[gnu::noinline]] int perf_loop(SenderEnv& env, Sender& sender, const std::string& url, int n,
                                bool fresh_connections) {
  int delivered = 0;
  for (int i = 0; i < n; ++i) {
    if (fresh_connections) sender.close_idle();
    const SendResult result = env.send(sender, daemon_like_request(url));
    if (result.error == retry::ErrorClass::kNone && result.status == 200) ++delivered;
  }
  return delivered;
}

}  // namespace

TEST_CASE("perf: requests over one keep-alive connection", "[.][perf]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());
  const std::string url = url_for(receiver, "receiver.test");
  REQUIRE(env.send(sender, daemon_like_request(url)).status == 200);  // connect outside
  const int n = perf_count();
  CHECK(perf_loop(env, sender, url, n, false) == n);
  CHECK(receiver.connections_accepted() == 1);
}

TEST_CASE("perf: one new connection per request", "[.][perf]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());
  const std::string url = url_for(receiver, "receiver.test");
  REQUIRE(env.send(sender, daemon_like_request(url)).status == 200);
  const int n = perf_count();
  CHECK(perf_loop(env, sender, url, n, true) == n);
  CHECK(receiver.connections_accepted() == static_cast<std::uint64_t>(n) + 1);
}

}  // namespace korehook::delivery::test
