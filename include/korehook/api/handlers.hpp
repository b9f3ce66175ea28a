#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "korehook/api/server.hpp"
#include "korehook/delivery/sender.hpp"
#include "korehook/dispatch/dispatcher.hpp"
#include "korehook/dispatch/stream_batcher.hpp"
#include "korehook/model/endpoint.hpp"
#include "korehook/net/url.hpp"
#include "korehook/store/store.hpp"
#include "korehook/util/clock.hpp"

namespace korehook::api {

// Checks, when an endpoint or a callback URL is given, that its host does not resolve to a
// blocked address (SSRF guard). Answers nullopt when it may be used, else why not.
using DestinationCheck = std::function<void(
    const net::HttpsUrl& url, std::function<void(std::optional<std::string> blocked)> done)>;

struct ApiOptions {
  DestinationCheck check_destination;  // empty: URLs are not resolved at create time
  // What an endpoint created through the API gets for the settings it does not give
  // (config `defaults`).
  EndpointSettings endpoint_defaults;
  // Event Streams: matches events against the rules and batches them. Null: no rule ever
  // matches (rules can still be managed).
  dispatch::StreamBatcher* streams = nullptr;
  // Sends one request at once, outside the store (test events). Empty: test events answer
  // 503 unavailable.
  std::function<void(delivery::SendRequest, std::function<void(delivery::SendResult)>)> send;
};

// The API's routes. Handlers validate input with the pure core, call the store and the
// dispatcher, and translate to JSON; they hold no delivery logic of their own.
class Api {
 public:
  Api(store::Store& store, dispatch::Dispatcher& dispatcher, const Clock& clock, Random& random,
      ApiOptions options = {});
  ~Api();

  void handle(Request request, Respond respond);
  // From now on, new events are refused with 503 (SIGTERM).
  void set_draining();
  // Reloads the signing keys into the dispatcher (after a secret changed, and at startup).
  void refresh_signing_keys();

  // Every (method, path pattern) served, e.g. ("GET", "/v1/endpoints/{id}").
  static std::vector<std::pair<std::string, std::string>> route_table();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The OpenAPI document served at GET /v1/openapi.yaml (docs/openapi.yaml, built in).
std::string_view openapi_yaml();

}  // namespace korehook::api
