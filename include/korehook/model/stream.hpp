#pragma once

// Event Streams (SPEC §2.3): streaming rules, destination defaults and the CloudEvents 1.0
// envelope. A destination is stored as an EndpointRecord of kind kDestination
// (model/endpoint.hpp); a rule routes the events of some types to one destination. Pure: the
// config loader, the API and the store share it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "korehook/model/endpoint.hpp"
#include "korehook/retry/policy.hpp"
#include "korehook/util/clock.hpp"
#include "korehook/util/time.hpp"

namespace korehook {

enum class RuleStatus { kEnabled = 0, kDisabled = 1 };
std::string_view to_string(RuleStatus s);  // "enabled", "disabled"
std::optional<RuleStatus> parse_rule_status(std::string_view s);

struct RuleRecord {
  std::string id;  // [A-Za-z0-9_-]{1,64}
  std::string account_id;
  std::string name;  // validate_rule_name
  RuleStatus status = RuleStatus::kEnabled;
  std::string destination_id;            // a destination of the same account
  std::vector<std::string> event_types;  // route::validate_pattern patterns, 1..100
  std::optional<std::string> schema_version;
  EndpointSource source = EndpointSource::kApi;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;

  bool enabled() const { return status == RuleStatus::kEnabled; }
};

// 1 to 200 printable characters.
std::optional<std::string> validate_rule_name(std::string_view name);
// 1 to 32 characters of A-Z, a-z, 0-9, '.', '_' or '-'.
std::optional<std::string> validate_schema_version(std::string_view version);

// --- Destinations.

// KORE: a request may take at most 5 s; up to 3 retries with exponential backoff.
inline constexpr Millis kDefaultDestinationTimeout{5'000};
inline constexpr Millis kMaxDestinationTimeout{60'000};
inline constexpr int kDefaultDestinationAttempts = 4;

// The settings a destination starts from: no event filter (rules feed it), a 5 s request
// timeout, 4 attempts (3 retries) with exponential backoff from 1 s.
EndpointSettings destination_defaults();

// A destination has one request timeout, stored as the endpoint settings' connect_timeout
// (2/5) and read_timeout (3/5); destination_timeout() is their sum. attempt_timeouts()
// (model/endpoint.hpp) turns it into the bounds of an attempt: the whole attempt within it.
void set_destination_timeout(EndpointSettings& settings, Millis total);
Millis destination_timeout(const EndpointSettings& settings);

// --- Batching and the CloudEvents envelope.

inline constexpr int kMaxBatchEvents = 50;  // KORE: at most 50 events per request
inline constexpr std::string_view kDefaultStreamSource = "kore-events";

struct StreamSettings {
  std::string source{kDefaultStreamSource};  // CloudEvents `source`
  Millis linger{1'000};                      // how long the first event of a batch waits
  int max_events = kMaxBatchEvents;          // 1..kMaxBatchEvents
};

// One CloudEvents 1.0 event (JSON format).
struct CloudEvent {
  std::string id;  // the korehook event id: the same on every retry
  TimeMs time = 0;
  std::string type;
  std::string source;
  std::optional<std::string> dataschema;
  std::string content_type;  // of `body`
  std::string body;          // the event's stored bytes
};

// `/schemas/<type>/<version>`, or nullopt without a version.
std::optional<std::string> dataschema_for(std::string_view type,
                                          const std::optional<std::string>& schema_version);

// True for application/json and any */*+json media type (parameters ignored).
bool is_json_media_type(std::string_view content_type);

// One event as a minified JSON object: id, time (RFC 3339 UTC), type, source, dataschema
// (when known), specversion "1.0", datacontenttype "application/json", data. A JSON body is
// `data` as is (minified); any other body becomes a JSON string.
std::string cloud_event_json(const CloudEvent& event);
// The request body of a batch: a JSON array of cloud_event_json() objects, in order.
std::string cloud_events_array(const std::vector<CloudEvent>& events);

// The test event of a destination (KORE "Test event").
inline constexpr std::string_view kTestEventType = "com.kore.eventstreams.test.event";
inline constexpr std::string_view kTestEventSchema = "/schemas/test/1";

}  // namespace korehook
