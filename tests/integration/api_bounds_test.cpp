// Input bounds of the API on the real korehookd (SPEC §5 "every input bounded"): malformed
// HTTP framing, oversized headers, bad JSON and encodings each get a clear 4xx JSON error and
// change nothing; and the SSRF guard as the daemon applies it.

#include <catch2/catch.hpp>
#include <string>

#include "integration/fixture.hpp"
#include "support/raw_connection.hpp"

namespace korehook::testing {
namespace {

namespace json = boost::json;

// Status and code of a raw HTTP answer carrying a JSON error.
std::pair<int, std::string> raw_error(const std::string& response) {
  INFO("answer: " << response);
  const json::value body = parse_json(body_of(response));
  REQUIRE(body.is_object());
  REQUIRE(body.as_object().contains("code"));
  CHECK(body.at("status").as_int64() == status_of(response));
  return {status_of(response), std::string(body.at("code").as_string())};
}

std::string send_raw(Daemon& daemon, const std::string& request) {
  RawConnection c(daemon.socket_path());
  REQUIRE(c.connected());
  REQUIRE(c.send(request));
  return c.read_until_close();
}

}  // namespace

TEST_CASE("api bounds: framing and size errors are JSON and create nothing", "[api][bounds]") {
  Fixture fx;
  Daemon daemon(fx.yaml({EndpointYaml{}}));
  daemon.start();
  const std::string event = R"({"type":"sim.x","data":{}})";

  SECTION("header over 16 KiB: 431") {
    const auto answer = send_raw(
        daemon, "POST /v1/events HTTP/1.1\r\nhost: k\r\nx-pad: " + std::string(20 * 1024, 'p') +
                    "\r\ncontent-type: application/json\r\n"
                    "content-length: " +
                    std::to_string(event.size()) + "\r\n\r\n" + event);
    CHECK(raw_error(answer) == std::pair<int, std::string>{431, "headers_too_large"});
  }
  SECTION("content-length with transfer-encoding: 400") {
    const auto answer = send_raw(
        daemon,
        "POST /v1/events HTTP/1.1\r\nhost: k\r\ncontent-type: application/json\r\n"
        "content-length: " +
            std::to_string(event.size()) + "\r\ntransfer-encoding: chunked\r\n\r\n" + event);
    CHECK(raw_error(answer).first == 400);
  }
  SECTION("two content-lengths: 400") {
    const auto answer =
        send_raw(daemon,
                 "POST /v1/events HTTP/1.1\r\nhost: k\r\ncontent-type: application/json\r\n"
                 "content-length: 2\r\ncontent-length: " +
                     std::to_string(event.size()) + "\r\n\r\n" + event);
    CHECK(raw_error(answer).first == 400);
  }
  SECTION("declared 10 GiB body: 413 without reading it") {
    const auto answer =
        send_raw(daemon,
                 "POST /v1/events HTTP/1.1\r\nhost: k\r\ncontent-type: application/json\r\n"
                 "content-length: 10737418240\r\n\r\n{");
    CHECK(raw_error(answer) == std::pair<int, std::string>{413, "body_too_large"});
  }

  // Still healthy, and none of the above became an event.
  const std::string id = submit_event(daemon, R"({"type":"sim.x","data":{"after":true}})");
  wait_for_event(daemon, id, all_delivered);
  REQUIRE(fx.receiver().request_count() == 1);
  CHECK(fx.receiver().requests().front().body == R"({"after":true})");
}

TEST_CASE("api bounds: bad JSON and encodings are refused with 400 invalid_json", "[api][bounds]") {
  Fixture fx;
  Daemon daemon(fx.yaml({EndpointYaml{}}));
  daemon.start();

  std::string body;
  SECTION("invalid UTF-8 in a string") {
    body = "{\"type\":\"sim.x\",\"data\":{\"s\":\"\xc3\x28\"}}";
  }
  SECTION("overlong UTF-8 encoding") {
    body = "{\"type\":\"sim.x\",\"data\":{\"s\":\"\xc0\xaf\"}}";
  }
  SECTION("UTF-16 surrogate encoded as UTF-8") {
    body = "{\"type\":\"sim.x\",\"data\":{\"s\":\"\xed\xa0\x80\"}}";
  }
  SECTION("truncated") { body = R"({"type":"sim.x","data":{"a":[1,2)"; }
  SECTION("trailing garbage") { body = R"({"type":"sim.x","data":{}} x)"; }
  SECTION("raw NUL byte in a string") {
    static constexpr char kText[] = "{\"type\":\"sim.x\",\"data\":{\"a\":\"\0\"}}";
    body = std::string(kText, sizeof kText - 1);
  }
  SECTION("depth far beyond the limit") {
    body = R"({"type":"sim.x","data":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  }
  auto res = daemon.request("POST", "/v1/events", body);
  REQUIRE(res.ok());
  INFO("answer: " << res->status << " " << res->body);
  CHECK(res->status == 400);
  CHECK(parse_json(res->body).at("code").as_string() == "invalid_json");

  const std::string id = submit_event(daemon, R"({"type":"sim.x","data":{"after":true}})");
  wait_for_event(daemon, id, all_delivered);
  CHECK(fx.receiver().request_count() == 1);
}

TEST_CASE("delivery: a destination outside network.allow_private is blocked, never connected",
          "[delivery][ssrf]") {
  Fixture fx;
  // A receiver on ::1 with a certificate for it; allow_private holds only 127.0.0.0/8.
  auto cert = fx.ca().issue_server("v6", {"localhost"}, {"::1"});
  auto options = receiver_options_for(cert);
  options.address = "::1";
  TlsReceiver v6(options);
  const std::string url = "https://[::1]:" + std::to_string(v6.port()) + "/hooks";

  SECTION("blocked by default") {
    Daemon daemon(fx.yaml({endpoint("ep_v6", url)}));
    daemon.start();
    const std::string id = submit_event(daemon, R"({"type":"sim.x","data":{}})");
    const auto event = wait_for_event(
        daemon, id, [](const json::object& e) { return !first_delivery_attempts(e).empty(); });
    const auto attempts = first_delivery_attempts(event);
    REQUIRE_FALSE(attempts.empty());
    INFO("event: " << json::serialize(event));
    CHECK(attempts[0].at("error").as_string() == "blocked");
    CHECK_THAT(std::string(attempts[0].at("error_detail").as_string()),
               Catch::Contains("::1 is in blocked range ::1/128 (loopback)"));
    CHECK(v6.connections_accepted() == 0);
  }
  SECTION("opened by allow_private ::1/128") {
    std::string yaml = fx.yaml({endpoint("ep_v6", url)});
    const std::string from = "allow_private: [\"127.0.0.0/8\"]";
    REQUIRE(yaml.find(from) != std::string::npos);
    yaml.replace(yaml.find(from), from.size(), "allow_private: [\"127.0.0.0/8\", \"::1/128\"]");
    Daemon daemon(yaml);
    daemon.start();
    const std::string id = submit_event(daemon, R"({"type":"sim.x","data":{}})");
    wait_for_event(daemon, id, all_delivered);
    CHECK(v6.request_count() == 1);
  }
}

}  // namespace korehook::testing
