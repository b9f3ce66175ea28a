// /v1/rules: streaming rules (SPEC §2.3). A rule routes the events of some types to one
// destination; the StreamBatcher holds the current set and is told of every change.

#include "api/context.hpp"
#include "korehook/route/filter.hpp"
#include "korehook/util/ids.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::api {

namespace {

constexpr std::string_view kRuleIdPrefix = "rul";
constexpr std::size_t kMaxEventTypes = 100;

spdlog::logger& logger() { return log::get("api"); }

json::object rule_json(const RuleRecord& r) {
  json::object o;
  o["id"] = r.id;
  o["account"] = r.account_id;
  o["name"] = r.name;
  o["status"] = to_string(r.status);
  o["destination"] = r.destination_id;
  json::array types;
  for (const auto& t : r.event_types) types.emplace_back(t);
  o["event_types"] = std::move(types);
  o["schema_version"] = string_or_null(r.schema_version);
  o["source"] = to_string(r.source);
  o["created_at"] = format_rfc3339(r.created_at);
  o["updated_at"] = format_rfc3339(r.updated_at);
  return o;
}

// Applies the members of `body` to `r`; `id` and `account` are read by the caller.
std::optional<Response> read_rule(const json::object& body, RuleRecord& r) {
  if (auto unknown = unknown_member(body, {"id", "account", "name", "status", "destination",
                                           "event_types", "schema_version"})) {
    return field_error(*unknown, "unknown field");
  }
  for (const auto& member : body) {
    const std::string_view key = member.key();
    const json::value& v = member.value();
    if (key == "name") {
      if (!v.is_string()) return field_error("name", "must be a string");
      if (auto problem = validate_rule_name(std::string_view(v.as_string()))) {
        return field_error("name", *problem);
      }
      r.name = std::string(v.as_string());
    } else if (key == "status") {
      auto status = v.is_string() ? parse_rule_status(std::string_view(v.as_string()))
                                  : std::optional<RuleStatus>{};
      if (!status) return field_error("status", "must be \"enabled\" or \"disabled\"");
      r.status = *status;
    } else if (key == "destination") {
      if (!v.is_string() || !is_valid_identifier(std::string_view(v.as_string()))) {
        return field_error("destination", "must be the id of a destination");
      }
      r.destination_id = std::string(v.as_string());
    } else if (key == "event_types") {
      if (!v.is_array() || v.as_array().empty() || v.as_array().size() > kMaxEventTypes) {
        return field_error("event_types", "must be a list of 1 to 100 patterns, e.g. [\"sim.*\"]");
      }
      std::vector<std::string> types;
      for (std::size_t i = 0; i < v.as_array().size(); ++i) {
        const json::value& item = v.as_array()[i];
        const std::string field = "event_types[" + std::to_string(i) + "]";
        if (!item.is_string()) return field_error(field, "must be a string");
        std::string pattern(item.as_string());
        if (auto problem = route::validate_pattern(pattern)) return field_error(field, *problem);
        types.push_back(std::move(pattern));
      }
      r.event_types = std::move(types);
    } else if (key == "schema_version") {
      if (v.is_null()) {
        r.schema_version.reset();
        continue;
      }
      if (!v.is_string()) return field_error("schema_version", "must be a string or null");
      if (auto problem = validate_schema_version(std::string_view(v.as_string()))) {
        return field_error("schema_version", *problem);
      }
      r.schema_version = std::string(v.as_string());
    }
  }
  return std::nullopt;
}

// The store's answer about a missing destination is the caller's bad input.
Response rule_error(const Error& e) {
  if (e.code == "not_found" && e.message.starts_with("destination")) {
    return field_error("destination", e.message);
  }
  return error_response(e);
}

Response not_found(const std::string& id) {
  return error_response(404, "not_found", "no rule with id '" + id + "'");
}

}  // namespace

void create_rule(Context& ctx, Request req, const Params&, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  RuleRecord r;
  if (auto problem = read_rule(*body, r)) return respond(std::move(*problem));
  std::optional<Response> err;
  auto id = string_member(*body, "id", err);
  auto account = string_member(*body, "account", err);
  if (err) return respond(std::move(*err));
  if (r.name.empty()) return respond(field_error("name", "is required"));
  if (r.destination_id.empty()) return respond(field_error("destination", "is required"));
  if (r.event_types.empty()) return respond(field_error("event_types", "is required"));
  if (id && !is_valid_identifier(*id)) {
    return respond(field_error("id", "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -"));
  }
  if (account && account->empty()) return respond(field_error("account", "must not be empty"));
  const TimeMs now = ctx.clock.now_ms();
  r.id = id.value_or(new_id(kRuleIdPrefix, now, ctx.random));
  r.account_id = account_of(req, account);
  r.created_at = now;
  r.updated_at = now;
  ctx.store.create_rule(std::move(r),
                        [&ctx, respond = std::move(respond)](Result<RuleRecord> created) {
                          if (!created.ok()) return respond(rule_error(created.error()));
                          logger().info("rule={} account={} destination={} created", created->id,
                                        created->account_id, created->destination_id);
                          if (ctx.options.streams) ctx.options.streams->upsert_rule(*created);
                          respond(json_response(201, rule_json(*created)));
                        });
}

void list_rules(Context& ctx, Request req, const Params&, Respond respond) {
  std::optional<Response> err;
  auto limit = int_param(req, "limit", 1, kMaxPageSize, kDefaultPageSize, err);
  if (err) return respond(std::move(*err));
  std::optional<std::string> cursor;
  if (const std::string* c = req.query_param("cursor")) cursor = *c;
  std::optional<std::string> destination;
  if (const std::string* d = req.query_param("destination")) destination = *d;
  const std::string account = account_of(req);
  with_account(ctx, account, std::move(respond),
               [&ctx, account, destination, cursor, limit = *limit](Respond respond) {
                 ctx.store.list_rules(
                     account, destination, cursor, limit,
                     [respond = std::move(respond)](Result<store::Page<RuleRecord>> r) {
                       if (!r.ok()) return respond(error_response(r.error()));
                       json::array data;
                       for (const auto& rule : r->items) data.push_back(rule_json(rule));
                       respond(json_response(200, page_json(std::move(data), r->next_cursor)));
                     });
               });
}

void get_rule(Context& ctx, Request req, const Params& params, Respond respond) {
  const std::string id = params.at(0);
  ctx.store.get_rule(account_of(req), id,
                     [id, respond = std::move(respond)](Result<std::optional<RuleRecord>> r) {
                       if (!r.ok()) return respond(error_response(r.error()));
                       if (!r->has_value()) return respond(not_found(id));
                       respond(json_response(200, rule_json(**r)));
                     });
}

void update_rule(Context& ctx, Request req, const Params& params, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  if (body->contains("id") || body->contains("account")) {
    return respond(field_error(body->contains("id") ? "id" : "account", "cannot be changed"));
  }
  RuleRecord probe;  // validates before touching the store
  if (auto problem = read_rule(*body, probe)) return respond(std::move(*problem));
  const std::string id = params.at(0);
  ctx.store.get_rule(
      account_of(req), id,
      [&ctx, id, body = std::move(*body),
       respond = std::move(respond)](Result<std::optional<RuleRecord>> current) mutable {
        if (!current.ok()) return respond(error_response(current.error()));
        if (!current->has_value()) return respond(not_found(id));
        RuleRecord r = std::move(**current);
        if (auto problem = read_rule(body, r)) return respond(std::move(*problem));
        ctx.store.update_rule(std::move(r), ctx.clock.now_ms(),
                              [&ctx, respond = std::move(respond)](Result<RuleRecord> updated) {
                                if (!updated.ok()) return respond(rule_error(updated.error()));
                                logger().info("rule={} account={} updated status={}", updated->id,
                                              updated->account_id, to_string(updated->status));
                                if (ctx.options.streams) {
                                  ctx.options.streams->upsert_rule(*updated);
                                }
                                respond(json_response(200, rule_json(*updated)));
                              });
      });
}

void delete_rule(Context& ctx, Request req, const Params& params, Respond respond) {
  const std::string id = params.at(0);
  ctx.store.delete_rule(account_of(req), id,
                        [&ctx, id, respond = std::move(respond)](Result<Unit> r) {
                          if (!r.ok()) return respond(error_response(r.error()));
                          if (ctx.options.streams) ctx.options.streams->remove_rule(id);
                          logger().info("rule={} deleted", id);
                          Response res;
                          res.status = 204;
                          respond(std::move(res));
                        });
}

}  // namespace korehook::api
