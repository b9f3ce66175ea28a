// The deliveries' TLS stream (delivery/tls_stream.hpp) against a server made of Asio's own
// ssl::stream on loopback, with a certificate from the test CA: records of every size in both
// directions, completions never run inside the call that starts them, and how the two ways a
// connection can end are told apart.
#include "delivery/tls_stream.hpp"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "helpers.hpp"

namespace korehook::delivery::test {

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// A connected pair: the client's TlsStream and the server's ssl::stream, handshaken.
struct Pair {
  explicit Pair(SenderEnv& env)
      : env(env),
        client_ctx(ssl::context::tls_client),
        server_ctx(ssl::context::tls_server),
        acceptor(env.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    client_ctx.load_verify_file(env.ca.ca_file());
    client_ctx.set_verify_mode(ssl::verify_peer);
    server_ctx.use_certificate_chain_file(env.cert.chain_file);
    server_ctx.use_private_key_file(env.cert.key_file, ssl::context::pem);
    client = std::make_unique<TlsStream>(env.io.get_executor(), client_ctx);
    server = std::make_unique<ssl::stream<tcp::socket>>(env.io, server_ctx);

    SSL_set_tlsext_host_name(client->native_handle(), "receiver.test");
    SSL_set1_host(client->native_handle(), "receiver.test");
    client->set_verify_callback(ssl::host_name_verification("receiver.test"));

    std::optional<error_code> accepted, connected, server_done, client_done;
    acceptor.async_accept(server->next_layer(), [&](error_code ec) { accepted = ec; });
    client->next_layer().async_connect(acceptor.local_endpoint(),
                                       [&](error_code ec) { connected = ec; });
    REQUIRE(env.run_until([&] { return accepted && connected; }));
    REQUIRE_FALSE(*accepted);
    REQUIRE_FALSE(*connected);
    server->async_handshake(ssl::stream_base::server, [&](error_code ec) { server_done = ec; });
    client->async_handshake([&](error_code ec) { client_done = ec; });
    REQUIRE(env.run_until([&] { return server_done && client_done; }));
    REQUIRE_FALSE(*server_done);
    REQUIRE_FALSE(*client_done);
  }

  // Reads from the client until `want` bytes came or an error; every completion must come
  // after the call that started it returned.
  std::string client_read(std::size_t want, error_code& error) {
    std::string got;
    std::array<char, 700> chunk{};
    bool running = true;
    while (running && got.size() < want) {
      std::optional<std::pair<error_code, std::size_t>> r;
      bool returned = false;
      client->async_read_some(asio::buffer(chunk), [&](error_code ec, std::size_t n) {
        CHECK(returned);
        r.emplace(ec, n);
      });
      returned = true;
      REQUIRE(env.run_until([&] { return r.has_value(); }));
      got.append(chunk.data(), r->second);
      if (r->first) {
        error = r->first;
        running = false;
      }
    }
    return got;
  }

  SenderEnv& env;
  ssl::context client_ctx;
  ssl::context server_ctx;
  tcp::acceptor acceptor;
  std::unique_ptr<TlsStream> client;
  std::unique_ptr<ssl::stream<tcp::socket>> server;
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

}  // namespace

TEST_CASE("TLS stream: a verified handshake, then bytes both ways in records of every size",
          "[sender][tls]") {
  SenderEnv env;
  Pair pair(env);
  CHECK(SSL_get_verify_result(pair.client->native_handle()) == X509_V_OK);

  // The server writes 1..300-byte records one after another (45,150 bytes), so that the client
  // meets partial records, several records per socket read, and data already decrypted.
  const std::string down = pattern(45'150);
  std::size_t offset = 0;
  std::function<void(std::size_t)> write_next = [&](std::size_t size) {
    if (offset >= down.size()) return;
    const std::size_t n = std::min(size, down.size() - offset);
    asio::async_write(*pair.server, asio::buffer(down.data() + offset, n),
                      [&, size](error_code ec, std::size_t written) {
                        REQUIRE_FALSE(ec);
                        offset += written;
                        write_next(size % 300 + 1);
                      });
  };
  write_next(1);
  error_code read_error;
  CHECK(pair.client_read(down.size(), read_error) == down);
  CHECK_FALSE(read_error);

  // An empty write asks nothing of OpenSSL and still completes after the call returned.
  std::optional<std::pair<error_code, std::size_t>> empty;
  bool empty_returned = false;
  pair.client->async_write_some(asio::const_buffer(), [&](error_code ec, std::size_t n) {
    CHECK(empty_returned);
    empty.emplace(ec, n);
  });
  empty_returned = true;
  REQUIRE(env.run_until([&] { return empty.has_value(); }));
  CHECK_FALSE(empty->first);
  CHECK(empty->second == 0);

  // The client writes 1 MiB in one asio::async_write: many records of at most 16 KiB.
  const std::string up = pattern(1024 * 1024 + 17);
  std::string received(up.size(), '\0');
  std::optional<error_code> written, read;
  bool returned = false;
  asio::async_write(*pair.client, asio::buffer(up), [&](error_code ec, std::size_t n) {
    CHECK(returned);
    CHECK(n == up.size());
    written = ec;
  });
  returned = true;
  asio::async_read(*pair.server, asio::buffer(received),
                   [&](error_code ec, std::size_t) { read = ec; });
  REQUIRE(env.run_until([&] { return written && read; }));
  CHECK_FALSE(*written);
  CHECK_FALSE(*read);
  CHECK(received == up);
}

TEST_CASE("TLS stream: the peer's close_notify is eof, a bare close is stream_truncated",
          "[sender][tls]") {
  SenderEnv env;
  Pair pair(env);
  const std::string last = "last bytes";
  std::optional<error_code> sent;
  asio::async_write(*pair.server, asio::buffer(last),
                    [&](error_code ec, std::size_t) { sent = ec; });
  REQUIRE(env.run_until([&] { return sent.has_value(); }));

  error_code error;
  SECTION("close_notify") {
    pair.server->async_shutdown([](error_code) {});
    CHECK(pair.client_read(1'000, error) == last);
    CHECK(error == asio::error::eof);
  }
  SECTION("the TCP connection closed without close_notify") {
    pair.server->next_layer().close();
    CHECK(pair.client_read(1'000, error) == last);
    CHECK(error == ssl::error::stream_truncated);
  }
}

TEST_CASE("TLS stream: a handshake with a server whose name does not match fails verification",
          "[sender][tls]") {
  SenderEnv env;
  ssl::context client_ctx(ssl::context::tls_client);
  client_ctx.load_verify_file(env.ca.ca_file());
  client_ctx.set_verify_mode(ssl::verify_peer);
  ssl::context server_ctx(ssl::context::tls_server);
  server_ctx.use_certificate_chain_file(env.cert.chain_file);
  server_ctx.use_private_key_file(env.cert.key_file, ssl::context::pem);
  tcp::acceptor acceptor(env.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  TlsStream client(env.io.get_executor(), client_ctx);
  ssl::stream<tcp::socket> server(env.io, server_ctx);

  // Only Asio's host name check, the second lock, is set here: it alone must refuse.
  client.set_verify_callback(ssl::host_name_verification("other.test"));
  std::optional<error_code> accepted, connected, client_done, server_done;
  acceptor.async_accept(server.next_layer(), [&](error_code ec) { accepted = ec; });
  client.next_layer().async_connect(acceptor.local_endpoint(),
                                    [&](error_code ec) { connected = ec; });
  REQUIRE(env.run_until([&] { return accepted && connected; }));
  server.async_handshake(ssl::stream_base::server, [&](error_code ec) { server_done = ec; });
  client.async_handshake([&](error_code ec) { client_done = ec; });
  REQUIRE(env.run_until([&] { return client_done && server_done; }));
  REQUIRE(*client_done);
  CHECK(client_done->category() == asio::error::get_ssl_category());
  CHECK(SSL_get_verify_result(client.native_handle()) != X509_V_OK);
  // The client's alert reached the server, whose handshake failed too.
  CHECK(*server_done);
}

}  // namespace korehook::delivery::test
