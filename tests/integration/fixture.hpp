#pragma once

// Shared setup of the integration tests: a test CA made at test time, a real TLS receiver on
// 127.0.0.1 with a certificate for `localhost` and 127.0.0.1, and the real korehookd
// configured to trust that CA and deliver to that receiver.

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "support/daemon.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"
#include "support/tls_receiver.hpp"

namespace korehook::testing {

using namespace std::chrono_literals;

// An endpoint block for the YAML `endpoints:` list.
struct EndpointYaml {
  std::string id = "ep_test";
  std::string url;  // https://localhost:<port>/hooks by default
  std::string event_types = "[\"*\"]";
  std::string extra;  // more YAML lines, each indented by 4 spaces, e.g. "    read_timeout: 1s\n"
};

class Fixture {
 public:
  Fixture() : ca_(certs_.path()) {
    cert_ = ca_.issue_server("receiver", {"localhost", "multi.test"}, {"127.0.0.1"});
    ReceiverOptions options;
    options.cert_chain_file = cert_.chain_file;
    options.key_file = cert_.key_file;
    receiver_ = std::make_unique<TlsReceiver>(options);
  }

  TestCa& ca() { return ca_; }
  const TempDir& certs() const { return certs_; }
  TlsReceiver& receiver() { return *receiver_; }
  const IssuedCert& receiver_cert() const { return cert_; }

  std::string receiver_url(std::string_view path = "/hooks") const {
    return receiver_->url(path, "localhost");
  }

  // The YAML of a daemon that trusts the test CA, may reach loopback, and delivers to the
  // given endpoints. Fast retries by default so tests stay short.
  // `extra_network` adds lines under `network:`, each indented by 2 spaces, e.g.
  // "  resolve: {\"multi.test\": [\"127.0.0.1\"]}\n".
  std::string yaml(const std::vector<EndpointYaml>& endpoints,
                   std::string_view extra_top_level = "",
                   std::string_view extra_network = "") const {
    std::string y;
    y += "tls:\n  ca_file: " + ca_.ca_file() + "\n";
    y += "network:\n  allow_private: [\"127.0.0.0/8\"]\n";
    y += extra_network;
    y += "defaults:\n  connect_timeout: 2s\n  read_timeout: 2s\n";
    y += "  retry: {max_attempts: 3, initial_delay: 100ms, max_delay: 1s}\n";
    y += "delivery:\n  shutdown_grace: 5s\n";
    y += "log:\n  level: debug\n";
    y += extra_top_level;
    if (!endpoints.empty()) {
      y += "endpoints:\n";
      for (const auto& ep : endpoints) {
        y += "  - id: " + ep.id + "\n";
        y += "    url: " + (ep.url.empty() ? receiver_url() : ep.url) + "\n";
        y += "    event_types: " + ep.event_types + "\n";
        y += ep.extra;
      }
    }
    return y;
  }

  std::string yaml_one_endpoint(std::string extra = "") const {
    EndpointYaml ep;
    ep.extra = std::move(extra);
    return yaml({ep});
  }

 private:
  TempDir certs_;
  TestCa ca_;
  IssuedCert cert_;
  std::unique_ptr<TlsReceiver> receiver_;
};

// Parses a JSON answer; fails the test with the body when it is not JSON.
inline boost::json::value parse_json(const std::string& text) {
  boost::json::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 128;  // an event's data may nest as deep as the API accepts
  auto value = boost::json::parse(text, ec, {}, options);
  INFO("body: " << text);
  REQUIRE_FALSE(ec);
  return value;
}

// One API answer: the status and the body parsed as JSON (null when empty).
struct Answer {
  int status = 0;
  boost::json::value body;
};

// One API call (REQUIREs that it got an answer).
inline Answer call(Daemon& d, std::string_view method, std::string_view target,
                   const std::string& body = "") {
  auto res = d.request(method, target, body);
  REQUIRE(res.ok());
  Answer a;
  a.status = res->status;
  if (!res->body.empty()) a.body = parse_json(res->body);
  return a;
}

// POST /v1/events; returns the event id (REQUIREs a 202).
inline std::string submit_event(Daemon& daemon, const std::string& body_json) {
  auto res = daemon.request("POST", "/v1/events", body_json);
  REQUIRE(res.ok());
  INFO("answer: " << res->body);
  REQUIRE(res->status == 202);
  return std::string(parse_json(res->body).at("id").as_string());
}

// GET /v1/events/{id} as JSON (REQUIREs a 200).
inline boost::json::object get_event(Daemon& daemon, const std::string& id) {
  auto res = daemon.request("GET", "/v1/events/" + id);
  REQUIRE(res.ok());
  INFO("answer: " << res->body);
  REQUIRE(res->status == 200);
  return parse_json(res->body).as_object();
}

// Polls GET /v1/events/{id} until `pred(event)` holds or `timeout` passes; returns the last
// answer. Polling an API is how a user observes progress; no fixed sleeps.
template <class Pred>
boost::json::object wait_for_event(Daemon& daemon, const std::string& id, Pred pred,
                                   std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto event = get_event(daemon, id);
    if (pred(event) || std::chrono::steady_clock::now() >= deadline) return event;
    std::this_thread::sleep_for(20ms);
  }
}

// An endpoint block with the given id, URL and event-type filter (YAML flow list).
inline EndpointYaml endpoint(std::string id, std::string url, std::string event_types = "[\"*\"]") {
  EndpointYaml ep;
  ep.id = std::move(id);
  ep.url = std::move(url);
  ep.event_types = std::move(event_types);
  return ep;
}

// True when the event has deliveries and every one of them is delivered.
inline bool all_delivered(const boost::json::object& event) {
  const auto& deliveries = event.at("deliveries").as_array();
  return !deliveries.empty() &&
         std::all_of(deliveries.begin(), deliveries.end(), [](const boost::json::value& d) {
           return d.at("state").as_string() == "delivered";
         });
}

// The state of the first delivery of an event JSON.
inline std::string first_delivery_state(const boost::json::object& event) {
  const auto& deliveries = event.at("deliveries").as_array();
  if (deliveries.empty()) return "";
  return std::string(deliveries[0].at("state").as_string());
}

// Options of a receiver on 127.0.0.1 presenting `cert` (e.g. a second receiver, or one with a
// bad certificate); adjust the other fields as needed.
inline ReceiverOptions receiver_options_for(const IssuedCert& cert) {
  ReceiverOptions options;
  options.cert_chain_file = cert.chain_file;
  options.key_file = cert.key_file;
  return options;
}

// A header of a received request, or "<absent>" so that a missing header reads clearly in a
// failed CHECK.
inline std::string header_or_absent(const ReceivedRequest& request, std::string_view name) {
  return request.header(name).value_or("<absent>");
}

// The deliveries of an event JSON.
inline const boost::json::array& deliveries_of(const boost::json::object& event) {
  return event.at("deliveries").as_array();
}

// The attempts of the first delivery of an event JSON (empty when it has no delivery).
inline boost::json::array first_delivery_attempts(const boost::json::object& event) {
  const auto& deliveries = deliveries_of(event);
  if (deliveries.empty()) return {};
  return deliveries[0].at("attempts").as_array();
}

// Polls until the first delivery of event `id` is in `state` (e.g. "delivered", "failed");
// REQUIREs it, showing the last answer otherwise. Returns that answer.
inline boost::json::object wait_for_delivery_state(Daemon& daemon, const std::string& id,
                                                   std::string_view state,
                                                   std::chrono::milliseconds timeout = 10s) {
  auto event = wait_for_event(
      daemon, id, [&](const auto& e) { return first_delivery_state(e) == state; }, timeout);
  INFO("event: " << boost::json::serialize(event));
  REQUIRE(first_delivery_state(event) == state);
  return event;
}

}  // namespace korehook::testing
