// /v1/deliveries: list, inspect, redeliver one, replay many.

#include "api/context.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::api {

json::object delivery_json(const store::DeliveryInfo& info,
                           const dispatch::Dispatcher& dispatcher) {
  const DeliveryRecord& d = info.delivery;
  const DeliveryState state = d.state == DeliveryState::kPending && dispatcher.attempting(d.id)
                                  ? DeliveryState::kInFlight
                                  : d.state;
  json::object o;
  o["id"] = d.id;
  o["event_id"] = d.event_id;
  o["event_type"] = info.event_type;
  o["account"] = info.account_id;
  o["endpoint_id"] = d.endpoint_id.empty() ? json::value() : json::value(d.endpoint_id);
  o["callback_url"] = string_or_null(info.callback_url);
  o["token"] = d.token;
  o["state"] = to_string(state);
  o["attempt_count"] = d.attempt_count;
  o["next_attempt_at"] =
      state == DeliveryState::kPending ? time_or_null(d.next_attempt_at) : json::value();
  o["created_at"] = time_or_null(d.created_at);
  o["updated_at"] = time_or_null(d.updated_at);
  return o;
}

json::array attempts_json(const std::vector<AttemptRecord>& attempts) {
  json::array out;
  for (const auto& a : attempts) {
    json::object ja;
    ja["number"] = a.number;
    ja["started_at"] = format_rfc3339(a.started_at);
    ja["duration_ms"] = a.duration_ms;
    ja["status_code"] = a.status_code ? json::value(*a.status_code) : json::value();
    ja["error"] = a.error == retry::ErrorClass::kNone ? json::value()
                                                      : json::value(retry::to_string(a.error));
    ja["error_detail"] = a.error_detail;
    json::array headers;
    for (const auto& [name, value] : a.response_headers) {
      json::object h;
      h["name"] = name;
      h["value"] = value;
      headers.push_back(std::move(h));
    }
    ja["response_headers"] = std::move(headers);
    ja["response_excerpt"] = a.response_excerpt;
    out.push_back(std::move(ja));
  }
  return out;
}

namespace {

spdlog::logger& logger() { return log::get("api"); }

// Reads a delivery state; `for_replay` allows only finished states.
std::optional<DeliveryState> read_state(std::string_view text, bool for_replay) {
  auto state = parse_delivery_state(text);
  if (!state || !for_replay) return state;
  if (*state == DeliveryState::kPending || *state == DeliveryState::kInFlight) return std::nullopt;
  return state;
}

}  // namespace

void list_deliveries(Context& ctx, Request req, const Params&, Respond respond) {
  std::optional<Response> err;
  store::DeliveryFilter filter;
  filter.account_id = account_of(req);
  if (const std::string* e = req.query_param("endpoint_id")) filter.endpoint_id = *e;
  if (const std::string* t = req.query_param("event_type")) filter.event_type = *t;
  if (const std::string* s = req.query_param("state")) {
    filter.state = read_state(*s, false);
    if (!filter.state) {
      return respond(parameter_error(
          "state", "must be one of pending, in_flight, delivered, failed, cancelled"));
    }
  }
  filter.since = time_param(req, "since", err);
  filter.until = time_param(req, "until", err);
  auto limit = int_param(req, "limit", 1, kMaxPageSize, kDefaultPageSize, err);
  if (err) return respond(std::move(*err));
  std::optional<std::string> cursor;
  if (const std::string* c = req.query_param("cursor")) cursor = *c;
  const std::string account = filter.account_id;
  with_account(
      ctx, account, std::move(respond),
      [&ctx, filter = std::move(filter), cursor, limit = *limit](Respond respond) mutable {
        // The store keeps deliveries with an attempt underway pending; the
        // dispatcher knows which they are.
        if (filter.state == DeliveryState::kInFlight) {
          filter.state = DeliveryState::kPending;
          filter.only_ids = ctx.dispatcher.attempting_ids();
        } else if (filter.state == DeliveryState::kPending) {
          filter.except_ids = ctx.dispatcher.attempting_ids();
        }
        ctx.store.list_deliveries(
            filter, cursor, limit,
            [&ctx, respond = std::move(respond)](Result<store::Page<store::DeliveryInfo>> r) {
              if (!r.ok()) return respond(error_response(r.error()));
              json::array data;
              for (const auto& d : r->items) {
                data.push_back(delivery_json(d, ctx.dispatcher));
              }
              respond(json_response(200, page_json(std::move(data), r->next_cursor)));
            });
      });
}

void get_delivery(Context& ctx, Request req, const Params& params, Respond respond) {
  const std::string id = params.at(0);
  ctx.store.get_delivery(
      account_of(req), id,
      [&ctx, respond = std::move(respond), id](Result<std::optional<store::DeliveryDetail>> r) {
        if (!r.ok()) return respond(error_response(r.error()));
        if (!r->has_value()) {
          return respond(error_response(404, "not_found", "no delivery with id '" + id + "'"));
        }
        json::object o = delivery_json((*r)->info, ctx.dispatcher);
        o["attempts"] = attempts_json((*r)->attempts);
        respond(json_response(200, o));
      });
}

void redeliver(Context& ctx, Request req, const Params& params, Respond respond) {
  ctx.store.redeliver(account_of(req), params.at(0), ctx.clock.now_ms(),
                      [&ctx, respond = std::move(respond)](Result<store::DeliveryInfo> r) {
                        if (!r.ok()) return respond(error_response(r.error()));
                        logger().info("delivery={} redelivery requested", r->delivery.id);
                        ctx.dispatcher.notify_stored();
                        respond(json_response(202, delivery_json(*r, ctx.dispatcher)));
                      });
}

void replay(Context& ctx, Request req, const Params&, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  if (auto unknown = unknown_member(
          *body, {"endpoint_id", "state", "event_type", "since", "until", "account"})) {
    return respond(field_error(*unknown, "unknown field"));
  }
  std::optional<Response> err;
  auto endpoint_id = string_member(*body, "endpoint_id", err);
  auto state = string_member(*body, "state", err);
  auto event_type = string_member(*body, "event_type", err);
  auto since = string_member(*body, "since", err);
  auto until = string_member(*body, "until", err);
  auto account = string_member(*body, "account", err);
  if (err) return respond(std::move(*err));
  store::DeliveryFilter filter;
  filter.account_id = account_of(req, account);
  filter.endpoint_id = std::move(endpoint_id);
  filter.event_type = std::move(event_type);
  filter.state = read_state(state.value_or("failed"), true);
  if (!filter.state) return respond(field_error("state", "must be failed, cancelled or delivered"));
  for (auto [field, text, out] :
       {std::tuple{"since", &since, &filter.since}, std::tuple{"until", &until, &filter.until}}) {
    if (!*text) continue;
    *out = parse_rfc3339(**text);
    if (!*out) {
      return respond(field_error(field, "must be an RFC 3339 time such as 2026-11-29T00:00:00Z"));
    }
  }
  const std::string acct = filter.account_id;
  with_account(ctx, acct, std::move(respond), [&ctx, filter = std::move(filter)](Respond respond) {
    ctx.store.replay(filter, ctx.clock.now_ms(),
                     [&ctx, respond = std::move(respond)](Result<int> r) {
                       if (!r.ok()) return respond(error_response(r.error()));
                       logger().info("replay requeued={}", *r);
                       if (*r > 0) ctx.dispatcher.notify_stored();
                       json::object o;
                       o["replayed"] = *r;
                       respond(json_response(202, o));
                     });
  });
}

}  // namespace korehook::api
