#include "korehook/model/stream.hpp"

#include <algorithm>
#include <cctype>

#include "korehook/json/minify.hpp"
#include "korehook/util/encoding.hpp"

namespace korehook {

std::string_view to_string(RuleStatus s) {
  return s == RuleStatus::kDisabled ? "disabled" : "enabled";
}

std::optional<RuleStatus> parse_rule_status(std::string_view s) {
  if (s == "enabled") return RuleStatus::kEnabled;
  if (s == "disabled") return RuleStatus::kDisabled;
  return std::nullopt;
}

std::optional<std::string> validate_rule_name(std::string_view name) {
  const bool printable = std::none_of(name.begin(), name.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
  if (name.empty() || name.size() > 200 || !printable) {
    return "must be 1 to 200 printable characters";
  }
  return std::nullopt;
}

std::optional<std::string> validate_schema_version(std::string_view version) {
  const bool ok =
      !version.empty() && version.size() <= 32 &&
      std::all_of(version.begin(), version.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
      });
  if (!ok) return "must be 1 to 32 characters of A-Z, a-z, 0-9, '.', '_' or '-' (e.g. \"1\")";
  return std::nullopt;
}

EndpointSettings destination_defaults() {
  EndpointSettings s;
  s.event_types.clear();
  set_destination_timeout(s, kDefaultDestinationTimeout);
  s.retry.max_attempts = kDefaultDestinationAttempts;
  s.retry.initial_delay = Millis{1'000};
  s.retry.max_delay = Millis{60'000};
  return s;
}

void set_destination_timeout(EndpointSettings& settings, Millis total) {
  const Millis connect{std::max<std::int64_t>(1, total.count() * 2 / 5)};
  settings.connect_timeout = connect;
  settings.read_timeout = std::max(Millis{1}, total - connect);
}

Millis destination_timeout(const EndpointSettings& settings) {
  return settings.connect_timeout + settings.read_timeout;
}

std::optional<std::string> dataschema_for(std::string_view type,
                                          const std::optional<std::string>& schema_version) {
  if (!schema_version) return std::nullopt;
  return "/schemas/" + std::string(type) + "/" + *schema_version;
}

bool is_json_media_type(std::string_view ct) {
  std::string base(ct.substr(0, std::min(ct.find(';'), ct.size())));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (auto& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return base == "application/json" || (base.size() > 5 && base.ends_with("+json"));
}

std::string cloud_event_json(const CloudEvent& e) {
  std::string out;
  out.reserve(e.body.size() + 256);
  out += "{\"id\":";
  append_json_string(out, e.id);
  out += ",\"time\":";
  append_json_string(out, format_rfc3339(e.time));
  out += ",\"type\":";
  append_json_string(out, e.type);
  out += ",\"source\":";
  append_json_string(out, e.source);
  if (e.dataschema) {
    out += ",\"dataschema\":";
    append_json_string(out, *e.dataschema);
  }
  out += R"(,"specversion":"1.0","datacontenttype":"application/json","data":)";
  // Bodies submitted as "data" are minified JSON already; a raw body with a JSON content
  // type is checked here, and anything that is not JSON travels as a string.
  if (is_json_media_type(e.content_type)) {
    if (auto minified = json::minify(e.body); minified.ok()) {
      out += *minified;
      out += '}';
      return out;
    }
  }
  append_json_string(out, e.body);
  out += '}';
  return out;
}

std::string cloud_events_array(const std::vector<CloudEvent>& events) {
  std::string out = "[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out += ',';
    out += cloud_event_json(events[i]);
  }
  out += ']';
  return out;
}

}  // namespace korehook
