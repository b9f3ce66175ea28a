// The route table and the Api front: matching, 404/405, and the routes without a resource.

#include <array>

#include "api/context.hpp"

namespace korehook::api {

namespace {

constexpr std::array kRoutes = {
    Route{"GET", "/healthz", &health},
    Route{"GET", "/v1/openapi.yaml", &openapi_document},
    Route{"POST", "/v1/events", &submit_event},
    Route{"POST", "/v1/events/batch", &submit_event_batch},
    Route{"GET", "/v1/events/{id}", &get_event},
    Route{"POST", "/v1/secrets", &create_secret},
    Route{"GET", "/v1/secrets", &list_secrets},
    Route{"PATCH", "/v1/secrets/{id}", &update_secret},
    Route{"POST", "/v1/accounts", &create_account},
    Route{"GET", "/v1/accounts", &list_accounts},
    Route{"GET", "/v1/accounts/{id}", &get_account},
    Route{"POST", "/v1/endpoints", &create_endpoint},
    Route{"GET", "/v1/endpoints", &list_endpoints},
    Route{"GET", "/v1/endpoints/{id}", &get_endpoint},
    Route{"PATCH", "/v1/endpoints/{id}", &update_endpoint},
    Route{"DELETE", "/v1/endpoints/{id}", &delete_endpoint},
    Route{"POST", "/v1/endpoints/{id}/enable", &enable_endpoint},
    Route{"POST", "/v1/endpoints/{id}/disable", &disable_endpoint},
    Route{"POST", "/v1/endpoints/{id}/test", &test_endpoint},
    Route{"POST", "/v1/destinations", &create_destination},
    Route{"GET", "/v1/destinations", &list_destinations},
    Route{"GET", "/v1/destinations/{id}", &get_destination},
    Route{"PATCH", "/v1/destinations/{id}", &update_destination},
    Route{"DELETE", "/v1/destinations/{id}", &delete_destination},
    Route{"POST", "/v1/destinations/{id}/test", &test_destination},
    Route{"POST", "/v1/rules", &create_rule},
    Route{"GET", "/v1/rules", &list_rules},
    Route{"GET", "/v1/rules/{id}", &get_rule},
    Route{"PATCH", "/v1/rules/{id}", &update_rule},
    Route{"DELETE", "/v1/rules/{id}", &delete_rule},
    Route{"GET", "/v1/deliveries", &list_deliveries},
    Route{"POST", "/v1/deliveries/replay", &replay},
    Route{"GET", "/v1/deliveries/{id}", &get_delivery},
    Route{"POST", "/v1/deliveries/{id}/redeliver", &redeliver},
};

// Matches `path` against `pattern` segment by segment; a `{name}` segment takes any non-empty
// segment, collected into `params`.
bool matches(std::string_view pattern, std::string_view path, Params& params) {
  params.clear();
  while (!pattern.empty() && !path.empty()) {
    if (pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const std::size_t pe = std::min(pattern.find('/'), pattern.size());
    const std::size_t se = std::min(path.find('/'), path.size());
    const std::string_view ps = pattern.substr(0, pe);
    const std::string_view ss = path.substr(0, se);
    if (ps.starts_with('{')) {
      if (ss.empty()) return false;
      params.emplace_back(ss);
    } else if (ps != ss) {
      return false;
    }
    pattern.remove_prefix(pe);
    path.remove_prefix(se);
  }
  return pattern.empty() && path.empty();
}

}  // namespace

std::span<const Route> routes() { return kRoutes; }

void health(Context& ctx, Request, const Params&, Respond respond) {
  json::object o;
  o["status"] = ctx.draining ? "draining" : "ok";
  respond(json_response(ctx.draining ? 503 : 200, o));
}

void openapi_document(Context&, Request, const Params&, Respond respond) {
  Response res;
  res.status = 200;
  res.content_type = "application/yaml";
  res.body = std::string(openapi_yaml());
  respond(std::move(res));
}

struct Api::Impl {
  Context ctx;
};

Api::Api(store::Store& store, dispatch::Dispatcher& dispatcher, const Clock& clock, Random& random,
         ApiOptions options)
    : impl_(std::make_unique<Impl>(
          Impl{Context{store, dispatcher, clock, random, std::move(options), false}})) {}

Api::~Api() = default;

void Api::set_draining() { impl_->ctx.draining = true; }

void Api::refresh_signing_keys() { impl_->ctx.refresh_signing_keys(); }

std::vector<std::pair<std::string, std::string>> Api::route_table() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& r : kRoutes) out.emplace_back(r.method, r.pattern);
  return out;
}

void Api::handle(Request req, Respond respond) {
  Params params;
  std::string allow;  // methods of the routes whose pattern matches
  const std::string& method = req.method;
  for (const Route& route : kRoutes) {
    if (!matches(route.pattern, req.path, params)) continue;
    if (route.method == method) return route.handler(impl_->ctx, std::move(req), params, respond);
    if (allow.find(route.method) == std::string::npos) {
      allow += allow.empty() ? "" : ", ";
      allow += route.method;
    }
  }
  if (!allow.empty()) {
    Response res =
        error_response(405, "method_not_allowed",
                       req.method + " is not allowed on " + req.path + " (allowed: " + allow + ")");
    res.headers.emplace_back("Allow", allow);
    return respond(std::move(res));
  }
  respond(error_response(404, "not_found", "no route for " + req.method + " " + req.path));
}

}  // namespace korehook::api
