// api::Server on a real Unix socket: file modes, peer credentials, size and time bounds,
// connection limits. Every error is JSON {status, code, message, info}.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server_fixture.hpp"

namespace korehook::api::test {

using Catch::Matchers::Contains;

namespace {

// The error code of a JSON error response, after checking its shape and status.
std::string error_code_of(const std::string& response, int status) {
  INFO(response);
  REQUIRE(status_of(response) == status);
  CHECK_THAT(response, Contains("content-type: application/json", Catch::CaseSensitive::No));
  const auto json = boost::json::parse(body_of(response)).as_object();
  CHECK(json.at("status").as_int64() == status);
  CHECK(json.contains("message"));
  CHECK(json.at("info").is_object());
  return std::string(json.at("code").as_string());
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("api server: socket 0660 in a 0750 directory whatever the umask", "[api][access]") {
  mode_t mask = 0;
  SECTION("umask 000") { mask = 0; }
  SECTION("umask 077") { mask = 077; }
  SECTION("umask 022") { mask = 022; }
  const mode_t old = ::umask(mask);
  auto server = std::make_unique<ServerFixture>();
  ::umask(old);

  CHECK(mode_of(server->socket_path()) == 0660);
  CHECK(mode_of(server->dir().file("run")) == 0750);
  CHECK(status_of(server->exchange(get_request())) == 200);
}

TEST_CASE("api server: allow_uids and allow_gids are checked with SO_PEERCRED", "[api][access]") {
  ServerOptions options;
  const auto my_uid = static_cast<std::uint32_t>(::getuid());
  const auto my_gid = static_cast<std::uint32_t>(::getgid());
  SECTION("my uid listed") {
    options.allow_uids = {my_uid + 1000, my_uid};
    ServerFixture server(options);
    CHECK(status_of(server.exchange(get_request())) == 200);
  }
  SECTION("my gid listed") {
    options.allow_uids = {my_uid + 1000};
    options.allow_gids = {my_gid};
    ServerFixture server(options);
    CHECK(status_of(server.exchange(get_request())) == 200);
  }
  SECTION("neither listed: 403, and root gets no exception") {
    options.allow_uids = {my_uid + 1000};
    options.allow_gids = {my_gid + 1000};
    std::atomic<bool> handled{false};
    ServerFixture server(options, [&](Request, Respond respond) {
      handled = true;
      respond(ok_response("{}"));
    });
    const std::string response = server.exchange(
        "POST /v1/events HTTP/1.1\r\nhost: k\r\ncontent-type: application/json\r\n"
        "content-length: 2\r\n\r\n{}");
    CHECK(error_code_of(response, 403) == "forbidden");
    CHECK_THAT(body_of(response), Contains("\"uid\":" + std::to_string(my_uid)));
    CHECK_FALSE(handled);
  }
}

TEST_CASE("api server: answers carry status line, headers and length, and keep-alive holds",
          "[api]") {
  ServerFixture server({}, [](Request req, Respond respond) {
    Response res;
    res.status = req.target == "/made" ? 201 : 405;
    res.body = R"({"k":"v"})";
    if (res.status == 405) res.headers.emplace_back("Allow", "GET");
    respond(std::move(res));
  });
  RawConnection c(server.socket_path());
  REQUIRE(c.connected());
  // Two requests on one connection: the first answer keeps it open, the second closes it.
  REQUIRE(
      c.send("POST /made HTTP/1.1\r\nhost: k\r\ncontent-length: 0\r\n\r\n"
             "GET /other HTTP/1.1\r\nhost: k\r\nconnection: close\r\n\r\n"));
  const std::string both = c.read_until_close();
  INFO(both);
  const std::size_t second = both.find("HTTP/1.1 405");
  REQUIRE(second != std::string::npos);
  const std::string first = both.substr(0, second);
  CHECK(first ==
        "HTTP/1.1 201 Created\r\nServer: korehookd\r\nContent-Type: application/json\r\n"
        "Cache-Control: no-store\r\nContent-Length: 9\r\n\r\n{\"k\":\"v\"}");
  CHECK(both.substr(second) ==
        "HTTP/1.1 405 Method Not Allowed\r\nServer: korehookd\r\n"
        "Content-Type: application/json\r\nCache-Control: no-store\r\nAllow: GET\r\n"
        "Connection: close\r\nContent-Length: 9\r\n\r\n{\"k\":\"v\"}");
}

TEST_CASE("api server: the handler gets the target's path and query decoded", "[api]") {
  // The handler answers the path and the query as it got them: {"path":..,"query":[[k,v],..]}.
  ServerFixture server({}, [](Request req, Respond respond) {
    boost::json::array query;
    for (const auto& [key, value] : req.query) query.push_back(boost::json::array{key, value});
    respond(ok_response(
        boost::json::serialize(boost::json::object{{"path", req.path}, {"query", query}})));
  });
  auto seen = [&](const std::string& target) {
    const std::string response =
        server.exchange("GET " + target + " HTTP/1.1\r\nhost: k\r\nconnection: close\r\n\r\n");
    INFO(target << " -> " << response);
    REQUIRE(status_of(response) == 200);
    return boost::json::parse(body_of(response)).as_object();
  };
  using boost::json::array;
  const std::string plain = "/v1/a-b.c_d~e/!$&'()*+,;=:@/1";
  CHECK(seen(plain).at("path") == plain.c_str());
  CHECK(seen(plain).at("query") == array{});
  CHECK(seen("//double/./dot").at("path") == "//double/./dot");
  CHECK(seen("/a%20b%2Fc").at("path") == "/a b/c");
  const auto with_query = seen("/x?limit=2&cursor=a%2Fb&flag");
  CHECK(with_query.at("path") == "/x");
  CHECK(with_query.at("query") ==
        array{array{"limit", "2"}, array{"cursor", "a/b"}, array{"flag", ""}});
  CHECK(seen("/x?").at("path") == "/x");

  for (const char* bad : {"*", "x/y", "/a%zz", "/a b"}) {
    const std::string response = server.exchange(
        std::string("GET ") + bad + " HTTP/1.1\r\nhost: k\r\nconnection: close\r\n\r\n");
    INFO(bad << " -> " << response);
    CHECK(status_of(response) == 400);
  }
}

TEST_CASE("api server: an answer larger than the socket takes at once arrives whole", "[api]") {
  // The answer is written at once as far as the socket takes it and the rest asynchronously:
  // 4 MiB is many times what a Unix socket buffers.
  std::string big(std::size_t{4} << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
  ServerFixture server({}, [&big](Request req, Respond respond) {
    respond(ok_response(req.target == "/big" ? big : std::string(R"({"small":true})")));
  });
  RawConnection c(server.socket_path());
  REQUIRE(c.connected());
  REQUIRE(
      c.send("GET /big HTTP/1.1\r\nhost: k\r\n\r\n"
             "GET /small HTTP/1.1\r\nhost: k\r\nconnection: close\r\n\r\n"));
  const std::string both = c.read_until_close(10s, std::size_t{16} << 20);
  const std::size_t second = both.find("HTTP/1.1 200", 1);
  REQUIRE(second != std::string::npos);
  const std::string first = both.substr(0, second);
  CHECK(status_of(first) == 200);
  CHECK_THAT(first, Contains("Content-Length: " + std::to_string(big.size()) + "\r\n"));
  CHECK(body_of(first).size() == big.size());
  CHECK(body_of(first) == big);  // every byte, in order: the rest went on where the first stopped
  CHECK(body_of(both.substr(second)) == R"({"small":true})");
}

TEST_CASE("api server: request bodies past max_inflight_bytes wait for answers to make room",
          "[api][bounds]") {
  ServerOptions options;
  options.max_inflight_bytes = 1000;
  std::mutex mu;
  std::vector<Respond> held;        // answers to POST /hold, given by the test
  std::vector<std::size_t> bodies;  // the body size of each /hold request handled
  std::atomic<int> handled{0};
  ServerFixture server(options, [&](Request req, Respond respond) {
    if (req.target == "/hold") {
      std::lock_guard lock(mu);
      bodies.push_back(req.body.size());
      held.push_back(std::move(respond));
    } else {
      respond(ok_response(R"({"ok":true})"));
    }
    ++handled;
  });
  auto wait_for_handled = [&](int n) {
    for (int i = 0; i < 5000 && handled < n; ++i) std::this_thread::sleep_for(1ms);
    return handled.load();
  };
  auto answer_first_held = [&] {
    boost::asio::post(server.io(), [&] {
      std::lock_guard lock(mu);
      Respond respond = std::move(held.front());
      held.erase(held.begin());
      respond(ok_response(R"({"held":true})"));
    });
  };
  const std::string post =
      "POST /hold HTTP/1.1\r\nhost: k\r\nconnection: close\r\n"
      "content-type: application/json\r\ncontent-length: 800\r\n\r\n" +
      std::string(800, 'x');

  RawConnection a(server.socket_path());
  REQUIRE(a.send(post));
  REQUIRE(wait_for_handled(1) == 1);
  // 800 + 800 > 1000: the second body waits. A request without a body never does.
  RawConnection b(server.socket_path());
  REQUIRE(b.send(post));
  CHECK(status_of(server.exchange(get_request())) == 200);
  std::this_thread::sleep_for(200ms);  // time for b's handler to run, were b let in
  CHECK(handled == 2);
  CHECK(server.inflight_bytes() == 800);  // a's body alone: b's is not counted while it waits

  answer_first_held();  // a is answered: b's body is read and handled
  CHECK(status_of(a.read_until_close()) == 200);
  REQUIRE(wait_for_handled(3) == 3);
  answer_first_held();
  CHECK(status_of(b.read_until_close()) == 200);
  std::lock_guard lock(mu);
  CHECK(bodies == std::vector<std::size_t>{800, 800});
}

TEST_CASE("api server: a body that arrives slowly does not keep other requests waiting",
          "[api][bounds]") {
  ServerOptions options;
  options.max_inflight_bytes = 1000;
  options.request_timeout = 60s;  // the slow request is still open when the other is answered
  ServerFixture server(options);
  RawConnection slow(server.socket_path());
  // Admitted (nothing else in flight) with 900 bytes announced, then only 10 sent.
  REQUIRE(
      slow.send("POST /slow HTTP/1.1\r\nhost: k\r\ncontent-type: application/json\r\n"
                "content-length: 900\r\n\r\n" +
                std::string(10, ' ')));
  REQUIRE(server.wait_for_inflight_bytes(900) == 900);  // admitted, its body counted
  // 900 + 800 > 1000: this one waits until the slow body gives up its room (after a second),
  // long before the slow request's 60 s deadline.
  RawConnection other(server.socket_path());
  REQUIRE(
      other.send("POST /other HTTP/1.1\r\nhost: k\r\nconnection: close\r\n"
                 "content-type: application/json\r\ncontent-length: 800\r\n\r\n" +
                 std::string(800, ' ')));
  CHECK(status_of(other.read_until_close(20s)) == 200);
  CHECK_FALSE(slow.closed_by_server(50ms));
  CHECK(server.inflight_bytes() == 0);  // the slow body holds no room, the other was answered
}

TEST_CASE("api server: a request larger than max_inflight_bytes alone is let in", "[api][bounds]") {
  ServerOptions options;
  options.max_inflight_bytes = 100;
  ServerFixture server(options);
  const std::string response = server.exchange(
      "POST /x HTTP/1.1\r\nhost: k\r\nconnection: close\r\ncontent-type: application/json\r\n"
      "content-length: 5000\r\n\r\n" +
      std::string(5000, ' '));
  CHECK(status_of(response) == 200);
}

TEST_CASE("api server: oversized and ambiguous requests get JSON errors", "[api][bounds]") {
  ServerOptions options;
  options.max_body_bytes = 1024;
  options.max_header_bytes = 2048;
  ServerFixture server(options);

  SECTION("body over the limit: 413") {
    const std::string body(2000, 'x');
    const auto response = server.exchange(
        "POST /v1/events HTTP/1.1\r\nhost: k\r\ncontent-length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body);
    CHECK(error_code_of(response, 413) == "body_too_large");
  }
  SECTION("declared body over the limit, never sent: 413") {
    const auto response = server.exchange(
        "POST /v1/events HTTP/1.1\r\nhost: k\r\ncontent-length: 10737418240\r\n\r\n");
    CHECK(error_code_of(response, 413) == "body_too_large");
  }
  SECTION("chunked body over the limit: 413") {
    std::string request =
        "POST /v1/events HTTP/1.1\r\nhost: k\r\ntransfer-encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i) request += "200\r\n" + std::string(512, 'y') + "\r\n";
    request += "0\r\n\r\n";
    CHECK(error_code_of(server.exchange(request), 413) == "body_too_large");
  }
  SECTION("header over the limit: 431") {
    const auto response = server.exchange(
        "GET /healthz HTTP/1.1\r\nhost: k\r\nx-pad: " + std::string(4000, 'p') + "\r\n\r\n");
    CHECK(error_code_of(response, 431) == "headers_too_large");
  }
  SECTION("content-length and transfer-encoding together: 400") {
    const auto response = server.exchange(
        "POST /v1/events HTTP/1.1\r\nhost: k\r\ncontent-length: 5\r\n"
        "transfer-encoding: chunked\r\n\r\n0\r\n\r\n");
    CHECK(error_code_of(response, 400) == "bad_request");
  }
  SECTION("two different content-lengths: 400") {
    const auto response = server.exchange(
        "POST /v1/events HTTP/1.1\r\nhost: k\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}");
    CHECK(error_code_of(response, 400) == "bad_request");
  }
  SECTION("transfer-encoding that is not chunked: 400") {
    const auto response =
        server.exchange("POST /v1/events HTTP/1.1\r\nhost: k\r\ntransfer-encoding: gzip\r\n\r\n{}");
    CHECK(error_code_of(response, 400) == "bad_request");
  }
  // The server still serves normal requests afterwards.
  CHECK(status_of(server.exchange(get_request())) == 200);
}

TEST_CASE("api server: a client sending its request byte by byte gets 408 and is cut off",
          "[api][bounds]") {
  ServerOptions options;
  options.header_timeout = 300ms;
  options.request_timeout = 600ms;
  ServerFixture server(options);
  RawConnection slow(server.socket_path());
  REQUIRE(slow.connected());

  SECTION("header") {
    const std::string request = get_request();
    // One byte every 50 ms: each gap is short, the whole header is not. Bounded: at most the
    // request's length in bytes, ~1.5 s.
    bool cut_off = false;
    for (std::size_t i = 0; i < request.size() && !cut_off; ++i) {
      cut_off = !slow.send(request.substr(i, 1)) || slow.closed_by_server(50ms);
    }
    CHECK(cut_off);
  }
  SECTION("body") {
    REQUIRE(slow.send("POST /v1/events HTTP/1.1\r\nhost: k\r\ncontent-length: 200\r\n\r\n"));
    bool cut_off = false;
    for (int i = 0; i < 200 && !cut_off; ++i) {
      cut_off = !slow.send("x") || slow.closed_by_server(50ms);
    }
    CHECK(cut_off);
  }
  // The answer, when the connection closed before the client's next byte: 408.
  slow.closed_by_server(1s);
  CHECK(error_code_of(slow.received(), 408) == "request_timeout");
  CHECK(status_of(server.exchange(get_request())) == 200);
}

TEST_CASE("api server: 500 slow clients do not lock out a normal one", "[api][bounds]") {
  ServerOptions options;
  options.max_connections = 64;
  ServerFixture server(options);

  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 500; ++i) {
    auto c = std::make_unique<RawConnection>(server.socket_path());
    if (c->connected()) c->send("G");  // the start of a header that never ends
    slow.push_back(std::move(c));
  }
  // Every slow client connected (the backlog took them); at most 64 are being served.
  const std::string response = server.exchange(get_request());
  CHECK(status_of(response) == 200);
  CHECK(body_of(response) == R"({"ok":true})");
}

TEST_CASE("api server: refuses with 503 when every connection is busy", "[api][bounds]") {
  ServerOptions options;
  options.max_connections = 2;
  std::vector<Respond> pending;  // touched on the server's thread only
  std::atomic<int> handled{0};
  ServerFixture server(options, [&](Request, Respond respond) {
    pending.push_back(std::move(respond));
    ++handled;
  });

  RawConnection a(server.socket_path());
  RawConnection b(server.socket_path());
  REQUIRE(a.send(get_request()));
  REQUIRE(b.send(get_request()));
  // Both requests are with the handler (nobody waits for a header): bounded wait.
  for (int i = 0; i < 500 && handled < 2; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(handled == 2);
  CHECK(error_code_of(server.exchange(get_request()), 503) == "too_many_connections");

  std::promise<void> answered;
  boost::asio::post(server.io(), [&] {
    for (auto& respond : pending) respond(ok_response("{}"));
    // The responders hold their sessions: let them go here, while the io_context lives.
    pending.clear();
    answered.set_value();
  });
  REQUIRE(answered.get_future().wait_for(5s) == std::future_status::ready);
  CHECK(status_of(a.read_until_close()) == 200);
  CHECK(status_of(b.read_until_close()) == 200);
}

}  // namespace korehook::api::test
