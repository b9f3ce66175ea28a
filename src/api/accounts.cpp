// POST /v1/accounts, GET /v1/accounts, GET /v1/accounts/{id}.

#include "api/context.hpp"
#include "korehook/model/endpoint.hpp"
#include "korehook/util/time.hpp"

namespace korehook::api {

namespace {

json::object account_json(const store::AccountRecord& a) {
  json::object o;
  o["id"] = a.id;
  o["name"] = a.name;
  o["created_at"] = format_rfc3339(a.created_at);
  return o;
}

}  // namespace

void create_account(Context& ctx, Request req, const Params&, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  if (auto unknown = unknown_member(*body, {"id", "name"})) {
    return respond(field_error(*unknown, "unknown field"));
  }
  std::optional<Response> err;
  auto id = string_member(*body, "id", err);
  auto name = string_member(*body, "name", err);
  if (err) return respond(std::move(*err));
  if (!id || !is_valid_identifier(*id)) {
    return respond(field_error("id", "is required: 1 to 64 characters of A-Z, a-z, 0-9, _ or -"));
  }
  if (name && (name->empty() || name->size() > 200 || has_control_chars(*name))) {
    return respond(field_error("name", "must be 1 to 200 printable characters"));
  }
  store::AccountRecord account{*id, name.value_or(*id), ctx.clock.now_ms()};
  ctx.store.create_account(std::move(account),
                           [respond = std::move(respond)](Result<store::AccountRecord> result) {
                             if (!result.ok()) return respond(error_response(result.error()));
                             respond(json_response(201, account_json(*result)));
                           });
}

void list_accounts(Context& ctx, Request req, const Params&, Respond respond) {
  std::optional<Response> err;
  auto limit = int_param(req, "limit", 1, kMaxPageSize, kDefaultPageSize, err);
  if (err) return respond(std::move(*err));
  std::optional<std::string> cursor;
  if (const std::string* c = req.query_param("cursor")) cursor = *c;
  ctx.store.list_accounts(
      cursor, *limit, [respond = std::move(respond)](Result<store::Page<store::AccountRecord>> r) {
        if (!r.ok()) return respond(error_response(r.error()));
        json::array data;
        for (const auto& a : r->items) data.push_back(account_json(a));
        respond(json_response(200, page_json(std::move(data), r->next_cursor)));
      });
}

void get_account(Context& ctx, Request, const Params& params, Respond respond) {
  const std::string id = params.at(0);
  ctx.store.get_account(
      id, [respond = std::move(respond), id](Result<std::optional<store::AccountRecord>> r) {
        if (!r.ok()) return respond(error_response(r.error()));
        if (!r->has_value()) {
          return respond(error_response(404, "not_found", "account '" + id + "' does not exist"));
        }
        respond(json_response(200, account_json(**r)));
      });
}

}  // namespace korehook::api
