#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/context.hpp"
#include "korehook/json/minify.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::api {

Response field_error(std::string_view field, std::string_view message) {
  json::object info;
  info["field"] = field;
  return error_response(400, "invalid_field", std::string(field) + ": " + std::string(message),
                        std::move(info));
}

Response parameter_error(std::string_view name, std::string_view message) {
  json::object info;
  info["parameter"] = name;
  return error_response(400, "invalid_parameter", std::string(name) + ": " + std::string(message),
                        std::move(info));
}

json::parse_options parse_options() {
  // boost::json's default depth (32) is lower than what minify() accepts.
  json::parse_options options;
  options.max_depth = korehook::json::kMaxDepth;
  return options;
}

bool is_json_content_type(std::string_view ct) { return is_json_media_type(ct); }

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
}

namespace {

// What parse_object and parse_raw_object share: a JSON body, minified. Sets `error` otherwise.
std::optional<std::string> minified_body(const Request& req, Response& error) {
  if (!is_json_content_type(req.content_type)) {
    error = error_response(415, "unsupported_media_type",
                           "the request body must be JSON (content-type: application/json)");
    return std::nullopt;
  }
  auto minified = korehook::json::minify(req.body);
  if (!minified.ok()) {
    error = error_response(400, minified.error().code, minified.error().message);
    return std::nullopt;
  }
  return std::move(*minified);
}

Response not_an_object() {
  return error_response(400, "invalid_json", "the request body must be a JSON object");
}

}  // namespace

std::optional<json::object> parse_object(const Request& req, Response& error,
                                         std::string* minified_out) {
  auto minified = minified_body(req, error);
  if (!minified) return std::nullopt;
  json::error_code ec;
  json::value value = json::parse(*minified, ec, {}, parse_options());
  if (ec || !value.is_object()) {
    error = not_an_object();
    return std::nullopt;
  }
  if (minified_out) *minified_out = std::move(*minified);
  return std::move(value.as_object());
}

std::optional<RawObject> parse_raw_object(const Request& req, Response& error,
                                          std::string& minified) {
  auto body = minified_body(req, error);
  if (!body) return std::nullopt;
  if (body->front() != '{') {
    error = not_an_object();
    return std::nullopt;
  }
  minified = std::move(*body);
  return RawObject(minified);
}

RawObject::RawObject(std::string_view minified) : members_(korehook::json::raw_members(minified)) {}

const std::string_view* RawObject::find(std::string_view key) const {
  return korehook::json::find_member(members_, key);
}

std::optional<std::string> RawObject::unknown_member(
    std::initializer_list<std::string_view> known) const {
  for (const auto& member : members_) {
    if (std::find(known.begin(), known.end(), member.key) == known.end()) return member.key;
  }
  return std::nullopt;
}

std::optional<std::string> RawObject::string_member(std::string_view key,
                                                    std::optional<Response>& error) const {
  const std::string_view* value = find(key);
  if (value == nullptr || *value == "null") return std::nullopt;
  if (value->front() != '"') {
    error = field_error(key, "must be a string");
    return std::nullopt;
  }
  return korehook::json::raw_string_value(*value);
}

std::optional<std::string> unknown_member(const json::object& obj,
                                          std::initializer_list<std::string_view> known) {
  for (const auto& member : obj) {
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      return std::string(member.key());
    }
  }
  return std::nullopt;
}

std::optional<std::string> string_member(const json::object& obj, std::string_view key,
                                         std::optional<Response>& error) {
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_string()) {
    error = field_error(key, "must be a string");
    return std::nullopt;
  }
  return std::string(it->value().as_string());
}

std::optional<int> int_param(const Request& req, std::string_view name, int min, int max,
                             int fallback, std::optional<Response>& error) {
  const std::string* text = req.query_param(name);
  if (text == nullptr) return fallback;
  int value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size() || value < min || value > max) {
    error = parameter_error(
        name, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return value;
}

std::optional<TimeMs> time_param(const Request& req, std::string_view name,
                                 std::optional<Response>& error) {
  const std::string* text = req.query_param(name);
  if (text == nullptr) return std::nullopt;
  auto t = parse_rfc3339(*text);
  if (!t) error = parameter_error(name, "must be an RFC 3339 time such as 2026-11-29T00:00:00Z");
  return t;
}

std::string account_of(const Request& req, const std::optional<std::string>& body_account) {
  if (body_account) return *body_account;
  const std::string* a = req.query_param("account");
  return a ? *a : std::string(kDefaultAccount);
}

json::value time_or_null(TimeMs t) {
  if (t <= 0) return nullptr;
  return json::value(format_rfc3339(t));
}

json::value string_or_null(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return json::value(*s);
}

json::object page_json(json::array data, const std::optional<std::string>& next_cursor) {
  json::object o;
  o["data"] = std::move(data);
  o["next_cursor"] = string_or_null(next_cursor);
  return o;
}

void with_account(Context& ctx, const std::string& account, Respond respond,
                  std::function<void(Respond)> then) {
  ctx.store.account_exists(account, [account, respond = std::move(respond),
                                     then = std::move(then)](Result<bool> exists) mutable {
    if (!exists.ok()) return respond(error_response(exists.error()));
    if (!*exists) {
      return respond(error_response(404, "not_found", "account '" + account + "' does not exist"));
    }
    then(std::move(respond));
  });
}

void Context::refresh_signing_keys() {
  store.signing_keys([this](Result<std::map<std::string, sign::SigningKeys>> keys) {
    if (!keys.ok()) {
      log::get("api").error("loading signing keys failed: {}", keys.error().message);
      return;
    }
    dispatcher.set_signing_keys(std::move(*keys));
  });
}

}  // namespace korehook::api
