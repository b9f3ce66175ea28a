// End to end through the real korehookd: what a receiver sees (SPEC §1), routing by event
// type, multi-address hosts and keep-alive. Signatures are recomputed here with OpenSSL
// directly, not with korehook's own signing code, so a shared mistake cannot hide.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "integration/fixture.hpp"

namespace korehook::testing {
namespace {

using Catch::Matchers::StartsWith;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `YYYY-MM-DDTHH:MM:SSZ` as Unix seconds (the format is checked separately).
std::int64_t parse_iso_utc(const std::string& text) {
  std::tm tm{};
  REQUIRE(std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon,
                      &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(::timegm(&tm));
}

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0f];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) == 1);
  return hex(digest, size);
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  REQUIRE(text.size() % 4 == 0);
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  out.resize(static_cast<std::size_t>(n));
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) out.pop_back();
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
               reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
               &size) != nullptr);
  return std::string(reinterpret_cast<const char*>(mac), size);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

// The request number `index` (0-based), waiting for it to arrive.
ReceivedRequest nth_request(TlsReceiver& receiver, std::size_t index) {
  REQUIRE(receiver.wait_for_requests(index + 1, 10s));
  return receiver.requests().at(index);
}

// Creates a secret through the API and returns its value (the first one becomes active).
std::string create_active_secret(Daemon& daemon) {
  auto res = daemon.request("POST", "/v1/secrets", R"({"Name":"main"})");
  REQUIRE(res.ok());
  INFO("answer: " << res->body);
  REQUIRE(res->status == 201);
  const auto answer = parse_json(res->body).as_object();
  CHECK(answer.at("status").as_string() == "active");
  std::string secret(answer.at("secret").as_string());
  REQUIRE_THAT(secret, StartsWith("whsec_"));
  return secret;
}

// The checks of SPEC §1 for a signed request: kore-signature over secret + POST + the
// endpoint URL without its query + body, and a Standard Webhooks v1 signature over
// id.timestamp.body keyed with the base64 part of the secret.
void check_signatures(const ReceivedRequest& request, const std::string& secret,
                      const std::string& signing_url) {
  INFO("target: " << request.target << ", body: " << request.body);
  CHECK(header_or_absent(request, "kore-signature") ==
        sha256_hex(secret + "POST" + signing_url + request.body));

  const std::string id = header_or_absent(request, "webhook-id");
  const std::string timestamp = header_or_absent(request, "webhook-timestamp");
  const std::string key = base64_decode(std::string_view(secret).substr(6));
  REQUIRE(key.size() >= 24);
  const std::string expected =
      "v1," + base64_encode(hmac_sha256(key, id + "." + timestamp + "." + request.body));
  const auto values = request.header_values("webhook-signature");
  REQUIRE(values.size() == 1);
  const auto signatures = split(values[0], ' ');
  CHECK(signatures.size() == 1);  // no rotation overlap is running
  CHECK(std::find(signatures.begin(), signatures.end(), expected) != signatures.end());
}

TEST_CASE("delivery: a JSON event reaches the endpoint minified, with the KORE headers",
          "[delivery]") {
  Fixture f;
  EndpointYaml ep;
  ep.url = f.receiver_url("/hooks?x=1");
  Daemon daemon(f.yaml({ep}));
  daemon.start();

  const std::string id =
      submit_event(daemon, R"({"type":"sim.activated","data":{ "b": 1.50, "a": [1, 2] }})");
  const ReceivedRequest request = nth_request(f.receiver(), 0);
  const std::int64_t now = unix_now();

  CHECK(request.method == "POST");
  CHECK(request.target == "/hooks?x=1");
  CHECK(request.body == R"({"b":1.50,"a":[1,2]})");
  CHECK(header_or_absent(request, "user-agent") == "KoreProxy/1.1");
  CHECK(header_or_absent(request, "content-type") == "application/json");
  CHECK(header_or_absent(request, "host") == "localhost:" + std::to_string(f.receiver().port()));

  const std::string date = header_or_absent(request, "date");
  REQUIRE(std::regex_match(date, std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$)")));
  CHECK(std::abs(parse_iso_utc(date) - now) <= 5);

  const std::string token = header_or_absent(request, "kore-idempotency-token");
  CHECK(std::regex_match(
      token, std::regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                        std::regex::icase)));
  CHECK(header_or_absent(request, "webhook-id") == token);
  const std::string timestamp = header_or_absent(request, "webhook-timestamp");
  REQUIRE(std::regex_match(timestamp, std::regex(R"(^\d{1,12}$)")));
  CHECK(std::abs(std::stoll(timestamp) - now) <= 5);
  CHECK(std::stoll(timestamp) == parse_iso_utc(date));  // both are the time of this attempt

  // No secret yet: the KORE header is there and empty, the Standard Webhooks one is absent.
  CHECK(request.header_values("kore-signature") == std::vector<std::string>{""});
  CHECK_FALSE(request.header("webhook-signature").has_value());

  // Each header exactly once.
  for (const char* name : {"user-agent", "date", "kore-idempotency-token", "content-type",
                           "webhook-id", "webhook-timestamp", "host", "content-length"}) {
    INFO("header " << name);
    CHECK(request.header_values(name).size() == 1);
  }

  // What the API records matches what went over the wire.
  const auto event = wait_for_delivery_state(daemon, id, "delivered");
  const auto& delivery = deliveries_of(event).at(0).as_object();
  CHECK(delivery.at("endpoint_id").as_string() == "ep_test");
  CHECK(delivery.at("token").as_string() == token);
  const auto attempts = first_delivery_attempts(event);
  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].at("number").to_number<int>() == 1);
  CHECK(attempts[0].at("status_code").to_number<int>() == 200);
  CHECK(attempts[0].at("error").is_null());
  CHECK(f.receiver().request_count() == 1);
}

TEST_CASE("delivery: once a secret is active, both signatures verify (query not signed)",
          "[delivery]") {
  Fixture f;
  EndpointYaml ep;
  ep.url = f.receiver_url("/hooks?x=1");
  Daemon daemon(f.yaml({ep}));
  daemon.start();
  const std::string signing_url =
      "https://localhost:" + std::to_string(f.receiver().port()) + "/hooks";

  submit_event(daemon, R"({"type":"sim.activated","data":{"n":1}})");
  const ReceivedRequest unsigned_request = nth_request(f.receiver(), 0);
  CHECK(header_or_absent(unsigned_request, "kore-signature").empty());

  const std::string secret = create_active_secret(daemon);

  SECTION("a JSON event") {
    submit_event(daemon, R"({"type":"sim.activated","data":{ "b": 1.50, "a": [1, 2] }})");
    const ReceivedRequest request = nth_request(f.receiver(), 1);
    CHECK(request.target == "/hooks?x=1");
    CHECK(request.body == R"({"b":1.50,"a":[1,2]})");
    CHECK(header_or_absent(request, "kore-signature").size() == 64);
    check_signatures(request, secret, signing_url);
  }
  SECTION("a form event") {
    submit_event(daemon, R"({"type":"sim.x","body":"field1=value1&field2=value2",)"
                         R"("content_type":"application/x-www-form-urlencoded"})");
    const ReceivedRequest request = nth_request(f.receiver(), 1);
    CHECK(request.body == "field1=value1&field2=value2");
    CHECK(header_or_absent(request, "content-type") == "application/x-www-form-urlencoded");
    check_signatures(request, secret, signing_url);
  }
}

TEST_CASE("delivery: a form event arrives byte for byte with its content type", "[delivery]") {
  Fixture f;
  Daemon daemon(f.yaml_one_endpoint());
  daemon.start();

  const std::string id =
      submit_event(daemon, R"({"type":"sim.x","body":"field1=value1&field2=value2",)"
                           R"("content_type":"application/x-www-form-urlencoded"})");
  const ReceivedRequest request = nth_request(f.receiver(), 0);

  CHECK(request.method == "POST");
  CHECK(request.target == "/hooks");
  CHECK(request.body == "field1=value1&field2=value2");
  CHECK(header_or_absent(request, "content-type") == "application/x-www-form-urlencoded");
  CHECK(request.header_values("content-type").size() == 1);
  CHECK(header_or_absent(request, "user-agent") == "KoreProxy/1.1");
  wait_for_delivery_state(daemon, id, "delivered");
}

TEST_CASE("delivery: events reach only the endpoints whose event_types match", "[delivery]") {
  Fixture f;
  TlsReceiver usage_receiver(receiver_options_for(f.receiver_cert()));
  EndpointYaml sim;
  sim.id = "ep_sim";
  sim.event_types = R"(["sim.*"])";
  EndpointYaml usage;
  usage.id = "ep_usage";
  usage.url = usage_receiver.url("/usage", "localhost");
  usage.event_types = R"(["usage.*"])";
  Daemon daemon(f.yaml({sim, usage}));
  daemon.start();

  const std::string sim_id = submit_event(daemon, R"({"type":"sim.activated","data":{"n":1}})");
  const auto sim_event = wait_for_delivery_state(daemon, sim_id, "delivered");
  REQUIRE(deliveries_of(sim_event).size() == 1);
  CHECK(deliveries_of(sim_event)[0].at("endpoint_id").as_string() == "ep_sim");
  REQUIRE(f.receiver().request_count() == 1);
  CHECK(f.receiver().requests()[0].body == R"({"n":1})");

  // A type nobody subscribed to is accepted and stored, with nothing to deliver.
  auto res = daemon.request("POST", "/v1/events", R"({"type":"billing.closed","data":{"n":2}})");
  REQUIRE(res.ok());
  INFO("answer: " << res->body);
  REQUIRE(res->status == 202);
  const std::string lonely_id(parse_json(res->body).at("id").as_string());
  const auto lonely = get_event(daemon, lonely_id);
  CHECK(lonely.at("type").as_string() == "billing.closed");
  CHECK(deliveries_of(lonely).empty());

  const std::string usage_id = submit_event(daemon, R"({"type":"usage.daily","data":{"n":3}})");
  const auto usage_event = wait_for_delivery_state(daemon, usage_id, "delivered");
  REQUIRE(deliveries_of(usage_event).size() == 1);
  CHECK(deliveries_of(usage_event)[0].at("endpoint_id").as_string() == "ep_usage");

  REQUIRE(usage_receiver.request_count() == 1);
  CHECK(usage_receiver.requests()[0].target == "/usage");
  CHECK(usage_receiver.requests()[0].body == R"({"n":3})");
  CHECK(f.receiver().request_count() == 1);
}

TEST_CASE("delivery: a host with several addresses is tried address by address", "[delivery]") {
  Fixture f;
  EndpointYaml ep;
  ep.url = f.receiver().url("/hooks", "multi.test");
  // 127.0.0.2 refuses: the receiver listens on 127.0.0.1 only.
  Daemon daemon(f.yaml({ep}, "", "  resolve: {\"multi.test\": [\"127.0.0.2\", \"127.0.0.1\"]}\n"));
  daemon.start();

  const std::string id = submit_event(daemon, R"({"type":"sim.activated","data":{"n":1}})");
  const auto event = wait_for_delivery_state(daemon, id, "delivered");
  const auto attempts = first_delivery_attempts(event);
  REQUIRE(attempts.size() == 1);  // on the first attempt, not after a retry
  CHECK(attempts[0].at("status_code").to_number<int>() == 200);
  CHECK(attempts[0].at("error").is_null());

  REQUIRE(f.receiver().request_count() == 1);
  const ReceivedRequest request = f.receiver().requests()[0];
  CHECK(request.sni == "multi.test");
  CHECK(header_or_absent(request, "host") == "multi.test:" + std::to_string(f.receiver().port()));
}

TEST_CASE("delivery: events in sequence to one endpoint share one TLS connection", "[delivery]") {
  Fixture f;
  Daemon daemon(f.yaml_one_endpoint());
  daemon.start();

  for (int i = 0; i < 5; ++i) {
    const std::string id =
        submit_event(daemon, R"({"type":"sim.activated","data":{"n":)" + std::to_string(i) + "}}");
    wait_for_delivery_state(daemon, id, "delivered");
  }

  const auto requests = f.receiver().requests();
  REQUIRE(requests.size() == 5);
  std::set<std::string> tokens;
  for (const auto& request : requests) {
    INFO("request " << request.index);
    CHECK(request.connection == requests[0].connection);
    tokens.insert(header_or_absent(request, "kore-idempotency-token"));
  }
  CHECK(tokens.size() == 5);  // different events, different tokens
  CHECK(f.receiver().connections_accepted() == 1);
}

}  // namespace
}  // namespace korehook::testing
