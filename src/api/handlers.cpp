#include "korehook/api/handlers.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <optional>

#include "korehook/api/errors.hpp"
#include "korehook/json/minify.hpp"
#include "korehook/route/filter.hpp"
#include "korehook/sign/signature.hpp"
#include "korehook/util/ids.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::api {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxIdempotencyKey = 255;
constexpr std::size_t kMaxContentType = 255;
constexpr int kMaxPageSize = 1000;
constexpr int kDefaultPageSize = 50;

spdlog::logger& logger() { return log::get("api"); }

Response field_error(std::string_view field, std::string_view message) {
  json::object info;
  info["field"] = field;
  return error_response(400, "invalid_field", std::string(field) + ": " + std::string(message),
                        std::move(info));
}

// For re-parsing what minify() accepted: boost::json's default depth (32) is lower, and its
// throwing parse() would escape the handler.
json::parse_options parse_options() {
  json::parse_options options;
  options.max_depth = korehook::json::kMaxDepth;
  return options;
}

bool is_json_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  std::string base(ct.substr(0, semi));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (auto& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return base == "application/json" || (base.size() > 5 && base.ends_with("+json"));
}

// Parses a JSON object request body; nullopt with `error` set otherwise. The minified body
// is left in `minified_out` when given.
std::optional<json::object> parse_object(const Request& req, Response& error,
                                         std::string* minified_out = nullptr) {
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
  json::error_code ec;
  json::value value = json::parse(*minified, ec, {}, parse_options());
  if (ec || !value.is_object()) {
    error = error_response(400, "invalid_json", "the request body must be a JSON object");
    return std::nullopt;
  }
  if (minified_out) *minified_out = std::move(*minified);
  return std::move(value.as_object());
}

// The value of an optional string member; `error` set when present but not a string.
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

// KORE's secrets API capitalizes its fields ("Name", "Status"); the lowercase form is
// accepted too.
std::optional<std::string> kore_member(const json::object& obj, std::string_view capitalized,
                                       std::optional<Response>& error) {
  if (auto value = string_member(obj, capitalized, error)) return value;
  std::string lower(capitalized);
  lower[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[0])));
  return string_member(obj, lower, error);
}

bool has_control_chars(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool valid_secret_name(std::string_view name) {
  return !name.empty() && name.size() <= 200 && !has_control_chars(name);
}

std::optional<int> int_param(const Request& req, std::string_view name, int min, int max,
                             int fallback, std::optional<Response>& error) {
  const std::string* text = req.query_param(name);
  if (text == nullptr) return fallback;
  int value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size() || value < min || value > max) {
    json::object info;
    info["parameter"] = name;
    error = error_response(400, "invalid_parameter",
                           std::string(name) + ": must be an integer from " + std::to_string(min) +
                               " to " + std::to_string(max),
                           std::move(info));
    return std::nullopt;
  }
  return value;
}

json::value time_or_null(TimeMs t) {
  if (t <= 0) return nullptr;
  return json::value(format_rfc3339(t));
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

json::object event_json(const store::EventView& view) {
  const EventRecord& e = view.event;
  json::object o;
  o["id"] = e.id;
  o["account"] = e.account_id;
  o["type"] = e.type;
  o["content_type"] = e.content_type;
  o["idempotency_key"] = e.idempotency_key ? json::value(*e.idempotency_key) : json::value();
  o["created_at"] = format_rfc3339(e.created_at);
  json::value data;
  if (is_json_content_type(e.content_type)) {
    json::error_code ec;
    data = json::parse(e.body, ec, {}, parse_options());
    if (!ec) o["data"] = std::move(data);
  }
  if (!o.contains("data")) o["body"] = e.body;
  json::array deliveries;
  for (const auto& dv : view.deliveries) {
    const DeliveryRecord& d = dv.delivery;
    json::object jd;
    jd["id"] = d.id;
    jd["endpoint_id"] = d.endpoint_id;
    jd["token"] = d.token;
    jd["state"] = to_string(d.state);
    jd["attempt_count"] = d.attempt_count;
    jd["next_attempt_at"] =
        d.state == DeliveryState::kPending ? time_or_null(d.next_attempt_at) : json::value();
    json::array attempts;
    for (const auto& a : dv.attempts) {
      json::object ja;
      ja["number"] = a.number;
      ja["started_at"] = format_rfc3339(a.started_at);
      ja["status_code"] = a.status_code ? json::value(*a.status_code) : json::value();
      ja["error"] = a.error == retry::ErrorClass::kNone ? json::value()
                                                        : json::value(retry::to_string(a.error));
      ja["error_detail"] = a.error_detail;
      ja["duration_ms"] = a.duration_ms;
      ja["response_excerpt"] = a.response_excerpt;
      attempts.push_back(std::move(ja));
    }
    jd["attempts"] = std::move(attempts);
    deliveries.push_back(std::move(jd));
  }
  o["deliveries"] = std::move(deliveries);
  return o;
}

}  // namespace

struct Api::Impl {
  store::Store& store;
  dispatch::Dispatcher& dispatcher;
  const Clock& clock;
  Random& random;
  bool draining = false;

  // The account a request names with ?account= (or the body's "account"), default otherwise.
  static std::string account_of(const Request& req) {
    const std::string* a = req.query_param("account");
    return a ? *a : std::string(kDefaultAccount);
  }

  void submit_event(Request req, Respond respond) {
    if (draining) {
      return respond(error_response(503, "shutting_down", "korehookd is shutting down"));
    }
    Response error;
    std::string minified;
    auto body = parse_object(req, error, &minified);
    if (!body) return respond(std::move(error));
    static const std::array<std::string_view, 6> kKnown = {
        "type", "data", "body", "content_type", "idempotency_key", "account"};
    for (const auto& member : *body) {
      if (std::find(kKnown.begin(), kKnown.end(), member.key()) == kKnown.end()) {
        return respond(field_error(member.key(), "unknown field"));
      }
    }
    std::optional<Response> field_err;
    auto type = string_member(*body, "type", field_err);
    auto raw_body = string_member(*body, "body", field_err);
    auto content_type = string_member(*body, "content_type", field_err);
    auto idempotency_key = string_member(*body, "idempotency_key", field_err);
    auto account = string_member(*body, "account", field_err);
    if (field_err) return respond(std::move(*field_err));
    if (!type) return respond(field_error("type", "is required"));
    if (auto problem = route::validate_event_type(*type)) {
      return respond(field_error("type", *problem));
    }
    const bool has_data = body->contains("data");
    if (has_data == raw_body.has_value()) {
      return respond(error_response(400, "invalid_field",
                                    "give exactly one of \"data\" (JSON) or \"body\" (text)"));
    }
    EventRecord event;
    if (has_data) {
      if (content_type && !is_json_content_type(*content_type)) {
        return respond(field_error("content_type", "must be a JSON type when \"data\" is given"));
      }
      // The exact bytes the producer sent, minified: the stored, sent and signed body.
      event.body = std::string(*korehook::json::raw_member(minified, "data"));
      event.content_type = content_type.value_or("application/json");
    } else {
      if (!content_type) return respond(field_error("content_type", "is required with \"body\""));
      event.body = std::move(*raw_body);
      event.content_type = std::move(*content_type);
    }
    if (event.content_type.empty() || event.content_type.size() > kMaxContentType ||
        has_control_chars(event.content_type)) {
      return respond(field_error("content_type", "must be 1 to 255 printable characters"));
    }
    if (idempotency_key &&
        (idempotency_key->empty() || idempotency_key->size() > kMaxIdempotencyKey)) {
      return respond(field_error("idempotency_key", "must be 1 to 255 characters"));
    }
    if (account && account->empty()) return respond(field_error("account", "must not be empty"));

    const TimeMs now = clock.now_ms();
    event.id = new_id(kEventIdPrefix, now, random);
    event.account_id = account.value_or(account_of(req));
    event.type = std::move(*type);
    event.idempotency_key = std::move(idempotency_key);
    event.created_at = now;

    store::NewEvent item;
    for (const dispatch::Target* target : dispatcher.route(event.account_id, event.type)) {
      DeliveryRecord d;
      d.id = new_id(kDeliveryIdPrefix, now, random);
      d.event_id = event.id;
      d.endpoint_id = target->id;
      d.token = new_uuid_v4(random);
      d.next_attempt_at = now;
      item.deliveries.push_back(std::move(d));
    }
    const std::size_t n = item.deliveries.size();
    const bool leased = n > 0 && dispatcher.reserve(n);
    item.lease_until = leased ? std::numeric_limits<TimeMs>::max() / 2 : 0;
    auto payload = std::make_shared<store::Payload>(
        store::Payload{event.id, event.account_id, event.type, event.content_type, event.body});
    item.event = std::move(event);
    std::vector<DeliveryRecord> deliveries = item.deliveries;

    std::vector<store::NewEvent> batch;
    batch.push_back(std::move(item));
    store.append_events(
        std::move(batch), [this, respond = std::move(respond), payload = std::move(payload),
                           deliveries = std::move(deliveries), leased,
                           n](Result<std::vector<store::AppendResult>> result) mutable {
          const bool created = result.ok() && result->front().created;
          if (leased) {
            if (created) {
              std::vector<store::Work> work;
              for (auto& d : deliveries) work.push_back(store::Work{std::move(d), payload});
              dispatcher.accept(std::move(work));
            } else {
              dispatcher.release_reservation(n);
            }
          } else if (created && n > 0) {
            dispatcher.notify_stored();
          }
          if (!result.ok()) return respond(error_response(result.error()));
          json::object answer;
          answer["id"] = result->front().event_id;
          answer["duplicate"] = !created;
          logger().debug("event={} type={} deliveries={} duplicate={}", payload->event_id,
                         payload->type, created ? n : 0, !created);
          respond(json_response(202, answer));
        });
  }

  void get_event(const Request& req, std::string id, Respond respond) {
    store.get_event(
        account_of(req), id,
        [respond = std::move(respond), id](Result<std::optional<store::EventView>> result) {
          if (!result.ok()) return respond(error_response(result.error()));
          if (!result->has_value()) {
            return respond(error_response(404, "not_found", "no event with id '" + id + "'"));
          }
          respond(json_response(200, event_json(**result)));
        });
  }

  void create_secret(Request req, Respond respond) {
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
    const TimeMs now = clock.now_ms();
    SecretRecord proto;
    proto.id = new_id(kSecretIdPrefix, now, random);
    proto.account_id = account.value_or(account_of(req));
    proto.name = std::move(*name);
    proto.value = sign::generate_secret(random);
    proto.created_at = now;
    proto.last_modified = now;
    store.create_secret(std::move(proto),
                        [this, respond = std::move(respond)](Result<SecretRecord> result) {
                          if (!result.ok()) return respond(error_response(result.error()));
                          logger().info("secret={} account={} status={} created", result->id,
                                        result->account_id, to_string(result->status));
                          refresh_signing_keys();
                          respond(json_response(201, secret_json(*result, true)));
                        });
  }

  void list_secrets(const Request& req, Respond respond) {
    std::optional<Response> err;
    std::optional<SecretStatus> status;
    if (const std::string* s = req.query_param("status")) {
      status = parse_secret_status(*s);
      if (!status || *status == SecretStatus::kDisabled) {
        json::object info;
        info["parameter"] = "status";
        return respond(error_response(400, "invalid_parameter", "status: must be active or pending",
                                      std::move(info)));
      }
    }
    auto page = int_param(req, "page_number", 1, 1'000'000, 1, err);
    auto size = int_param(req, "page_size", 1, kMaxPageSize, kDefaultPageSize, err);
    if (err) return respond(std::move(*err));
    // An unknown account is a 404 here as everywhere else, not an empty list.
    store.account_exists(
        account_of(req),
        [this, req, status, page, size, respond = std::move(respond)](Result<bool> exists) mutable {
          if (!exists.ok()) return respond(error_response(exists.error()));
          if (!*exists) {
            return respond(error_response(404, "not_found",
                                          "account '" + account_of(req) + "' does not exist"));
          }
          list_secret_page(req, status, *page, *size, std::move(respond));
        });
  }

  void list_secret_page(const Request& req, std::optional<SecretStatus> status, int page_number,
                        int page_size, Respond respond) {
    store.list_secrets(account_of(req), status, page_number, page_size,
                       [respond = std::move(respond), status, page = page_number, size = page_size,
                        account = account_of(req)](Result<store::SecretPage> result) {
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

  void update_secret(Request req, std::string id, Respond respond) {
    Response error;
    auto body = parse_object(req, error);
    if (!body) return respond(std::move(error));
    std::optional<Response> field_err;
    auto name = kore_member(*body, "Name", field_err);
    auto status_text = kore_member(*body, "Status", field_err);
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
    if (name && !valid_secret_name(*name)) {
      return respond(field_error("Name", "must be 1 to 200 printable characters"));
    }
    if (!name && !status) {
      return respond(
          error_response(400, "invalid_field", "nothing to change: give Name or Status"));
    }
    store.update_secret(account_of(req), id, std::move(name), status, Millis{0}, clock.now_ms(),
                        [this, respond = std::move(respond)](Result<SecretRecord> result) {
                          if (!result.ok()) return respond(error_response(result.error()));
                          logger().info("secret={} account={} status={} updated", result->id,
                                        result->account_id, to_string(result->status));
                          refresh_signing_keys();
                          respond(json_response(200, secret_json(*result, false)));
                        });
  }

  void refresh_signing_keys() {
    store.signing_keys([this](Result<std::map<std::string, sign::SigningKeys>> keys) {
      if (!keys.ok()) {
        logger().error("loading signing keys failed: {}", keys.error().message);
        return;
      }
      dispatcher.set_signing_keys(std::move(*keys));
    });
  }
};

Api::Api(store::Store& store, dispatch::Dispatcher& dispatcher, const Clock& clock, Random& random)
    : impl_(std::make_unique<Impl>(Impl{store, dispatcher, clock, random})) {}

Api::~Api() = default;

void Api::set_draining() { impl_->draining = true; }

void Api::refresh_signing_keys() { impl_->refresh_signing_keys(); }

void Api::handle(Request req, Respond respond) {
  const std::string& path = req.path;
  const std::string& method = req.method;
  auto method_not_allowed = [&](std::string_view allow) {
    Response res = error_response(
        405, "method_not_allowed",
        method + " is not allowed on " + path + " (allowed: " + std::string(allow) + ")");
    res.headers.emplace_back("Allow", allow);
    respond(std::move(res));
  };
  static constexpr std::string_view kEvents = "/v1/events/";
  static constexpr std::string_view kSecrets = "/v1/secrets/";

  if (path == "/healthz") {
    if (method != "GET") return method_not_allowed("GET");
    json::object o;
    o["status"] = impl_->draining ? "draining" : "ok";
    return respond(json_response(impl_->draining ? 503 : 200, o));
  }
  if (path == "/v1/events") {
    if (method != "POST") return method_not_allowed("POST");
    return impl_->submit_event(std::move(req), std::move(respond));
  }
  if (path.starts_with(kEvents) && path.size() > kEvents.size() &&
      path.find('/', kEvents.size()) == std::string::npos) {
    if (method != "GET") return method_not_allowed("GET");
    return impl_->get_event(req, path.substr(kEvents.size()), std::move(respond));
  }
  if (path == "/v1/secrets") {
    if (method == "POST") return impl_->create_secret(std::move(req), std::move(respond));
    if (method == "GET") return impl_->list_secrets(req, std::move(respond));
    return method_not_allowed("GET, POST");
  }
  if (path.starts_with(kSecrets) && path.size() > kSecrets.size() &&
      path.find('/', kSecrets.size()) == std::string::npos) {
    if (method != "PATCH") return method_not_allowed("PATCH");
    std::string id = path.substr(kSecrets.size());
    return impl_->update_secret(std::move(req), std::move(id), std::move(respond));
  }
  respond(error_response(404, "not_found", "no route for " + method + " " + path));
}

}  // namespace korehook::api
