// Issue 3 against the real daemon and a real TLS receiver: endpoints, accounts, callbacks,
// deliveries and replay through the API.

#include <atomic>
#include <csignal>
#include <filesystem>
#include <set>

#include "fixture.hpp"
#include "korehook/sign/signature.hpp"

namespace korehook::testing {
namespace {

namespace json = boost::json;

std::string str(const json::value& v, std::string_view key) {
  return std::string(v.at(key).as_string());
}

// A daemon without YAML endpoints (they are created through the API).
std::string bare_yaml(const Fixture& f, std::string_view extra = "") { return f.yaml({}, extra); }

std::string endpoint_body(const std::string& url, const std::string& extra = "") {
  return R"({"url":")" + url + "\"" + extra + "}";
}

}  // namespace

TEST_CASE("manage: an endpoint created through the API receives events, with its settings",
          "[manage]") {
  Fixture f;
  Daemon d(bare_yaml(f));
  d.start();
  auto created =
      call(d, "POST", "/v1/endpoints",
           endpoint_body(f.receiver_url("/api-hook"),
                         R"(,"id":"ep_api","description":"made by a test",)"
                         R"("event_types":["sim.*"],"headers":{"X-Api-Key":"k-123"},)"
                         R"("retry":{"max_attempts":2},"max_in_flight":4,)"
                         R"("rate_limit":100,"connect_timeout":"3s","signatures":["kore"])"));
  INFO(json::serialize(created.body));
  REQUIRE(created.status == 201);
  CHECK(str(created.body, "id") == "ep_api");
  CHECK(str(created.body, "source") == "api");
  CHECK(created.body.at("headers").at("X-Api-Key") == "k-123");  // shown once, at create
  CHECK(created.body.at("retry").at("max_attempts") == 2);
  CHECK(created.body.at("retry").at("initial_delay") == "100ms");  // from config defaults
  CHECK(str(created.body, "connect_timeout") == "3s");

  auto got = call(d, "GET", "/v1/endpoints/ep_api");
  REQUIRE(got.status == 200);
  CHECK(got.body.at("headers").at("X-Api-Key") == "<redacted>");
  CHECK(got.body.at("rate_limit").to_number<double>() == 100.0);
  CHECK(got.body.at("signatures").as_array().size() == 1);

  const std::string id = submit_event(d, R"({"type":"sim.activated","data":{"n":1}})");
  submit_event(d, R"({"type":"other.thing","data":{}})");  // not matched
  REQUIRE(f.receiver().wait_for_requests(1, 10s));
  wait_for_delivery_state(d, id, "delivered");
  auto requests = f.receiver().requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/api-hook");
  CHECK(header_or_absent(requests[0], "x-api-key") == "k-123");
  CHECK(requests[0].header("kore-signature").has_value());
  CHECK_FALSE(requests[0].header("webhook-signature").has_value());  // signatures: [kore]

  SECTION("PATCH changes what it receives; DELETE stops it") {
    auto patched = call(d, "PATCH", "/v1/endpoints/ep_api",
                        R"({"event_types":["other.*"],"description":"changed"})");
    REQUIRE(patched.status == 200);
    CHECK(str(patched.body, "description") == "changed");
    CHECK(patched.body.at("headers").at("X-Api-Key") == "<redacted>");
    const std::string other = submit_event(d, R"({"type":"other.thing","data":{"x":2}})");
    wait_for_delivery_state(d, other, "delivered");
    CHECK(f.receiver().request_count() == 2);

    CHECK(call(d, "DELETE", "/v1/endpoints/ep_api").status == 204);
    CHECK(call(d, "GET", "/v1/endpoints/ep_api").status == 404);
    const std::string after = submit_event(d, R"({"type":"other.thing","data":{"x":3}})");
    CHECK(deliveries_of(get_event(d, after)).empty());
  }
  SECTION("it survives a restart") {
    d.terminate();
    d.start();
    auto again = call(d, "GET", "/v1/endpoints/ep_api");
    REQUIRE(again.status == 200);
    CHECK(str(again.body, "url") == f.receiver_url("/api-hook"));
    const std::string next = submit_event(d, R"({"type":"sim.x","data":{}})");
    wait_for_delivery_state(d, next, "delivered");
    CHECK(header_or_absent(f.receiver().requests().back(), "x-api-key") == "k-123");
  }
}

TEST_CASE("manage: endpoint validation names the field", "[manage]") {
  Fixture f;
  Daemon d(bare_yaml(f));
  d.start();
  const std::string good = f.receiver_url("/h");
  struct Case {
    std::string body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"url":"http://example.com/h"})", "url"},
      {R"({"url":"https://user:pw@example.com/h"})", "url"},
      {R"({"url":"https://example.com/a\r\nX: y"})", "url"},
      {R"({"url":"https://example.com/a b"})", "url"},
      {R"({"url":"https://example.com:99999/"})", "url"},
      {R"({"url":"https:///nohost"})", "url"},
      {R"({"description":"no url"})", "url"},
      {endpoint_body(good, R"(,"headers":{"X Bad":"v"})"), "headers.X Bad"},
      {endpoint_body(good, R"(,"headers":{"Date":"v"})"), "headers.Date"},
      {endpoint_body(good, R"(,"headers":{"Host":"v"})"), "headers.Host"},
      {endpoint_body(good, R"(,"headers":{"Content-Length":"1"})"), "headers.Content-Length"},
      {endpoint_body(good, R"(,"headers":{"Transfer-Encoding":"x"})"), "headers.Transfer-Encoding"},
      {endpoint_body(good, R"(,"headers":{"Connection":"x"})"), "headers.Connection"},
      {endpoint_body(good, R"(,"headers":{"Kore-Signature":"x"})"), "headers.Kore-Signature"},
      {endpoint_body(good, R"(,"headers":{"User-Agent":"x"})"), "headers.User-Agent"},
      {endpoint_body(good, R"(,"headers":{"X-A":"a\r\nX-B: b"})"), "headers.X-A"},
      {endpoint_body(good, R"(,"headers":{"X-A":"a\u0000b"})"), "headers.X-A"},
      {endpoint_body(good, R"(,"retry":{"max_attempts":0})"), "retry.max_attempts"},
      {endpoint_body(good, R"(,"event_types":[])"), "event_types"},
      {endpoint_body(good, R"(,"event_types":["a.*.b"])"), "event_types[0]"},
      {endpoint_body(good, R"(,"signatures":["hmac"])"), "signatures"},
      {endpoint_body(good, R"(,"rate_limit":0)"), "rate_limit"},
      {endpoint_body(good, R"(,"read_timeout":"soon")"), "read_timeout"},
      {endpoint_body(good, R"(,"id":"has space")"), "id"},
      {endpoint_body(good, R"(,"colour":"red")"), "colour"},
  };
  for (const auto& c : cases) {
    INFO("body: " << c.body);
    auto a = call(d, "POST", "/v1/endpoints", c.body);
    INFO("answer: " << json::serialize(a.body));
    CHECK(a.status == 400);
    if (a.status == 400) {
      CHECK(str(a.body, "code") == "invalid_field");
      CHECK(str(a.body.at("info"), "field") == c.field);
    }
  }
  // Nothing was created by the refused requests.
  auto list = call(d, "GET", "/v1/endpoints");
  CHECK(list.body.at("data").as_array().empty());
}

TEST_CASE("manage: endpoints list is cursor-paginated and scoped by account", "[manage]") {
  Fixture f;
  Daemon d(bare_yaml(f));
  d.start();
  REQUIRE(call(d, "POST", "/v1/accounts", R"({"id":"acme","name":"Acme"})").status == 201);
  CHECK(call(d, "POST", "/v1/accounts", R"({"id":"acme"})").status == 409);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(call(d, "POST", "/v1/endpoints",
                 endpoint_body(f.receiver_url("/d"), ",\"id\":\"ep_d" + std::to_string(i) + "\""))
                .status == 201);
  }
  REQUIRE(call(d, "POST", "/v1/endpoints?account=acme",
               endpoint_body(f.receiver_url("/acme"), R"(,"id":"ep_acme")"))
              .status == 201);
  auto page1 = call(d, "GET", "/v1/endpoints?limit=2");
  REQUIRE(page1.status == 200);
  REQUIRE(page1.body.at("data").as_array().size() == 2);
  REQUIRE(page1.body.at("next_cursor").is_string());
  auto page2 = call(d, "GET", "/v1/endpoints?limit=2&cursor=" + str(page1.body, "next_cursor"));
  REQUIRE(page2.body.at("data").as_array().size() == 1);
  CHECK(page2.body.at("next_cursor").is_null());
  std::set<std::string> ids;
  for (const auto* page : {&page1, &page2}) {
    for (const auto& e : page->body.at("data").as_array()) ids.insert(str(e, "id"));
  }
  CHECK(ids == std::set<std::string>{"ep_d0", "ep_d1", "ep_d2"});

  auto acme = call(d, "GET", "/v1/endpoints?account=acme");
  REQUIRE(acme.body.at("data").as_array().size() == 1);
  CHECK(str(acme.body.at("data").as_array()[0], "id") == "ep_acme");
  CHECK(call(d, "GET", "/v1/endpoints/ep_acme").status == 404);  // not in `default`
  CHECK(call(d, "GET", "/v1/endpoints/ep_d0?account=acme").status == 404);
  CHECK(call(d, "GET", "/v1/endpoints?account=nobody").status == 404);
  auto accounts = call(d, "GET", "/v1/accounts");
  CHECK(accounts.body.at("data").as_array().size() == 2);
  CHECK(call(d, "GET", "/v1/accounts/acme").body.at("name") == "Acme");
}

TEST_CASE("manage: accounts sign with their own secrets only", "[manage]") {
  Fixture f;
  Daemon d(bare_yaml(f));
  d.start();
  REQUIRE(call(d, "POST", "/v1/accounts", R"({"id":"acme"})").status == 201);
  auto def_secret = call(d, "POST", "/v1/secrets", R"({"Name":"default key"})");
  auto acme_secret = call(d, "POST", "/v1/secrets?account=acme", R"({"Name":"acme key"})");
  REQUIRE(def_secret.status == 201);
  REQUIRE(acme_secret.status == 201);
  const std::string url = f.receiver_url("/acme");
  REQUIRE(call(d, "POST", "/v1/endpoints?account=acme", endpoint_body(url)).status == 201);
  const std::string id = submit_event(d, R"({"type":"t.x","account":"acme","data":{"a":1}})");
  REQUIRE(f.receiver().wait_for_requests(1, 10s));
  auto r = f.receiver().requests().at(0);
  CHECK(header_or_absent(r, "kore-signature") ==
        sign::kore_signature(str(acme_secret.body, "secret"), "POST", url, r.body));
  CHECK(header_or_absent(r, "kore-signature") !=
        sign::kore_signature(str(def_secret.body, "secret"), "POST", url, r.body));
  // The default account sees neither the event nor acme's secrets.
  CHECK(call(d, "GET", "/v1/events/" + id).status == 404);
  auto secrets = call(d, "GET", "/v1/secrets");
  REQUIRE(secrets.body.at("data").as_array().size() == 1);
  CHECK(str(secrets.body.at("data").as_array()[0], "name") == "default key");
}

TEST_CASE("manage: a callback_url event goes to that URL only, signed", "[manage]") {
  Fixture f;
  Daemon d(f.yaml({endpoint("ep_all", f.receiver_url("/all"))}));
  d.start();
  auto secret = call(d, "POST", "/v1/secrets", R"({"Name":"k"})");
  REQUIRE(secret.status == 201);
  const std::string cb = f.receiver_url("/callback?op=42");
  const std::string id =
      submit_event(d, R"({"type":"op.done","data":{"ok":true},"callback_url":")" + cb + "\"}");
  auto event = wait_for_delivery_state(d, id, "delivered");
  REQUIRE(deliveries_of(event).size() == 1);
  CHECK(deliveries_of(event)[0].at("endpoint_id").is_null());
  CHECK(str(deliveries_of(event)[0], "callback_url") == cb);
  auto requests = f.receiver().requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/callback?op=42");
  CHECK(header_or_absent(requests[0], "kore-signature") ==
        sign::kore_signature(str(secret.body, "secret"), "POST", cb, requests[0].body));
  CHECK(header_or_absent(requests[0], "user-agent") == "KoreProxy/1.1");

  auto bad = call(d, "POST", "/v1/events",
                  R"({"type":"op.done","data":{},"callback_url":"http://example.com/x"})");
  CHECK(bad.status == 400);
  CHECK(bad.body.at("info").at("field") == "callback_url");
}

TEST_CASE("manage: YAML endpoints are read-only through the API, a bad reload keeps them",
          "[manage]") {
  Fixture f;
  Daemon d(f.yaml({endpoint("ep_yaml", f.receiver_url("/y"))}));
  d.start();
  auto got = call(d, "GET", "/v1/endpoints/ep_yaml");
  REQUIRE(got.status == 200);
  CHECK(str(got.body, "source") == "config");
  auto patch = call(d, "PATCH", "/v1/endpoints/ep_yaml", R"({"description":"x"})");
  CHECK(patch.status == 409);
  CHECK(str(patch.body, "code") == "declared_in_config");
  CHECK_THAT(str(patch.body, "message"), Catch::Contains("configuration file"));
  CHECK(call(d, "DELETE", "/v1/endpoints/ep_yaml").status == 409);
  // An API endpoint may not take a YAML id.
  CHECK(call(d, "POST", "/v1/endpoints", endpoint_body(f.receiver_url("/z"), R"(,"id":"ep_yaml")"))
            .status == 409);

  d.set_config("endpoints: [this is not valid\n");
  d.send_signal(SIGHUP);
  REQUIRE(d.wait_for_log("reload failed", 10s));
  CHECK(call(d, "GET", "/v1/endpoints/ep_yaml").status == 200);
  const std::string id = submit_event(d, R"({"type":"a.b","data":{}})");
  wait_for_delivery_state(d, id, "delivered");

  // A good reload without the endpoint removes it.
  d.set_config(f.yaml({endpoint("ep_other", f.receiver_url("/o"))}));
  d.send_signal(SIGHUP);
  REQUIRE(d.wait_for_log("reloaded", 10s));
  CHECK(call(d, "GET", "/v1/endpoints/ep_yaml").status == 404);
  CHECK(call(d, "GET", "/v1/endpoints/ep_other").status == 200);
}

TEST_CASE("manage: deliveries list, detail with response headers, replay and redeliver",
          "[manage]") {
  Fixture f;
  std::atomic<bool> healthy{false};
  f.receiver().set_handler([&](const ReceivedRequest&) {
    if (healthy) return Reply{.status = 200, .headers = {{"x-receiver", "ok"}}, .body = "thanks"};
    return Reply{.status = 500, .headers = {{"x-receiver", "down"}}, .body = "broken"};
  });
  Daemon d(
      f.yaml({endpoint("ep_a", f.receiver_url("/a")), endpoint("ep_b", f.receiver_url("/b"))}));
  d.start();
  const std::string e1 = submit_event(d, R"({"type":"x.one","data":{"i":1}})");
  const std::string e2 = submit_event(d, R"({"type":"x.two","data":{"i":2}})");
  wait_for_event(d, e1, [](const auto& e) {
    const auto& ds = deliveries_of(e);
    return ds.size() == 2 && std::all_of(ds.begin(), ds.end(), [](const json::value& x) {
             return x.at("state") == "failed";
           });
  });
  wait_for_event(d, e2, [](const auto& e) {
    const auto& ds = deliveries_of(e);
    return ds.size() == 2 && std::all_of(ds.begin(), ds.end(), [](const json::value& x) {
             return x.at("state") == "failed";
           });
  });

  auto failed_a = call(d, "GET", "/v1/deliveries?endpoint_id=ep_a&state=failed");
  REQUIRE(failed_a.status == 200);
  const auto& items = failed_a.body.at("data").as_array();
  REQUIRE(items.size() == 2);
  CHECK(str(items[0], "event_id") == e2);  // newest first
  CHECK(str(items[1], "event_id") == e1);
  auto only_one = call(d, "GET", "/v1/deliveries?event_type=x.one&limit=1");
  REQUIRE(only_one.body.at("data").as_array().size() == 1);
  CHECK(only_one.body.at("next_cursor").is_string());
  CHECK(call(d, "GET", "/v1/deliveries?state=bogus").status == 400);
  CHECK(call(d, "GET", "/v1/deliveries?since=yesterday").status == 400);

  const std::string delivery_id = str(items[1], "id");
  const std::string token = str(items[1], "token");
  auto detail = call(d, "GET", "/v1/deliveries/" + delivery_id);
  REQUIRE(detail.status == 200);
  const auto& attempts = detail.body.at("attempts").as_array();
  REQUIRE(attempts.size() == 3);  // max_attempts 3 in the fixture
  CHECK(attempts[0].at("status_code") == 500);
  CHECK(attempts[0].at("response_excerpt") == "broken");
  bool saw_header = false;
  for (const auto& h : attempts[0].at("response_headers").as_array()) {
    if (h.at("name") == "x-receiver" && h.at("value") == "down") saw_header = true;
  }
  CHECK(saw_header);

  healthy = true;
  const std::size_t before = f.receiver().request_count();
  auto replayed =
      call(d, "POST", "/v1/deliveries/replay", R"({"endpoint_id":"ep_a","state":"failed"})");
  REQUIRE(replayed.status == 202);
  CHECK(replayed.body.at("replayed") == 2);
  REQUIRE(f.receiver().wait_for_requests(before + 2, 10s));
  auto after = wait_for_event(d, e1, [](const auto& e) {
    for (const auto& x : deliveries_of(e)) {
      if (x.at("endpoint_id") == "ep_a") return x.at("state") == "delivered";
    }
    return false;
  });
  // Same token on the replayed request; ep_b's deliveries stay failed.
  bool seen = false;
  for (const auto& r : f.receiver().requests()) {
    if (r.target == "/a" && r.header("kore-idempotency-token") == token && r.index >= before) {
      seen = true;
    }
  }
  CHECK(seen);
  for (const auto& x : deliveries_of(after)) {
    if (x.at("endpoint_id") == "ep_b") CHECK(x.at("state") == "failed");
  }

  // Redeliver one delivered delivery: a new attempt, same token.
  auto again = call(d, "POST", "/v1/deliveries/" + delivery_id + "/redeliver");
  REQUIRE(again.status == 202);
  CHECK(str(again.body, "token") == token);
  REQUIRE(f.receiver().wait_for_requests(before + 3, 10s));
  CHECK(f.receiver().requests().back().header("kore-idempotency-token") == token);
  wait_for_event(d, e1, [&](const auto&) {
    auto dd = call(d, "GET", "/v1/deliveries/" + delivery_id);
    return dd.body.at("state") == "delivered" && dd.body.at("attempts").as_array().size() == 5;
  });
  CHECK(call(d, "GET", "/v1/deliveries/" + delivery_id).body.at("attempt_count") == 5);
  CHECK(call(d, "GET", "/v1/deliveries/nope").status == 404);
}

TEST_CASE("manage: 410 Gone disables the endpoint, enabling resumes its pending deliveries",
          "[manage]") {
  Fixture f;
  std::atomic<bool> gone{true};
  f.receiver().set_handler([&](const ReceivedRequest&) {
    return gone ? Reply{.status = 410, .body = "gone"} : Reply{.status = 200};
  });
  Daemon d(f.yaml({endpoint("ep_gone", f.receiver_url("/g"))}));
  d.start();
  const std::string first = submit_event(d, R"({"type":"a.b","data":{"n":1}})");
  REQUIRE(f.receiver().wait_for_requests(1, 10s));
  auto ep = call(d, "GET", "/v1/endpoints/ep_gone");
  for (int i = 0; i < 200 && ep.body.at("enabled").as_bool(); ++i) {
    std::this_thread::sleep_for(20ms);
    ep = call(d, "GET", "/v1/endpoints/ep_gone");
  }
  REQUIRE_FALSE(ep.body.at("enabled").as_bool());
  CHECK(str(ep.body, "disabled_reason") == "gone");
  auto event = get_event(d, first);
  CHECK(first_delivery_state(event) == "pending");
  CHECK(first_delivery_attempts(event).size() == 1);
  std::this_thread::sleep_for(500ms);  // retries would be due (100ms backoff): none may come
  CHECK(f.receiver().request_count() == 1);

  gone = false;
  auto enabled = call(d, "POST", "/v1/endpoints/ep_gone/enable");
  REQUIRE(enabled.status == 200);
  CHECK(enabled.body.at("enabled").as_bool());
  wait_for_delivery_state(d, first, "delivered");
  CHECK(f.receiver().request_count() == 2);
}

TEST_CASE("manage: an endpoint failing for disable_after is disabled, disable and enable by hand",
          "[manage]") {
  Fixture f;
  f.receiver().set_handler([](const ReceivedRequest&) { return Reply{.status = 503}; });
  EndpointYaml ep = endpoint("ep_sick", f.receiver_url("/s"));
  ep.extra =
      "    disable_after: 300ms\n    retry: {max_attempts: 50, initial_delay: 100ms, max_delay: "
      "100ms}\n";
  Daemon d(f.yaml({ep}));
  d.start();
  const std::string id = submit_event(d, R"({"type":"a.b","data":{}})");
  auto got = call(d, "GET", "/v1/endpoints/ep_sick");
  for (int i = 0; i < 300 && got.body.at("enabled").as_bool(); ++i) {
    std::this_thread::sleep_for(20ms);
    got = call(d, "GET", "/v1/endpoints/ep_sick");
  }
  REQUIRE_FALSE(got.body.at("enabled").as_bool());
  CHECK(str(got.body, "disabled_reason") == "failing");
  CHECK(first_delivery_state(get_event(d, id)) == "pending");

  auto manual = call(d, "POST", "/v1/endpoints/ep_sick/disable", R"({"reason":"maintenance"})");
  REQUIRE(manual.status == 200);
  CHECK(str(manual.body, "disabled_reason") == "manual");
  CHECK(str(manual.body, "disabled_detail") == "maintenance");

  f.receiver().set_handler([](const ReceivedRequest&) { return Reply{.status = 200}; });
  REQUIRE(call(d, "POST", "/v1/endpoints/ep_sick/enable").status == 200);
  wait_for_delivery_state(d, id, "delivered");
}

TEST_CASE("manage: secret rotation with overlap signs with both keys", "[manage]") {
  Fixture f;
  Daemon d(f.yaml({endpoint("ep_r", f.receiver_url("/r"))}));
  d.start();
  auto old_secret = call(d, "POST", "/v1/secrets", R"({"Name":"old"})");
  auto new_secret = call(d, "POST", "/v1/secrets", R"({"Name":"new"})");
  REQUIRE(str(new_secret.body, "status") == "pending");
  auto activated = call(d, "PATCH", "/v1/secrets/" + str(new_secret.body, "id"),
                        R"({"Status":"active","overlap":"1h"})");
  REQUIRE(activated.status == 200);
  CHECK_FALSE(activated.body.as_object().contains("secret"));
  submit_event(d, R"({"type":"a.b","data":{"k":1}})");
  REQUIRE(f.receiver().wait_for_requests(1, 10s));
  const auto r = f.receiver().requests().at(0);
  const std::string url = f.receiver_url("/r");
  CHECK(header_or_absent(r, "kore-signature") ==
        sign::kore_signature(str(new_secret.body, "secret"), "POST", url, r.body));
  const std::string sigs = header_or_absent(r, "webhook-signature");
  const std::string id = header_or_absent(r, "webhook-id");
  const std::string ts = header_or_absent(r, "webhook-timestamp");
  auto expect = [&](const std::string& secret) {
    return sign::standard_webhooks_signature(*sign::standard_webhooks_key(secret), id,
                                             std::stoll(ts), r.body);
  };
  CHECK(sigs ==
        expect(str(new_secret.body, "secret")) + " " + expect(str(old_secret.body, "secret")));

  auto bad = call(d, "PATCH", "/v1/secrets/" + str(old_secret.body, "id"),
                  R"({"Name":"x","overlap":"1h"})");
  CHECK(bad.status == 400);
}

TEST_CASE("manage: secrets and header values are encrypted at rest, the key is required",
          "[manage]") {
  Fixture f;
  Daemon d(bare_yaml(f));
  d.start();
  auto secret = call(d, "POST", "/v1/secrets", R"({"Name":"k"})");
  REQUIRE(secret.status == 201);
  REQUIRE(
      call(d, "POST", "/v1/endpoints",
           endpoint_body(f.receiver_url("/x"), R"(,"headers":{"Authorization":"Bearer canary-h"})"))
          .status == 201);
  d.terminate();  // checkpoints the WAL into the database file
  const std::string value = str(secret.body, "secret");
  std::string raw = read_file(d.store_path());
  for (const char* suffix : {"-wal", "-shm"}) {
    if (std::filesystem::exists(d.store_path() + suffix)) raw += read_file(d.store_path() + suffix);
  }
  CHECK(raw.size() > 1000);
  CHECK(raw.find(value) == std::string::npos);
  CHECK(raw.find(value.substr(6)) == std::string::npos);  // the base64 key part
  CHECK(raw.find("canary-h") == std::string::npos);

  SECTION("a wrong key stops startup with a clear message") {
    write_file(d.key_path(), std::string(64, 'a') + "\n");
    CHECK_THROWS(d.start());
    CHECK(d.exit_status().value_or(0) != 0);
    CHECK_THAT(d.log_text(), Catch::Contains("secrets key does not match"));
  }
  SECTION("a missing key stops startup with a clear message") {
    std::filesystem::remove(d.key_path());
    CHECK_THROWS(d.start());
    CHECK(d.exit_status().value_or(0) != 0);
    CHECK_THAT(d.log_text(), Catch::Contains("secrets key file"));
  }
}

}  // namespace korehook::testing

namespace korehook::testing {

TEST_CASE("manage: GET /v1/openapi.yaml serves the OpenAPI document", "[manage]") {
  Fixture f;
  Daemon d(f.yaml({}));
  d.start();
  auto res = d.request("GET", "/v1/openapi.yaml");
  REQUIRE(res.ok());
  CHECK(res->status == 200);
  CHECK(res->body.starts_with("openapi: 3."));
  CHECK(res->body.find("/v1/endpoints/{id}") != std::string::npos);
  bool yaml_type = false;
  for (const auto& [name, value] : res->headers) {
    if ((name == "content-type" || name == "Content-Type") && value == "application/yaml") {
      yaml_type = true;
    }
  }
  CHECK(yaml_type);
}

}  // namespace korehook::testing

namespace korehook::testing {

TEST_CASE("manage: PATCH is validated against the endpoint's current settings", "[manage]") {
  Fixture f;
  Daemon d(f.yaml({}));
  d.start();
  auto created = d.request("POST", "/v1/endpoints",
                           R"({"id":"ep_p","url":")" + f.receiver_url("/p") +
                               R"(","retry":{"initial_delay":"1s","max_delay":"1m"}})");
  REQUIRE(created.ok());
  REQUIRE(created->status == 201);
  auto bad = d.request("PATCH", "/v1/endpoints/ep_p", R"({"retry":{"initial_delay":"2m"}})");
  REQUIRE(bad.ok());
  CHECK(bad->status == 400);
  CHECK(parse_json(bad->body).at("info").at("field") == "retry.max_delay");
  auto good = d.request("PATCH", "/v1/endpoints/ep_p", R"({"retry":{"max_attempts":4}})");
  REQUIRE(good.ok());
  REQUIRE(good->status == 200);
  const auto retry = parse_json(good->body).at("retry");
  CHECK(retry.at("max_attempts") == 4);
  CHECK(retry.at("initial_delay") == "1s");  // kept
  CHECK(retry.at("max_delay") == "1m");
  auto missing = d.request("PATCH", "/v1/endpoints/nope", R"({"description":"x"})");
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
}

}  // namespace korehook::testing

namespace korehook::testing {

TEST_CASE("manage: POST /v1/events/batch appends all or nothing", "[manage]") {
  Fixture f;
  Daemon d(f.yaml({endpoint("ep_b", f.receiver_url("/b"), "[\"b.*\"]")}));
  d.start();
  const std::string cb = f.receiver_url("/cb");
  auto ok = d.request("POST", "/v1/events/batch",
                      R"({"events":[{"type":"b.one","data":{"n":1.50}},)"
                      R"({"type":"b.two","data":{"n":2},"idempotency_key":"k2"},)"
                      R"({"type":"x.cb","data":{"n":3},"callback_url":")" +
                          cb + R"("}]})");
  REQUIRE(ok.ok());
  INFO(ok->body);
  REQUIRE(ok->status == 202);
  const auto data = parse_json(ok->body).at("data").as_array();
  REQUIRE(data.size() == 3);
  for (const auto& item : data) {
    wait_for_delivery_state(d, std::string(item.at("id").as_string()), "delivered");
  }
  REQUIRE(f.receiver().request_count() == 3);
  std::set<std::string> bodies;
  for (const auto& r : f.receiver().requests()) bodies.insert(r.target + " " + r.body);
  CHECK(bodies.count("/b {\"n\":1.50}") == 1);  // the number's spelling is kept
  CHECK(bodies.count("/cb {\"n\":3}") == 1);

  // A repeated idempotency key inside a batch answers the original.
  auto again = d.request("POST", "/v1/events/batch",
                         R"({"events":[{"type":"b.two","data":{"n":2},"idempotency_key":"k2"}]})");
  REQUIRE(again.ok());
  const auto again_data = parse_json(again->body).at("data").as_array();
  CHECK(again_data[0].at("duplicate") == true);
  CHECK(again_data[0].at("id") == data[1].at("id"));

  // One bad item: 400 naming it, and nothing of the batch is stored.
  auto bad = d.request("POST", "/v1/events/batch",
                       R"({"events":[{"type":"b.ok","data":{}},{"data":{}}]})");
  REQUIRE(bad.ok());
  CHECK(bad->status == 400);
  const auto error = parse_json(bad->body);
  CHECK(error.at("info").at("index") == 1);
  CHECK_THAT(std::string(error.at("message").as_string()), Catch::StartsWith("events[1].type"));
  auto empty = d.request("POST", "/v1/events/batch", R"({"events":[]})");
  REQUIRE(empty.ok());
  CHECK(empty->status == 400);
  std::this_thread::sleep_for(300ms);
  CHECK(f.receiver().request_count() == 3);
  auto list = d.request("GET", "/v1/deliveries?limit=100");
  REQUIRE(list.ok());
  CHECK(parse_json(list->body).at("data").as_array().size() == 3);
}

}  // namespace korehook::testing
