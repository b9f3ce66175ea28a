// POST /v1/secrets, GET /v1/secrets, PATCH /v1/secrets/{id}: KORE's secrets API.

#include "api/context.hpp"
#include "korehook/sign/signature.hpp"
#include "korehook/util/ids.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::api {

namespace {

// The longest rotation overlap: both keys sign for at most this long.
constexpr Millis kMaxOverlap{30LL * 24 * 3600 * 1000};

spdlog::logger& logger() { return log::get("api"); }

// KORE's secrets API capitalizes its fields ("Name", "Status"); the lowercase form is
// accepted too.
std::optional<std::string> kore_member(const json::object& obj, std::string_view capitalized,
                                       std::optional<Response>& error) {
  if (auto value = string_member(obj, capitalized, error)) return value;
  std::string lower(capitalized);
  lower[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[0])));
  return string_member(obj, lower, error);
}

bool valid_secret_name(std::string_view name) {
  return !name.empty() && name.size() <= 200 && !has_control_chars(name);
}

json::object secret_json(const SecretRecord& s, bool with_value) {
  json::object o;
  o["id"] = s.id;
  o["name"] = s.name;
  if (with_value) o["secret"] = s.value;
  o["status"] = to_string(s.status);
  o["last_modified"] = format_rfc3339(s.last_modified);
  return o;
}

void list_secret_page(Context& ctx, const std::string& account, std::optional<SecretStatus> status,
                      int page_number, int page_size, Respond respond) {
  ctx.store.list_secrets(
      account, status, page_number, page_size,
      [respond = std::move(respond), status, page = page_number, size = page_size,
       account](Result<store::SecretPage> result) {
        if (!result.ok()) return respond(error_response(result.error()));
        json::array data;
        for (const auto& s : result->items) data.push_back(secret_json(s, false));
        auto page_url = [&](int number) {
          std::string url = "/v1/secrets?page_number=" + std::to_string(number) +
                            "&page_size=" + std::to_string(size);
          if (status) url += "&status=" + std::string(to_string(*status));
          if (account != kDefaultAccount) url += "&account=" + account;
          return json::value(url);
        };
        json::object meta;
        meta["count"] = result->total;
        meta["page_size"] = size;
        meta["page_number"] = page;
        meta["previous_page_url"] = page > 1 ? page_url(page - 1) : json::value();
        meta["next_page_url"] = static_cast<long long>(page) * size < result->total
                                    ? page_url(page + 1)
                                    : json::value();
        json::object answer;
        answer["data"] = std::move(data);
        answer["meta_data"] = std::move(meta);
        respond(json_response(200, answer));
      });
}

}  // namespace

void create_secret(Context& ctx, Request req, const Params&, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  std::optional<Response> field_err;
  auto name = kore_member(*body, "Name", field_err);
  auto account = string_member(*body, "account", field_err);
  if (field_err) return respond(std::move(*field_err));
  if (!name || !valid_secret_name(*name)) {
    return respond(field_error("Name", "is required: 1 to 200 printable characters"));
  }
  if (account && account->empty()) return respond(field_error("account", "must not be empty"));
  const TimeMs now = ctx.clock.now_ms();
  SecretRecord proto;
  proto.id = new_id(kSecretIdPrefix, now, ctx.random);
  proto.account_id = account_of(req, account);
  proto.name = std::move(*name);
  proto.value = sign::generate_secret(ctx.random);
  proto.created_at = now;
  proto.last_modified = now;
  ctx.store.create_secret(std::move(proto),
                          [&ctx, respond = std::move(respond)](Result<SecretRecord> result) {
                            if (!result.ok()) return respond(error_response(result.error()));
                            logger().info("secret={} account={} status={} created", result->id,
                                          result->account_id, to_string(result->status));
                            ctx.refresh_signing_keys();
                            respond(json_response(201, secret_json(*result, true)));
                          });
}

void list_secrets(Context& ctx, Request req, const Params&, Respond respond) {
  std::optional<Response> err;
  std::optional<SecretStatus> status;
  if (const std::string* s = req.query_param("status")) {
    status = parse_secret_status(*s);
    if (!status || *status == SecretStatus::kDisabled) {
      return respond(parameter_error("status", "must be active or pending"));
    }
  }
  auto page = int_param(req, "page_number", 1, 1'000'000, 1, err);
  auto size = int_param(req, "page_size", 1, kMaxPageSize, kDefaultPageSize, err);
  if (err) return respond(std::move(*err));
  // An unknown account is a 404 here as everywhere else, not an empty list.
  const std::string account = account_of(req);
  with_account(ctx, account, std::move(respond),
               [&ctx, account, status, page = *page, size = *size](Respond respond) {
                 list_secret_page(ctx, account, status, page, size, std::move(respond));
               });
}

void update_secret(Context& ctx, Request req, const Params& params, Respond respond) {
  Response error;
  auto body = parse_object(req, error);
  if (!body) return respond(std::move(error));
  std::optional<Response> field_err;
  auto name = kore_member(*body, "Name", field_err);
  auto status_text = kore_member(*body, "Status", field_err);
  auto overlap_text = string_member(*body, "overlap", field_err);
  if (field_err) return respond(std::move(*field_err));
  std::optional<SecretStatus> status;
  if (status_text) {
    // Activation is the only change a client can ask for (KORE's API); "pending" or
    // "disabled" is a bad value (400), not a conflict with the secret's state (409).
    status = parse_secret_status(*status_text);
    if (status != SecretStatus::kActive) {
      return respond(field_error("Status", "must be \"active\""));
    }
  }
  Millis overlap{0};
  if (overlap_text) {
    auto d = parse_duration(*overlap_text);
    if (!d || *d > kMaxOverlap) {
      return respond(field_error("overlap", "must be a duration such as 24h, at most 720h"));
    }
    if (!status) return respond(field_error("overlap", "is only meaningful with Status active"));
    overlap = *d;
  }
  if (name && !valid_secret_name(*name)) {
    return respond(field_error("Name", "must be 1 to 200 printable characters"));
  }
  if (!name && !status) {
    return respond(error_response(400, "invalid_field", "nothing to change: give Name or Status"));
  }
  ctx.store.update_secret(account_of(req), params.at(0), std::move(name), status, overlap,
                          ctx.clock.now_ms(),
                          [&ctx, respond = std::move(respond)](Result<SecretRecord> result) {
                            if (!result.ok()) return respond(error_response(result.error()));
                            logger().info("secret={} account={} status={} updated", result->id,
                                          result->account_id, to_string(result->status));
                            ctx.refresh_signing_keys();
                            respond(json_response(200, secret_json(*result, false)));
                          });
}

}  // namespace korehook::api
