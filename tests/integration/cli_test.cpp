// The korehook CLI (issue point 10) against the real korehookd: human and --json output,
// the socket from --socket or KOREHOOK_SOCKET, and a clear failure when no daemon runs.

#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "integration/fixture.hpp"
#include "support/process.hpp"

namespace korehook::testing {
namespace {

namespace json = boost::json;

// The first match of `pattern` in `text`, or "".
std::string find(const std::string& text, const char* pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return "";
  return m.str(0);
}

std::string describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

CommandOptions with_socket_env(const std::string& socket) {
  CommandOptions options;
  options.env.emplace_back("KOREHOOK_SOCKET", socket);
  return options;
}

bool delivered(const json::object& event) { return first_delivery_state(event) == "delivered"; }

// The status of a secret as GET /v1/secrets shows it.
std::string secret_status(Daemon& daemon, const std::string& id) {
  auto res = daemon.request("GET", "/v1/secrets");
  REQUIRE(res.ok());
  REQUIRE(res->status == 200);
  const json::value answer = parse_json(res->body);
  for (const auto& s : answer.at("data").as_array()) {
    if (s.at("id").as_string() == id) return std::string(s.at("status").as_string());
  }
  return "(absent)";
}

}  // namespace

TEST_CASE("cli: send prints the id, and events get shows the deliveries", "[cli]") {
  Fixture fx;
  Daemon daemon(fx.yaml_one_endpoint());
  daemon.start();

  const CommandResult sent = daemon.cli(
      {"send", "--type", "sim.activated", "--data", R"({"iccid": "8988", "n": [1, 2]})"});
  INFO("send: " << describe(sent));
  REQUIRE(sent.exit_code == 0);
  const std::string id = find(sent.out, "evt_[0-9a-z]{26}");
  REQUIRE_FALSE(id.empty());
  CHECK(sent.err.empty());

  // It is the event the daemon stored, with the data as given.
  const json::object event = wait_for_event(daemon, id, delivered);
  CHECK(event.at("type").as_string() == "sim.activated");
  CHECK(event.at("data") == json::parse(R"({"iccid":"8988","n":[1,2]})"));
  REQUIRE(delivered(event));
  const std::string delivery_id(event.at("deliveries").as_array()[0].at("id").as_string());
  REQUIRE(fx.receiver().wait_for_requests(1, 10s));
  CHECK(fx.receiver().requests()[0].body == R"({"iccid":"8988","n":[1,2]})");

  const CommandResult shown = daemon.cli({"events", "get", id});
  INFO("events get: " << describe(shown));
  REQUIRE(shown.exit_code == 0);
  CHECK_THAT(shown.out, Catch::Contains(id));
  CHECK_THAT(shown.out, Catch::Contains("sim.activated"));
  CHECK_THAT(shown.out, Catch::Contains("Deliveries (1):"));
  CHECK_THAT(shown.out, Catch::Contains("ENDPOINT"));
  CHECK_THAT(shown.out, Catch::Contains("STATE"));
  // The delivery's row: its id, endpoint and state on one line.
  CHECK_FALSE(find(shown.out, (delivery_id + " +ep_test +delivered +1").c_str()).empty());
  // Its attempt: number 1, answered 200.
  CHECK_THAT(shown.out, Catch::Contains("Attempts of " + delivery_id));
  CHECK_FALSE(find(shown.out, "\\n +1 +\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z +200 +\\d+ ms").empty());

  // An unknown event: the daemon's 404, exit code 1.
  const CommandResult missing = daemon.cli({"events", "get", "evt_01jf8c4889ehtbzt0n9mzk1prc"});
  INFO("missing: " << describe(missing));
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.empty());
  CHECK_THAT(missing.err, Catch::Contains("404"));
  CHECK_THAT(missing.err, Catch::Contains("evt_01jf8c4889ehtbzt0n9mzk1prc"));
}

TEST_CASE("cli: --json prints the daemon's JSON", "[cli]") {
  Fixture fx;
  Daemon daemon(fx.yaml_one_endpoint());
  daemon.start();

  const CommandResult sent = daemon.cli(
      {"--json", "send", "--type", "sim.x", "--data", "{\"a\":1}", "--idempotency-key", "k1"});
  INFO("send --json: " << describe(sent));
  REQUIRE(sent.exit_code == 0);
  const json::value answer = parse_json(sent.out);
  REQUIRE(answer.is_object());
  const std::string id(answer.at("id").as_string());
  CHECK(std::regex_match(id, std::regex("evt_[0-9a-z]{26}")));
  CHECK(answer.at("duplicate") == json::value(false));

  // The flag may come after the command too; a repeat is reported as a duplicate.
  const CommandResult again = daemon.cli(
      {"send", "--type", "sim.x", "--data", "{\"a\":1}", "--idempotency-key", "k1", "--json"});
  INFO("send again: " << describe(again));
  REQUIRE(again.exit_code == 0);
  const json::value again_answer = parse_json(again.out);
  CHECK(again_answer.at("id").as_string() == id);
  CHECK(again_answer.at("duplicate") == json::value(true));

  wait_for_event(daemon, id, delivered);
  const CommandResult shown = daemon.cli({"events", "get", id, "--json"});
  INFO("events get --json: " << describe(shown));
  REQUIRE(shown.exit_code == 0);
  const json::value event = parse_json(shown.out);
  CHECK(event.at("id").as_string() == id);
  CHECK(event.at("deliveries").as_array().size() == 1);
  CHECK(event.at("deliveries").as_array()[0].at("state").as_string() == "delivered");
}

TEST_CASE("cli: secrets create, list and activate", "[cli]") {
  Fixture fx;
  Daemon daemon(fx.yaml({}));
  daemon.start();

  const CommandResult first = daemon.cli({"secrets", "create", "primary"});
  INFO("create primary: " << describe(first));
  REQUIRE(first.exit_code == 0);
  const std::string first_id = find(first.out, "whs_[0-9a-z]{26}");
  const std::string first_value = find(first.out, "whsec_[A-Za-z0-9+/=]+");
  REQUIRE_FALSE(first_id.empty());
  REQUIRE_FALSE(first_value.empty());
  CHECK_THAT(first.out, Catch::Contains("active"));
  CHECK_THAT(first.out, Catch::Contains("shown only once"));

  const CommandResult second = daemon.cli({"--json", "secrets", "create", "rotation"});
  INFO("create rotation: " << describe(second));
  REQUIRE(second.exit_code == 0);
  const json::value second_answer = parse_json(second.out);
  const std::string second_id(second_answer.at("id").as_string());
  const std::string second_value(second_answer.at("secret").as_string());
  CHECK(second_answer.at("status").as_string() == "pending");
  CHECK(second_value.starts_with("whsec_"));

  const CommandResult listed = daemon.cli({"secrets", "list"});
  INFO("list: " << describe(listed));
  REQUIRE(listed.exit_code == 0);
  CHECK_FALSE(find(listed.out, (first_id + " +primary +active").c_str()).empty());
  CHECK_FALSE(find(listed.out, (second_id + " +rotation +pending").c_str()).empty());
  CHECK_THAT(listed.out, !Catch::Contains("whsec_"));

  const CommandResult pending = daemon.cli({"secrets", "list", "--status", "pending"});
  INFO("list pending: " << describe(pending));
  REQUIRE(pending.exit_code == 0);
  CHECK_THAT(pending.out, Catch::Contains(second_id));
  CHECK_THAT(pending.out, !Catch::Contains(first_id));

  const CommandResult activated = daemon.cli({"secrets", "activate", second_id});
  INFO("activate: " << describe(activated));
  REQUIRE(activated.exit_code == 0);
  CHECK_THAT(activated.out, Catch::Contains(second_id));
  CHECK_THAT(activated.out, Catch::Contains("active"));
  CHECK(secret_status(daemon, second_id) == "active");
  CHECK(secret_status(daemon, first_id) == "disabled");

  // The disabled one cannot come back: the daemon's 409, exit code 1.
  const CommandResult again = daemon.cli({"secrets", "activate", first_id});
  INFO("re-activate: " << describe(again));
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Catch::Contains("409"));
  CHECK(secret_status(daemon, first_id) == "disabled");
}

TEST_CASE("cli: no daemon gives exit code 3 and a clear message", "[cli]") {
  TempDir dir;
  const std::string nowhere = dir.file("no-such-dir/api.sock");

  SECTION("--socket") {
    const CommandResult r = run_cli({"--socket", nowhere, "send", "--type", "t", "--data", "1"});
    INFO(describe(r));
    CHECK(r.exit_code == 3);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains("not running"));
    CHECK_THAT(r.err, Catch::Contains(nowhere));
    CHECK_THAT(r.err, Catch::Contains("--socket"));
  }
  SECTION("KOREHOOK_SOCKET") {
    const CommandResult r = run_cli({"secrets", "list"}, with_socket_env(nowhere));
    INFO(describe(r));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("not running"));
    CHECK_THAT(r.err, Catch::Contains(nowhere));
  }
  SECTION("a socket file nobody listens on") {
    // A stale socket left by a crashed daemon: connection refused.
    Fixture fx;
    Daemon daemon(fx.yaml({}));
    daemon.start();
    const std::string socket = daemon.socket_path();
    daemon.kill9();
    const CommandResult r = run_cli({"--socket", socket, "events", "get", "evt_x"});
    INFO(describe(r));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("not running"));
  }
}

TEST_CASE("cli: the socket comes from --socket or KOREHOOK_SOCKET", "[cli]") {
  Fixture fx;
  Daemon daemon(fx.yaml({}));
  daemon.start();
  TempDir dir;
  const std::string nowhere = dir.file("api.sock");
  const std::vector<std::string> list = {"secrets", "list"};

  SECTION("--socket alone") {
    std::vector<std::string> args = {"--socket", daemon.socket_path()};
    args.insert(args.end(), list.begin(), list.end());
    // The test process may itself have KOREHOOK_SOCKET set: make it point nowhere.
    const CommandResult r = run_cli(args, with_socket_env(nowhere));
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("No secrets."));
  }
  SECTION("KOREHOOK_SOCKET alone") {
    const CommandResult r = run_cli(list, with_socket_env(daemon.socket_path()));
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("No secrets."));
  }
  SECTION("--socket wins over KOREHOOK_SOCKET") {
    std::vector<std::string> args = list;
    args.insert(args.end(), {"--socket", nowhere});
    const CommandResult r = run_cli(args, with_socket_env(daemon.socket_path()));
    INFO(describe(r));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains(nowhere));
  }
}

}  // namespace korehook::testing

namespace korehook::testing {

TEST_CASE("cli: endpoints, deliveries and accounts against the daemon", "[cli]") {
  Fixture fx;
  Daemon daemon(fx.yaml({}));
  daemon.start();
  auto run = [&](const std::vector<std::string>& args) {
    const CommandResult r = daemon.cli(args);
    INFO("korehook " << args.front() << " " << (args.size() > 1 ? args[1] : "") << ": "
                     << describe(r));
    REQUIRE(r.exit_code == 0);
    return r.out;
  };

  run({"accounts", "create", "acme", "--name", "Acme Inc"});
  CHECK_THAT(run({"accounts", "list"}), Catch::Contains("Acme Inc"));
  const std::string created =
      run({"endpoints", "create", "--id", "ep_cli", "--url", fx.receiver_url("/cli"),
           "--event-type", "cli.*", "--header", "X-Env: lab", "--max-attempts", "2"});
  CHECK_THAT(created, Catch::Contains("ep_cli"));
  const std::string listed = run({"endpoints", "list"});
  CHECK_THAT(listed, Catch::Contains("ep_cli"));
  CHECK_THAT(listed, Catch::Contains(fx.receiver_url("/cli")));
  run({"endpoints", "update", "ep_cli", "--description", "from the cli"});
  const json::value got = parse_json(run({"--json", "endpoints", "get", "ep_cli"}));
  CHECK(got.at("description") == "from the cli");
  CHECK(got.at("retry").at("max_attempts") == 2);
  CHECK(got.at("headers").at("X-Env") == "<redacted>");

  const std::string id = submit_event(daemon, R"({"type":"cli.done","data":{"x":1}})");
  wait_for_delivery_state(daemon, id, "delivered");
  const json::value deliveries =
      parse_json(run({"--json", "deliveries", "list", "--endpoint", "ep_cli"}));
  REQUIRE(deliveries.at("data").as_array().size() == 1);
  const std::string dlv(deliveries.at("data").as_array()[0].at("id").as_string());
  CHECK_THAT(run({"deliveries", "get", dlv}), Catch::Contains("200"));
  run({"deliveries", "redeliver", dlv});
  REQUIRE(fx.receiver().wait_for_requests(2, 10s));
  CHECK_THAT(run({"deliveries", "replay", "--endpoint", "ep_cli", "--state", "failed"}),
             Catch::Contains("none replayed"));

  run({"endpoints", "disable", "ep_cli", "--reason", "maintenance"});
  CHECK_THAT(run({"endpoints", "get", "ep_cli"}), Catch::Contains("maintenance"));
  run({"endpoints", "enable", "ep_cli"});
  run({"endpoints", "delete", "ep_cli"});
  const CommandResult missing = daemon.cli({"endpoints", "get", "ep_cli"});
  CHECK(missing.exit_code != 0);
  CHECK_THAT(missing.err, Catch::Contains("ep_cli"));
}

}  // namespace korehook::testing
