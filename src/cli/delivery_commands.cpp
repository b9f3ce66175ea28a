// `korehook deliveries ...`: one payload to one target, its attempts, redelivery and replay.

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace korehook::cli {
namespace json = boost::json;

namespace {

const std::vector<std::string_view> kStates = {"pending", "in_flight", "delivered", "failed",
                                               "cancelled"};
// What a replay can start again: never what is still on its way.
const std::vector<std::string_view> kReplayStates = {"failed", "cancelled", "delivered"};

// The filters shared by list and replay, checked, as (API name, value) pairs.
Result<QueryParams> filters(const Args& args, const std::vector<std::string_view>& states) {
  const auto state = args.get("state");
  if (state) {
    if (auto valid = check_choice("state", *state, states); !valid) return valid.error();
  }
  return QueryParams{{"endpoint_id", args.get("endpoint")},
                     {"state", state},
                     {"event_type", args.get("event-type")},
                     {"since", args.get("since")},
                     {"until", args.get("until")}};
}

Result<ApiRequest> build_list(const Args& args) {
  auto params = filters(args, kStates);
  if (!params) return params.error();
  auto target = page_target("/v1/deliveries", args, std::move(*params));
  if (!target) return target.error();
  return ApiRequest{"GET", std::move(*target), {}};
}

std::string delivery_path(const Args& args, std::string_view action = {}) {
  std::string path = "/v1/deliveries/";
  path += path_segment(args.operands.at(0));
  if (!action.empty()) path.append("/").append(action);
  return with_query(std::move(path), {{"account", args.get("account")}});
}

Result<ApiRequest> build_get(const Args& args) {
  return ApiRequest{"GET", delivery_path(args), {}};
}

Result<ApiRequest> build_redeliver(const Args& args) {
  return ApiRequest{"POST", delivery_path(args, "redeliver"), {}};
}

Result<ApiRequest> build_replay(const Args& args) {
  auto params = filters(args, kReplayStates);
  if (!params) return params.error();
  json::object body;
  for (const auto& [key, value] : *params) {
    if (value) body[key] = *value;
  }
  return ApiRequest{"POST", with_query("/v1/deliveries/replay", {{"account", args.get("account")}}),
                    json::serialize(body)};
}

std::string render_list(const json::value& page) {
  const auto deliveries = elements(page, "data");
  if (deliveries.empty()) return "No deliveries.\n" + next_cursor_hint(page);
  std::vector<Row> rows;
  for (const json::value* d : deliveries) {
    rows.push_back({field(*d, "id"), field(*d, "event_type"), delivery_target(*d),
                    field(*d, "state"), field(*d, "attempt_count"), field(*d, "created_at"),
                    field(*d, "next_attempt_at")});
  }
  return format_table(
             {"ID", "EVENT TYPE", "TARGET", "STATE", "ATTEMPTS", "CREATED AT", "NEXT ATTEMPT"},
             rows) +
         next_cursor_hint(page);
}

std::string render_delivery(const json::value& delivery) {
  std::vector<Row> rows = {{"Delivery", field(delivery, "id")},
                           {"Event", field(delivery, "event_id")},
                           {"Event type", field(delivery, "event_type")},
                           {"Account", field(delivery, "account")}};
  if (has_field(delivery, "callback_url")) {
    rows.push_back({"Callback URL", field(delivery, "callback_url")});
  } else {
    rows.push_back({"Endpoint", field(delivery, "endpoint_id")});
  }
  rows.insert(rows.end(), {{"State", field(delivery, "state")},
                           {"Attempts", field(delivery, "attempt_count")},
                           {"Next attempt", field(delivery, "next_attempt_at")},
                           {"Token", field(delivery, "token")},
                           {"Created at", field(delivery, "created_at")},
                           {"Updated at", field(delivery, "updated_at")}});
  std::string out = format_table({}, rows);
  const std::string attempts = format_attempts(delivery, 2);
  out += attempts.empty() ? "\nNo attempts yet.\n" : "\nAttempts:\n" + attempts;
  return out;
}

std::string render_redeliver(const json::value& delivery) {
  return "Delivery " + field(delivery, "id") + " is " + field(delivery, "state") +
         " again, due now, with the same idempotency token.\n";
}

std::string render_replay(const json::value& answer) {
  const json::value* n = member(answer, "replayed");
  if (n && n->is_int64() && n->get_int64() == 0) return "No delivery matched: none replayed.\n";
  if (n && n->is_int64() && n->get_int64() == 1) return "Replayed 1 delivery.\n";
  return "Replayed " + field(answer, "replayed") + " deliveries.\n";
}

constexpr FlagSpec kEndpointFlag{"endpoint", "ID", "Only deliveries to this endpoint"};
constexpr FlagSpec kEventTypeFlag{"event-type", "T", "Only deliveries of events of this type"};
constexpr FlagSpec kSinceFlag{"since", "TIME",
                              "Only deliveries created at or after TIME (RFC 3339, e.g. "
                              "2026-11-29T00:00:00Z)"};
constexpr FlagSpec kUntilFlag{"until", "TIME", "Only deliveries created before TIME (RFC 3339)"};

}  // namespace

void register_delivery_commands(std::vector<CommandSpec>& out) {
  out.push_back(CommandSpec{
      .path = "deliveries list",
      .synopsis = "deliveries list [--endpoint ID] [--state STATE] [--event-type T] "
                  "[--since TIME] [--until TIME] [--limit N] [--cursor C] [--account A]",
      .summary = "List deliveries, newest first",
      .details = {},
      .operands = {},
      .flags = {kEndpointFlag,
                {"state", "STATE",
                 "Only deliveries in this state: pending, in_flight, delivered, failed or "
                 "cancelled"},
                kEventTypeFlag,
                kSinceFlag,
                kUntilFlag,
                kLimitFlag,
                kCursorFlag,
                kAccountFlag},
      .build = build_list,
      .render = render_list,
  });
  out.push_back(CommandSpec{
      .path = "deliveries get",
      .synopsis = "deliveries get ID [--account A]",
      .summary = "Show a delivery and its attempts",
      .details = {},
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_get,
      .render = render_delivery,
  });
  out.push_back(CommandSpec{
      .path = "deliveries redeliver",
      .synopsis = "deliveries redeliver ID [--account A]",
      .summary = "Send a finished delivery again, now",
      .details = "The receiver gets the same body and the same idempotency token. A delivery "
                 "that is still pending or in flight cannot be redelivered.",
      .operands = {"ID"},
      .flags = {kAccountFlag},
      .build = build_redeliver,
      .render = render_redeliver,
  });
  out.push_back(CommandSpec{
      .path = "deliveries replay",
      .synopsis = "deliveries replay [--endpoint ID] [--state STATE] [--event-type T] "
                  "[--since TIME] [--until TIME] [--account A]",
      .summary = "Send every matching finished delivery again (default: the failed ones)",
      .details = "Each replayed delivery keeps its idempotency token. Without filters this "
                 "replays every failed delivery of the account.",
      .operands = {},
      .flags = {kEndpointFlag,
                {"state", "STATE",
                 "Replay deliveries in this state: failed (default), "
                 "cancelled or delivered"},
                kEventTypeFlag,
                kSinceFlag,
                kUntilFlag,
                kAccountFlag},
      .build = build_replay,
      .render = render_replay,
  });
}

}  // namespace korehook::cli
