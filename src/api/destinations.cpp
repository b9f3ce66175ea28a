// /v1/destinations: Event Streams destinations (SPEC §2.3). A destination is stored as an
// endpoint of kind kDestination, so delivery, retries, parking and attempt records are the
// endpoints' own; this file only speaks the destination's shape (name, type, timeout).

#include "api/context.hpp"
#include "korehook/util/ids.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::api {

namespace {

constexpr std::string_view kDestinationIdPrefix = "dst";
constexpr std::string_view kDisabledByApi = "disabled through the API";

spdlog::logger& logger() { return log::get("api"); }

json::object destination_json(const EndpointRecord& e, bool show_header_values) {
  json::object full = endpoint_json(e, show_header_values);
  json::object o;
  o["id"] = e.id;
  o["account"] = e.account_id;
  o["name"] = e.settings.description;
  o["type"] = "webhook";
  o["url"] = e.settings.url;
  for (const char* key : {"enabled", "disabled_reason", "disabled_detail", "failing_since"}) {
    o[key] = full[key];
  }
  o["timeout"] = format_duration(destination_timeout(e.settings));
  o["retry"] = full["retry"];
  o["headers"] = full["headers"];
  o["source"] = full["source"];
  o["created_at"] = full["created_at"];
  o["updated_at"] = full["updated_at"];
  return o;
}

// Applies the members of `body` to `s` (a destination's settings stored as an endpoint's:
// the name in `description`). `id`, `account` and `enabled` are read by the caller.
std::optional<Response> read_destination(const json::object& body, EndpointSettings& s) {
  if (auto unknown = unknown_member(body, {"id", "account", "enabled", "name", "type", "url",
                                           "timeout", "retry", "headers"})) {
    return field_error(*unknown, "unknown field");
  }
  for (const auto& member : body) {
    const std::string_view key = member.key();
    const json::value& v = member.value();
    std::optional<Response> e;
    if (key == "name") {
      if (!v.is_string()) return field_error("name", "must be a string");
      if (auto problem = validate_rule_name(std::string_view(v.as_string()))) {
        return field_error("name", *problem);
      }
      s.description = std::string(v.as_string());
    } else if (key == "type") {
      if (!v.is_string() || v.as_string() != "webhook") {
        return field_error("type", "must be \"webhook\" (the only destination type)");
      }
    } else if (key == "url") {
      if (!v.is_string()) return field_error("url", "must be a string");
      auto url = net::parse_https_url(std::string_view(v.as_string()));
      if (!url.ok()) return field_error("url", url.error().message);
      s.url = std::string(v.as_string());
    } else if (key == "timeout") {
      Millis timeout{0};
      e = read_duration(v, "timeout", false, timeout);
      if (!e && timeout > kMaxDestinationTimeout) {
        e = field_error("timeout", "must be at most " + format_duration(kMaxDestinationTimeout));
      }
      if (!e) set_destination_timeout(s, timeout);
    } else if (key == "retry") {
      e = read_retry(v, s.retry);
    } else if (key == "headers") {
      e = read_headers(v, s);
    }
    if (e) return e;
  }
  return std::nullopt;
}

// Applies a changed destination to the dispatcher and answers it.
void answer_destination(Context& ctx, Respond& respond, int status, const EndpointRecord& e,
                        bool show_header_values = false) {
  ctx.dispatcher.upsert_target(dispatch::target_from_endpoint(e));
  if (e.enabled()) ctx.dispatcher.notify_stored();  // deliveries unparked by the store
  respond(json_response(status, destination_json(e, show_header_values)));
}

void set_destination_state(Context& ctx, const EndpointRecord& e, bool enabled, std::string detail,
                           bool show_header_values, int status, Respond respond) {
  auto headers = e.settings.headers;  // set_endpoint_state answers them too, but sealed away
  ctx.store.set_endpoint_state(
      e.account_id, e.id, enabled ? DisabledReason::kNone : DisabledReason::kManual,
      std::move(detail), ctx.clock.now_ms(),
      [&ctx, show_header_values, status, headers = std::move(headers),
       respond = std::move(respond)](Result<EndpointRecord> r) mutable {
        if (!r.ok()) return respond(error_response(r.error()));
        r->settings.headers = std::move(headers);
        logger().info("destination={} account={} enabled={}", r->id, r->account_id, r->enabled());
        answer_destination(ctx, respond, status, *r, show_header_values);
      });
}

}  // namespace

void create_destination(Context& ctx, Request req, const Params&, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  EndpointRecord e;
  e.kind = EndpointKind::kDestination;
  e.settings = destination_defaults();
  if (auto problem = read_destination(*body, e.settings)) return respond(std::move(*problem));
  std::optional<Response> err;
  auto id = string_member(*body, "id", err);
  auto account = string_member(*body, "account", err);
  auto enabled = read_enabled(*body, err);
  if (err) return respond(std::move(*err));
  if (e.settings.description.empty()) return respond(field_error("name", "is required"));
  if (e.settings.url.empty()) return respond(field_error("url", "is required"));
  if (id && !is_valid_identifier(*id)) {
    return respond(field_error("id", "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -"));
  }
  if (account && account->empty()) return respond(field_error("account", "must not be empty"));
  const TimeMs now = ctx.clock.now_ms();
  e.id = id.value_or(new_id(kDestinationIdPrefix, now, ctx.random));
  e.account_id = account_of(req, account);
  e.created_at = now;
  e.updated_at = now;
  const bool start_disabled = enabled.has_value() && !*enabled;
  const std::string url = e.settings.url;
  check_url(ctx, url, std::move(respond),
            [&ctx, e = std::move(e), start_disabled](Respond respond) mutable {
              ctx.store.create_endpoint(
                  std::move(e), [&ctx, start_disabled,
                                 respond = std::move(respond)](Result<EndpointRecord> r) mutable {
                    if (!r.ok()) return respond(error_response(r.error()));
                    logger().info("destination={} account={} created url={}", r->id, r->account_id,
                                  r->settings.url);
                    if (!start_disabled) return answer_destination(ctx, respond, 201, *r, true);
                    set_destination_state(ctx, *r, false, "created disabled", true, 201,
                                          std::move(respond));
                  });
            });
}

void list_destinations(Context& ctx, Request req, const Params&, Respond respond) {
  std::optional<Response> err;
  auto limit = int_param(req, "limit", 1, kMaxPageSize, kDefaultPageSize, err);
  if (err) return respond(std::move(*err));
  std::optional<std::string> cursor;
  if (const std::string* c = req.query_param("cursor")) cursor = *c;
  const std::string account = account_of(req);
  with_account(ctx, account, std::move(respond),
               [&ctx, account, cursor, limit = *limit](Respond respond) {
                 ctx.store.list_destinations(
                     account, cursor, limit,
                     [respond = std::move(respond)](Result<store::Page<EndpointRecord>> r) {
                       if (!r.ok()) return respond(error_response(r.error()));
                       json::array data;
                       for (const auto& e : r->items) data.push_back(destination_json(e, false));
                       respond(json_response(200, page_json(std::move(data), r->next_cursor)));
                     });
               });
}

void get_destination(Context& ctx, Request req, const Params& params, Respond respond) {
  const std::string account = account_of(req);
  with_target_of_kind(ctx, account, params.at(0), EndpointKind::kDestination, std::move(respond),
                      [&ctx, account](EndpointRecord e, Respond respond) {
                        // With the rules that feed it (the id copied first: the callback
                        // takes `e`).
                        std::string id = e.id;
                        ctx.store.list_rules(account, std::move(id), std::nullopt, kMaxPageSize,
                                             [e = std::move(e), respond = std::move(respond)](
                                                 Result<store::Page<RuleRecord>> r) {
                                               if (!r.ok())
                                                 return respond(error_response(r.error()));
                                               json::object o = destination_json(e, false);
                                               json::array rules;
                                               for (const auto& rule : r->items) {
                                                 json::object jr;
                                                 jr["id"] = rule.id;
                                                 jr["name"] = rule.name;
                                                 jr["status"] = to_string(rule.status);
                                                 rules.push_back(std::move(jr));
                                               }
                                               o["rules"] = std::move(rules);
                                               respond(json_response(200, o));
                                             });
                      });
}

void update_destination(Context& ctx, Request req, const Params& params, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  if (body->contains("id") || body->contains("account")) {
    return respond(field_error(body->contains("id") ? "id" : "account", "cannot be changed"));
  }
  std::optional<Response> err;
  auto enabled = read_enabled(*body, err);
  if (err) return respond(std::move(*err));
  EndpointSettings probe = destination_defaults();  // validates before touching the store
  if (auto problem = read_destination(*body, probe)) return respond(std::move(*problem));
  const std::string account = account_of(req);
  with_target_of_kind(
      ctx, account, params.at(0), EndpointKind::kDestination, std::move(respond),
      [&ctx, account, body = std::move(*body), enabled](EndpointRecord e, Respond respond) mutable {
        if (e.source == EndpointSource::kConfig) {
          return respond(error_response(
              409, "declared_in_config",
              "destination '" + e.id +
                  "' is declared in the configuration file; change it there and reload "
                  "(SIGHUP)"));
        }
        const std::string old_url = e.settings.url;
        if (auto problem = read_destination(body, e.settings)) return respond(std::move(*problem));
        auto save = [&ctx, account, e, enabled](Respond respond) mutable {
          ctx.store.update_endpoint(
              account, e.id, e.settings, ctx.clock.now_ms(),
              [&ctx, enabled, respond = std::move(respond)](Result<EndpointRecord> r) mutable {
                if (!r.ok()) return respond(error_response(r.error()));
                logger().info("destination={} account={} updated", r->id, r->account_id);
                if (enabled && *enabled != r->enabled()) {
                  return set_destination_state(ctx, *r, *enabled,
                                               std::string(*enabled ? "" : kDisabledByApi), false,
                                               200, std::move(respond));
                }
                answer_destination(ctx, respond, 200, *r);
              });
        };
        if (e.settings.url != old_url) {
          const std::string url = e.settings.url;
          return check_url(ctx, url, std::move(respond), std::move(save));
        }
        save(std::move(respond));
      });
}

void delete_destination(Context& ctx, Request req, const Params& params, Respond respond) {
  delete_target(ctx, account_of(req), params.at(0), EndpointKind::kDestination, std::move(respond));
}

}  // namespace korehook::api
