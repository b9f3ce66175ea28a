// Control for the TLS policy tests: the bad receivers they use are otherwise working TLS
// servers. A client without verification (verify_none, security level 0, any version)
// completes the handshake with each of them, while the sender refuses the same server. So
// the refusals in tls_test.cpp come from the sender's verification and nothing else, and
// those tests would fail if verification were switched off.
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <catch2/catch.hpp>

#include "helpers.hpp"

namespace korehook::delivery::test {

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Handshakes with 127.0.0.1:port sending `sni`, verifying nothing. True when it completed.
bool handshake_without_verification(SenderEnv& env, std::uint16_t port, const std::string& sni) {
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_security_level(ctx.native_handle(), 0);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
  ctx.set_verify_mode(ssl::verify_none);
  ssl::stream<tcp::socket> stream(env.io, ctx);
  SSL_set_tlsext_host_name(stream.native_handle(), sni.c_str());

  std::optional<boost::system::error_code> result;
  stream.next_layer().async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [&](boost::system::error_code ec) {
        if (ec) {
          result = ec;
          return;
        }
        stream.async_handshake(ssl::stream_base::client,
                               [&](boost::system::error_code hec) { result = hec; });
      });
  env.run_until([&] { return result.has_value(); }, 5s);
  boost::system::error_code ignored;
  stream.next_layer().close(ignored);
  env.run_until([] { return false; }, 50ms);  // let the cancelled handlers run
  return result.has_value() && !*result;
}

}  // namespace

TEST_CASE("TLS control: each refused receiver completes a handshake without verification",
          "[sender][tls]") {
  SenderEnv env;
  testing::LeafOptions leaf;
  leaf.dns_names = {"receiver.test"};
  std::string host = "receiver.test";
  std::string expected;
  testing::CaOptions other;
  other.name = "untrusted-ca";
  TestCa untrusted(env.dir.path(), other);
  IssuedCert cert;
  auto options = env.receiver_options();

  SECTION("self-signed") {
    leaf.self_signed = true;
    cert = env.ca.issue("c", leaf);
    expected = "self-signed certificate";
  }
  SECTION("expired") {
    leaf.validity = testing::Validity::expired();
    cert = env.ca.issue("c", leaf);
    expected = "certificate has expired";
  }
  SECTION("not yet valid") {
    leaf.validity = testing::Validity::not_yet_valid();
    cert = env.ca.issue("c", leaf);
    expected = "certificate is not yet valid";
  }
  SECTION("wrong host") {
    cert = env.ca.issue("c", leaf);
    host = "other.test";
    expected = "hostname mismatch";
  }
  SECTION("untrusted root") {
    cert = untrusted.issue("c", leaf);
    expected = "unable to get local issuer certificate";
  }
  SECTION("missing intermediate") {
    leaf.via_intermediate = true;
    leaf.serve_intermediate = false;
    cert = env.ca.issue("c", leaf);
    expected = "unable to get local issuer certificate";
  }
  SECTION("SHA-1 signature") {
    leaf.digest = testing::Digest::kSha1;
    cert = env.ca.issue("c", leaf);
    expected = "CA signature digest algorithm too weak";
  }
  SECTION("RSA 1024") {
    leaf.key = testing::KeyType::kRsa1024;
    cert = env.ca.issue("c", leaf);
    expected = "EE certificate key too weak";
  }
  SECTION("TLS 1.1 only") {
    cert = env.ca.issue("c", leaf);
    options.min_version = testing::TlsVersion::kTls1_1;
    options.max_version = testing::TlsVersion::kTls1_1;
    expected = "server does not offer TLS 1.2 or later";
  }
  options.cert_chain_file = cert.chain_file;
  options.key_file = cert.key_file;
  TlsReceiver receiver(options);

  CHECK(handshake_without_verification(env, receiver.port(), host));
  CHECK(receiver.handshakes_failed() == 0);

  Sender sender(env.io, env.clock, env.sender_options());
  auto result = env.send(sender, env.request(url_for(receiver, host)));
  CHECK(result.error == retry::ErrorClass::kTls);
  CHECK_THAT(result.error_detail, Catch::Matchers::Contains(expected));
  CHECK(receiver.request_count() == 0);
}

}  // namespace korehook::delivery::test
