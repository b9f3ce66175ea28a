// `korehook send` and `korehook events ...`.

#include <boost/json/value.hpp>

#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace korehook::cli {
namespace json = boost::json;

namespace {

Result<ApiRequest> build_send(const Args& args) {
  const auto type = args.get("type");
  if (!type) return usage_error("missing --type T (the event type, e.g. sim.activated)");
  if (type->empty()) return usage_error("--type must not be empty");

  const auto data = args.get("data");
  const auto body = args.get("body");
  const auto content_type = args.get("content-type");
  if (data && body) return usage_error("give either --data or --body, not both");
  if (!data && !body) {
    return usage_error("missing the payload: --data JSON, or --body TEXT --content-type CT");
  }
  if (data && content_type) {
    return usage_error("--content-type goes with --body (a --data event is application/json)");
  }
  if (body && !content_type) return usage_error("--body needs --content-type CT");

  std::string out = "{\"type\":" + json_quote(*type);
  if (data) {
    if (auto valid = validate_json("data", *data); !valid) return valid.error();
    // The text goes in as given (not re-serialized): the daemon minifies it and keeps key
    // order and number spelling, so what the receiver gets is what the producer wrote.
    out += ",\"data\":";
    out += *data;
  } else {
    out += ",\"body\":" + json_quote(*body) + ",\"content_type\":" + json_quote(*content_type);
  }
  if (const auto key = args.get("idempotency-key")) {
    out += ",\"idempotency_key\":" + json_quote(*key);
  }
  if (const auto url = args.get("callback-url")) {
    if (url->empty()) return usage_error("--callback-url must not be empty");
    out += ",\"callback_url\":" + json_quote(*url);
  }
  out += '}';
  return ApiRequest{"POST", with_query("/v1/events", {{"account", args.get("account")}}),
                    std::move(out)};
}

std::string render_send(const json::value& answer) {
  const json::value* duplicate = member(answer, "duplicate");
  const bool is_duplicate = duplicate && duplicate->is_bool() && duplicate->get_bool();
  return field(answer, "id") +
         (is_duplicate ? " (duplicate of an earlier submission)\n" : " accepted\n");
}

Result<ApiRequest> build_events_get(const Args& args) {
  return ApiRequest{"GET",
                    with_query("/v1/events/" + path_segment(args.operands.at(0)),
                               {{"account", args.get("account")}}),
                    {}};
}

std::string render_event(const json::value& event) {
  std::vector<Row> about = {
      {"Event", field(event, "id")},
      {"Type", field(event, "type")},
      {"Account", field(event, "account")},
      {"Created at", field(event, "created_at")},
      {"Content type", field(event, "content_type")},
  };
  if (has_field(event, "idempotency_key")) {
    about.push_back({"Idempotency key", field(event, "idempotency_key")});
  }
  std::string out = format_table({}, about);

  const auto deliveries = elements(event, "deliveries");
  if (deliveries.empty()) {
    out += "\nNo deliveries (no endpoint matched this event).\n";
    return out;
  }
  std::vector<Row> rows;
  for (const json::value* d : deliveries) {
    rows.push_back({field(*d, "id"), delivery_target(*d), field(*d, "state"),
                    field(*d, "attempt_count"), field(*d, "next_attempt_at")});
  }
  out += "\nDeliveries (" + std::to_string(deliveries.size()) + "):\n";
  out += format_table({"ID", "ENDPOINT", "STATE", "ATTEMPTS", "NEXT ATTEMPT"}, rows);

  for (const json::value* d : deliveries) {
    const std::string attempts = format_attempts(*d, 2);
    out += "\nAttempts of " + field(*d, "id") + ":" + (attempts.empty() ? " none yet\n" : "\n");
    out += attempts;
  }
  return out;
}

}  // namespace

void register_event_commands(std::vector<CommandSpec>& out) {
  out.push_back(CommandSpec{
      .path = "send",
      .synopsis = "send --type T (--data JSON | --body TEXT --content-type CT) "
                  "[--idempotency-key K] [--callback-url URL] [--account A]",
      .summary = "Submit an event for delivery",
      .details = "With --data the payload is JSON (checked here, sent minified as "
                 "application/json); with --body it is sent as given with --content-type. "
                 "Submitting again with the same --idempotency-key returns the first event. "
                 "With --callback-url the event is delivered to that https URL only (once, "
                 "with retries, signed with the account's active secret) instead of to the "
                 "endpoints whose filter matches.",
      .operands = {},
      .flags = {{"type", "T", "Event type, e.g. sim.activated"},
                {"data", "JSON", "JSON payload"},
                {"body", "TEXT", "Non-JSON payload (needs --content-type)"},
                {"content-type", "CT",
                 "Content type of --body, e.g. "
                 "application/x-www-form-urlencoded"},
                {"idempotency-key", "K", "Producer key: a repeat returns the original event"},
                {"callback-url", "URL", "Deliver to this https URL only, not to the endpoints"},
                kAccountFlag},
      .build = build_send,
      .render = render_send,
  });
  out.push_back(CommandSpec{
      .path = "events get",
      .synopsis = "events get ID [--account A]",
      .summary = "Show an event with its deliveries and their attempts",
      .details = {},
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_events_get,
      .render = render_event,
  });
}

}  // namespace korehook::cli
