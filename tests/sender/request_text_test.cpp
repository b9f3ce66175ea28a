// The request's bytes: the same as Beast's serializer wrote for the same message.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "delivery/request_text.hpp"
#include "helpers.hpp"

namespace korehook::delivery::test {

namespace {

namespace http = boost::beast::http;

// How the sender built the request with Beast before it rendered the bytes itself.
std::string beast_text(const SendRequest& request) {
  http::request<http::span_body<const char>> message(http::verb::post, request.url.target, 11);
  message.insert("host", request.url.host_header);
  for (const auto& [name, value] : request.headers) {
    if (boost::beast::iequals(name, "host") || boost::beast::iequals(name, "content-length")) {
      continue;
    }
    message.insert(name, value);
  }
  const std::string* body = request.body.get();
  message.body() =
      body ? boost::span<const char>(body->data(), body->size()) : boost::span<const char>();
  message.insert("content-length", std::to_string(message.body().size()));
  std::ostringstream out;
  out << message;
  return out.str();
}

}  // namespace

TEST_CASE("render_request writes the bytes Beast's serializer wrote", "[sender][request]") {
  SendRequest request = SenderEnv::request("https://receiver.test:8443/hook/a?x=1&y=%20", "{}");
  std::string text = "left over from the previous request";

  SECTION("the daemon's headers") {
    request.headers = {{"user-agent", "KoreProxy/1.1"},      {"date", "2025-11-29T00:47:06Z"},
                       {"kore-idempotency-token", "tok"},    {"kore-signature", ""},
                       {"content-type", "application/json"}, {"X-Custom", "Mixed Case Value"}};
    render_request(request, text);
    CHECK(text ==
          "POST /hook/a?x=1&y=%20 HTTP/1.1\r\n"
          "host: receiver.test:8443\r\n"
          "user-agent: KoreProxy/1.1\r\n"
          "date: 2025-11-29T00:47:06Z\r\n"
          "kore-idempotency-token: tok\r\n"
          "kore-signature: \r\n"
          "content-type: application/json\r\n"
          "X-Custom: Mixed Case Value\r\n"
          "content-length: 2\r\n"
          "\r\n"
          "{}");
  }
  SECTION("host and content-length among the headers are skipped, values trimmed") {
    request.headers = {{"Host", "evil.test"},
                       {"x-a", " \t padded\t value \t"},
                       {"CONTENT-LENGTH", "9"},
                       {"x-b", "   "}};
  }
  SECTION("no body") { request.body = nullptr; }
  SECTION("a body larger than a TLS record") {
    request.body = std::make_shared<const std::string>(40'000, 'b');
  }
  SECTION("no headers") { request.headers.clear(); }

  render_request(request, text);
  CHECK(text == beast_text(request));
}

}  // namespace korehook::delivery::test
