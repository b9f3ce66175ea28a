// `korehook accounts ...`: tenants. Accounts are named by their id, so these commands take no
// --account.

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace korehook::cli {
namespace json = boost::json;

namespace {

Result<ApiRequest> build_create(const Args& args) {
  const std::string& id = args.operands.at(0);
  if (auto valid = check_id("ID", id); !valid) return valid.error();
  json::object body;
  body["id"] = id;
  if (const auto name = args.get("name")) {
    if (name->empty()) return usage_error("--name must not be empty");
    body["name"] = *name;
  }
  return ApiRequest{"POST", "/v1/accounts", json::serialize(body)};
}

Result<ApiRequest> build_list(const Args& args) {
  auto target = page_target("/v1/accounts", args);
  if (!target) return target.error();
  return ApiRequest{"GET", std::move(*target), {}};
}

Result<ApiRequest> build_get(const Args& args) {
  return ApiRequest{"GET", "/v1/accounts/" + path_segment(args.operands.at(0)), {}};
}

std::string render_account(const json::value& account) {
  return format_table({}, {{"Account", field(account, "id")},
                           {"Name", field(account, "name")},
                           {"Created at", field(account, "created_at")}});
}

std::string render_list(const json::value& page) {
  const auto accounts = elements(page, "data");
  if (accounts.empty()) return "No accounts.\n" + next_cursor_hint(page);
  std::vector<Row> rows;
  for (const json::value* a : accounts) {
    rows.push_back({field(*a, "id"), field(*a, "name"), field(*a, "created_at")});
  }
  return format_table({"ID", "NAME", "CREATED AT"}, rows) + next_cursor_hint(page);
}

}  // namespace

void register_account_commands(std::vector<CommandSpec>& out) {
  out.push_back(CommandSpec{
      .path = "accounts list",
      .synopsis = "accounts list [--limit N] [--cursor C]",
      .summary = "List accounts, by id",
      .details = {},
      .operands = {},
      .flags = {kLimitFlag, kCursorFlag},
      .build = build_list,
      .render = render_list,
  });
  out.push_back(CommandSpec{
      .path = "accounts get",
      .synopsis = "accounts get ID",
      .summary = "Show an account",
      .details = {},
      .operands = {"ID"},
      .flags = {},
      .build = build_get,
      .render = render_account,
  });
  out.push_back(CommandSpec{
      .path = "accounts create",
      .synopsis = "accounts create ID [--name NAME]",
      .summary = "Create an account (tenant)",
      .details = "ID: 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'. Other commands act "
                 "on it with --account ID.",
      .operands = {"ID"},
      .flags = {{"name", "NAME", "Display name (default: the id)"}},
      .build = build_create,
      .render = render_account,
  });
}

}  // namespace korehook::cli
