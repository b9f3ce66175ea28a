#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "cli/fake_daemon.hpp"
#include "cli/run.hpp"
#include "korehook/version.hpp"

namespace korehook::cli {
namespace {

using testing::FakeDaemon;

struct Outcome {
  ExitCode code;
  std::string out;
  std::string err;
};

Outcome run_cli(std::vector<std::string> args,
                std::string_view default_socket = "/tmp/khcli-none/api.sock") {
  std::ostringstream out;
  std::ostringstream err;
  const ExitCode code = run(args, out, err, default_socket);
  return {code, out.str(), err.str()};
}

// A socket path in a fresh directory; `stale` leaves a bound-but-closed socket file there,
// as a crashed daemon does (connect then fails with ECONNREFUSED instead of ENOENT).
struct TempSocket {
  std::string dir;
  std::string path;
  explicit TempSocket(bool stale) {
    char buffer[] = "/tmp/khcli-XXXXXX";
    REQUIRE(::mkdtemp(buffer) != nullptr);
    dir = buffer;
    path = dir + "/api.sock";
    if (!stale) return;
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);
  }
  ~TempSocket() {
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
};

TEST_CASE("cli run: daemon not running -> exit 3 naming the socket") {
  const bool stale = GENERATE(false, true);
  INFO("stale socket file: " << stale);
  TempSocket socket(stale);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--socket", socket.path, "secrets", "list"},
           {"send", "--type", "t", "--data", "{}", "--socket", socket.path},
           {"--json", "--socket", socket.path, "events", "get", "evt_1"}}) {
    const auto r = run_cli(args);
    CHECK(r.code == ExitCode::kNotRunning);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains("korehookd is not running") && Catch::Contains(socket.path) &&
                          Catch::Contains("--socket") && Catch::Contains("KOREHOOK_SOCKET"));
  }
}

TEST_CASE("cli run: default socket comes from the caller (KOREHOOK_SOCKET)") {
  TempSocket socket(false);
  const auto r = run_cli({"secrets", "list"}, socket.path);
  CHECK(r.code == ExitCode::kNotRunning);
  CHECK_THAT(r.err, Catch::Contains(socket.path));
}

TEST_CASE("cli run: usage errors exit 2 without contacting the daemon") {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"nope"},
                                             {"secrets"},
                                             {"secrets", "list", "--bogus"},
                                             {"events", "get"},
                                             {"send", "--type", "t", "--data", "{bad"},
                                             {"secrets", "list", "--status", "x"}}) {
    const auto r = run_cli(args);
    INFO(r.err);
    CHECK(r.code == ExitCode::kUsage);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains("korehook help"));
    CHECK_THAT(r.err, !Catch::Contains("not running"));
  }
  CHECK_THAT(run_cli({"send", "--type", "t", "--data", "{bad"}).err,
             Catch::StartsWith("korehook send: --data is not valid JSON"));
}

TEST_CASE("cli run: version and help exit 0 on stdout") {
  auto r = run_cli({"--version"});
  CHECK(r.code == ExitCode::kOk);
  CHECK(r.out == "korehook " + std::string(version()) + "\n");
  r = run_cli({"help"});
  CHECK(r.code == ExitCode::kOk);
  CHECK_THAT(r.out, Catch::Contains("secrets create"));
  CHECK(r.err.empty());
  r = run_cli({"secrets", "activate", "--help"});
  CHECK(r.code == ExitCode::kOk);
  CHECK_THAT(r.out, Catch::StartsWith("Usage: korehook secrets activate ID"));
}

TEST_CASE("cli run: send against a fake daemon") {
  FakeDaemon daemon(202, R"({"id":"evt_01x","duplicate":false})");
  const auto r = run_cli({"--socket", daemon.socket_path(), "send", "--type", "sim.activated",
                          "--data", R"({"a": 1})", "--account", "acme"});
  CHECK(r.code == ExitCode::kOk);
  CHECK(r.out == "evt_01x accepted\n");
  CHECK(r.err.empty());
  CHECK(daemon.request_line() == "POST /v1/events?account=acme HTTP/1.1");
  CHECK(daemon.request_body() == R"({"type":"sim.activated","data":{"a": 1}})");
  CHECK_THAT(daemon.request(), Catch::Contains("Content-Type: application/json"));
}

TEST_CASE("cli run: daemon error answer -> exit 1 with message, code and status") {
  FakeDaemon daemon(404,
                    R"({"status":404,"code":"not_found","message":"no event evt_9","info":{}})");
  const auto r = run_cli({"events", "get", "evt_9"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kApiError);
  CHECK(r.out.empty());
  CHECK(r.err == "error: no event evt_9 (not_found, HTTP 404)\n");
  CHECK(daemon.request_line() == "GET /v1/events/evt_9 HTTP/1.1");
}

TEST_CASE("cli run: --json prints the answer as is") {
  const std::string answer = R"({"data":[],"meta_data":{"count":0,"page_size":20}})";
  FakeDaemon daemon(200, answer);
  const auto r = run_cli({"--json", "secrets", "list", "--status", "active"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kOk);
  CHECK(r.out == answer + "\n");
  CHECK(daemon.request_line() == "GET /v1/secrets?status=active HTTP/1.1");
}

TEST_CASE("cli run: --json with an error answer still prints it, and exits 1") {
  const std::string answer = R"({"status":409,"code":"conflict","message":"no pending secret"})";
  FakeDaemon daemon(409, answer);
  const auto r = run_cli({"--json", "secrets", "activate", "whs_1"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kApiError);
  CHECK(r.out == answer + "\n");
  CHECK(r.err == "error: no pending secret (conflict, HTTP 409)\n");
  CHECK(daemon.request_line() == "PATCH /v1/secrets/whs_1 HTTP/1.1");
  CHECK(daemon.request_body() == R"({"Status":"active"})");
}

TEST_CASE("cli run: a 2xx answer that is not JSON is an error") {
  FakeDaemon daemon(201, "oops");
  const auto r = run_cli({"secrets", "create", "main"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kApiError);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains("not JSON"));
  CHECK(daemon.request_body() == R"({"Name":"main"})");
}

TEST_CASE("cli run: secrets create output through the whole path") {
  FakeDaemon daemon(201, R"({"id":"whs_1","name":"main","secret":"whsec_QUJD","status":"active",
                             "last_modified":"2026-01-01T00:00:00.000Z"})");
  const auto r = run_cli({"secrets", "create", "main"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kOk);
  CHECK_THAT(r.out, Catch::Contains("whsec_QUJD") && Catch::Contains("shown only once"));
}

TEST_CASE("cli run: endpoints create against a fake daemon") {
  FakeDaemon daemon(201, R"({"id":"ep_1","url":"https://a.example/h","enabled":true,
                             "headers":{"X-Key":"abc"},"event_types":["*"]})");
  const auto r = run_cli({"--socket", daemon.socket_path(), "endpoints", "create", "--url",
                          "https://a.example/h", "--header", "X-Key: abc", "--account", "acme"});
  CHECK(r.code == ExitCode::kOk);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::StartsWith("Endpoint         ep_1\n") && Catch::Contains("X-Key: abc") &&
                        Catch::Contains("shown only now"));
  CHECK(daemon.request_line() == "POST /v1/endpoints?account=acme HTTP/1.1");
  CHECK(daemon.request_body() == R"({"url":"https://a.example/h","headers":{"X-Key":"abc"}})");
}

TEST_CASE("cli run: endpoints delete answered 204 without a body") {
  FakeDaemon daemon(204, "");
  const auto r = run_cli({"endpoints", "delete", "ep_1"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kOk);
  CHECK(r.err.empty());
  CHECK(r.out == "Endpoint deleted; its pending deliveries are cancelled.\n");
  CHECK(daemon.request_line() == "DELETE /v1/endpoints/ep_1 HTTP/1.1");
}

TEST_CASE("cli run: --json with 204 prints nothing") {
  FakeDaemon daemon(204, "");
  const auto r = run_cli({"--json", "endpoints", "delete", "ep_1"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kOk);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
}

TEST_CASE("cli run: endpoint config conflict is reported") {
  FakeDaemon daemon(409, R"({"status":409,"code":"declared_in_config",)"
                         R"("message":"endpoint ep_1 is declared in the config","info":{}})");
  const auto r =
      run_cli({"endpoints", "update", "ep_1", "--url", "https://b.example"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kApiError);
  CHECK(r.err == "error: endpoint ep_1 is declared in the config (declared_in_config, HTTP 409)\n");
  CHECK(daemon.request_line() == "PATCH /v1/endpoints/ep_1 HTTP/1.1");
  CHECK(daemon.request_body() == R"({"url":"https://b.example"})");
}

TEST_CASE("cli run: deliveries list --json and the cursor hint") {
  const std::string answer = R"({"data":[{"id":"dlv_1","state":"failed"}],"next_cursor":"n1"})";
  {
    FakeDaemon daemon(200, answer);
    const auto r = run_cli({"--json", "deliveries", "list", "--state", "failed", "--limit", "1"},
                           daemon.socket_path());
    CHECK(r.code == ExitCode::kOk);
    CHECK(r.out == answer + "\n");
    CHECK(daemon.request_line() == "GET /v1/deliveries?state=failed&limit=1 HTTP/1.1");
  }
  FakeDaemon daemon(200, answer);
  const auto r = run_cli({"deliveries", "list", "--cursor", "n0"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kOk);
  CHECK_THAT(r.out,
             Catch::StartsWith("ID     EVENT TYPE") && Catch::EndsWith("more: --cursor n1\n"));
  CHECK(daemon.request_line() == "GET /v1/deliveries?cursor=n0 HTTP/1.1");
}

TEST_CASE("cli run: replay and redeliver against a fake daemon") {
  {
    FakeDaemon daemon(202, R"({"replayed":3})");
    const auto r = run_cli({"deliveries", "replay", "--endpoint", "ep_1"}, daemon.socket_path());
    CHECK(r.code == ExitCode::kOk);
    CHECK(r.out == "Replayed 3 deliveries.\n");
    CHECK(daemon.request_line() == "POST /v1/deliveries/replay HTTP/1.1");
    CHECK(daemon.request_body() == R"({"endpoint_id":"ep_1"})");
  }
  FakeDaemon daemon(409, R"({"status":409,"code":"conflict","message":"dlv_1 is pending"})");
  const auto r = run_cli({"deliveries", "redeliver", "dlv_1"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kApiError);
  CHECK(r.err == "error: dlv_1 is pending (conflict, HTTP 409)\n");
  CHECK(daemon.request_line() == "POST /v1/deliveries/dlv_1/redeliver HTTP/1.1");
}

TEST_CASE("cli run: accounts create against a fake daemon") {
  FakeDaemon daemon(201, R"({"id":"acme","name":"Acme","created_at":"2026-11-29T00:00:00.000Z"})");
  const auto r = run_cli({"accounts", "create", "acme", "--name", "Acme"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kOk);
  CHECK_THAT(r.out, Catch::StartsWith("Account     acme\n"));
  CHECK(daemon.request_line() == "POST /v1/accounts HTTP/1.1");
  CHECK(daemon.request_body() == R"({"id":"acme","name":"Acme"})");
}

TEST_CASE("cli run: secrets activate with an overlap") {
  FakeDaemon daemon(200, R"({"id":"whs_2","name":"next","status":"active"})");
  const auto r =
      run_cli({"secrets", "activate", "whs_2", "--overlap", "24h"}, daemon.socket_path());
  CHECK(r.code == ExitCode::kOk);
  CHECK(r.out == "Secret whs_2 (next) is now active.\n");
  CHECK(daemon.request_line() == "PATCH /v1/secrets/whs_2 HTTP/1.1");
  CHECK(daemon.request_body() == R"({"Status":"active","overlap":"24h"})");
}

TEST_CASE("cli run: new commands' usage errors name the flag and exit 2") {
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"endpoints", "create", "--url", "https://a", "--read-timeout", "5"},
            "--read-timeout must be a duration"},
           {{"endpoints", "create", "--url", "https://a", "--header", "X"}, "--header must be"},
           {{"endpoints", "create", "--url", "https://a", "--max-in-flight", "many"},
            "--max-in-flight must be an integer"},
           {{"deliveries", "list", "--state", "x"}, "--state must be"},
           {{"secrets", "activate", "whs_1", "--overlap", "1 day"}, "--overlap must be a duration"},
           {{"send", "--type", "t", "--data", "{}", "--callback-url", ""},
            "--callback-url must not be empty"}}) {
    const auto r = run_cli(args);
    INFO(r.err);
    CHECK(r.code == ExitCode::kUsage);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains(message));
  }
}

}  // namespace
}  // namespace korehook::cli
