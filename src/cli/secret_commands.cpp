// `korehook secrets ...`: KORE's secret lifecycle (one active, at most one pending).

#include <boost/json/value.hpp>

#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace korehook::cli {
namespace json = boost::json;

namespace {

std::optional<std::string_view> account(const Args& args) { return args.get("account"); }

Result<ApiRequest> build_create(const Args& args) {
  return ApiRequest{"POST", with_query("/v1/secrets", {{"account", account(args)}}),
                    "{\"Name\":" + json_quote(args.operands.at(0)) + "}"};
}

std::string render_create(const json::value& secret) {
  const std::string id = field(secret, "id");
  const std::string status = field(secret, "status");
  std::string out = format_table({}, {{"Secret", id},
                                      {"Name", field(secret, "name")},
                                      {"Status", status},
                                      {"Value", field(secret, "secret")}});
  out += "\nThe value is shown only once: store it now, it cannot be read back.\n";
  if (status == "pending") {
    out += "The secret is pending; make it the signing secret with: korehook secrets activate " +
           id + "\n";
  }
  return out;
}

Result<ApiRequest> build_list(const Args& args) {
  const auto status = args.get("status");
  if (status) {
    if (auto valid = check_choice("status", *status, {"active", "pending"}); !valid) {
      return valid.error();
    }
  }
  std::optional<std::string> page;
  std::optional<std::string> page_size;
  if (const auto text = args.get("page")) {
    auto n = parse_positive("page", *text);
    if (!n) return n.error();
    page = std::to_string(*n);
  }
  if (const auto text = args.get("page-size")) {
    auto n = parse_positive("page-size", *text, 1000);
    if (!n) return n.error();
    page_size = std::to_string(*n);
  }
  return ApiRequest{"GET",
                    with_query("/v1/secrets", {{"status", status},
                                               {"page_number", page},
                                               {"page_size", page_size},
                                               {"account", account(args)}}),
                    {}};
}

std::string render_list(const json::value& answer) {
  const auto secrets = elements(answer, "data");
  if (secrets.empty()) return "No secrets.\n";
  std::vector<Row> rows;
  for (const json::value* s : secrets) {
    rows.push_back(
        {field(*s, "id"), field(*s, "name"), field(*s, "status"), field(*s, "last_modified")});
  }
  std::string out = format_table({"ID", "NAME", "STATUS", "LAST MODIFIED"}, rows);
  const json::value* meta = member(answer, "meta_data");
  if (meta && has_field(*meta, "next_page_url")) {
    const json::value* number = member(*meta, "page_number");
    if (number && number->is_int64()) {
      out += "More on the next page: --page " + std::to_string(number->get_int64() + 1) + "\n";
    } else {
      out += "More on the next page.\n";
    }
  }
  return out;
}

Result<ApiRequest> build_activate(const Args& args) {
  std::string body = R"({"Status":"active")";
  if (const auto overlap = args.get("overlap")) {
    if (auto valid = parse_duration_flag("overlap", *overlap); !valid) return valid.error();
    body += ",\"overlap\":" + json_quote(*overlap);
  }
  body += '}';
  return ApiRequest{
      "PATCH",
      with_query("/v1/secrets/" + path_segment(args.operands.at(0)), {{"account", account(args)}}),
      std::move(body)};
}

std::string render_activate(const json::value& secret) {
  return "Secret " + field(secret, "id") + " (" + field(secret, "name") + ") is now " +
         field(secret, "status") + ".\n";
}

}  // namespace

void register_secret_commands(std::vector<CommandSpec>& out) {
  out.push_back(CommandSpec{
      .path = "secrets create",
      .synopsis = "secrets create NAME [--account A]",
      .summary = "Create a signing secret (the value is shown once)",
      .details = "The account's first secret is active at once; later ones are pending until "
                 "activated, and a new pending secret replaces an earlier pending one.",
      .operands = {"NAME"},
      .flags = {kAccountFlag},
      .build = build_create,
      .render = render_create,
  });
  out.push_back(CommandSpec{
      .path = "secrets list",
      .synopsis = "secrets list [--status active|pending] [--page N] [--page-size N] "
                  "[--account A]",
      .summary = "List secrets (never their values)",
      .details = {},
      .operands = {},
      .flags = {{"status", "STATUS", "Only secrets in this status: active or pending"},
                {"page", "N", "Page number, from 1"},
                {"page-size", "N", "Secrets per page (1-1000)"},
                kAccountFlag},
      .build = build_list,
      .render = render_list,
  });
  out.push_back(CommandSpec{
      .path = "secrets activate",
      .synopsis = "secrets activate ID [--overlap DURATION] [--account A]",
      .summary = "Make the pending secret the active one",
      .details = "The previously active secret is disabled; this cannot be undone. With "
                 "--overlap, Standard Webhooks signatures (webhook-signature) carry both the "
                 "new and the old key for that long, so receivers can switch over; "
                 "kore-signature always uses the active secret only.",
      .operands = {"ID"},
      .flags = {{"overlap", "DURATION",
                 "Keep signing with the old key too for this long, e.g. 24h"},
                kAccountFlag},
      .build = build_activate,
      .render = render_activate,
  });
}

}  // namespace korehook::cli
