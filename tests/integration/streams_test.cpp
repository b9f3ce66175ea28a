// Issue 4 against the real daemon and a real TLS receiver: Event Streams destinations, rules,
// CloudEvents batches (size, type, linger), retries of a fixed batch, and test events.

#include <map>

#include "fixture.hpp"
#include "korehook/sign/signature.hpp"

namespace korehook::testing {
namespace {

namespace json = boost::json;

// A daemon with the given batching window and no YAML endpoints. `extra_network`: as in
// Fixture::yaml.
std::string streams_yaml(const Fixture& f, std::string_view linger, int max_events = 50,
                         const std::vector<EndpointYaml>& endpoints = {},
                         std::string_view extra_network = "") {
  return f.yaml(endpoints,
                "event_streams:\n  source: test-source\n  batch:\n    linger: " +
                    std::string(linger) + "\n    max_events: " + std::to_string(max_events) + "\n",
                extra_network);
}

// Creates destination `id` at `url` with fast retries, and a rule feeding it `types`.
void make_stream(Daemon& d, const std::string& id, const std::string& url,
                 const std::string& types = R"(["sim.*"])", const std::string& rule_extra = "") {
  auto dst = call(d, "POST", "/v1/destinations",
                  R"({"id":")" + id + R"(","name":"stream )" + id + R"(","type":"webhook",)" +
                      R"("url":")" + url + R"(","timeout":"3s",)" +
                      R"("retry":{"initial_delay":"100ms","max_delay":"500ms"}})");
  INFO(json::serialize(dst.body));
  REQUIRE(dst.status == 201);
  auto rule = call(d, "POST", "/v1/rules",
                   R"({"id":"rule_)" + id + R"(","name":"to )" + id + R"(","destination":")" + id +
                       R"(","event_types":)" + types + rule_extra + "}");
  INFO(json::serialize(rule.body));
  REQUIRE(rule.status == 201);
}

// POST /v1/events/batch with `n` events of `type`; returns their ids.
std::vector<std::string> submit_many(Daemon& d, const std::string& type, int n, int from = 0) {
  std::string body = R"({"events":[)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body += R"({"type":")" + type + R"(","data":{"n":)" + std::to_string(from + i) + "}}";
  }
  body += "]}";
  auto a = call(d, "POST", "/v1/events/batch", body);
  REQUIRE(a.status == 202);
  std::vector<std::string> ids;
  for (const auto& item : a.body.at("data").as_array()) ids.emplace_back(item.at("id").as_string());
  return ids;
}

// The requests the receiver got at `path`, each body parsed (an array of CloudEvents).
std::vector<std::pair<ReceivedRequest, json::array>> batches(const TlsReceiver& r,
                                                             std::string_view path = "/stream") {
  std::vector<std::pair<ReceivedRequest, json::array>> out;
  for (auto& req : r.requests()) {
    if (req.target != path) continue;
    json::value v = parse_json(req.body);
    REQUIRE(v.is_array());
    out.emplace_back(req, v.as_array());
  }
  return out;
}

std::size_t total_events(const std::vector<std::pair<ReceivedRequest, json::array>>& b) {
  std::size_t n = 0;
  for (const auto& [req, events] : b) n += events.size();
  return n;
}

// Waits until the receiver has seen `n` CloudEvents at /stream in all.
bool wait_for_events(const TlsReceiver& r, std::size_t n, std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (total_events(batches(r)) >= n) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace

TEST_CASE("streams: 50 events of one type go in one request, as CloudEvents", "[streams]") {
  Fixture f;
  // The endpoint also takes sim.*: each target gets its own delivery.
  Daemon d(
      streams_yaml(f, "2s", 50, {endpoint("ep_hooks", f.receiver_url("/hooks"), "[\"sim.*\"]")}));
  d.start();
  make_stream(d, "dst_1", f.receiver_url("/stream"), R"(["sim.*"])", R"(,"schema_version":"2")");
  auto secret = call(d, "POST", "/v1/secrets", R"({"Name":"k"})");
  REQUIRE(secret.status == 201);
  const std::string secret_text(secret.body.at("secret").as_string());

  const auto ids = submit_many(d, "sim.activated", 50);
  REQUIRE(wait_for_events(f.receiver(), 50));
  auto got = batches(f.receiver());
  REQUIRE(got.size() == 1);
  const auto& [req, events] = got[0];
  REQUIRE(events.size() == 50);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i].as_object();
    INFO(json::serialize(e));
    CHECK(e.at("id") == ids[i].c_str());
    CHECK(e.at("type") == "sim.activated");
    CHECK(e.at("source") == "test-source");
    CHECK(e.at("specversion") == "1.0");
    CHECK(e.at("datacontenttype") == "application/json");
    CHECK(e.at("dataschema") == "/schemas/sim.activated/2");
    CHECK(e.at("data").at("n") == static_cast<std::int64_t>(i));
    CHECK(std::string(e.at("time").as_string()).ends_with("Z"));
  }
  // `time` is when the event was accepted: the event's own created_at.
  for (const std::size_t i : {std::size_t{0}, events.size() - 1}) {
    CHECK(events[i].at("time") == get_event(d, ids[i]).at("created_at"));
  }
  // SPEC §1 headers, signed over the destination URL and the batch bytes.
  CHECK(header_or_absent(req, "content-type") == "application/json");
  CHECK(header_or_absent(req, "user-agent") == "KoreProxy/1.1");
  const std::string token = header_or_absent(req, "kore-idempotency-token");
  CHECK(header_or_absent(req, "webhook-id") == token);
  CHECK(header_or_absent(req, "kore-signature") ==
        sign::kore_signature(secret_text, "POST", f.receiver_url("/stream"), req.body));
  const std::string timestamp = header_or_absent(req, "webhook-timestamp");
  REQUIRE_FALSE(timestamp.empty());
  CHECK(header_or_absent(req, "webhook-signature") ==
        sign::standard_webhooks_signature(*sign::standard_webhooks_key(secret_text), token,
                                          std::stoll(timestamp), req.body));

  // The endpoint got its own 50 deliveries, one request each.
  REQUIRE(f.receiver().wait_for_requests(51, 15s));
  wait_for_delivery_state(d, ids.back(), "delivered");
  CHECK(deliveries_of(get_event(d, ids.back())).size() == 1);  // the endpoint's
}

TEST_CASE("streams: 120 events make batches of 50, 50 and 20, types never mix", "[streams]") {
  Fixture f;
  Daemon d(streams_yaml(f, "500ms"));
  d.start();
  make_stream(d, "dst_1", f.receiver_url("/stream"));
  submit_many(d, "sim.a", 120);
  submit_many(d, "sim.b", 3);
  REQUIRE(wait_for_events(f.receiver(), 123));
  auto got = batches(f.receiver());
  std::map<std::string, std::vector<std::size_t>> sizes;  // type -> batch sizes
  for (const auto& [req, events] : got) {
    const std::string type(events.at(0).at("type").as_string());
    for (const auto& e : events) CHECK(e.at("type") == type.c_str());
    sizes[type].push_back(events.size());
  }
  std::sort(sizes["sim.a"].begin(), sizes["sim.a"].end());
  CHECK(sizes["sim.a"] == std::vector<std::size_t>{20, 50, 50});
  CHECK(sizes["sim.b"] == std::vector<std::size_t>{3});
  CHECK(got.size() == 4);
}

TEST_CASE("streams: events within the linger window share a request sent after it", "[streams]") {
  Fixture f;
  Daemon d(streams_yaml(f, "1500ms"));
  d.start();
  make_stream(d, "dst_1", f.receiver_url("/stream"));
  const auto first_submit = std::chrono::steady_clock::now();
  submit_event(d, R"({"type":"sim.x","data":{"k":1}})");
  submit_event(d, R"({"type":"sim.x","data":{"k":2}})");
  REQUIRE(wait_for_events(f.receiver(), 2));
  auto got = batches(f.receiver());
  REQUIRE(got.size() == 1);
  CHECK(got[0].second.size() == 2);
  // Not before the first event has waited its linger.
  CHECK(got[0].first.received_at - first_submit >= 1400ms);
}

TEST_CASE("streams: a batch is retried with the same bytes and token", "[streams]") {
  Fixture f;
  std::atomic<int> seen{0};
  f.receiver().set_handler([&](const ReceivedRequest&) {
    return ++seen == 1 ? Reply{.status = 500, .body = "try later"} : Reply{};
  });
  Daemon d(streams_yaml(f, "200ms"));
  d.start();
  make_stream(d, "dst_1", f.receiver_url("/stream"));
  submit_many(d, "sim.r", 3);
  REQUIRE(f.receiver().wait_for_requests(2, 15s));
  auto got = batches(f.receiver());
  REQUIRE(got.size() == 2);
  CHECK(got[0].first.body == got[1].first.body);
  CHECK(got[0].second.size() == 3);
  CHECK(header_or_absent(got[0].first, "kore-idempotency-token") ==
        header_or_absent(got[1].first, "kore-idempotency-token"));
  CHECK(header_or_absent(got[0].first, "kore-idempotency-token") != "<absent>");
  // The batch's delivery is recorded like any other, with both attempts.
  auto list = call(d, "GET", "/v1/deliveries?endpoint_id=dst_1");
  REQUIRE(list.status == 200);
  INFO(json::serialize(list.body));
  REQUIRE(list.body.at("data").as_array().size() == 1);
}

TEST_CASE("streams: a disabled rule sends nothing, enabled again it does", "[streams]") {
  Fixture f;
  Daemon d(streams_yaml(f, "200ms"));
  d.start();
  make_stream(d, "dst_1", f.receiver_url("/stream"));
  auto dst = call(d, "GET", "/v1/destinations/dst_1");
  REQUIRE(dst.status == 200);
  REQUIRE(dst.body.at("rules").as_array().size() == 1);
  CHECK(dst.body.at("rules").at(0).at("id") == "rule_dst_1");
  CHECK(dst.body.at("rules").at(0).at("status") == "enabled");

  auto off = call(d, "PATCH", "/v1/rules/rule_dst_1", R"({"status":"disabled"})");
  REQUIRE(off.status == 200);
  CHECK(off.body.at("status") == "disabled");
  const std::string while_off = submit_event(d, R"({"type":"sim.off","data":{}})");
  auto on = call(d, "PATCH", "/v1/rules/rule_dst_1", R"({"status":"enabled"})");
  REQUIRE(on.status == 200);
  const std::string while_on = submit_event(d, R"({"type":"sim.off","data":{}})");
  REQUIRE(wait_for_events(f.receiver(), 1));
  // Had the first event been routed, its batch (older, same group) would come no later.
  CHECK_FALSE(f.receiver().wait_for_requests(2, 1500ms));
  auto got = batches(f.receiver());
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].second.size() == 1);
  CHECK(got[0].second[0].at("id") == while_on.c_str());
  CHECK(got[0].second[0].at("id") != while_off.c_str());
}

TEST_CASE("streams: accepted events not yet batched survive a crash", "[streams]") {
  Fixture f;
  Daemon d(streams_yaml(f, "3s"));
  d.start();
  make_stream(d, "dst_1", f.receiver_url("/stream"));
  const auto ids = submit_many(d, "sim.crash", 4);
  d.kill9();  // within the linger: nothing was batched
  CHECK(f.receiver().request_count() == 0);
  d.start();
  REQUIRE(wait_for_events(f.receiver(), 4));
  auto got = batches(f.receiver());
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].second.size() == 4);
  CHECK(got[0].second[0].at("id") == ids[0].c_str());
}

TEST_CASE("streams: destinations and rules refuse bad input naming the field", "[streams]") {
  Fixture f;
  Daemon d(streams_yaml(f, "1s"));
  d.start();
  const std::string url = f.receiver_url("/stream");
  struct Case {
    std::string target;
    std::string body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"/v1/destinations", R"({"url":")" + url + R"("})", "name"},
      {"/v1/destinations", R"({"name":"x"})", "url"},
      {"/v1/destinations", R"({"name":"x","url":"http://example.com/"})", "url"},
      {"/v1/destinations", R"({"name":"x","url":")" + url + R"(","type":"sqs"})", "type"},
      {"/v1/destinations", R"({"name":"x","url":")" + url + R"(","timeout":"10m"})", "timeout"},
      {"/v1/destinations", R"({"name":"x","url":")" + url + R"(","retry":{"max_attempts":0}})",
       "retry.max_attempts"},
      {"/v1/destinations", R"({"name":"x","url":")" + url + R"(","headers":{"Date":"x"}})",
       "headers.Date"},
      {"/v1/destinations", R"({"name":"x","url":")" + url + R"(","event_types":["*"]})",
       "event_types"},
      {"/v1/rules", R"({"destination":"dst_1","event_types":["*"]})", "name"},
      {"/v1/rules", R"({"name":"r","event_types":["*"]})", "destination"},
      {"/v1/rules", R"({"name":"r","destination":"dst_none","event_types":["*"]})", "destination"},
      {"/v1/rules", R"({"name":"r","destination":"dst_1"})", "event_types"},
      {"/v1/rules", R"({"name":"r","destination":"dst_1","event_types":["a.*.b"]})",
       "event_types[0]"},
      {"/v1/rules", R"({"name":"r","destination":"dst_1","event_types":["*"],"status":"on"})",
       "status"},
      {"/v1/rules",
       R"({"name":"r","destination":"dst_1","event_types":["*"],"schema_version":"a b"})",
       "schema_version"},
  };
  make_stream(d, "dst_1", url);
  for (const auto& c : cases) {
    auto a = call(d, "POST", c.target, c.body);
    INFO(c.target << " " << c.body << " -> " << json::serialize(a.body));
    CHECK(a.status == 400);
    CHECK(a.body.at("code") == "invalid_field");
    CHECK(a.body.at("info").at("field") == c.field.c_str());
  }
  // A blocked address (SSRF) is refused at create time, as for endpoints.
  auto blocked =
      call(d, "POST", "/v1/destinations", R"({"name":"x","url":"https://10.1.2.3/stream"})");
  CHECK(blocked.status == 400);
  CHECK(blocked.body.at("code") == "blocked_destination");
  // Kinds stay apart; a destination fed by a rule is not deleted.
  CHECK(call(d, "GET", "/v1/endpoints/dst_1").status == 404);
  CHECK(call(d, "DELETE", "/v1/endpoints/dst_1").status == 404);
  auto in_use = call(d, "DELETE", "/v1/destinations/dst_1");
  CHECK(in_use.status == 409);
  CHECK(call(d, "DELETE", "/v1/rules/rule_dst_1").status == 204);
  CHECK(call(d, "DELETE", "/v1/destinations/dst_1").status == 204);
  CHECK(call(d, "GET", "/v1/destinations/dst_1").status == 404);
}

TEST_CASE("streams: the test event reports success or what failed", "[streams]") {
  Fixture f;
  f.receiver().set_handler([](const ReceivedRequest& r) {
    if (r.target == "/fail") return Reply{.status = 500, .body = "receiver exploded"};
    return Reply{};
  });
  ClosedPort closed;
  TestCa rogue(f.certs().path(), CaOptions{.name = "rogue", .common_name = "rogue root"});
  TlsReceiver untrusted(receiver_options_for(rogue.issue_server("rogue-leaf", {"localhost"})));
  BlackHole silent;  // accepts TCP, never says a word
  // Slow to handshake and slow to answer, each within its own bound (a destination with a 1 s
  // timeout connects within 400 ms per step); multi.test's first address never answers the
  // TCP connect, so 400 + 300 + 500 ms: the steps fit, the whole does not.
  ReceiverOptions slow_options = receiver_options_for(f.receiver_cert());
  slow_options.handshake_delay = 300ms;
  slow_options.handler = [](const ReceivedRequest&) { return Reply{.delay = 500ms}; };
  TlsReceiver slow(slow_options);
  UnansweredPort unanswered("127.0.0.2", slow.port());
  Daemon d(streams_yaml(f, "1s", 50, {},
                        "  resolve: {\"multi.test\": [\"127.0.0.2\", \"127.0.0.1\"]}\n"));
  d.start();
  auto make_destination = [&](const std::string& id, const std::string& url,
                              const std::string& extra = "") {
    auto a = call(d, "POST", "/v1/destinations",
                  R"({"id":")" + id + R"(","name":"t","url":")" + url + R"(")" + extra + "}");
    INFO(json::serialize(a.body));
    REQUIRE(a.status == 201);
  };
  make_destination("dst_ok", f.receiver_url("/ok"));
  make_destination("dst_500", f.receiver_url("/fail"));
  make_destination("dst_refused", "https://localhost:" + std::to_string(closed.port()) + "/x");
  make_destination("dst_tls", untrusted.url("/x", "localhost"));
  // A name that does not resolve passes the create-time check (every attempt checks again).
  // The leading hyphen makes glibc refuse it before any query: no packet leaves the machine.
  make_destination("dst_dns", "https://-korehook-test.invalid/x");
  make_destination("dst_silent", "https://localhost:" + std::to_string(silent.port()) + "/x",
                   R"(,"timeout":"1s")");
  make_destination("dst_slow", slow.url("/x", "multi.test"), R"(,"timeout":"1s")");

  auto ok = call(d, "POST", "/v1/destinations/dst_ok/test");
  INFO(json::serialize(ok.body));
  REQUIRE(ok.status == 200);
  CHECK(ok.body.at("success") == true);
  CHECK(ok.body.at("status") == 200);
  REQUIRE(f.receiver().request_count() == 1);
  const auto req = f.receiver().requests().at(0);
  json::value sent = parse_json(req.body);
  REQUIRE(sent.is_array());
  REQUIRE(sent.as_array().size() == 1);
  const auto& ce = sent.as_array()[0];
  CHECK(ce.at("type") == "com.kore.eventstreams.test.event");
  CHECK(ce.at("source") == "kore-events");
  CHECK(ce.at("dataschema") == "/schemas/test/1");
  CHECK(ce.at("specversion") == "1.0");
  CHECK(ce.at("data").at("test_id") == ok.body.at("test_id"));
  CHECK(header_or_absent(req, "user-agent") == "KoreProxy/1.1");

  auto failed = call(d, "POST", "/v1/destinations/dst_500/test");
  INFO(json::serialize(failed.body));
  CHECK(failed.body.at("success") == false);
  CHECK(failed.body.at("error") == "http");
  CHECK(failed.body.at("status") == 500);
  CHECK(failed.body.at("body_excerpt") == "receiver exploded");

  auto refused = call(d, "POST", "/v1/destinations/dst_refused/test");
  INFO(json::serialize(refused.body));
  CHECK(refused.body.at("success") == false);
  CHECK(refused.body.at("error") == "connect");

  auto tls = call(d, "POST", "/v1/destinations/dst_tls/test");
  INFO(json::serialize(tls.body));
  CHECK(tls.body.at("success") == false);
  CHECK(tls.body.at("error") == "tls");
  CHECK_THAT(std::string(tls.body.at("detail").as_string()), Catch::Contains("certificate"));
  CHECK(untrusted.request_count() == 0);

  auto dns = call(d, "POST", "/v1/destinations/dst_dns/test");
  INFO(json::serialize(dns.body));
  CHECK(dns.body.at("success") == false);
  CHECK(dns.body.at("error") == "dns");
  CHECK_THAT(std::string(dns.body.at("detail").as_string()),
             Catch::Contains("korehook-test.invalid"));

  // The test event is answered once the destination's timeout is up, whichever step was
  // running: here the TLS handshake, then the response.
  for (const auto& [id, detail] :
       {std::pair{"dst_silent", "tls handshake with 127.0.0.1:"},
        std::pair{"dst_slow", "no response timed out at the attempt's 1000 ms deadline"}}) {
    INFO(id);
    const auto start = std::chrono::steady_clock::now();
    auto timed_out = call(d, "POST", "/v1/destinations/" + std::string(id) + "/test");
    const auto elapsed = std::chrono::steady_clock::now() - start;
    INFO(json::serialize(timed_out.body));
    CHECK(timed_out.body.at("success") == false);
    CHECK(timed_out.body.at("error") == "timeout");
    CHECK(timed_out.body.at("status").is_null());
    CHECK_THAT(std::string(timed_out.body.at("detail").as_string()), Catch::Contains(detail));
    CHECK(timed_out.body.at("duration_ms").to_number<std::int64_t>() <= 1'100);
    CHECK(elapsed < 2500ms);
  }
  CHECK(silent.connections_accepted() >= 1);
  CHECK(slow.request_count() == 1);  // it got there, but its answer came too late

  SECTION("endpoints have a test event too, as one CloudEvent object") {
    auto ep = call(d, "POST", "/v1/endpoints",
                   R"({"id":"ep_t","url":")" + f.receiver_url("/ok") + R"("})");
    REQUIRE(ep.status == 201);
    auto tested = call(d, "POST", "/v1/endpoints/ep_t/test");
    INFO(json::serialize(tested.body));
    CHECK(tested.body.at("success") == true);
    json::value body = parse_json(f.receiver().requests().back().body);
    REQUIRE(body.is_object());
    CHECK(body.at("type") == "com.kore.eventstreams.test.event");
    CHECK(call(d, "POST", "/v1/endpoints/dst_ok/test").status == 404);
  }
}

TEST_CASE("streams: destinations and rules declared in YAML deliver", "[streams]") {
  Fixture f;
  std::string extra =
      "destinations:\n"
      "  - id: dst_yaml\n"
      "    name: YAML stream\n"
      "    type: webhook\n"
      "    url: " +
      f.receiver_url("/stream") +
      "\n"
      "    timeout: 4s\n"
      "rules:\n"
      "  - id: rule_yaml\n"
      "    name: all sim\n"
      "    destination: dst_yaml\n"
      "    event_types: [\"sim.*\"]\n"
      "event_streams:\n  batch:\n    linger: 200ms\n";
  Daemon d(f.yaml({}, extra));
  d.start();
  auto dst = call(d, "GET", "/v1/destinations/dst_yaml");
  REQUIRE(dst.status == 200);
  CHECK(dst.body.at("source") == "config");
  CHECK(dst.body.at("timeout") == "4s");
  CHECK(dst.body.at("retry").at("max_attempts") == 4);
  CHECK(call(d, "PATCH", "/v1/rules/rule_yaml", R"({"status":"disabled"})").status == 409);
  submit_event(d, R"({"type":"sim.y","data":{}})");
  REQUIRE(wait_for_events(f.receiver(), 1));
  CHECK(batches(f.receiver()).at(0).second.at(0).at("source") == "kore-events");
}

}  // namespace korehook::testing

namespace korehook::testing {

TEST_CASE("streams: the CLI manages destinations and rules and sends test events",
          "[streams][cli]") {
  Fixture f;
  Daemon d(f.yaml({}, "event_streams:\n  batch:\n    linger: 200ms\n"));
  d.start();
  auto created = d.cli({"destinations", "create", "--id", "dst_cli", "--name", "CLI stream",
                        "--url", f.receiver_url("/stream"), "--request-timeout", "4s"});
  INFO(created.out << created.err);
  REQUIRE(created.exit_code == 0);
  CHECK_THAT(created.out, Catch::Contains("dst_cli"));
  CHECK_THAT(created.out, Catch::Contains("4s"));

  auto rule = d.cli({"rules", "create", "--id", "rule_cli", "--name", "cli rule", "--destination",
                     "dst_cli", "--event-type", "sim.*"});
  INFO(rule.out << rule.err);
  REQUIRE(rule.exit_code == 0);
  auto disabled = d.cli({"rules", "disable", "rule_cli"});
  REQUIRE(disabled.exit_code == 0);
  CHECK_THAT(disabled.out, Catch::Contains("disabled"));

  auto listed = d.cli({"--json", "rules", "list", "--destination", "dst_cli"});
  REQUIRE(listed.exit_code == 0);
  auto page = parse_json(listed.out);
  REQUIRE(page.at("data").as_array().size() == 1);
  CHECK(page.at("data").at(0).at("status") == "disabled");

  auto shown = d.cli({"destinations", "get", "dst_cli"});
  REQUIRE(shown.exit_code == 0);
  CHECK_THAT(shown.out, Catch::Contains("rule_cli (disabled)"));

  auto tested = d.cli({"destinations", "test", "dst_cli"});
  INFO(tested.out << tested.err);
  REQUIRE(tested.exit_code == 0);
  CHECK_THAT(tested.out, Catch::Contains("Test event delivered: HTTP 200"));
  REQUIRE(f.receiver().request_count() == 1);
  CHECK_THAT(f.receiver().requests()[0].body, Catch::Contains("com.kore.eventstreams.test.event"));

  auto missing = d.cli({"destinations", "test", "dst_none"});
  CHECK(missing.exit_code != 0);

  // A failed test event is exit status 1, for humans and scripts alike.
  ClosedPort closed;
  REQUIRE(d.cli({"destinations", "create", "--id", "dst_down", "--name", "down", "--url",
                 "https://localhost:" + std::to_string(closed.port()) + "/x"})
              .exit_code == 0);
  auto down = d.cli({"destinations", "test", "dst_down"});
  CHECK(down.exit_code == 1);
  CHECK_THAT(down.out, Catch::Contains("Test event failed: connect"));
  auto down_json = d.cli({"--json", "destinations", "test", "dst_down"});
  CHECK(down_json.exit_code == 1);
  CHECK(parse_json(down_json.out).at("error") == "connect");
}

}  // namespace korehook::testing
