// The sender's TLS: versions, SNI, chain and host name verification.
#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "helpers.hpp"

namespace korehook::delivery::test {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using retry::ErrorClass;

TEST_CASE("sender delivers over TLS 1.3 to a receiver with a CA-signed certificate",
          "[sender][tls]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test", "/hook?x=1")));

  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.error_detail.empty());
  REQUIRE(result.status == 200);
  CHECK(result.started_at == kNow);
  CHECK_FALSE(result.reused_connection);
  CHECK(result.connect_ms.has_value());
  CHECK(result.tls_ms.has_value());
  CHECK(result.first_byte_ms.has_value());
  CHECK(result.duration_ms >= *result.first_byte_ms);

  REQUIRE(receiver.request_count() == 1);
  const ReceivedRequest request = receiver.requests().front();
  CHECK(request.tls_version == "TLSv1.3");
  CHECK(request.sni == "receiver.test");
  CHECK(request.method == "POST");
  CHECK(request.target == "/hook?x=1");
  CHECK(request.header("host") == "receiver.test:" + std::to_string(receiver.port()));
  CHECK(request.body == R"({"n":1})");
}

TEST_CASE("sender delivers to a TLS 1.3-only receiver", "[sender][tls]") {
  SenderEnv env;
  auto options = env.receiver_options();
  options.min_version = testing::TlsVersion::kTls1_3;
  TlsReceiver receiver(options);
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.status == 200);
  REQUIRE(receiver.request_count() == 1);
  CHECK(receiver.requests().front().tls_version == "TLSv1.3");
}

TEST_CASE("sender delivers to a TLS 1.2-only receiver", "[sender][tls]") {
  SenderEnv env;
  auto options = env.receiver_options();
  options.max_version = testing::TlsVersion::kTls1_2;
  TlsReceiver receiver(options);
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.status == 200);
  REQUIRE(receiver.request_count() == 1);
  CHECK(receiver.requests().front().tls_version == "TLSv1.2");
  CHECK(receiver.requests().front().sni == "receiver.test");
}

TEST_CASE("sender refuses a receiver that only speaks TLS 1.0 or 1.1", "[sender][tls]") {
  SenderEnv env;
  auto options = env.receiver_options();
  SECTION("TLS 1.0") {
    options.min_version = testing::TlsVersion::kTls1_0;
    options.max_version = testing::TlsVersion::kTls1_0;
  }
  SECTION("TLS 1.1") {
    options.min_version = testing::TlsVersion::kTls1_1;
    options.max_version = testing::TlsVersion::kTls1_1;
  }
  TlsReceiver receiver(options);
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == ErrorClass::kTls);
  CHECK_THAT(result.error_detail,
             StartsWith("tls handshake failed: server does not offer TLS 1.2 or later ("));
  CHECK_FALSE(result.status.has_value());
  CHECK(receiver.request_count() == 0);
}

TEST_CASE("sender verifies an IP literal against the certificate's IP SAN, without SNI",
          "[sender][tls]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "127.0.0.1")));

  CHECK(result.error == ErrorClass::kNone);
  REQUIRE(receiver.request_count() == 1);
  CHECK(receiver.requests().front().sni.empty());
  CHECK(receiver.requests().front().header("host") ==
        "127.0.0.1:" + std::to_string(receiver.port()));
}

TEST_CASE("sender resolves host names with the system resolver", "[sender][tls]") {
  SenderEnv env;
  auto cert = env.ca.issue_server("localhost", {"localhost"});
  TlsReceiver receiver(env.receiver_options(cert));
  Sender sender(env.io, env.clock, env.sender_options());

  // localhost may resolve to ::1 first; the receiver listens on 127.0.0.1 only, so this also
  // walks the address list.
  auto result = env.send(sender, env.request(url_for(receiver, "localhost")));

  CHECK(result.error == ErrorClass::kNone);
  CHECK(result.error_detail.empty());
  REQUIRE(receiver.request_count() == 1);
  CHECK(receiver.requests().front().sni == "localhost");
}

TEST_CASE("sender rejects a self-signed certificate before sending anything", "[sender][tls]") {
  SenderEnv env;
  testing::LeafOptions leaf;
  leaf.dns_names = {"receiver.test"};
  leaf.self_signed = true;
  auto cert = env.ca.issue("self", leaf);
  TlsReceiver receiver(env.receiver_options(cert));
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == ErrorClass::kTls);
  CHECK(result.error_detail == "certificate verify failed: self-signed certificate");
  CHECK_FALSE(result.status.has_value());
  CHECK(receiver.wait_for_handshake_failures(1, 5s));
  CHECK(receiver.request_count() == 0);
}

TEST_CASE("sender rejects a certificate issued for another host", "[sender][tls]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  SECTION("host name") {
    auto result = env.send(sender, env.request(url_for(receiver, "other.test")));
    CHECK(result.error == ErrorClass::kTls);
    CHECK(result.error_detail == "certificate verify failed: hostname mismatch");
  }
  SECTION("IP address") {
    auto cert = env.ca.issue_server("named", {"receiver.test"});
    TlsReceiver named(env.receiver_options(cert));
    auto result = env.send(sender, env.request(url_for(named, "127.0.0.1")));
    CHECK(result.error == ErrorClass::kTls);
    CHECK(result.error_detail == "certificate verify failed: IP address mismatch");
    CHECK(named.request_count() == 0);
  }
  CHECK(receiver.request_count() == 0);
}

TEST_CASE("sender rejects a certificate from an untrusted root", "[sender][tls]") {
  SenderEnv env;
  testing::CaOptions other;
  other.name = "other-ca";
  TestCa untrusted(env.dir.path(), other);
  auto cert = untrusted.issue_server("untrusted", {"receiver.test"});
  TlsReceiver receiver(env.receiver_options(cert));
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == ErrorClass::kTls);
  CHECK(result.error_detail == "certificate verify failed: unable to get local issuer certificate");
}

TEST_CASE("sender rejects expired and not yet valid certificates", "[sender][tls]") {
  SenderEnv env;
  testing::LeafOptions leaf;
  leaf.dns_names = {"receiver.test"};
  std::string expected;
  SECTION("expired") {
    leaf.validity = testing::Validity::expired();
    expected = "certificate verify failed: certificate has expired";
  }
  SECTION("not yet valid") {
    leaf.validity = testing::Validity::not_yet_valid();
    expected = "certificate verify failed: certificate is not yet valid";
  }
  auto cert = env.ca.issue("dated", leaf);
  TlsReceiver receiver(env.receiver_options(cert));
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == ErrorClass::kTls);
  CHECK(result.error_detail == expected);
}

TEST_CASE("sender follows a chain through an intermediate CA the receiver presents",
          "[sender][tls]") {
  SenderEnv env;
  testing::LeafOptions leaf;
  leaf.dns_names = {"receiver.test"};
  leaf.via_intermediate = true;
  Sender sender(env.io, env.clock, env.sender_options());

  SECTION("intermediate served") {
    TlsReceiver receiver(env.receiver_options(env.ca.issue("chained", leaf)));
    auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));
    CHECK(result.error == ErrorClass::kNone);
    CHECK(result.status == 200);
  }
  SECTION("intermediate missing") {
    leaf.serve_intermediate = false;
    TlsReceiver receiver(env.receiver_options(env.ca.issue("unchained", leaf)));
    auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));
    CHECK(result.error == ErrorClass::kTls);
    CHECK(result.error_detail ==
          "certificate verify failed: unable to get local issuer certificate");
  }
}

TEST_CASE("sender reports a CA file it cannot load as a TLS error", "[sender][tls]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());

  auto request = env.request(url_for(receiver, "receiver.test"));
  request.ca_file = env.dir.file("missing.pem");
  auto result = env.send(sender, std::move(request));

  CHECK(result.error == ErrorClass::kTls);
  CHECK_THAT(result.error_detail, Contains("missing.pem"));
  CHECK(receiver.connections_accepted() == 0);
}

TEST_CASE("sender uses the request's CA file over the default one", "[sender][tls]") {
  SenderEnv env;
  testing::CaOptions other;
  other.name = "private-ca";
  TestCa private_ca(env.dir.path(), other);
  TlsReceiver receiver(env.receiver_options(private_ca.issue_server("private", {"receiver.test"})));
  Sender sender(env.io, env.clock, env.sender_options());

  auto request = env.request(url_for(receiver, "receiver.test"));
  CHECK(env.send(sender, request).error == ErrorClass::kTls);
  request.ca_file = private_ca.ca_file();
  CHECK(env.send(sender, request).error == ErrorClass::kNone);
}

}  // namespace korehook::delivery::test

namespace korehook::delivery::test {

TEST_CASE("sender rejects weak certificates", "[sender][tls]") {
  SenderEnv env;
  testing::LeafOptions leaf;
  leaf.dns_names = {"receiver.test"};
  std::string expected;
  SECTION("RSA 1024") {
    leaf.key = testing::KeyType::kRsa1024;
    expected = "certificate verify failed: EE certificate key too weak";
  }
  SECTION("SHA-1 signature") {
    leaf.digest = testing::Digest::kSha1;
    expected = "certificate verify failed: CA signature digest algorithm too weak";
  }
  TlsReceiver receiver(env.receiver_options(env.ca.issue("weak", leaf)));
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == retry::ErrorClass::kTls);
  CHECK(result.error_detail == expected);
  CHECK(receiver.request_count() == 0);
}

TEST_CASE("sender accepts an RSA 2048 certificate over TLS 1.2 and 1.3", "[sender][tls]") {
  SenderEnv env;
  testing::LeafOptions leaf;
  leaf.dns_names = {"receiver.test"};
  leaf.key = testing::KeyType::kRsa2048;
  auto options = env.receiver_options(env.ca.issue("rsa", leaf));
  std::string version;
  SECTION("TLS 1.2") {
    options.max_version = testing::TlsVersion::kTls1_2;
    version = "TLSv1.2";
  }
  SECTION("TLS 1.3") { version = "TLSv1.3"; }
  TlsReceiver receiver(options);
  Sender sender(env.io, env.clock, env.sender_options());

  auto result = env.send(sender, env.request(url_for(receiver, "receiver.test")));

  CHECK(result.error == retry::ErrorClass::kNone);
  REQUIRE(receiver.request_count() == 1);
  CHECK(receiver.requests().front().tls_version == version);
}

// ---- session resumption ----------------------------------------------------------------------

TEST_CASE("sender resumes the TLS session of an earlier connection to the same origin",
          "[sender][tls][resumption]") {
  SenderEnv env;
  auto options = env.receiver_options();
  std::string version;
  SECTION("TLS 1.3: a ticket that arrived after the handshake") { version = "TLSv1.3"; }
  SECTION("TLS 1.2") {
    options.max_version = testing::TlsVersion::kTls1_2;
    version = "TLSv1.2";
  }
  TlsReceiver receiver(options);
  Sender sender(env.io, env.clock, env.sender_options());
  const std::string url = url_for(receiver, "receiver.test");

  std::vector<SendResult> results;
  for (int i = 0; i < 3; ++i) {
    results.push_back(env.send(sender, env.request(url)));
    sender.close_idle();  // the next request needs a new connection
  }

  for (const auto& result : results) {
    CHECK(result.error == ErrorClass::kNone);
    CHECK_FALSE(result.reused_connection);
  }
  CHECK_FALSE(results[0].tls_resumed);
  CHECK(results[1].tls_resumed);
  CHECK(results[2].tls_resumed);  // TLS 1.3: the resumed connection's own new ticket
  REQUIRE(receiver.request_count() == 3);
  const auto requests = receiver.requests();
  CHECK(receiver.connections_accepted() == 3);
  CHECK_FALSE(requests[0].session_reused);
  CHECK(requests[1].session_reused);
  CHECK(requests[2].session_reused);
  for (const auto& request : requests) {
    CHECK(request.tls_version == version);
    CHECK(request.sni == "receiver.test");
  }
}

TEST_CASE("sender never offers a session to another host name, port or CA bundle",
          "[sender][tls][resumption]") {
  SenderEnv env;
  TlsReceiver receiver(env.receiver_options());
  Sender sender(env.io, env.clock, env.sender_options());
  REQUIRE(env.send(sender, env.request(url_for(receiver, "receiver.test"))).error ==
          ErrorClass::kNone);

  SendRequest request = env.request(url_for(receiver, "receiver.test"));
  SECTION("another host name on the same address, port and certificate") {
    request = env.request(url_for(receiver, "127.0.0.1"));
  }
  SECTION("another port") {
    TlsReceiver other(env.receiver_options());
    request = env.request(url_for(other, "receiver.test"));
    auto result = env.send(sender, request);
    CHECK(result.error == ErrorClass::kNone);
    CHECK_FALSE(result.tls_resumed);
    REQUIRE(other.request_count() == 1);
    CHECK_FALSE(other.requests().front().session_reused);
    return;
  }
  SECTION("another CA bundle") {
    request.ca_file = env.dir.file("copy.pem");
    testing::write_file(*request.ca_file, testing::read_file(env.ca.ca_file()));
  }
  auto result = env.send(sender, request);

  CHECK(result.error == ErrorClass::kNone);
  CHECK_FALSE(result.reused_connection);
  CHECK_FALSE(result.tls_resumed);
  REQUIRE(receiver.request_count() == 2);
  CHECK(receiver.requests()[1].connection == 2);
  CHECK_FALSE(receiver.requests()[1].session_reused);
}

TEST_CASE("a cached session does not spare a new server at the origin its verification",
          "[sender][tls][resumption]") {
  SenderEnv env;
  auto first = std::make_unique<TlsReceiver>(env.receiver_options());
  const std::uint16_t port = first->port();
  Sender sender(env.io, env.clock, env.sender_options());
  REQUIRE(env.send(sender, env.request(url_for(*first, "receiver.test"))).error ==
          ErrorClass::kNone);
  sender.close_idle();
  first->stop();
  first.reset();

  // Another server on the same address and port, with a certificate the sender does not
  // trust: it cannot accept the old session, and the full handshake verifies.
  testing::LeafOptions leaf;
  leaf.dns_names = {"receiver.test"};
  leaf.self_signed = true;
  auto options = env.receiver_options(env.ca.issue("impostor", leaf));
  options.port = port;
  TlsReceiver impostor(options);
  auto result = env.send(sender, env.request(url_for(impostor, "receiver.test")));

  CHECK(result.error == ErrorClass::kTls);
  CHECK(result.error_detail == "certificate verify failed: self-signed certificate");
  CHECK_FALSE(result.tls_resumed);
  CHECK(impostor.request_count() == 0);
}

}  // namespace korehook::delivery::test
