// /v1/endpoints: endpoints created through the API, and the YAML ones read-only (apart from
// enable/disable, which is runtime state).

#include <filesystem>
#include <set>

#include "api/context.hpp"
#include "korehook/route/filter.hpp"
#include "korehook/util/encoding.hpp"
#include "korehook/util/ids.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::api {

namespace {

constexpr std::string_view kEndpointIdPrefix = "ep";
constexpr std::size_t kMaxDescription = 1000;
constexpr std::size_t kMaxHeaders = 32;
constexpr std::size_t kMaxEventTypes = 100;
constexpr Millis kMaxDuration{8760LL * 3600 * 1000};  // a year, as in the config
constexpr std::string_view kDisabledByApi = "disabled through the API";

spdlog::logger& logger() { return log::get("api"); }

}  // namespace

// Shared with destinations.cpp (context.hpp).

json::object endpoint_json(const EndpointRecord& e, bool show_header_values) {
  const EndpointSettings& s = e.settings;
  json::object o;
  o["id"] = e.id;
  o["account"] = e.account_id;
  o["url"] = s.url;
  o["description"] = s.description;
  json::array types;
  for (const auto& t : s.event_types) types.emplace_back(t);
  o["event_types"] = std::move(types);
  o["enabled"] = e.enabled();
  o["disabled_reason"] =
      e.enabled() ? json::value() : json::value(std::string(to_string(e.disabled_reason)));
  o["disabled_detail"] = e.enabled() ? json::value() : json::value(e.disabled_detail);
  o["failing_since"] = time_or_null(e.failing_since);
  o["connect_timeout"] = format_duration(s.connect_timeout);
  o["read_timeout"] = format_duration(s.read_timeout);
  json::object retry;
  retry["max_attempts"] = s.retry.max_attempts;
  retry["initial_delay"] = format_duration(s.retry.initial_delay);
  retry["max_delay"] = format_duration(s.retry.max_delay);
  o["retry"] = std::move(retry);
  o["max_in_flight"] = s.max_in_flight;
  o["rate_limit"] = s.rate_limit ? json::value(*s.rate_limit) : json::value();
  o["disable_after"] = format_duration(s.disable_after);
  json::object headers;
  // Header values may be credentials: shown only in the create response.
  for (const auto& [name, value] : s.headers) {
    headers[name] = show_header_values ? value : std::string("<redacted>");
  }
  o["headers"] = std::move(headers);
  json::array signatures;
  if (s.kore_signature) signatures.emplace_back("kore");
  if (s.standard_signature) signatures.emplace_back("standard");
  o["signatures"] = std::move(signatures);
  o["ca_file"] = string_or_null(s.ca_file);
  o["source"] = to_string(e.source);
  o["created_at"] = format_rfc3339(e.created_at);
  o["updated_at"] = format_rfc3339(e.updated_at);
  return o;
}

// Reads a duration member ("5s"); error names `field`.
std::optional<Response> read_duration(const json::value& v, std::string_view field, bool allow_zero,
                                      Millis& out) {
  if (!v.is_string()) return field_error(field, "must be a duration string such as \"5s\"");
  auto d = parse_duration(std::string_view(v.as_string()));
  if (!d || (!allow_zero && d->count() == 0) || *d > kMaxDuration) {
    return field_error(field, std::string("must be a duration such as 200ms, 5s, 10m or 2h") +
                                  (allow_zero ? "" : ", above 0,") + " at most 8760h");
  }
  out = *d;
  return std::nullopt;
}

std::optional<Response> read_int(const json::value& v, std::string_view field, int min, int max,
                                 int& out) {
  if (!v.is_int64() && !v.is_uint64()) {
    return field_error(
        field, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  const auto n = v.is_int64()
                     ? v.as_int64()
                     : static_cast<std::int64_t>(std::min<std::uint64_t>(v.as_uint64(), INT64_MAX));
  if (n < min || n > max) {
    return field_error(
        field, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  out = static_cast<int>(n);
  return std::nullopt;
}

std::optional<Response> read_retry(const json::value& v, retry::RetryPolicy& policy) {
  if (!v.is_object()) return field_error("retry", "must be an object");
  const json::object& o = v.as_object();
  if (auto unknown = unknown_member(o, {"max_attempts", "initial_delay", "max_delay"})) {
    return field_error("retry." + *unknown, "unknown field");
  }
  if (auto it = o.find("max_attempts"); it != o.end()) {
    if (auto e = read_int(it->value(), "retry.max_attempts", 1, 100, policy.max_attempts)) return e;
  }
  if (auto it = o.find("initial_delay"); it != o.end()) {
    if (auto e = read_duration(it->value(), "retry.initial_delay", false, policy.initial_delay)) {
      return e;
    }
  }
  if (auto it = o.find("max_delay"); it != o.end()) {
    if (auto e = read_duration(it->value(), "retry.max_delay", false, policy.max_delay)) return e;
  }
  if (policy.max_delay < policy.initial_delay) {
    return field_error("retry.max_delay", "must not be less than retry.initial_delay (" +
                                              format_duration(policy.initial_delay) + ")");
  }
  return std::nullopt;
}

std::optional<Response> read_headers(const json::value& v, EndpointSettings& s) {
  if (!v.is_object()) return field_error("headers", "must be an object of name: value");
  const json::object& o = v.as_object();
  if (o.size() > kMaxHeaders) return field_error("headers", "at most 32 custom headers");
  std::set<std::string> seen;
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& member : o) {
    const std::string name(member.key());
    const std::string field = "headers." + name;
    if (auto problem = validate_header_name(name)) return field_error(field, *problem);
    if (!seen.insert(ascii_lowercase(name)).second) {
      return field_error(field, "duplicate header (header names are case-insensitive)");
    }
    if (!member.value().is_string()) return field_error(field, "must be a string");
    std::string value(member.value().as_string());
    if (auto problem = validate_header_value(value)) return field_error(field, *problem);
    headers.emplace_back(name, std::move(value));
  }
  s.headers = std::move(headers);
  return std::nullopt;
}

std::optional<Response> read_signatures(const json::value& v, EndpointSettings& s) {
  constexpr std::string_view kExpected = "must be a non-empty list of \"kore\" and \"standard\"";
  if (!v.is_array() || v.as_array().empty()) return field_error("signatures", kExpected);
  bool kore = false;
  bool standard = false;
  for (const auto& item : v.as_array()) {
    const json::string* name = item.if_string();
    if (name == nullptr || (*name != "kore" && *name != "standard")) {
      return field_error("signatures", kExpected);
    }
    bool& flag = *name == "kore" ? kore : standard;
    if (flag) return field_error("signatures", "lists a scheme twice");
    flag = true;
  }
  s.kore_signature = kore;
  s.standard_signature = standard;
  return std::nullopt;
}

// Applies the settings present in `body` to `s`. Unknown members are errors; `id`,
// `account` and `enabled` are read by the caller.
std::optional<Response> read_settings(const json::object& body, EndpointSettings& s) {
  if (auto unknown = unknown_member(
          body, {"id", "account", "enabled", "url", "description", "event_types", "connect_timeout",
                 "read_timeout", "retry", "max_in_flight", "rate_limit", "disable_after", "headers",
                 "signatures", "ca_file"})) {
    return field_error(*unknown, "unknown field");
  }
  for (const auto& member : body) {
    const std::string_view key = member.key();
    const json::value& v = member.value();
    std::optional<Response> e;
    if (key == "url") {
      if (!v.is_string()) return field_error("url", "must be a string");
      auto url = net::parse_https_url(std::string_view(v.as_string()));
      if (!url.ok()) return field_error("url", url.error().message);
      s.url = std::string(v.as_string());
    } else if (key == "description") {
      if (!v.is_string() || v.as_string().size() > kMaxDescription) {
        return field_error("description", "must be a string of at most 1000 characters");
      }
      s.description = std::string(v.as_string());
    } else if (key == "event_types") {
      if (!v.is_array() || v.as_array().empty() || v.as_array().size() > kMaxEventTypes) {
        return field_error("event_types", "must be a list of 1 to 100 patterns, e.g. [\"*\"]");
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
      s.event_types = std::move(types);
    } else if (key == "connect_timeout") {
      e = read_duration(v, key, false, s.connect_timeout);
    } else if (key == "read_timeout") {
      e = read_duration(v, key, false, s.read_timeout);
    } else if (key == "disable_after") {
      e = read_duration(v, key, true, s.disable_after);
    } else if (key == "retry") {
      e = read_retry(v, s.retry);
    } else if (key == "max_in_flight") {
      e = read_int(v, key, 1, 1024, s.max_in_flight);
    } else if (key == "rate_limit") {
      if (v.is_null()) {
        s.rate_limit.reset();
      } else if (!v.is_number() || !(v.to_number<double>() > 0) ||
                 v.to_number<double>() > kMaxRateLimit) {
        return field_error("rate_limit", "must be requests per second above 0, at most 100000");
      } else {
        s.rate_limit = v.to_number<double>();
      }
    } else if (key == "headers") {
      e = read_headers(v, s);
    } else if (key == "signatures") {
      e = read_signatures(v, s);
    } else if (key == "ca_file") {
      if (v.is_null()) {
        s.ca_file.reset();
      } else if (!v.is_string() || v.as_string().empty()) {
        return field_error("ca_file", "must be the path of a PEM CA bundle");
      } else {
        std::error_code ec;
        const std::string path(v.as_string());
        if (!std::filesystem::is_regular_file(path, ec)) {
          return field_error("ca_file", "no such file: " + path);
        }
        s.ca_file = path;
      }
    }
    if (e) return e;
  }
  return std::nullopt;
}

std::optional<bool> read_enabled(const json::object& body, std::optional<Response>& error) {
  auto it = body.find("enabled");
  if (it == body.end()) return std::nullopt;
  if (!it->value().is_bool()) {
    error = field_error("enabled", "must be true or false");
    return std::nullopt;
  }
  return it->value().as_bool();
}

// Resolves the URL's host and refuses blocked addresses (SSRF), then runs `then`.
void check_url(Context& ctx, const std::string& url, Respond respond,
               std::function<void(Respond)> then) {
  if (!ctx.options.check_destination) return then(std::move(respond));
  ctx.options.check_destination(
      net::parse_https_url(url).value(), [respond = std::move(respond), then = std::move(then)](
                                             std::optional<std::string> blocked) mutable {
        if (blocked) {
          json::object info;
          info["field"] = "url";
          return respond(
              error_response(400, "blocked_destination", "url: " + *blocked, std::move(info)));
        }
        then(std::move(respond));
      });
}

namespace {

// Applies a changed endpoint to the dispatcher and answers it.
void answer_endpoint(Context& ctx, Respond& respond, int status, const EndpointRecord& e,
                     bool show_header_values = false) {
  ctx.dispatcher.upsert_target(dispatch::target_from_endpoint(e));
  if (e.enabled()) ctx.dispatcher.notify_stored();  // deliveries unparked by the store
  respond(json_response(status, endpoint_json(e, show_header_values)));
}

void set_state(Context& ctx, const std::string& account, const std::string& id,
               DisabledReason reason, std::string detail, Respond respond) {
  ctx.store.set_endpoint_state(
      account, id, reason, std::move(detail), ctx.clock.now_ms(),
      [&ctx, respond = std::move(respond)](Result<EndpointRecord> r) mutable {
        if (!r.ok()) return respond(error_response(r.error()));
        logger().info("endpoint={} account={} enabled={} reason={}", r->id, r->account_id,
                      r->enabled(), to_string(r->disabled_reason));
        answer_endpoint(ctx, respond, 200, *r);
      });
}

}  // namespace

void create_endpoint(Context& ctx, Request req, const Params&, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  EndpointRecord e;
  e.settings = ctx.options.endpoint_defaults;
  e.settings.url.clear();
  if (auto problem = read_settings(*body, e.settings)) return respond(std::move(*problem));
  std::optional<Response> err;
  auto id = string_member(*body, "id", err);
  auto account = string_member(*body, "account", err);
  auto enabled = read_enabled(*body, err);
  if (err) return respond(std::move(*err));
  if (e.settings.url.empty()) return respond(field_error("url", "is required"));
  if (id && !is_valid_identifier(*id)) {
    return respond(field_error("id", "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -"));
  }
  if (account && account->empty()) return respond(field_error("account", "must not be empty"));
  const TimeMs now = ctx.clock.now_ms();
  e.id = id.value_or(new_id(kEndpointIdPrefix, now, ctx.random));
  e.account_id = account_of(req, account);
  e.source = EndpointSource::kApi;
  e.created_at = now;
  e.updated_at = now;
  const bool start_disabled = enabled.has_value() && !*enabled;
  std::string url = e.settings.url;
  check_url(ctx, url, std::move(respond),
            [&ctx, e = std::move(e), start_disabled](Respond respond) mutable {
              ctx.store.create_endpoint(
                  std::move(e), [&ctx, start_disabled,
                                 respond = std::move(respond)](Result<EndpointRecord> r) mutable {
                    if (!r.ok()) return respond(error_response(r.error()));
                    logger().info("endpoint={} account={} created url={}", r->id, r->account_id,
                                  r->settings.url);
                    if (!start_disabled) return answer_endpoint(ctx, respond, 201, *r, true);
                    // Created disabled: the record with its headers, then the state.
                    auto headers = r->settings.headers;
                    ctx.store.set_endpoint_state(
                        r->account_id, r->id, DisabledReason::kManual, "created disabled",
                        ctx.clock.now_ms(),
                        [&ctx, headers = std::move(headers),
                         respond = std::move(respond)](Result<EndpointRecord> s) mutable {
                          if (!s.ok()) return respond(error_response(s.error()));
                          s->settings.headers = std::move(headers);
                          answer_endpoint(ctx, respond, 201, *s, true);
                        });
                  });
            });
}

void list_endpoints(Context& ctx, Request req, const Params&, Respond respond) {
  std::optional<Response> err;
  auto limit = int_param(req, "limit", 1, kMaxPageSize, kDefaultPageSize, err);
  if (err) return respond(std::move(*err));
  std::optional<std::string> cursor;
  if (const std::string* c = req.query_param("cursor")) cursor = *c;
  const std::string account = account_of(req);
  with_account(ctx, account, std::move(respond),
               [&ctx, account, cursor, limit = *limit](Respond respond) {
                 ctx.store.list_endpoints(
                     account, cursor, limit,
                     [respond = std::move(respond)](Result<store::Page<EndpointRecord>> r) {
                       if (!r.ok()) return respond(error_response(r.error()));
                       json::array data;
                       for (const auto& e : r->items) data.push_back(endpoint_json(e, false));
                       respond(json_response(200, page_json(std::move(data), r->next_cursor)));
                     });
               });
}

void get_endpoint(Context& ctx, Request req, const Params& params, Respond respond) {
  const std::string id = params.at(0);
  ctx.store.get_endpoint(
      account_of(req), id,
      [respond = std::move(respond), id](Result<std::optional<EndpointRecord>> r) {
        if (!r.ok()) return respond(error_response(r.error()));
        if (!r->has_value() || (**r).kind != EndpointKind::kEndpoint) {
          return respond(error_response(404, "not_found", "no endpoint with id '" + id + "'"));
        }
        respond(json_response(200, endpoint_json(**r, false)));
      });
}

void update_endpoint(Context& ctx, Request req, const Params& params, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  if (body->contains("id") || body->contains("account")) {
    return respond(field_error(body->contains("id") ? "id" : "account", "cannot be changed"));
  }
  std::optional<Response> err;
  auto enabled = read_enabled(*body, err);
  if (err) return respond(std::move(*err));
  EndpointSettings probe;  // validates before touching the store
  if (auto problem = read_settings(*body, probe)) return respond(std::move(*problem));
  const std::string id = params.at(0);
  const std::string account = account_of(req);
  ctx.store.get_endpoint(
      account, id,
      [&ctx, id, account, body = std::move(*body), enabled,
       respond = std::move(respond)](Result<std::optional<EndpointRecord>> current) mutable {
        if (!current.ok()) return respond(error_response(current.error()));
        if (!current->has_value() || (**current).kind != EndpointKind::kEndpoint) {
          return respond(error_response(404, "not_found", "no endpoint with id '" + id + "'"));
        }
        EndpointRecord e = std::move(**current);
        if (e.source == EndpointSource::kConfig) {
          return respond(error_response(
              409, "declared_in_config",
              "endpoint '" + id +
                  "' is declared in the configuration file; change it there and reload "
                  "(SIGHUP)"));
        }
        const std::string old_url = e.settings.url;
        // Validated above on its own; now against the current settings (e.g. a new
        // initial_delay must not exceed the current max_delay).
        if (auto problem = read_settings(body, e.settings)) return respond(std::move(*problem));
        auto save = [&ctx, id, account, settings = e.settings, enabled,
                     was_enabled = e.enabled()](Respond respond) mutable {
          ctx.store.update_endpoint(
              account, id, std::move(settings), ctx.clock.now_ms(),
              [&ctx, enabled, was_enabled,
               respond = std::move(respond)](Result<EndpointRecord> r) mutable {
                if (!r.ok()) return respond(error_response(r.error()));
                logger().info("endpoint={} account={} updated", r->id, r->account_id);
                if (enabled && *enabled != was_enabled) {
                  return set_state(ctx, r->account_id, r->id,
                                   *enabled ? DisabledReason::kNone : DisabledReason::kManual,
                                   std::string(*enabled ? std::string_view() : kDisabledByApi),
                                   std::move(respond));
                }
                answer_endpoint(ctx, respond, 200, *r);
              });
        };
        if (e.settings.url != old_url) {
          std::string url = e.settings.url;
          return check_url(ctx, url, std::move(respond), std::move(save));
        }
        save(std::move(respond));
      });
}

void with_target_of_kind(Context& ctx, const std::string& account, const std::string& id,
                         EndpointKind kind, Respond respond,
                         std::function<void(EndpointRecord, Respond)> then) {
  ctx.store.get_endpoint(
      account, id,
      [kind, id, respond = std::move(respond),
       then = std::move(then)](Result<std::optional<EndpointRecord>> r) mutable {
        if (!r.ok()) return respond(error_response(r.error()));
        if (!r->has_value() || (**r).kind != kind) {
          const char* what = kind == EndpointKind::kEndpoint ? "endpoint" : "destination";
          return respond(error_response(404, "not_found",
                                        std::string("no ") + what + " with id '" + id + "'"));
        }
        then(std::move(**r), std::move(respond));
      });
}

void delete_target(Context& ctx, const std::string& account, const std::string& id,
                   EndpointKind kind, Respond respond) {
  with_target_of_kind(ctx, account, id, kind, std::move(respond),
                      [&ctx, account, id](EndpointRecord, Respond respond) {
                        ctx.store.delete_endpoint(
                            account, id, ctx.clock.now_ms(),
                            [&ctx, id, respond = std::move(respond)](Result<int> r) {
                              if (!r.ok()) return respond(error_response(r.error()));
                              ctx.dispatcher.remove_target(id);
                              logger().info("endpoint={} deleted cancelled={}", id, *r);
                              Response res;
                              res.status = 204;
                              respond(std::move(res));
                            });
                      });
}

void delete_endpoint(Context& ctx, Request req, const Params& params, Respond respond) {
  delete_target(ctx, account_of(req), params.at(0), EndpointKind::kEndpoint, std::move(respond));
}

void enable_endpoint(Context& ctx, Request req, const Params& params, Respond respond) {
  const std::string account = account_of(req);
  with_target_of_kind(ctx, account, params.at(0), EndpointKind::kEndpoint, std::move(respond),
                      [&ctx, account](EndpointRecord e, Respond respond) {
                        set_state(ctx, account, e.id, DisabledReason::kNone, "",
                                  std::move(respond));
                      });
}

void disable_endpoint(Context& ctx, Request req, const Params& params, Respond respond) {
  std::string reason(kDisabledByApi);
  if (!req.body.empty()) {
    Response error;
    auto body = parse_object(req, error);
    if (!body) return respond(std::move(error));
    if (auto unknown = unknown_member(*body, {"reason"})) {
      return respond(field_error(*unknown, "unknown field"));
    }
    std::optional<Response> err;
    auto text = string_member(*body, "reason", err);
    if (err) return respond(std::move(*err));
    if (text) {
      if (text->size() > 500 || has_control_chars(*text)) {
        return respond(field_error("reason", "must be at most 500 printable characters"));
      }
      reason = std::move(*text);
    }
  }
  const std::string account = account_of(req);
  with_target_of_kind(
      ctx, account, params.at(0), EndpointKind::kEndpoint, std::move(respond),
      [&ctx, account, reason = std::move(reason)](EndpointRecord e, Respond respond) mutable {
        set_state(ctx, account, e.id, DisabledReason::kManual, std::move(reason),
                  std::move(respond));
      });
}

}  // namespace korehook::api
