#pragma once

// Private to src/api: what every handler works with, the route table, and the JSON helpers
// the handlers share.

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "korehook/api/errors.hpp"
#include "korehook/api/handlers.hpp"
#include "korehook/api/server.hpp"
#include "korehook/dispatch/dispatcher.hpp"
#include "korehook/json/minify.hpp"
#include "korehook/store/store.hpp"
#include "korehook/util/clock.hpp"

namespace korehook::api {

namespace json = boost::json;

struct Context {
  store::Store& store;
  dispatch::Dispatcher& dispatcher;
  const Clock& clock;
  Random& random;
  ApiOptions options;
  bool draining = false;

  // Reloads the signing keys into the dispatcher (after a secret changed, and at startup).
  void refresh_signing_keys();
};

using Params = std::vector<std::string>;  // the path's {parameters}, in order
using RouteHandler = void (*)(Context&, Request, const Params&, Respond);

struct Route {
  std::string_view method;
  std::string_view pattern;  // e.g. /v1/endpoints/{id}
  RouteHandler handler;
};

// Every route, in matching order (routes.cpp).
std::span<const Route> routes();

// --- handlers, by file ---
// events.cpp
void submit_event(Context&, Request, const Params&, Respond);
void submit_event_batch(Context&, Request, const Params&, Respond);
void get_event(Context&, Request, const Params&, Respond);
// secrets.cpp
void create_secret(Context&, Request, const Params&, Respond);
void list_secrets(Context&, Request, const Params&, Respond);
void update_secret(Context&, Request, const Params&, Respond);
// accounts.cpp
void create_account(Context&, Request, const Params&, Respond);
void list_accounts(Context&, Request, const Params&, Respond);
void get_account(Context&, Request, const Params&, Respond);
// endpoints.cpp
void create_endpoint(Context&, Request, const Params&, Respond);
void list_endpoints(Context&, Request, const Params&, Respond);
void get_endpoint(Context&, Request, const Params&, Respond);
void update_endpoint(Context&, Request, const Params&, Respond);
void delete_endpoint(Context&, Request, const Params&, Respond);
void enable_endpoint(Context&, Request, const Params&, Respond);
void disable_endpoint(Context&, Request, const Params&, Respond);
// destinations.cpp
void create_destination(Context&, Request, const Params&, Respond);
void list_destinations(Context&, Request, const Params&, Respond);
void get_destination(Context&, Request, const Params&, Respond);
void update_destination(Context&, Request, const Params&, Respond);
void delete_destination(Context&, Request, const Params&, Respond);
// rules.cpp
void create_rule(Context&, Request, const Params&, Respond);
void list_rules(Context&, Request, const Params&, Respond);
void get_rule(Context&, Request, const Params&, Respond);
void update_rule(Context&, Request, const Params&, Respond);
void delete_rule(Context&, Request, const Params&, Respond);
// test_events.cpp
void test_destination(Context&, Request, const Params&, Respond);
void test_endpoint(Context&, Request, const Params&, Respond);
// deliveries.cpp
void list_deliveries(Context&, Request, const Params&, Respond);
void get_delivery(Context&, Request, const Params&, Respond);
void redeliver(Context&, Request, const Params&, Respond);
void replay(Context&, Request, const Params&, Respond);
// routes.cpp
void health(Context&, Request, const Params&, Respond);
void openapi_document(Context&, Request, const Params&, Respond);

// --- JSON helpers (support.cpp) ---

inline constexpr int kMaxPageSize = 1000;
inline constexpr int kDefaultPageSize = 50;

// 400 invalid_field naming the field: "<field>: <message>", info.field.
Response field_error(std::string_view field, std::string_view message);
// 400 invalid_parameter naming a query parameter.
Response parameter_error(std::string_view name, std::string_view message);

bool is_json_content_type(std::string_view content_type);
bool has_control_chars(std::string_view s);

// boost::json parse options allowing korehook::json::kMaxDepth.
json::parse_options parse_options();

// Parses a JSON object request body; nullopt with `error` set otherwise. The minified body
// is left in `minified_out` when given.
std::optional<json::object> parse_object(const Request& req, Response& error,
                                         std::string* minified_out = nullptr);

// The top-level members of a JSON object request body, read from its minified text without
// building a DOM: the routes that take events read a few short members and keep "data" as
// the bytes given. The minified text must outlive it.
class RawObject {
 public:
  // REQUIRES: `minified` is korehook::json::minify() output and an object.
  explicit RawObject(std::string_view minified);

  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // The raw text of the member's value, or null (the last of duplicates).
  const std::string_view* find(std::string_view key) const;
  // The first member whose key is not in `known`, if any.
  std::optional<std::string> unknown_member(std::initializer_list<std::string_view> known) const;
  // The value of an optional string member; `error` set when present but not a string.
  std::optional<std::string> string_member(std::string_view key,
                                           std::optional<Response>& error) const;

 private:
  std::vector<korehook::json::RawMember> members_;
};

// As parse_object, without a DOM: the minified body goes to `minified`, which the result reads.
std::optional<RawObject> parse_raw_object(const Request& req, Response& error,
                                          std::string& minified);

// The first member of `obj` whose key is not in `known`, if any.
std::optional<std::string> unknown_member(const json::object& obj,
                                          std::initializer_list<std::string_view> known);

// The value of an optional string member; `error` set when present but not a string.
std::optional<std::string> string_member(const json::object& obj, std::string_view key,
                                         std::optional<Response>& error);

// An integer query parameter within [min, max], `fallback` when absent.
std::optional<int> int_param(const Request& req, std::string_view name, int min, int max,
                             int fallback, std::optional<Response>& error);

// An RFC 3339 time query parameter, nullopt when absent (error set when malformed).
std::optional<TimeMs> time_param(const Request& req, std::string_view name,
                                 std::optional<Response>& error);

// The account a request names: the body's "account" (when given), else ?account=, else
// `default`.
std::string account_of(const Request& req, const std::optional<std::string>& body_account = {});

json::value time_or_null(TimeMs t);
json::value string_or_null(const std::optional<std::string>& s);

// {"data": [...], "next_cursor": ...}
json::object page_json(json::array data, const std::optional<std::string>& next_cursor);

// A delivery as the API shows it (deliveries.cpp), and its attempts. A pending delivery
// with an attempt underway in the dispatcher shows as in_flight.
json::object delivery_json(const store::DeliveryInfo& info, const dispatch::Dispatcher& dispatcher);
json::array attempts_json(const std::vector<AttemptRecord>& attempts);

// --- Endpoint helpers (endpoints.cpp), shared with destinations.cpp ---

json::object endpoint_json(const EndpointRecord& e, bool show_header_values);
// Reads a duration member ("5s"); the error names `field`.
std::optional<Response> read_duration(const json::value& v, std::string_view field, bool allow_zero,
                                      Millis& out);
std::optional<Response> read_retry(const json::value& v, retry::RetryPolicy& policy);
std::optional<Response> read_headers(const json::value& v, EndpointSettings& s);
// The optional boolean member "enabled".
std::optional<bool> read_enabled(const json::object& body, std::optional<Response>& error);
// Resolves the URL's host and refuses blocked addresses (SSRF, 400 blocked_destination), then
// runs `then`.
void check_url(Context& ctx, const std::string& url, Respond respond,
               std::function<void(Respond)> then);
// Runs `then` with the endpoint `id` of `account` when it is of `kind`; 404 otherwise.
void with_target_of_kind(Context& ctx, const std::string& account, const std::string& id,
                         EndpointKind kind, Respond respond,
                         std::function<void(EndpointRecord, Respond)> then);
// DELETE of an endpoint or a destination (404 when `id` is of the other kind).
void delete_target(Context& ctx, const std::string& account, const std::string& id,
                   EndpointKind kind, Respond respond);

// Runs `then` when the account exists; a 404 naming it otherwise.
void with_account(Context& ctx, const std::string& account, Respond respond,
                  std::function<void(Respond)> then);

}  // namespace korehook::api
