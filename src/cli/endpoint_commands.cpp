// `korehook endpoints ...`: the HTTPS targets that events fan out to.

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "korehook/model/endpoint.hpp"
#include "korehook/util/encoding.hpp"

namespace korehook::cli {
namespace json = boost::json;

namespace {

constexpr double kMaxRateLimit = 100'000;

}  // namespace

// --header 'Name: value' -> {name, value}: the name an HTTP token, the value without its
// surrounding blanks and free of control characters (no header injection).
Result<std::pair<std::string, std::string>> parse_header(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  auto bad = [&](std::string_view why) {
    return usage_error("--header must be 'Name: value' (" + std::string(why) + "), not '" +
                       display(text) + "'");
  };
  if (colon == std::string_view::npos) return bad("no ':'");
  if (name.empty()) return bad("empty name");
  for (char c : name) {
    if (!is_token_char(c)) return bad("the name may not contain '" + display({&c, 1}) + "'");
  }
  std::string_view value = text.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return bad("control character in the value");
  }
  return std::pair{std::string(name), std::string(value)};
}

namespace {

// --rate-limit: requests per second, > 0 and <= 100000. A whole number goes out as a JSON
// integer, anything else as a double.
Result<json::value> parse_rate_limit(std::string_view text) {
  const char* end = text.data() + text.size();
  long long whole = 0;
  if (auto [ptr, ec] = std::from_chars(text.data(), end, whole);
      ec == std::errc{} && ptr == end && whole > 0 && whole <= kMaxRateLimit) {
    return json::value(whole);
  }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
  if (ec == std::errc{} && ptr == end && std::isfinite(value) && value > 0 &&
      value <= kMaxRateLimit) {
    return json::value(value);
  }
  return usage_error(
      "--rate-limit must be a number of requests per second above 0 and at most 100000, not '" +
      std::string(text) + "'");
}

// --signatures kore,standard -> ["kore", "standard"].
Result<json::array> parse_signatures(std::string_view text) {
  json::array out;
  std::string_view rest = text;
  for (;;) {
    const auto comma = rest.find(',');
    const std::string_view scheme = rest.substr(0, comma);
    if (scheme != "kore" && scheme != "standard") {
      return usage_error(
          "--signatures must be a comma-separated list of kore and standard (e.g. "
          "kore,standard), not '" +
          std::string(text) + "'");
    }
    for (const json::value& seen : out) {
      if (seen.get_string() == scheme) {
        return usage_error("--signatures names '" + std::string(scheme) + "' twice");
      }
    }
    out.emplace_back(scheme);
    if (comma == std::string_view::npos) return out;
    rest.remove_prefix(comma + 1);
  }
}

// Adds `"key": "<duration>"` to `body` when --flag was given, after checking it.
Result<Unit> add_duration(json::object& body, std::string_view key, const Args& args,
                          std::string_view flag) {
  const auto text = args.get(flag);
  if (!text) return Unit{};
  if (auto d = parse_duration_flag(flag, *text); !d) return d.error();
  body[key] = *text;
  return Unit{};
}

Result<Unit> add_positive(json::object& body, std::string_view key, const Args& args,
                          std::string_view flag) {
  const auto text = args.get(flag);
  if (!text) return Unit{};
  auto n = parse_positive(flag, *text);
  if (!n) return n.error();
  body[key] = static_cast<std::uint64_t>(*n);
  return Unit{};
}

// The endpoint properties given as flags, as the members of a create or update body (only
// those given: an update changes nothing else). Usage errors name the flag.
Result<json::object> endpoint_fields(const Args& args) {
  json::object body;
  if (const auto url = args.get("url")) {
    if (url->empty()) return usage_error("--url must not be empty");
    body["url"] = *url;
  }
  if (const auto description = args.get("description")) body["description"] = *description;
  if (args.has("event-type")) {
    json::array types;
    for (const std::string& type : args.all("event-type")) {
      if (type.empty()) return usage_error("--event-type must not be empty");
      types.emplace_back(type);
    }
    body["event_types"] = std::move(types);
  }
  if (args.has("header")) {
    json::object headers;
    std::vector<std::string> seen;
    for (const std::string& text : args.all("header")) {
      auto header = parse_header(text);
      if (!header) return header.error();
      // Header names are case-insensitive: two spellings of one name are one header.
      std::string key = ascii_lowercase(header->first);
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        return usage_error("--header '" + header->first + "' given twice");
      }
      seen.push_back(std::move(key));
      headers[header->first] = header->second;
    }
    body["headers"] = std::move(headers);
  }
  for (const auto& [key, flag] : {std::pair{"connect_timeout", "connect-timeout"},
                                  std::pair{"read_timeout", "read-timeout"}}) {
    if (auto r = add_duration(body, key, args, flag); !r) return r.error();
  }
  json::object retry;
  if (auto r = add_positive(retry, "max_attempts", args, "max-attempts"); !r) return r.error();
  if (auto r = add_duration(retry, "initial_delay", args, "initial-delay"); !r) return r.error();
  if (auto r = add_duration(retry, "max_delay", args, "max-delay"); !r) return r.error();
  if (!retry.empty()) body["retry"] = std::move(retry);
  if (auto r = add_positive(body, "max_in_flight", args, "max-in-flight"); !r) return r.error();

  if (args.has("rate-limit") && args.has("no-rate-limit")) {
    return usage_error("give either --rate-limit or --no-rate-limit, not both");
  }
  if (const auto text = args.get("rate-limit")) {
    auto rate = parse_rate_limit(*text);
    if (!rate) return rate.error();
    body["rate_limit"] = std::move(*rate);
  }
  if (args.has("no-rate-limit")) body["rate_limit"] = nullptr;

  if (const auto signatures = args.get("signatures")) {
    auto schemes = parse_signatures(*signatures);
    if (!schemes) return schemes.error();
    body["signatures"] = std::move(*schemes);
  }

  if (args.has("ca-file") && args.has("no-ca-file")) {
    return usage_error("give either --ca-file or --no-ca-file, not both");
  }
  if (const auto ca_file = args.get("ca-file")) {
    // The daemon opens the file, from its own working directory: a relative path would name
    // another file there.
    if (!ca_file->starts_with('/')) {
      return usage_error("--ca-file must be an absolute path (korehookd reads it), not '" +
                         std::string(*ca_file) + "'");
    }
    body["ca_file"] = *ca_file;
  }
  if (args.has("no-ca-file")) body["ca_file"] = nullptr;
  return body;
}

std::string endpoint_target(const Args& args, std::string_view action = {}) {
  std::string path = "/v1/endpoints/";
  path += path_segment(args.operands.at(0));
  if (!action.empty()) path.append("/").append(action);
  return with_query(std::move(path), {{"account", args.get("account")}});
}

Result<ApiRequest> build_create(const Args& args) {
  if (!args.has("url")) return usage_error("missing --url URL (the https URL to deliver to)");
  auto body = endpoint_fields(args);
  if (!body) return body.error();
  if (const auto id = args.get("id")) {
    if (auto valid = check_id("--id", *id); !valid) return valid.error();
    // First in the body, for a readable request log.
    json::object with_id;
    with_id["id"] = *id;
    for (auto& member : *body) with_id[member.key()] = std::move(member.value());
    *body = std::move(with_id);
  }
  if (args.has("disabled")) (*body)["enabled"] = false;
  return ApiRequest{"POST", with_query("/v1/endpoints", {{"account", args.get("account")}}),
                    json::serialize(*body)};
}

Result<ApiRequest> build_update(const Args& args) {
  auto body = endpoint_fields(args);
  if (!body) return body.error();
  if (body->empty()) {
    return usage_error("nothing to change: give at least one property (e.g. --url, --event-type)");
  }
  return ApiRequest{"PATCH", endpoint_target(args), json::serialize(*body)};
}

Result<ApiRequest> build_list(const Args& args) {
  auto target = page_target("/v1/endpoints", args);
  if (!target) return target.error();
  return ApiRequest{"GET", std::move(*target), {}};
}

Result<ApiRequest> build_get(const Args& args) {
  return ApiRequest{"GET", endpoint_target(args), {}};
}

Result<ApiRequest> build_delete(const Args& args) {
  return ApiRequest{"DELETE", endpoint_target(args), {}};
}

Result<ApiRequest> build_enable(const Args& args) {
  return ApiRequest{"POST", endpoint_target(args, "enable"), {}};
}

Result<ApiRequest> build_test(const Args& args) {
  return ApiRequest{"POST", endpoint_target(args, "test"), {}};
}

Result<ApiRequest> build_disable(const Args& args) {
  json::object body;
  if (const auto reason = args.get("reason")) body["reason"] = *reason;
  return ApiRequest{"POST", endpoint_target(args, "disable"), json::serialize(body)};
}

// "enabled", or "disabled (manual: maintenance window)".
std::string endpoint_state(const json::value& endpoint) {
  const json::value* enabled = member(endpoint, "enabled");
  if (enabled && enabled->is_bool() && enabled->get_bool()) return "enabled";
  if (!enabled || !enabled->is_bool()) return "-";
  std::string out = "disabled";
  if (has_field(endpoint, "disabled_reason")) {
    out += " (" + field(endpoint, "disabled_reason");
    const json::value* detail = member(endpoint, "disabled_detail");
    if (detail && detail->is_string() && !detail->get_string().empty()) {
      out += ": " + first_line(detail->get_string(), 80);
    }
    out += ")";
  }
  return out;
}

std::string render_endpoint(const json::value& endpoint) {
  std::vector<Row> rows = {
      {"Endpoint", field(endpoint, "id")},
      {"URL", field(endpoint, "url")},
  };
  if (has_field(endpoint, "description")) {
    rows.push_back({"Description", field(endpoint, "description")});
  }
  const json::value* retry = member(endpoint, "retry");
  const json::value& r = retry ? *retry : endpoint;  // missing: every retry field reads `-`
  const std::string rate = field(endpoint, "rate_limit");
  rows.insert(rows.end(),
              {
                  {"Account", field(endpoint, "account")},
                  {"State", endpoint_state(endpoint)},
                  {"Event types", joined(endpoint, "event_types")},
                  {"Signatures", joined(endpoint, "signatures")},
                  {"Connect timeout", field(endpoint, "connect_timeout")},
                  {"Read timeout", field(endpoint, "read_timeout")},
                  {"Max attempts", field(r, "max_attempts")},
                  {"Initial delay", field(r, "initial_delay")},
                  {"Max delay", field(r, "max_delay")},
                  {"Max in flight", field(endpoint, "max_in_flight")},
                  {"Rate limit", rate == "-" ? "none" : rate + "/s"},
                  {"CA file", has_field(endpoint, "ca_file") ? field(endpoint, "ca_file")
                                                             : "system trust store"},
              });
  const json::value* headers = member(endpoint, "headers");
  if (const json::object* h = headers ? headers->if_object() : nullptr) {
    bool first = true;
    for (const auto& header : *h) {
      rows.push_back({first ? "Headers" : "",
                      display(header.key()) + ": " +
                          (header.value().is_string() ? display(header.value().get_string())
                                                      : display(json::serialize(header.value())))});
      first = false;
    }
  }
  rows.insert(rows.end(), {{"Source", field(endpoint, "source")},
                           {"Created at", field(endpoint, "created_at")},
                           {"Updated at", field(endpoint, "updated_at")}});
  return format_table({}, rows);
}

std::string render_created(const json::value& endpoint) {
  std::string out = render_endpoint(endpoint);
  const json::value* headers = member(endpoint, "headers");
  if (headers && headers->is_object() && !headers->get_object().empty()) {
    out += "\nHeader values are shown only now: later answers redact them.\n";
  }
  return out;
}

std::string render_list(const json::value& page) {
  const auto endpoints = elements(page, "data");
  if (endpoints.empty()) return "No endpoints.\n" + next_cursor_hint(page);
  std::vector<Row> rows;
  for (const json::value* e : endpoints) {
    rows.push_back({field(*e, "id"), endpoint_state(*e), joined(*e, "event_types"),
                    field(*e, "source"), field(*e, "url")});
  }
  return format_table({"ID", "STATE", "EVENT TYPES", "SOURCE", "URL"}, rows) +
         next_cursor_hint(page);
}

std::string render_deleted(const json::value& /*no content*/) {
  return "Endpoint deleted; its pending deliveries are cancelled.\n";
}

std::string render_state(const json::value& endpoint) {
  return "Endpoint " + field(endpoint, "id") + " is " + endpoint_state(endpoint) + ".\n";
}

// The property flags shared by create and update.
std::vector<FlagSpec> property_flags(bool create) {
  std::vector<FlagSpec> flags = {
      {"url", "URL", "https URL to deliver to"},
      {"description", "TEXT", "Free text for operators"},
      {"event-type", "PATTERN",
       "Event types to receive: a type (sim.activated), a prefix (sim.*) or *; default *", true},
      {"header", "'NAME: VALUE'",
       create ? "Static header sent with every delivery, e.g. 'X-Api-Key: abc'"
              : "Static header; the given set replaces all headers",
       true},
      {"connect-timeout", "DURATION", "Connect timeout, e.g. 5s"},
      {"read-timeout", "DURATION", "Read timeout (waiting for the answer), e.g. 15s"},
      {"max-attempts", "N", "Give up after N attempts"},
      {"initial-delay", "DURATION", "Delay before the first retry (grows exponentially)"},
      {"max-delay", "DURATION", "Longest delay between two attempts"},
      {"max-in-flight", "N", "Concurrent requests to this endpoint at most"},
      {"rate-limit", "RPS", "Requests per second at most, e.g. 50 or 0.5"},
      {"signatures", "LIST", "Signature schemes: kore, standard or kore,standard"},
      {"ca-file", "PATH", "CA bundle (absolute path) to verify the endpoint with"},
  };
  if (create) {
    flags.insert(flags.begin() + 1,
                 FlagSpec{"id", "ID", "Endpoint id (A-Z a-z 0-9 _ -); default: ep_..."});
    flags.push_back(FlagSpec{"disabled", "", "Create it disabled"});
  } else {
    flags.push_back(FlagSpec{"no-rate-limit", "", "Remove the rate limit"});
    flags.push_back(FlagSpec{"no-ca-file", "", "Verify with the system trust store again"});
  }
  flags.push_back(kAccountFlag);
  return flags;
}

}  // namespace

void register_endpoint_commands(std::vector<CommandSpec>& out) {
  out.push_back(CommandSpec{
      .path = "endpoints list",
      .synopsis = "endpoints list [--limit N] [--cursor C] [--account A]",
      .summary = "List endpoints, oldest first",
      .details = {},
      .operands = {},
      .flags = {kLimitFlag, kCursorFlag, kAccountFlag},
      .build = build_list,
      .render = render_list,
  });
  out.push_back(CommandSpec{
      .path = "endpoints get",
      .synopsis = "endpoints get ID [--account A]",
      .summary = "Show an endpoint",
      .details = "Header values are redacted: the daemon shows them only when the endpoint is "
                 "created.",
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_get,
      .render = render_endpoint,
  });
  out.push_back(CommandSpec{
      .path = "endpoints create",
      .synopsis = "endpoints create --url URL [--id ID] [--event-type PATTERN]... "
                  "[--header 'NAME: VALUE']... [options] [--account A]",
      .summary = "Create an endpoint",
      .details = "Every matching event of the account is delivered to the URL, signed, with "
                 "retries. Options not given take the daemon's defaults (connect timeout 5s, "
                 "read timeout 15s, both signature schemes, every event type).",
      .operands = {},
      .flags = property_flags(true),
      .build = build_create,
      .render = render_created,
  });
  out.push_back(CommandSpec{
      .path = "endpoints update",
      .synopsis = "endpoints update ID [--url URL] [--event-type PATTERN]... "
                  "[--header 'NAME: VALUE']... [options] [--account A]",
      .summary = "Change some properties of an endpoint",
      .details = "Only the properties given change. --event-type and --header replace the "
                 "whole list (give every value). Endpoints declared in the YAML config cannot "
                 "be changed here.",
      .operands = {"ID"},
      .flags = property_flags(false),
      .build = build_update,
      .render = render_endpoint,
  });
  out.push_back(CommandSpec{
      .path = "endpoints delete",
      .synopsis = "endpoints delete ID [--account A]",
      .summary = "Delete an endpoint (its pending deliveries are cancelled)",
      .details = "Endpoints declared in the YAML config cannot be deleted here; disable them "
                 "or remove them from the config.",
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_delete,
      .render = render_deleted,
  });
  out.push_back(CommandSpec{
      .path = "endpoints enable",
      .synopsis = "endpoints enable ID [--account A]",
      .summary = "Enable an endpoint (its waiting deliveries resume)",
      .details = {},
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_enable,
      .render = render_state,
  });
  out.push_back(CommandSpec{
      .path = "endpoints disable",
      .synopsis = "endpoints disable ID [--reason TEXT] [--account A]",
      .summary = "Disable an endpoint (its deliveries wait until it is enabled)",
      .details = {},
      .operands = {"ID"},
      .flags = {{"reason", "TEXT", "Why, for other operators"}, kAccountFlag},
      .build = build_disable,
      .render = render_state,
  });
  out.push_back(CommandSpec{
      .path = "endpoints test",
      .synopsis = "endpoints test ID [--account A]",
      .summary = "Send a test event to an endpoint now and show the outcome",
      .details = "Sends one com.kore.eventstreams.test.event CloudEvent, signed like a real "
                 "delivery; nothing is stored or retried.",
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_test,
      .render = render_test_result,
      .succeeded = test_succeeded,
  });
}

}  // namespace korehook::cli
