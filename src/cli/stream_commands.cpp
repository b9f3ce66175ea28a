// `korehook destinations ...` and `korehook rules ...`: Event Streams (SPEC §2.3).

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>

#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace korehook::cli {
namespace json = boost::json;

namespace {

std::string target_of(std::string_view collection, const Args& args, std::string_view action = {}) {
  std::string path = "/v1/" + std::string(collection) + "/" + path_segment(args.operands.at(0));
  if (!action.empty()) path += "/" + std::string(action);
  return with_query(std::move(path), {{"account", args.get("account")}});
}

std::string collection_target(std::string_view collection, const Args& args) {
  return with_query("/v1/" + std::string(collection), {{"account", args.get("account")}});
}

// Puts `id` first in `body` (a readable request log) after checking it.
Result<Unit> add_id(json::object& body, const Args& args) {
  const auto id = args.get("id");
  if (!id) return Unit{};
  if (auto valid = check_id("--id", *id); !valid) return valid.error();
  json::object with_id;
  with_id["id"] = *id;
  for (auto& m : body) with_id[m.key()] = std::move(m.value());
  body = std::move(with_id);
  return Unit{};
}

// --- destinations

Result<json::object> destination_fields(const Args& args) {
  json::object body;
  if (const auto name = args.get("name")) body["name"] = *name;
  if (const auto url = args.get("url")) {
    if (url->empty()) return usage_error("--url must not be empty");
    body["url"] = *url;
  }
  if (const auto timeout = args.get("request-timeout")) {
    if (auto d = parse_duration_flag("request-timeout", *timeout); !d) return d.error();
    body["timeout"] = *timeout;
  }
  json::object retry;
  if (const auto n = args.get("max-attempts")) {
    auto parsed = parse_positive("max-attempts", *n, 100);
    if (!parsed) return parsed.error();
    retry["max_attempts"] = static_cast<std::uint64_t>(*parsed);
  }
  for (const auto& [key, flag] :
       {std::pair{"initial_delay", "initial-delay"}, std::pair{"max_delay", "max-delay"}}) {
    if (const auto text = args.get(flag)) {
      if (auto d = parse_duration_flag(flag, *text); !d) return d.error();
      retry[key] = *text;
    }
  }
  if (!retry.empty()) body["retry"] = std::move(retry);
  if (args.has("header")) {
    json::object headers;
    for (const std::string& text : args.all("header")) {
      auto header = parse_header(text);
      if (!header) return header.error();
      if (headers.contains(header->first)) {
        return usage_error("--header '" + header->first + "' given twice");
      }
      headers[header->first] = header->second;
    }
    body["headers"] = std::move(headers);
  }
  if (args.has("enabled") && args.has("disabled")) {
    return usage_error("give either --enabled or --disabled, not both");
  }
  if (args.has("enabled")) body["enabled"] = true;
  if (args.has("disabled")) body["enabled"] = false;
  return body;
}

Result<ApiRequest> build_destination_create(const Args& args) {
  if (!args.has("name")) return usage_error("missing --name NAME");
  if (!args.has("url")) return usage_error("missing --url URL (the https URL to deliver to)");
  auto body = destination_fields(args);
  if (!body) return body.error();
  body->emplace("type", "webhook");
  if (auto r = add_id(*body, args); !r) return r.error();
  return ApiRequest{"POST", collection_target("destinations", args), json::serialize(*body)};
}

Result<ApiRequest> build_destination_update(const Args& args) {
  auto body = destination_fields(args);
  if (!body) return body.error();
  if (body->empty()) return usage_error("nothing to change: give at least one property");
  return ApiRequest{"PATCH", target_of("destinations", args), json::serialize(*body)};
}

Result<ApiRequest> build_destination_list(const Args& args) {
  auto target = page_target("/v1/destinations", args);
  if (!target) return target.error();
  return ApiRequest{"GET", std::move(*target), {}};
}

Result<ApiRequest> build_destination_get(const Args& args) {
  return ApiRequest{"GET", target_of("destinations", args), {}};
}

Result<ApiRequest> build_destination_delete(const Args& args) {
  return ApiRequest{"DELETE", target_of("destinations", args), {}};
}

Result<ApiRequest> build_destination_test(const Args& args) {
  return ApiRequest{"POST", target_of("destinations", args, "test"), {}};
}

std::string enabled_text(const json::value& v) {
  const json::value* enabled = member(v, "enabled");
  if (!enabled || !enabled->is_bool()) return "-";
  if (enabled->get_bool()) return "enabled";
  return has_field(v, "disabled_reason") ? "disabled (" + field(v, "disabled_reason") + ")"
                                         : "disabled";
}

std::string render_destination(const json::value& d) {
  const json::value* retry = member(d, "retry");
  const json::value& r = retry ? *retry : d;
  std::vector<Row> rows = {
      {"Destination", field(d, "id")},
      {"Name", field(d, "name")},
      {"Type", field(d, "type")},
      {"URL", field(d, "url")},
      {"Account", field(d, "account")},
      {"State", enabled_text(d)},
      {"Timeout", field(d, "timeout")},
      {"Max attempts", field(r, "max_attempts")},
      {"Initial delay", field(r, "initial_delay")},
      {"Max delay", field(r, "max_delay")},
  };
  const json::value* headers = member(d, "headers");
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
  if (member(d, "rules") != nullptr) {
    const auto rules = elements(d, "rules");
    std::string text;
    for (const json::value* rule : rules) {
      if (!text.empty()) text += ", ";
      text += field(*rule, "id") + " (" + field(*rule, "status") + ")";
    }
    rows.push_back({"Rules", rules.empty() ? "none" : text});
  }
  rows.insert(rows.end(), {{"Source", field(d, "source")},
                           {"Created at", field(d, "created_at")},
                           {"Updated at", field(d, "updated_at")}});
  return format_table({}, rows);
}

std::string render_destination_list(const json::value& page) {
  const auto items = elements(page, "data");
  if (items.empty()) return "No destinations.\n" + next_cursor_hint(page);
  std::vector<Row> rows;
  for (const json::value* d : items) {
    rows.push_back({field(*d, "id"), field(*d, "name"), enabled_text(*d), field(*d, "source"),
                    field(*d, "url")});
  }
  return format_table({"ID", "NAME", "STATE", "SOURCE", "URL"}, rows) + next_cursor_hint(page);
}

std::string render_destination_deleted(const json::value&) {
  return "Destination deleted; its pending deliveries are cancelled.\n";
}

// --- rules

Result<json::object> rule_fields(const Args& args) {
  json::object body;
  if (const auto name = args.get("name")) body["name"] = *name;
  if (const auto destination = args.get("destination")) {
    if (auto valid = check_id("--destination", *destination); !valid) return valid.error();
    body["destination"] = *destination;
  }
  if (args.has("event-type")) {
    json::array types;
    for (const std::string& type : args.all("event-type")) {
      if (type.empty()) return usage_error("--event-type must not be empty");
      types.emplace_back(type);
    }
    body["event_types"] = std::move(types);
  }
  if (args.has("schema-version") && args.has("no-schema-version")) {
    return usage_error("give either --schema-version or --no-schema-version, not both");
  }
  if (const auto version = args.get("schema-version")) body["schema_version"] = *version;
  if (args.has("no-schema-version")) body["schema_version"] = nullptr;
  if (args.has("disabled")) body["status"] = "disabled";
  return body;
}

Result<ApiRequest> build_rule_create(const Args& args) {
  if (!args.has("name")) return usage_error("missing --name NAME");
  if (!args.has("destination")) return usage_error("missing --destination ID");
  if (!args.has("event-type")) return usage_error("missing --event-type PATTERN");
  auto body = rule_fields(args);
  if (!body) return body.error();
  if (auto r = add_id(*body, args); !r) return r.error();
  return ApiRequest{"POST", collection_target("rules", args), json::serialize(*body)};
}

Result<ApiRequest> build_rule_update(const Args& args) {
  auto body = rule_fields(args);
  if (!body) return body.error();
  if (body->empty()) return usage_error("nothing to change: give at least one property");
  return ApiRequest{"PATCH", target_of("rules", args), json::serialize(*body)};
}

Result<ApiRequest> build_rule_status(const Args& args, std::string_view status) {
  json::object body;
  body["status"] = status;
  return ApiRequest{"PATCH", target_of("rules", args), json::serialize(body)};
}

Result<ApiRequest> build_rule_enable(const Args& args) {
  return build_rule_status(args, "enabled");
}
Result<ApiRequest> build_rule_disable(const Args& args) {
  return build_rule_status(args, "disabled");
}

Result<ApiRequest> build_rule_list(const Args& args) {
  auto target = page_target("/v1/rules", args, {{"destination", args.get("destination")}});
  if (!target) return target.error();
  return ApiRequest{"GET", std::move(*target), {}};
}

Result<ApiRequest> build_rule_get(const Args& args) {
  return ApiRequest{"GET", target_of("rules", args), {}};
}

Result<ApiRequest> build_rule_delete(const Args& args) {
  return ApiRequest{"DELETE", target_of("rules", args), {}};
}

std::string render_rule(const json::value& r) {
  return format_table({}, {
                              {"Rule", field(r, "id")},
                              {"Name", field(r, "name")},
                              {"Status", field(r, "status")},
                              {"Destination", field(r, "destination")},
                              {"Event types", joined(r, "event_types")},
                              {"Schema version", field(r, "schema_version")},
                              {"Account", field(r, "account")},
                              {"Source", field(r, "source")},
                              {"Created at", field(r, "created_at")},
                              {"Updated at", field(r, "updated_at")},
                          });
}

std::string render_rule_list(const json::value& page) {
  const auto items = elements(page, "data");
  if (items.empty()) return "No rules.\n" + next_cursor_hint(page);
  std::vector<Row> rows;
  for (const json::value* r : items) {
    rows.push_back({field(*r, "id"), field(*r, "name"), field(*r, "status"),
                    field(*r, "destination"), joined(*r, "event_types")});
  }
  return format_table({"ID", "NAME", "STATUS", "DESTINATION", "EVENT TYPES"}, rows) +
         next_cursor_hint(page);
}

std::string render_rule_state(const json::value& r) {
  return "Rule " + field(r, "id") + " is " + field(r, "status") + ".\n";
}

std::string render_rule_deleted(const json::value&) { return "Rule deleted.\n"; }

std::vector<FlagSpec> destination_flags(bool create) {
  std::vector<FlagSpec> flags = {
      {"name", "NAME", "Name for operators"},
      {"url", "URL", "https URL to deliver batches to"},
      {"request-timeout", "DURATION", "Whole request at most this long (default 5s)"},
      {"max-attempts", "N", "Give up after N attempts (default 4: 3 retries)"},
      {"initial-delay", "DURATION", "Delay before the first retry (grows exponentially)"},
      {"max-delay", "DURATION", "Longest delay between two attempts"},
      {"header", "'NAME: VALUE'", "Static header sent with every request", true},
      {"disabled", "", create ? "Create it disabled" : "Disable it (batches wait)"},
  };
  if (create) {
    flags.insert(flags.begin(), FlagSpec{"id", "ID", "Destination id; default: dst_..."});
  } else {
    flags.push_back(FlagSpec{"enabled", "", "Enable it (waiting batches resume)"});
  }
  flags.push_back(kAccountFlag);
  return flags;
}

std::vector<FlagSpec> rule_flags(bool create) {
  std::vector<FlagSpec> flags = {
      {"name", "NAME", "Name for operators"},
      {"destination", "ID", "Destination the matching events go to"},
      {"event-type", "PATTERN", "Event types to route: a type, a prefix (sim.*) or *", true},
      {"schema-version", "V", "Schema version: dataschema becomes /schemas/<type>/<V>"},
      {"disabled", "", create ? "Create it disabled" : "Disable it"},
  };
  if (create) {
    flags.insert(flags.begin(), FlagSpec{"id", "ID", "Rule id; default: rul_..."});
  } else {
    flags.push_back(FlagSpec{"no-schema-version", "", "Send no dataschema"});
  }
  flags.push_back(kAccountFlag);
  return flags;
}

}  // namespace

bool test_succeeded(const json::value& answer) {
  const json::value* success = member(answer, "success");
  return success && success->is_bool() && success->get_bool();
}

std::string render_test_result(const json::value& answer) {
  const json::value* success = member(answer, "success");
  if (success && success->is_bool() && success->get_bool()) {
    return "Test event delivered: HTTP " + field(answer, "status") + " in " +
           field(answer, "duration_ms") + " ms (test_id " + field(answer, "test_id") + ").\n";
  }
  std::string out = "Test event failed: " + field(answer, "error");
  if (has_field(answer, "status")) out += " (HTTP " + field(answer, "status") + ")";
  if (has_field(answer, "detail")) out += ": " + first_line(field(answer, "detail"), 200);
  out += "\n";
  if (has_field(answer, "body_excerpt")) {
    out += "Answer body: " + first_line(field(answer, "body_excerpt"), 200) + "\n";
  }
  return out;
}

void register_stream_commands(std::vector<CommandSpec>& out) {
  out.push_back(CommandSpec{
      .path = "destinations list",
      .synopsis = "destinations list [--limit N] [--cursor C] [--account A]",
      .summary = "List Event Streams destinations",
      .details = {},
      .operands = {},
      .flags = {kLimitFlag, kCursorFlag, kAccountFlag},
      .build = build_destination_list,
      .render = render_destination_list,
  });
  out.push_back(CommandSpec{
      .path = "destinations get",
      .synopsis = "destinations get ID [--account A]",
      .summary = "Show a destination and the rules that feed it",
      .details = {},
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_destination_get,
      .render = render_destination,
  });
  out.push_back(CommandSpec{
      .path = "destinations create",
      .synopsis = "destinations create --name NAME --url URL [--id ID] [options] [--account A]",
      .summary = "Create a destination (type webhook)",
      .details = "Rules route events to it; they arrive as JSON arrays of CloudEvents, batched "
                 "per event type. Defaults: 5s timeout, 4 attempts.",
      .operands = {},
      .flags = destination_flags(true),
      .build = build_destination_create,
      .render = render_destination,
  });
  out.push_back(CommandSpec{
      .path = "destinations update",
      .synopsis = "destinations update ID [--name NAME] [--url URL] [options] [--account A]",
      .summary = "Change some properties of a destination",
      .details = {},
      .operands = {"ID"},
      .flags = destination_flags(false),
      .build = build_destination_update,
      .render = render_destination,
  });
  out.push_back(CommandSpec{
      .path = "destinations delete",
      .synopsis = "destinations delete ID [--account A]",
      .summary = "Delete a destination that no rule feeds",
      .details = {},
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_destination_delete,
      .render = render_destination_deleted,
  });
  out.push_back(CommandSpec{
      .path = "destinations test",
      .synopsis = "destinations test ID [--account A]",
      .summary = "Send a test event to a destination now and show the outcome",
      .details = "Sends a com.kore.eventstreams.test.event CloudEvent (source kore-events, "
                 "dataschema /schemas/test/1), signed like a real batch; nothing is stored.",
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_destination_test,
      .render = render_test_result,
      .succeeded = test_succeeded,
  });
  out.push_back(CommandSpec{
      .path = "rules list",
      .synopsis = "rules list [--destination ID] [--limit N] [--cursor C] [--account A]",
      .summary = "List streaming rules",
      .details = {},
      .operands = {},
      .flags = {{"destination", "ID", "Only the rules feeding this destination"},
                kLimitFlag,
                kCursorFlag,
                kAccountFlag},
      .build = build_rule_list,
      .render = render_rule_list,
  });
  out.push_back(CommandSpec{
      .path = "rules get",
      .synopsis = "rules get ID [--account A]",
      .summary = "Show a rule",
      .details = {},
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_rule_get,
      .render = render_rule,
  });
  out.push_back(CommandSpec{
      .path = "rules create",
      .synopsis = "rules create --name NAME --destination ID --event-type PATTERN... [options]",
      .summary = "Create a streaming rule",
      .details = {},
      .operands = {},
      .flags = rule_flags(true),
      .build = build_rule_create,
      .render = render_rule,
  });
  out.push_back(CommandSpec{
      .path = "rules update",
      .synopsis = "rules update ID [--name NAME] [--destination ID] [--event-type PATTERN]...",
      .summary = "Change some properties of a rule",
      .details = "--event-type replaces the whole list (give every value).",
      .operands = {"ID"},
      .flags = rule_flags(false),
      .build = build_rule_update,
      .render = render_rule,
  });
  out.push_back(CommandSpec{
      .path = "rules delete",
      .synopsis = "rules delete ID [--account A]",
      .summary = "Delete a rule",
      .details = {},
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_rule_delete,
      .render = render_rule_deleted,
  });
  out.push_back(CommandSpec{
      .path = "rules enable",
      .synopsis = "rules enable ID [--account A]",
      .summary = "Enable a rule: matching events are sent again",
      .details = {},
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_rule_enable,
      .render = render_rule_state,
  });
  out.push_back(CommandSpec{
      .path = "rules disable",
      .synopsis = "rules disable ID [--account A]",
      .summary = "Disable a rule: it sends nothing until enabled",
      .details = {},
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_rule_disable,
      .render = render_rule_state,
  });
}

}  // namespace korehook::cli
