// POST /v1/destinations/{id}/test and POST /v1/endpoints/{id}/test: KORE's "Test event".
// Sends one `com.kore.eventstreams.test.event` CloudEvent at once, outside the store and the
// dispatcher (nothing is recorded or retried), signed like a real delivery, and answers with
// the outcome of that one attempt.

#include "api/context.hpp"
#include "korehook/util/ids.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::api {

namespace {

constexpr std::size_t kMaxBodyExcerpt = 1024;

spdlog::logger& logger() { return log::get("api"); }

json::object outcome_json(const delivery::SendResult& r, const std::string& event_id,
                          const std::string& test_id) {
  json::object o;
  const bool ok = r.error == retry::ErrorClass::kNone;
  o["success"] = ok;
  o["status"] = r.status ? json::value(*r.status) : json::value();
  o["duration_ms"] = r.duration_ms;
  o["event_id"] = event_id;
  o["test_id"] = test_id;
  if (!ok) {
    o["error"] = retry::to_string(r.error);
    std::string detail = r.error_detail;
    if (detail.empty() && r.status)
      detail = "the receiver answered HTTP " + std::to_string(*r.status);
    o["detail"] = detail;
    o["body_excerpt"] = r.response_excerpt.substr(0, kMaxBodyExcerpt);
  }
  return o;
}

// Builds, signs and sends the test event to `target`. Destinations get the batch shape (a
// JSON array), endpoints the single CloudEvent object.
void send_test(Context& ctx, const EndpointRecord& target, Respond respond) {
  if (!ctx.options.send) {
    return respond(error_response(503, "unavailable", "test events are not available here"));
  }
  const TimeMs now = ctx.clock.now_ms();
  const std::string test_id = new_uuid_v4(ctx.random);
  CloudEvent ce;
  ce.id = new_id(kEventIdPrefix, now, ctx.random);
  ce.time = now;
  ce.type = std::string(kTestEventType);
  ce.source = std::string(kDefaultStreamSource);
  ce.dataschema = std::string(kTestEventSchema);
  ce.content_type = "application/json";
  json::object data;
  data["test_id"] = test_id;
  data["message"] = "korehook test event";
  ce.body = json::serialize(data);
  auto body = std::make_shared<const std::string>(
      target.kind == EndpointKind::kDestination ? cloud_events_array({ce}) : cloud_event_json(ce));

  ctx.store.signing_keys([&ctx, target, body, now, event_id = ce.id, test_id,
                          respond = std::move(respond)](
                             Result<std::map<std::string, sign::SigningKeys>> keys) mutable {
    if (!keys.ok()) return respond(error_response(keys.error()));
    const dispatch::Target t = dispatch::target_from_endpoint(target);
    const std::string token = new_uuid_v4(ctx.random);
    sign::AttemptInput input;
    input.token = token;
    input.content_type = "application/json";
    input.body = *body;
    input.now = now;
    auto it = keys->find(target.account_id);
    delivery::SendRequest request = dispatch::attempt_request(
        t, t.url, input, it == keys->end() ? sign::SigningKeys{} : it->second, body);
    ctx.options.send(std::move(request), [id = target.id, event_id, test_id,
                                          respond = std::move(respond)](delivery::SendResult r) {
      logger().info("test event target={} status={} error={} ms={}", id,
                    r.status ? std::to_string(*r.status) : "-",
                    r.error == retry::ErrorClass::kNone ? "-" : retry::to_string(r.error),
                    r.duration_ms);
      respond(json_response(200, outcome_json(r, event_id, test_id)));
    });
  });
}

}  // namespace

void test_destination(Context& ctx, Request req, const Params& params, Respond respond) {
  with_target_of_kind(
      ctx, account_of(req), params.at(0), EndpointKind::kDestination, std::move(respond),
      [&ctx](EndpointRecord e, Respond respond) { send_test(ctx, e, std::move(respond)); });
}

void test_endpoint(Context& ctx, Request req, const Params& params, Respond respond) {
  with_target_of_kind(
      ctx, account_of(req), params.at(0), EndpointKind::kEndpoint, std::move(respond),
      [&ctx](EndpointRecord e, Respond respond) { send_test(ctx, e, std::move(respond)); });
}

}  // namespace korehook::api
