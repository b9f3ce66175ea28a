#pragma once

// An endpoint (SPEC §3): a URL plus a filter of event types, with its delivery settings.
// Declared in YAML (source kConfig) or created through the API (source kApi); both live in
// the store. Pure: validation here is shared by the config loader and the API.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "korehook/retry/policy.hpp"
#include "korehook/util/clock.hpp"
#include "korehook/util/time.hpp"

namespace korehook {

enum class EndpointSource { kApi = 0, kConfig = 1 };
std::string_view to_string(EndpointSource s);  // "api", "config"

// What a delivery target is to its users: an endpoint (SPEC §2.2, its own event filter) or an
// Event Streams destination (SPEC §2.3, fed by streaming rules, no filter of its own: its
// event_types are empty, so Dispatcher::route never picks it). Both are delivered the same
// way; the API shows each kind only under its own routes.
enum class EndpointKind { kEndpoint = 0, kDestination = 1 };

// Why an endpoint is disabled.
enum class DisabledReason {
  kNone = 0,
  kManual = 1,   // an operator disabled it (API/CLI)
  kGone = 2,     // the receiver answered 410 Gone
  kFailing = 3,  // every attempt failed for `disable_after`
  kConfig = 4,   // `enabled: false` in YAML
};
std::string_view to_string(DisabledReason r);  // "", "manual", "gone", "failing", "config"

inline constexpr double kMaxRateLimit = 100'000;  // requests per second
inline constexpr Millis kDefaultDisableAfter{5LL * 24 * 3600 * 1000};

// What a user sets on an endpoint.
struct EndpointSettings {
  std::string url;  // validated with net::parse_https_url
  std::string description;
  std::vector<std::string> event_types{"*"};
  Millis connect_timeout{5'000};
  Millis read_timeout{15'000};
  retry::RetryPolicy retry;
  int max_in_flight = 16;            // 1..1024
  std::optional<double> rate_limit;  // requests per second, (0, kMaxRateLimit]
  // Disabled after failing continuously this long; 0 = never.
  Millis disable_after = kDefaultDisableAfter;
  std::vector<std::pair<std::string, std::string>> headers;  // custom static headers
  bool kore_signature = true;
  bool standard_signature = true;
  std::optional<std::string> ca_file;
};

struct EndpointRecord {
  std::string id;  // [A-Za-z0-9_-]{1,64}
  std::string account_id;
  EndpointSource source = EndpointSource::kApi;
  EndpointKind kind = EndpointKind::kEndpoint;
  EndpointSettings settings;
  // Enabled unless `disabled_reason` says why not.
  DisabledReason disabled_reason = DisabledReason::kNone;
  std::string disabled_detail;  // e.g. the operator's reason; empty when enabled
  TimeMs failing_since = 0;     // first failure of the current failing streak; 0 = none
  TimeMs created_at = 0;
  TimeMs updated_at = 0;

  bool enabled() const { return disabled_reason == DisabledReason::kNone; }
};

// The bounds of one attempt to a target (delivery::SendRequest takes them as they are).
struct AttemptTimeouts {
  Millis connect;  // each step of connecting: name lookup, TCP connect to one address, TLS
  Millis read;     // sending the request and reading the whole response, from the first write
  Millis total;    // the whole attempt, from its start: no step runs past it
};

// An endpoint: each step its own setting, and the whole attempt at most connect_timeout +
// read_timeout. A destination has one `timeout` (stored as 2/5 + 3/5, model/stream.hpp) that
// bounds the whole attempt: each step of connecting gets at most 2/5 of it (so a second
// address still gets a turn when the first never answers) and the answer whatever is left.
AttemptTimeouts attempt_timeouts(const EndpointSettings& settings, EndpointKind kind);

// [A-Za-z0-9_-]{1,64}: endpoint, account, destination and rule ids.
bool is_valid_identifier(std::string_view id);

// RFC 9110 tchar: letters, digits and !#$%&'*+-.^_`|~.
bool is_token_char(char c);
// A header name's syntax: one or more token characters.
bool is_http_token(std::string_view text);
// A header value that cannot break a message's framing: no CR, LF or NUL.
bool is_framing_safe(std::string_view value);

// A custom header name: an RFC 9110 token, not reserved (SPEC §1 plus host, content-length,
// transfer-encoding, connection). nullopt when valid, else what is wrong, e.g.
// "header 'Date' is reserved: korehook sets it (expected a custom header name)".
std::optional<std::string> validate_header_name(std::string_view name);
// A custom header value: no CR, LF or NUL, at most 8 KiB.
std::optional<std::string> validate_header_value(std::string_view value);

}  // namespace korehook
