// POST /v1/events, POST /v1/events/batch, GET /v1/events/{id}.

#include <limits>
#include <memory>
#include <variant>

#include "api/context.hpp"
#include "korehook/json/minify.hpp"
#include "korehook/route/filter.hpp"
#include "korehook/util/encoding.hpp"
#include "korehook/util/ids.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::api {

namespace {

constexpr std::size_t kMaxIdempotencyKey = 255;
constexpr std::size_t kMaxContentType = 255;
constexpr std::size_t kMaxBatch = 1000;

// Looked up once: it runs once per event (log.hpp).
spdlog::logger& logger() {
  static spdlog::logger& module = log::get("api");
  return module;
}

// Appends {"id":…,"duplicate":…}, the answer for one appended event, without a JSON DOM.
void append_accepted(std::string& out, const store::AppendResult& r) {
  out += "{\"id\":";
  append_json_string(out, r.event_id);
  out += r.created ? ",\"duplicate\":false}" : ",\"duplicate\":true}";
}

// One submitted event, validated; id and time are set when it is appended.
struct Submitted {
  EventRecord event;
  std::optional<net::HttpsUrl> callback;
};

// Validates one event object, read from its minified text (the "data" bytes come from it).
std::variant<Submitted, Response> read_event(const RawObject& body, const Request& req) {
  if (auto unknown = body.unknown_member(
          {"type", "data", "body", "content_type", "idempotency_key", "account", "callback_url"})) {
    return field_error(*unknown, "unknown field");
  }
  std::optional<Response> err;
  auto type = body.string_member("type", err);
  auto raw_body = body.string_member("body", err);
  auto content_type = body.string_member("content_type", err);
  auto idempotency_key = body.string_member("idempotency_key", err);
  auto account = body.string_member("account", err);
  auto callback_url = body.string_member("callback_url", err);
  if (err) return std::move(*err);
  if (!type) return field_error("type", "is required");
  if (auto problem = route::validate_event_type(*type)) return field_error("type", *problem);
  const std::string_view* data = body.find("data");
  const bool has_data = data != nullptr;
  if (has_data == raw_body.has_value()) {
    return error_response(400, "invalid_field",
                          "give exactly one of \"data\" (JSON) or \"body\" (text)");
  }
  Submitted out;
  EventRecord& event = out.event;
  if (has_data) {
    if (content_type && !is_json_content_type(*content_type)) {
      return field_error("content_type", "must be a JSON type when \"data\" is given");
    }
    // The exact bytes the producer sent, minified: the stored, sent and signed body.
    event.body = std::string(*data);
    event.content_type = content_type.value_or("application/json");
  } else {
    if (!content_type) return field_error("content_type", "is required with \"body\"");
    event.body = std::move(*raw_body);
    event.content_type = std::move(*content_type);
  }
  if (event.content_type.empty() || event.content_type.size() > kMaxContentType ||
      has_control_chars(event.content_type)) {
    return field_error("content_type", "must be 1 to 255 printable characters");
  }
  if (idempotency_key &&
      (idempotency_key->empty() || idempotency_key->size() > kMaxIdempotencyKey)) {
    return field_error("idempotency_key", "must be 1 to 255 characters");
  }
  if (account && account->empty()) return field_error("account", "must not be empty");
  if (callback_url) {
    auto url = net::parse_https_url(*callback_url);
    if (!url.ok()) return field_error("callback_url", url.error().message);
    out.callback = std::move(*url);
    event.callback_url = std::move(*callback_url);
  }
  event.account_id = account_of(req, account);
  event.type = std::move(*type);
  event.idempotency_key = std::move(idempotency_key);
  return out;
}

// The event with its id, time and deliveries: one to its callback URL, or one per matching
// endpoint.
store::NewEvent make_new_event(Context& ctx, Submitted submitted, TimeMs now) {
  store::NewEvent item;
  item.event = std::move(submitted.event);
  EventRecord& event = item.event;
  event.id = new_id(kEventIdPrefix, now, ctx.random);
  event.created_at = now;
  auto add = [&](std::string endpoint_id) {
    DeliveryRecord d;
    d.id = new_id(kDeliveryIdPrefix, now, ctx.random);
    d.event_id = event.id;
    d.endpoint_id = std::move(endpoint_id);
    d.token = new_uuid_v4(ctx.random);
    d.next_attempt_at = now;
    d.created_at = now;
    d.updated_at = now;
    item.deliveries.push_back(std::move(d));
  };
  if (event.callback_url) {
    add("");
  } else {
    for (const dispatch::Target* target : ctx.dispatcher.route(event.account_id, event.type)) {
      add(target->id);
    }
    // Each destination a rule routes it to gets its own delivery, through a batch.
    if (ctx.options.streams)
      item.streams = ctx.options.streams->route(event.account_id, event.type);
  }
  return item;
}

// Checks the callback URLs of `items` one after the other; `done` gets the index and reason
// of the first blocked one, or nullopt.
void check_callbacks(Context& ctx, std::shared_ptr<std::vector<Submitted>> items, std::size_t from,
                     std::function<void(std::optional<std::pair<std::size_t, std::string>>)> done) {
  while (from < items->size() && !(*items)[from].callback) ++from;
  if (from == items->size() || !ctx.options.check_destination) return done(std::nullopt);
  ctx.options.check_destination(
      *(*items)[from].callback,
      [&ctx, items, from, done = std::move(done)](std::optional<std::string> blocked) mutable {
        if (blocked) return done(std::make_pair(from, std::move(*blocked)));
        check_callbacks(ctx, std::move(items), from + 1, std::move(done));
      });
}

// Appends the events (all or nothing) and hands their deliveries to the dispatcher.
void append(Context& ctx, std::vector<Submitted> submitted,
            std::function<void(Result<std::vector<store::AppendResult>>)> done) {
  const TimeMs now = ctx.clock.now_ms();
  std::vector<store::NewEvent> items;
  items.reserve(submitted.size());
  std::vector<std::string> targets;  // the endpoint id of every delivery, for the reservation
  for (auto& s : submitted) {
    items.push_back(make_new_event(ctx, std::move(s), now));
    for (const auto& d : items.back().deliveries) targets.push_back(d.endpoint_id);
  }
  const bool leased = !targets.empty() && ctx.dispatcher.reserve(targets);
  // Work to hand over after the commit, per event; and its pending stream rows.
  auto work = std::make_shared<std::vector<std::vector<store::Work>>>();
  auto streams = std::make_shared<std::vector<std::vector<store::StreamPending>>>();
  for (auto& item : items) {
    std::vector<store::StreamPending> pending;
    for (const auto& t : item.streams) {
      pending.push_back(store::StreamPending{item.event.id, t.destination_id, item.event.account_id,
                                             item.event.type, now});
    }
    streams->push_back(std::move(pending));
    item.lease_until = leased ? store::kLeaseHeld : 0;
    const EventRecord& e = item.event;
    // Only deliveries going to memory need the payload; for the others the completion reads
    // the endpoint ids alone, and a second copy of every body would wait for the commit.
    std::shared_ptr<const store::Payload> payload;
    if (leased) {
      payload = std::make_shared<store::Payload>(
          store::Payload{e.id, e.account_id, e.type, e.content_type, e.body, e.callback_url});
    }
    std::vector<store::Work> w;
    for (const auto& d : item.deliveries) w.push_back(store::Work{d, payload});
    work->push_back(std::move(w));
  }
  ctx.store.append_events(std::move(items),
                          [&ctx, work, streams, leased, done = std::move(done)](
                              Result<std::vector<store::AppendResult>> result) mutable {
                            std::vector<store::Work> accepted;
                            std::vector<std::string> unused;  // reserved, not created
                            std::vector<store::StreamPending> pending;
                            for (std::size_t i = 0; i < work->size(); ++i) {
                              const bool created = result.ok() && (*result)[i].created;
                              if (created) {
                                for (auto& p : (*streams)[i]) pending.push_back(std::move(p));
                              }
                              for (auto& w : (*work)[i]) {
                                if (created) {
                                  accepted.push_back(std::move(w));
                                } else {
                                  unused.push_back(w.delivery.endpoint_id);
                                }
                              }
                            }
                            if (!pending.empty() && ctx.options.streams) {
                              ctx.options.streams->add(std::move(pending));
                            }
                            if (leased) {
                              ctx.dispatcher.release_reservation(unused);
                              // accept() releases the rest of the reservation.
                              if (!accepted.empty()) ctx.dispatcher.accept(std::move(accepted));
                            } else if (!accepted.empty()) {
                              std::vector<std::string> stored;
                              for (const auto& w : accepted) {
                                stored.push_back(w.delivery.endpoint_id);
                              }
                              ctx.dispatcher.notify_stored(stored);
                            }
                            done(std::move(result));
                          });
}

// Checks the events' callback URLs, then appends the events; `answer` turns the append's
// result into the response. `batch`: a refusal names the item ("events[3].callback_url").
void check_and_append(
    Context& ctx, std::shared_ptr<std::vector<Submitted>> items, bool batch, Respond respond,
    std::function<void(Result<std::vector<store::AppendResult>>, Respond&)> answer) {
  check_callbacks(ctx, items, 0,
                  [&ctx, items, batch, respond = std::move(respond), answer = std::move(answer)](
                      std::optional<std::pair<std::size_t, std::string>> blocked) mutable {
                    if (blocked) {
                      json::object info;
                      info["field"] = "callback_url";
                      std::string where = "callback_url: ";
                      if (batch) {
                        info["index"] = blocked->first;
                        where = "events[" + std::to_string(blocked->first) + "]." + where;
                      }
                      return respond(error_response(400, "blocked_destination",
                                                    where + blocked->second, std::move(info)));
                    }
                    append(ctx, std::move(*items),
                           [respond = std::move(respond), answer = std::move(answer)](
                               Result<std::vector<store::AppendResult>> result) mutable {
                             answer(std::move(result), respond);
                           });
                  });
}

bool refuse_when_draining(Context& ctx, Respond& respond) {
  if (!ctx.draining) return false;
  respond(error_response(503, "shutting_down", "korehookd is shutting down"));
  return true;
}

json::object event_json(const store::EventView& view, const dispatch::Dispatcher& dispatcher) {
  const EventRecord& e = view.event;
  json::object o;
  o["id"] = e.id;
  o["account"] = e.account_id;
  o["type"] = e.type;
  o["content_type"] = e.content_type;
  o["idempotency_key"] = string_or_null(e.idempotency_key);
  o["callback_url"] = string_or_null(e.callback_url);
  o["created_at"] = format_rfc3339(e.created_at);
  if (is_json_content_type(e.content_type)) {
    json::error_code ec;
    json::value data = json::parse(e.body, ec, {}, parse_options());
    if (!ec) o["data"] = std::move(data);
  }
  if (!o.contains("data")) o["body"] = e.body;
  json::array deliveries;
  for (const auto& dv : view.deliveries) {
    store::DeliveryInfo info{dv.delivery, e.account_id, e.type, e.callback_url};
    json::object jd = delivery_json(info, dispatcher);
    jd["attempts"] = attempts_json(dv.attempts);
    deliveries.push_back(std::move(jd));
  }
  o["deliveries"] = std::move(deliveries);
  return o;
}

}  // namespace

void submit_event(Context& ctx, Request req, const Params&, Respond respond) {
  if (refuse_when_draining(ctx, respond)) return;
  Response error;
  std::string minified;
  auto body = parse_raw_object(req, error, minified);
  if (!body) return respond(std::move(error));
  auto read = read_event(*body, req);
  if (auto* e = std::get_if<Response>(&read)) return respond(std::move(*e));
  auto items = std::make_shared<std::vector<Submitted>>();
  items->push_back(std::move(std::get<Submitted>(read)));
  check_and_append(ctx, std::move(items), false, std::move(respond),
                   [](Result<std::vector<store::AppendResult>> result, Respond& respond) {
                     if (!result.ok()) return respond(error_response(result.error()));
                     const store::AppendResult& r = result->front();
                     logger().debug("event={} duplicate={}", r.event_id, !r.created);
                     Response answer;
                     answer.status = 202;
                     append_accepted(answer.body, r);
                     respond(std::move(answer));
                   });
}
void submit_event_batch(Context& ctx, Request req, const Params&, Respond respond) {
  if (refuse_when_draining(ctx, respond)) return;
  Response error;
  std::string minified;
  auto body = parse_raw_object(req, error, minified);
  if (!body) return respond(std::move(error));
  if (auto unknown = body->unknown_member({"events", "account"})) {
    return respond(field_error(*unknown, "unknown field"));
  }
  std::optional<Response> err;
  auto account = body->string_member("account", err);
  if (err) return respond(std::move(*err));
  const std::string_view* events = body->find("events");
  if (events == nullptr || events->front() != '[') {
    return respond(field_error("events", "is required: an array of 1 to 1000 events"));
  }
  const std::vector<std::string_view> list = korehook::json::raw_elements(*events);
  if (list.empty() || list.size() > kMaxBatch) {
    return respond(field_error("events", "must hold 1 to 1000 events"));
  }
  auto items = std::make_shared<std::vector<Submitted>>();
  items->reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto fail = [&](Response r) {
      // Name the item: "events[3].type: is required".
      json::value parsed = json::parse(r.body);
      json::object& o = parsed.as_object();
      const std::string prefix = "events[" + std::to_string(i) + "]";
      o["message"] = prefix + (o["info"].as_object().contains("field") ? "." : ": ") +
                     std::string(o["message"].as_string());
      o["info"].as_object()["index"] = i;
      r.body = json::serialize(parsed);
      respond(std::move(r));
    };
    if (list[i].front() != '{') {
      return fail(error_response(400, "invalid_field", "must be an event object"));
    }
    const RawObject object(list[i]);
    auto read = read_event(object, req);
    if (auto* e = std::get_if<Response>(&read)) return fail(std::move(*e));
    Submitted s = std::move(std::get<Submitted>(read));
    if (account && !object.contains("account")) s.event.account_id = *account;
    items->push_back(std::move(s));
  }
  check_and_append(ctx, std::move(items), true, std::move(respond),
                   [](Result<std::vector<store::AppendResult>> result, Respond& respond) {
                     if (!result.ok()) return respond(error_response(result.error()));
                     Response answer;
                     answer.status = 202;
                     answer.body.reserve(16 + 56 * result->size());
                     answer.body += "{\"data\":[";
                     for (const auto& r : *result) {
                       if (&r != &result->front()) answer.body += ',';
                       append_accepted(answer.body, r);
                     }
                     answer.body += "]}";
                     respond(std::move(answer));
                   });
}

void get_event(Context& ctx, Request req, const Params& params, Respond respond) {
  const std::string id = params.at(0);
  ctx.store.get_event(
      account_of(req), id,
      [&ctx, respond = std::move(respond), id](Result<std::optional<store::EventView>> result) {
        if (!result.ok()) return respond(error_response(result.error()));
        if (!result->has_value()) {
          return respond(error_response(404, "not_found", "no event with id '" + id + "'"));
        }
        respond(json_response(200, event_json(**result, ctx.dispatcher)));
      });
}

}  // namespace korehook::api
