// End to end through the real korehookd: TLS verification (SPEC §5). A receiver whose
// certificate does not verify never sees a request; the attempt is recorded as `tls`.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <string>

#include "integration/fixture.hpp"

namespace korehook::testing {
namespace {

using Catch::Matchers::Contains;

constexpr std::string_view kEvent = R"({"type":"sim.activated","data":{"n":1}})";

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Delivers one event (a single attempt) to `receiver` at https://localhost:<port>/hooks and
// returns that attempt once the delivery failed.
boost::json::object only_attempt_to(const Fixture& f, const TlsReceiver& receiver) {
  EndpointYaml ep;
  ep.url = receiver.url("/hooks", "localhost");
  ep.extra = "    retry: {max_attempts: 1}\n";
  Daemon daemon(f.yaml({ep}));
  daemon.start();
  const std::string id = submit_event(daemon, std::string(kEvent));
  const auto attempts = first_delivery_attempts(wait_for_delivery_state(daemon, id, "failed"));
  REQUIRE(attempts.size() == 1);
  return attempts[0].as_object();
}

std::string detail_of(const boost::json::object& attempt) {
  return std::string(attempt.at("error_detail").as_string());
}

TEST_CASE("delivery: a self-signed receiver never sees a request", "[delivery][tls]") {
  Fixture f;
  const IssuedCert cert = f.ca().issue(
      "self",
      LeafOptions{.dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}, .self_signed = true});
  TlsReceiver receiver(receiver_options_for(cert));

  const auto attempt = only_attempt_to(f, receiver);

  INFO("error_detail: " << detail_of(attempt));
  CHECK(attempt.at("error").as_string() == "tls");
  CHECK(attempt.at("status_code").is_null());
  CHECK_THAT(lowercase(detail_of(attempt)), Contains("certificate"));
  CHECK(receiver.request_count() == 0);
  CHECK(receiver.handshakes_failed() >= 1);
}

TEST_CASE("delivery: a certificate for another host name fails as tls", "[delivery][tls]") {
  Fixture f;
  const IssuedCert cert = f.ca().issue("other", LeafOptions{.dns_names = {"other.example"}});
  TlsReceiver receiver(receiver_options_for(cert));

  const auto attempt = only_attempt_to(f, receiver);

  INFO("error_detail: " << detail_of(attempt));
  CHECK(attempt.at("error").as_string() == "tls");
  CHECK(attempt.at("status_code").is_null());
  CHECK_THAT(lowercase(detail_of(attempt)), Contains("host"));
  CHECK(receiver.request_count() == 0);
}

TEST_CASE("delivery: an expired or untrusted certificate fails as tls", "[delivery][tls]") {
  Fixture f;
  IssuedCert cert;
  SECTION("expired") {
    cert = f.ca().issue("expired",
                        LeafOptions{.dns_names = {"localhost"}, .validity = Validity::expired()});
  }
  SECTION("issued by a CA the daemon does not trust") {
    TestCa rogue(f.certs().path(), CaOptions{.name = "rogue", .common_name = "rogue root"});
    cert = rogue.issue_server("rogue-leaf", {"localhost"}, {"127.0.0.1"});
  }
  TlsReceiver receiver(receiver_options_for(cert));

  const auto attempt = only_attempt_to(f, receiver);

  INFO("error_detail: " << detail_of(attempt));
  CHECK(attempt.at("error").as_string() == "tls");
  CHECK_THAT(lowercase(detail_of(attempt)), Contains("certificate"));
  CHECK(receiver.request_count() == 0);
}

// (No ';' in test names: CTest would cut the name there.)
TEST_CASE("delivery: TLS 1.3 by default, TLS 1.2 with a 1.2-only receiver, SNI sent",
          "[delivery][tls]") {
  Fixture f;
  auto options = receiver_options_for(f.receiver_cert());
  options.max_version = TlsVersion::kTls1_2;
  TlsReceiver tls12(options);
  EndpointYaml modern;
  modern.id = "ep_modern";
  EndpointYaml legacy;
  legacy.id = "ep_legacy";
  legacy.url = tls12.url("/hooks", "localhost");
  Daemon daemon(f.yaml({modern, legacy}));
  daemon.start();

  const std::string id = submit_event(daemon, std::string(kEvent));
  const auto event = wait_for_event(daemon, id, [](const boost::json::object& e) {
    const auto& deliveries = deliveries_of(e);
    return deliveries.size() == 2 &&
           std::all_of(deliveries.begin(), deliveries.end(), [](const boost::json::value& d) {
             return d.at("state").as_string() == "delivered";
           });
  });
  INFO("event: " << boost::json::serialize(event));
  REQUIRE(deliveries_of(event).size() == 2);
  for (const auto& delivery : deliveries_of(event)) {
    CHECK(delivery.at("state").as_string() == "delivered");
  }

  REQUIRE(f.receiver().request_count() == 1);
  CHECK(f.receiver().requests()[0].tls_version == "TLSv1.3");
  CHECK(f.receiver().requests()[0].sni == "localhost");
  REQUIRE(tls12.request_count() == 1);
  CHECK(tls12.requests()[0].tls_version == "TLSv1.2");
  CHECK(tls12.requests()[0].sni == "localhost");
}

}  // namespace
}  // namespace korehook::testing
